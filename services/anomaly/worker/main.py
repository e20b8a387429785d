"""Entrypoint: `outlay services run anomaly` runs one faust worker (more workers in the same group share the
partitions). Topics are created first, so the worker never relies on broker auto-creation."""

from __future__ import annotations

import asyncio
import logging

import faust

from outlay.kafka.topics_admin import ensure_outlay_topics
from outlay.settings import Settings
from services.anomaly.worker.app import WorkerSettings, create_app


def run(settings: Settings) -> None:
    assert settings.kafka_bootstrap_servers
    asyncio.run(ensure_outlay_topics(settings.kafka_bootstrap_servers, settings))
    app = create_app(WorkerSettings.from_settings(settings))
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
    # faust owns the loop and the signals from here: SIGINT/SIGTERM stop it cleanly (tables flushed).
    faust.Worker(app, loglevel=level, quiet=True, loop=asyncio.new_event_loop()).execute_from_commandline()
