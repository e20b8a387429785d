"""What an ingest run did, per file and in total (plain data; the CLI renders it as a table or JSON)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from outlay.events import UsageRecord
from services.ingest.sources.base import RejectedRow

Reason = tuple[str | None, str]  # (field, reason)


class FileStatus(StrEnum):
    PROCESSED = "processed"  # every row sent and acknowledged; checkpoint done
    SKIPPED = "skipped"  # already done with the same fingerprint
    REFUSED = "refused"  # not a cost export (or not a table at all): nothing sent
    FAILED = "failed"  # the file broke mid-way; rows before the break were sent, checkpoint left started


@dataclass
class FileReport:
    uri: str
    status: FileStatus
    format: str | None = None
    message: str | None = None  # why it was refused or failed
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[Reason] = field(default_factory=Counter)
    cost: dict[str, Decimal] = field(default_factory=dict)  # billed cost of accepted rows per currency

    @property
    def rows(self) -> int:
        return self.accepted + self.rejected

    def count_record(self, record: UsageRecord) -> None:
        self.accepted += 1
        self.cost[record.currency] = self.cost.get(record.currency, Decimal(0)) + record.billed_cost

    def count_encoded(self, costs: Mapping[str, Sequence[Decimal]]) -> None:
        """`count_record` for records sent already encoded: `costs` holds their billed costs per currency, each
        currency's in row order. Adds them one by one in that order, as `count_record` would: same totals to the
        last digit, even where the decimal context rounds."""
        for currency, amounts in costs.items():
            self.accepted += len(amounts)
            self.cost[currency] = sum(amounts, self.cost.get(currency, Decimal(0)))

    def count_rejected(self, rejected: RejectedRow) -> None:
        self.rejected += 1
        self.reasons[(rejected.field, rejected.reason)] += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "uri": self.uri,
            "format": self.format,
            "status": str(self.status),
            "message": self.message,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "reasons": reasons_as_list(self.reasons),
            "cost": {currency: format(amount, "f") for currency, amount in sorted(self.cost.items())},
        }


@dataclass(frozen=True)
class Totals:
    files: Counter[FileStatus]
    accepted: int
    rejected: int
    reasons: Counter[Reason]
    cost: dict[str, Decimal]

    def as_dict(self) -> dict[str, object]:
        return {
            "files": {str(status): self.files.get(status, 0) for status in FileStatus},
            "accepted": self.accepted,
            "rejected": self.rejected,
            "reasons": reasons_as_list(self.reasons),
            "cost": {currency: format(amount, "f") for currency, amount in sorted(self.cost.items())},
        }


@dataclass
class IngestReport:
    location: str
    files: list[FileReport] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        reasons: Counter[Reason] = Counter()
        cost: dict[str, Decimal] = {}
        for file in self.files:
            reasons.update(file.reasons)
            for currency, amount in file.cost.items():
                cost[currency] = cost.get(currency, Decimal(0)) + amount
        return Totals(
            files=Counter(file.status for file in self.files),
            accepted=sum(file.accepted for file in self.files),
            rejected=sum(file.rejected for file in self.files),
            reasons=reasons,
            cost=cost,
        )

    @property
    def ingested_anything(self) -> bool:
        """False when every file was refused or failed: the CLI exits non-zero then."""
        return any(f.status in (FileStatus.PROCESSED, FileStatus.SKIPPED) for f in self.files)

    @property
    def refused(self) -> list[FileReport]:
        return [f for f in self.files if f.status is FileStatus.REFUSED]

    def as_dict(self) -> dict[str, object]:
        return {
            "location": self.location,
            "files": [f.as_dict() for f in self.files],
            "totals": self.totals.as_dict(),
        }


def reasons_as_list(reasons: Counter[Reason]) -> list[dict[str, object]]:
    return [{"field": fld, "reason": reason, "count": count} for (fld, reason), count in reasons.most_common()]
