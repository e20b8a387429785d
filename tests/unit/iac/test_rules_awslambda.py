"""Lambda price rules, against the peer's lambda_function_test golden and by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.iac.support import estimate_of, golden_matches, misses, resource

TESTDATA = "iac_infracost/internal/providers/terraform/aws/testdata/lambda_function_test"
# The functions of lambda_function_test.tf: memory_size (None: the default) and whether they run on Arm.
FUNCTIONS = {
    "lambda": (None, False),
    "lambda_arm": (None, True),
    "lambda_withUsage": (None, False),
    "lambda_withUsage_arm": (None, True),
    "lambda_withUsage512Mem": (512, False),
    "lambda_withUsage512Mem_arm": (512, True),
    "lambda_duration_6B": (512, False),
    "lambda_duration_75B_arm": (512, True),
    "lambda_duration_9B": (1024, False),
    "lambda_duration_11B_arm": (1024, True),
    "lambda_duration_15B": (2048, False),
    "lambda_duration_18B_arm": (2048, True),
}


def function(name: str, memory: int | None, arm: bool):
    attributes: dict[str, object] = {"function_name": "lambda_function_name", "runtime": "nodejs12.x"}
    if memory is not None:
        attributes["memory_size"] = memory
    if arm:
        attributes["architectures"] = ["arm64"]
    return resource(f"aws_lambda_function.{name}", attributes)


def test_lambda_matches_the_golden(shared_data: Path) -> None:
    found = estimate_of([function(n, m, a) for n, (m, a) in FUNCTIONS.items()],
                        shared_data / TESTDATA / "lambda_function_test.usage.yml")  # fmt: skip
    assert not found.problems, found.problems
    matches = golden_matches(shared_data, "lambda_function_test", found)
    assert len(matches) == 26  # the priced ones: 32 less 6 that depend on usage
    assert sum(m.within for m in matches) == len(matches), misses(matches)


def test_duration_is_priced_tier_by_tier() -> None:
    # 15B requests x 2.048 s x 2 GB = 61.44B GB-seconds: 6B at 0.0000166667, 9B at 0.000015, 46.44B at 0.0000133334
    found = estimate_of([function("big", 2048, False)],
                        {"resource_usage": {"aws_lambda_function.big": {"monthly_requests": 15 * 10**9,
                                                                         "request_duration_ms": 2048}}})  # fmt: skip
    costs = {c.name: c.monthly_cost for c in found.resources[0].components}
    assert costs == {
        "Requests": Decimal("3000.000"),
        "Duration (first 6B)": Decimal("100000.2000000000"),
        "Duration (next 9B)": Decimal("135000.000000"),
        "Duration (over 15B)": Decimal("619203.0960000000"),
    }


def test_without_usage_the_function_lists_what_depends_on_it() -> None:
    found = estimate_of([function("idle", None, True)])
    names = [(c.name, c.monthly_quantity) for c in found.resources[0].components]
    assert names == [("Requests", None), ("Ephemeral storage", None), ("Duration (first 7.5B)", None)]


def test_ephemeral_storage_above_512_mb_is_charged() -> None:
    # 1M requests x 1 s with 2,560 MB of /tmp: 2,048 MB above the free 512 = 2 GB x 1M s = 2M GB-seconds
    lam = resource("aws_lambda_function.tmp", {"ephemeral_storage": [{"size": 2560}]})
    found = estimate_of([lam], {"resource_usage": {"aws_lambda_function.tmp": {"monthly_requests": 1000000,
                                                                               "request_duration_ms": 1000}}})  # fmt: skip
    storage = next(c for c in found.resources[0].components if c.name == "Ephemeral storage")
    assert storage.monthly_quantity == Decimal(2000000)
    assert storage.monthly_cost == Decimal("0.0618")
