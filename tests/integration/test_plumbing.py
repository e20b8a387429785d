"""The plumbing itself: topics exist with their partition counts; the store migrates on both dialects."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import inspect

from outlay.events.topics import TOPICS
from outlay.store.engine import make_engine


async def test_topics_created_with_partitions(broker: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in TOPICS])
    finally:
        await admin.close()
    partitions = {d["topic"]: len(d["partitions"]) for d in described}
    for topic in TOPICS:
        assert partitions[topic.name] == (topic.partitions or 4), topic.name


async def test_migrations_create_schema(store_url: str, sqlite_url: str) -> None:
    for url in (store_url, sqlite_url):
        engine = make_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        assert {"usage_records", "cost_rollups", "ingest_checkpoints"} <= names, url
