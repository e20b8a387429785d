"""docs/events.md stays true: every topic is documented and every example parses with the real model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from outlay.events.topics import TOPICS

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^## `([^`]+)`.*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_topic_has_a_section_with_a_valid_example() -> None:
    sections = _sections()
    for topic in TOPICS:
        assert topic.name in sections, f"{topic.name} is not documented in docs/events.md"
        examples = re.findall(r"```json\n(.*?)```", sections[topic.name], flags=re.S)
        assert examples, f"{topic.name} has no JSON example"
        event = topic.event.model_validate(json.loads(examples[0]))
        documented = set(json.loads(examples[0]))
        assert documented == set(type(event).model_fields), f"{topic.name}: example fields differ from the model"


def test_the_topic_table_gives_each_topics_partitions_and_retention() -> None:
    text = DOC.read_text()
    for topic in TOPICS:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{topic.name}` |"))
        days = f"{topic.retention_days} day" + ("s" if topic.retention_days != 1 else "")
        assert row.endswith(f"| {days} |"), row
        assert (str(topic.partitions) if topic.partitions else "deployment default") in row, row
