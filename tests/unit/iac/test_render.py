"""An estimate as JSON (the documented schema), a table, Markdown and HTML; and `outlay estimate` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from outlay.cli.main import app
from outlay.iac.render import html_page, markdown, table
from tests.unit.iac.support import estimate_of, resource

RESOURCES = [
    resource("module.app.aws_instance.web", {"instance_type": "t3.nano"}),
    resource("aws_glue_job.etl", {}),
    resource("aws_instance.evil<script>", {"instance_type": "a|b"}),
]


def test_json_follows_the_schema_with_exact_money() -> None:
    document = estimate_of(RESOURCES).to_json()
    assert document["schema_version"] == "1" and document["currency"] == "USD"
    assert document["summary"] == {"resources": 3, "priced": 2, "free": 0, "unsupported": 1, "usage_based_unknown": 1}
    web = document["resources"][0]
    assert web["module"] == "module.app" and web["status"] == "priced"
    usage = web["components"][0]
    assert usage == {"name": "Instance usage (Linux/UNIX, on-demand, t3.nano)", "unit": "hours",
                     "monthly_quantity": "730", "unit_price": "0.0052", "monthly_cost": "3.796",
                     "usage_based": False}  # fmt: skip
    assert document["monthly_cost"] == "5.396"  # 3.796 + two 8 GB gp2 root volumes (the odd type has no price)
    assert any("a|b" in p["message"] for p in document["problems"])


def test_table_shows_the_module_tree_and_what_is_not_supported() -> None:
    console = Console(width=160, record=True)
    console.print(table(estimate_of(RESOURCES)))
    text = console.export_text()
    assert "module.app" in text and "aws_instance.web" in text and "└─ root_block_device" in text
    assert "not supported: aws_glue_job" in text and "OVERALL TOTAL" in text and "$4.60" in text


def test_markdown_and_html_escape_what_they_show() -> None:
    found = estimate_of(RESOURCES)
    md = markdown(found)
    assert "**$5.40**" in md and "a\\|b" in md  # two instances, each with an 8 GB root volume
    assert md.count("<script>") == md.count("`aws_instance.evil<script>`")  # only inside code spans
    page = html_page(found)
    assert "<script>" not in page and "&lt;script&gt;" in page and "$5.40" in page


def test_cli_formats_and_exit_codes(tmp_path: Path) -> None:
    plan = {"planned_values": {"root_module": {"resources": [
        {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance",
         "values": {"instance_type": "t3.nano", "availability_zone": "us-east-1a"}}]}}}  # fmt: skip
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    runner = CliRunner()
    ok = runner.invoke(app, ["estimate", str(path), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["monthly_cost"] == "4.596"
    usage = tmp_path / "usage.yml"
    usage.write_text("resource_usage:\n  aws_instance.web:\n    monthly_cpu_credits: 3\n")
    typo = runner.invoke(app, ["estimate", str(path), "--usage-file", str(usage), "--format", "json"])
    assert typo.exit_code == 2 and "monthly_cpu_credits" in typo.stderr
    html_out = tmp_path / "estimate.html"
    runner.invoke(app, ["estimate", str(path), "--format", "html", "--out", str(html_out)])
    assert "$4.60" in html_out.read_text()
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    failed = runner.invoke(app, ["estimate", str(broken)])
    assert failed.exit_code == 2 and "broken.json: not JSON" in failed.stderr


def test_input_text_is_never_markup_or_markdown() -> None:
    from outlay.iac.diff import diff

    odd = [resource('aws_instance.x["a|b"]', {"instance_type": "[/x] @team ![i](http://e/x.png)\nnext"})]
    found = estimate_of(odd)
    console = Console(width=200, record=True)
    console.print(table(found))  # rich markup in a value is shown, not parsed
    assert "[/x]" in console.export_text()
    md = markdown(found)
    assert '`aws_instance.x["a\\|b"]`' in md and "@\u2060team" in md and "\\!\\[i\\]" in md
    assert "\nnext" not in md  # one line per cell
    change = diff(estimate_of([]), found)
    from outlay.iac.render import diff_markdown

    assert "Not in the totals" in diff_markdown(change)  # the unknown type is not silently left out


def test_quantities_are_written_out() -> None:
    from decimal import Decimal

    from outlay.iac.render import quantity

    assert quantity(Decimal("1E+7")) == "10,000,000" and quantity(Decimal("0.50")) == "0.5" and quantity(None) == ""
