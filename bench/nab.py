"""`make bench-nab`: Outlay's NAB scorer checked against NAB's published scores, then Outlay's detector scored.

1. Scorer check: every per-file score NAB published for the raw outputs of numenta, randomCutForest and null on
   realAWSCloudwatch (17 files x 3 profiles) is recomputed from those outputs at the published thresholds;
   `scorer_max_abs_diff` is the largest difference.
2. Detector: `services.anomaly.detection.SeriesDetector` (one configuration for all files: its default settings)
   runs online over the 24 files of realAWSCloudwatch + realKnownCause; each profile's score is normalised as NAB
   does over this subset, at the single threshold that is best for the subset (an exact sweep). The same is done
   for the cost worker's detector settings (`COST_DETECTOR`: the chain without what cost the labelled benchmark),
   at the default alert level. The published detectors' scores on the same files, from NAB's per-file results,
   are printed beside them.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC
from pathlib import Path

from rich.console import Console
from rich.table import Table

from services.anomaly.detection.detector import DetectorSettings, SeriesDetector
from services.anomaly.evaluation import nab
from services.anomaly.worker.app import COST_DETECTOR

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OUTLAY_SHARED_DATA", ROOT.parent / "shared" / "data")) / "nab"
PUBLISHED = ("ARTime", "numenta", "contextOSE", "randomCutForest")
SCORER_CHECK = ("numenta", "randomCutForest", "null")
console = Console()


def scorer_max_abs_diff() -> tuple[float, int]:
    diffs = [
        abs(got.score - published.score) for d in SCORER_CHECK for published, got in nab.rescore_published(DATA, d)
    ]
    return max(diffs), len(diffs)


def detector_scores(corpus: nab.NabCorpus, settings: DetectorSettings) -> dict[str, Sequence[float]]:
    """Each file's anomaly scores from one fresh detector with `settings`, run online over it (each value with
    its timestamp, in UTC seconds, for the time-of-day profile)."""
    scores: dict[str, Sequence[float]] = {}
    for series in corpus.series:
        detector = SeriesDetector(settings)
        times = [t.replace(tzinfo=UTC).timestamp() for t in series.file.timestamps]  # NAB gives naive times
        scores[series.file.name] = [detector.process(value, t) for value, t in zip(series.values, times, strict=True)]
    return scores


def main() -> None:
    if not DATA.is_dir():
        console.print(f"NAB data not found at {DATA}; set OUTLAY_SHARED_DATA")
        raise SystemExit(2)
    corpus = nab.NabCorpus.load(DATA)
    worst, compared = scorer_max_abs_diff()
    console.print(f"scorer: {compared} published per-file scores recomputed, max |difference| = {worst:.2e}")
    started = time.perf_counter()
    scores = detector_scores(corpus, DetectorSettings())
    seconds = time.perf_counter() - started
    points = sum(len(series.values) for series in corpus.series)
    results = nab.evaluate(corpus, scores)
    cost_settings = replace(COST_DETECTOR, alert_level=DetectorSettings().alert_level)
    cost_results = nab.evaluate(corpus, detector_scores(corpus, cost_settings))
    table = Table(title=f"NAB, {len(corpus.series)} files (realAWSCloudwatch + realKnownCause), normalised")
    for column in ("detector", *corpus.profiles):
        table.add_column(column)
    table.add_row("Outlay", *(f"{results[p].score:.1f}" for p in corpus.profiles))
    table.add_row("Outlay, cost worker's settings", *(f"{cost_results[p].score:.1f}" for p in corpus.profiles))
    for name in PUBLISHED:
        published = [nab.published_normalised(DATA, corpus, name, p) for p in corpus.profiles]
        table.add_row(f"{name} (published)", *(f"{score:.1f}" for score in published))
    console.print(table)
    console.print(f"Outlay detector: {points:,} points in {seconds:.2f} s ({points / seconds:,.0f} points/s)")
    print(
        json.dumps(
            {
                **{p: round(r.score, 2) for p, r in results.items()},
                "thresholds": {p: r.threshold for p, r in results.items()},
                "cost_worker_settings": {p: round(r.score, 2) for p, r in cost_results.items()},
                "goal_standard": 70.0,
                "scorer_max_abs_diff": worst,
                "scorer_files_compared": compared,
                "points_per_s": round(points / seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
