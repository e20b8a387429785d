"""Build Outlay's bundled price catalogue (outlay/pricing/*.csv) from the shared AWS pricing data.

Usage: python scripts/build_price_catalogue.py [--data DIR] [--out DIR] [--check]

Only derived, compact price facts are written; the raw data is never copied into the repo. Every output
file starts with `#` comment lines naming its source and license. `--check` rebuilds in memory and exits
non-zero when the committed files differ (so a stale catalogue is caught in CI).
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "aws_pricing"
DEFAULT_OUT = ROOT / "outlay" / "pricing"

EC2_2026 = "ec2_instance_types_us-east-1_2026-07.csv"
EC2_2017 = "ec2_ondemand_by_region_2017-11.csv"
RDS_2021 = "rds_ondemand_by_region_engine_2021-08.csv"

KARPENTER = (
    "github.com/aws/karpenter-provider-aws commit 1d927085dd81a9df9301e613f371dac5b4d16bfe "
    "(pricing generated 2026-07-20), Apache-2.0"
)
EC2INFO_2017 = "github.com/vantage-sh/ec2instances.info commit 94e1f006 (www/instances.json, 2017-11-12), MIT"
EC2INFO_2021 = "github.com/vantage-sh/ec2instances.info commit 14ede5a5 (www/rds/instances.json, 2021-08-03), MIT"

# Curated: Amazon EBS pricing page (aws.amazon.com/ebs/pricing), US East (N. Virginia), storage only
# (gp3 baseline IOPS/throughput included; provisioned IOPS and snapshots are not in this table).
EBS_US_EAST_1: tuple[tuple[str, str], ...] = (
    ("gp2", "0.10"),
    ("gp3", "0.08"),
    ("io1", "0.125"),
    ("io2", "0.125"),
    ("st1", "0.045"),
    ("sc1", "0.015"),
    ("standard", "0.05"),
)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _render(comments: Sequence[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    for line in comments:
        buf.write(f"# {line}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _price(text: str) -> str:
    """Normalise a price cell: exact decimal text, no exponent, no trailing zeros."""
    value = Decimal(text).normalize()
    return format(value, "f")


def build_ec2(rows: list[dict[str, str]]) -> tuple[str, str]:
    instances = []
    regional = []
    for row in sorted(rows, key=lambda r: r["instance_type"]):
        usd = row["ondemand_linux_usd_hr_us_east_1"]
        instances.append(
            (
                row["instance_type"],
                row["family"],
                row["vcpu"],
                row["memory_gib"],
                row["arch"],
                row["gpu_count"] or "0",
                _price(usd) if usd else "",
            )
        )
        for region, column in (
            ("us-gov-east-1", "ondemand_linux_usd_hr_us_gov_east_1"),
            ("us-gov-west-1", "ondemand_linux_usd_hr_us_gov_west_1"),
        ):
            if row[column]:
                regional.append((row["instance_type"], region, _price(row[column])))
    src = [
        f"Source: {KARPENTER}",
        "EC2 Linux on-demand USD per hour; blank price = not offered in us-east-1.",
    ]
    header = ("instance_type", "family", "vcpu", "memory_gib", "arch", "gpu_count", "usd_hr_us_east_1")
    ec2 = _render(src, header, instances)
    reg = _render(
        [f"Source: {KARPENTER}", "Published EC2 Linux on-demand USD per hour outside us-east-1 (GovCloud)."],
        ("instance_type", "region", "usd_hr"),
        regional,
    )
    return ec2, reg


def build_region_factors(rows: list[dict[str, str]]) -> str:
    """Per region: median ratio of Linux on-demand price to us-east-1's, over the types both offered.

    Only the ratio is used (the 2017 absolute prices are stale); applied to today's us-east-1 price it
    gives an estimate for regions whose current prices are not bundled.
    """
    by_type: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        if row["ondemand_linux_usd_hr"]:
            by_type[row["instance_type"]][row["region"]] = Decimal(row["ondemand_linux_usd_hr"])
    ratios: dict[str, list[Decimal]] = defaultdict(list)
    for prices in by_type.values():
        base = prices.get("us-east-1")
        if not base:
            continue
        for region, price in prices.items():
            if region != "us-east-1":
                ratios[region].append(price / base)
    out = [("us-east-1", "1", str(len([p for p in by_type.values() if "us-east-1" in p])))]
    for region in sorted(ratios):
        factor = statistics.median(ratios[region]).quantize(Decimal("0.0001"))
        out.append((region, _price(str(factor)), str(len(ratios[region]))))
    return _render(
        [
            f"Source: {EC2INFO_2017}",
            "Median EC2 Linux on-demand price ratio region/us-east-1 (n = instance types compared).",
            "Used only to ESTIMATE prices in regions without bundled current prices.",
        ],
        ("region", "factor", "n"),
        out,
    )


def build_rds(rows: list[dict[str, str]]) -> str:
    out = sorted(
        {
            (r["instance_type"], r["engine"], r["region"], _price(r["ondemand_usd_hr"]))
            for r in rows
            if r["ondemand_usd_hr"]
        }
    )
    return _render(
        [
            f"Source: {EC2INFO_2021}",
            "RDS on-demand USD per instance-hour, Single-AZ deployment (prices as of 2021-08).",
        ],
        ("instance_class", "engine", "region", "usd_hr"),
        out,
    )


def build_ebs() -> str:
    return _render(
        [
            "Source: Amazon EBS pricing page (aws.amazon.com/ebs/pricing), curated by hand, US East (N. Virginia).",
            "USD per GB-month of provisioned storage; IOPS/throughput/snapshot charges are not included.",
        ],
        ("volume_type", "region", "usd_gb_month"),
        [(vt, "us-east-1", price) for vt, price in EBS_US_EAST_1],
    )


def build(data: Path) -> dict[str, str]:
    ec2, regional = build_ec2(_read(data / EC2_2026))
    return {
        "ec2_instances.csv": ec2,
        "ec2_regional.csv": regional,
        "ec2_region_factors.csv": build_region_factors(_read(data / EC2_2017)),
        "rds_ondemand.csv": build_rds(_read(data / RDS_2021)),
        "ebs_volumes.csv": build_ebs(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/aws_pricing folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (outlay/pricing)")
    parser.add_argument("--check", action="store_true", help="fail if the committed files are stale")
    args = parser.parse_args(argv)
    files = build(args.data)
    stale = []
    for name, text in files.items():
        target = args.out / name
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(name)
        else:
            target.write_text(text)
            print(f"wrote {target} ({text.count(chr(10))} lines)")
    if stale:
        print(f"stale price catalogue files: {', '.join(stale)} (run scripts/build_price_catalogue.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
