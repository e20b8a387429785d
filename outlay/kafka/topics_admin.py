"""Create Outlay's topics explicitly, with their partition counts, before anything produces."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from outlay.events.topics import TOPICS, Topic
from outlay.settings import Settings


async def ensure_topics(
    bootstrap_servers: str,
    topics: tuple[Topic, ...] = TOPICS,
    default_partitions: int = 4,
    replication: int = 1,
    wait_seconds: float = 20.0,
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="outlay-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                t.name,
                num_partitions=t.partitions or default_partitions,
                replication_factor=replication,
                topic_configs={"retention.ms": str(t.retention_ms)},
            )
            for t in topics
            if t.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                await admin.create_topics(missing)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        wanted = {t.name for t in topics}
        while not wanted <= set(await admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"topics not visible after {wait_seconds}s: {sorted(wanted)}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def ensure_outlay_topics(bootstrap_servers: str, settings: Settings) -> None:
    """Every Outlay topic, laid out as the deployment's settings say (partitions, replication)."""
    await ensure_topics(
        bootstrap_servers, default_partitions=settings.topic_partitions, replication=settings.topic_replication
    )
