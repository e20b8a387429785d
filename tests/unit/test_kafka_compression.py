"""Fast LZ4: aiokafka's batch builders use it once installed, and what they write still reads back."""

from __future__ import annotations

import importlib

import cramjam
import pytest
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords

from outlay.kafka.compression import _BUILDER_MODULES, fast_lz4_encode, use_fast_lz4

LZ4 = 0x03  # the attributes' codec bits for LZ4


def test_every_builder_calls_the_fast_encoder_once_installed() -> None:
    use_fast_lz4()
    use_fast_lz4()  # idempotent
    patched = [importlib.import_module(name) for name in _BUILDER_MODULES]
    assert all(module.lz4_encode is fast_lz4_encode for module in patched)


def test_a_fast_batch_reads_back_with_aiokafka(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_lz4()
    calls: list[int] = []

    def counting(payload: bytes) -> bytes:
        calls.append(len(payload))
        return fast_lz4_encode(payload)

    # The builder aiokafka actually uses (compiled when available) must look the encoder up by name.
    monkeypatch.setattr(importlib.import_module(DefaultRecordBatchBuilder.__module__), "lz4_encode", counting)
    payloads = [f'{{"record_id": "{i:032x}", "cost": "0.{i:09d}"}}'.encode() for i in range(2000)]
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=LZ4, is_transactional=False, producer_id=-1, producer_epoch=-1, base_sequence=-1,
        batch_size=1 << 22,
    )  # fmt: skip
    for offset, payload in enumerate(payloads):
        assert builder.append(offset, timestamp=None, key=b"k", value=payload, headers=[]) is not None
    data = bytes(builder.build())
    batch = MemoryRecords(data).next_batch()
    assert isinstance(batch, DefaultRecordBatch) and batch.compression_type == LZ4
    assert [record.value for record in batch] == payloads
    assert len(data) < sum(map(len, payloads)) / 3  # compressed, not merely framed
    assert len(calls) == 1


def test_the_fast_level_gives_up_little_size_against_hc() -> None:
    payload = b"".join(f'{{"id":"{i:032x}","amount":"{i % 97}.{i % 13}"}}'.encode() for i in range(20_000))
    fast = fast_lz4_encode(payload)
    compressor = cramjam.lz4.Compressor(level=9, content_checksum=False, block_linked=False)
    compressor.compress(payload)
    hc = bytes(compressor.finish())
    assert bytes(cramjam.lz4.decompress(fast)) == payload
    assert len(fast) < 1.5 * len(hc)  # the size given up is bounded
