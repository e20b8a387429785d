"""A scorer for the Numenta Anomaly Benchmark (NAB v1.1), written from its published rules.

Rules (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms", 2015, and NAB's documentation):
- each labelled anomaly window rewards the *earliest* detection inside it: a point at relative position
  p ∈ [-1, 0) from the window's right end scores `scaled_sigmoid(p)`, scaled so the first point of the
  window scores exactly the profile's true-positive weight; a window with no detection costs −fn weight;
- a detection outside every window is a false positive weighted by how far it lies past the previous
  window's end (`scaled_sigmoid` of the distance in window widths, −1 beyond three widths or before any
  window), times the profile's false-positive weight;
- the first 15% of a file (at most 750 points) is a probationary period: nothing there is scored;
- a point is a detection when its anomaly score is ≥ the detector's threshold; one threshold per
  detector and profile for the whole corpus, chosen to maximise the corpus score;
- a corpus score is normalised as 100 × (raw − null) / (perfect − null), where the null detector
  detects nothing and the perfect one detects every window at its first point.

Pure functions over plain lists: no I/O besides the loaders at the bottom.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROBATION_PERCENT = 0.15
PROBATION_CAP = 0.15 * 5000  # NAB caps probation at 15% of 5,000 points
PROBATION = -1  # window index of a probationary point


@dataclass(frozen=True)
class CostMatrix:
    tp: float
    fp: float
    fn: float
    tn: float = 1.0


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: ~+1 early in a window, 0 at its end, towards −1 after it (−1 beyond 3 widths)."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


_MAX_TP = scaled_sigmoid(-1.0)


def probation_length(rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * rows), PROBATION_CAP))


@dataclass(frozen=True)
class LabelledFile:
    """One data file's timestamps and its anomaly windows as inclusive index ranges."""

    name: str
    timestamps: list[datetime]
    windows: list[tuple[int, int]]


def window_indexes(
    timestamps: Sequence[datetime], windows: Iterable[tuple[datetime, datetime]]
) -> list[tuple[int, int]]:
    """Each window's first and last point index (a window holds the points with start ≤ t ≤ end)."""
    out = []
    for start, end in windows:
        left = bisect.bisect_left(timestamps, start)
        right = bisect.bisect_right(timestamps, end) - 1
        if right >= left:
            out.append((left, right))
    return sorted(out)


@dataclass(frozen=True)
class PointWeights:
    """Per point: the window it belongs to (None outside, PROBATION early) and its score if detected."""

    window: list[int | None]
    weight: list[float]
    windows: int  # windows that can be scored (with at least one point after probation)


def point_weights(file: LabelledFile, cost: CostMatrix) -> PointWeights:
    rows = len(file.timestamps)
    probation = probation_length(rows)
    window_of: list[int | None] = [None] * rows
    weight = [0.0] * rows
    previous: tuple[int, int] | None = None  # the last window that ended before the current point
    spans = iter(enumerate(file.windows))
    current = next(spans, None)
    for i in range(rows):
        if current is not None and current[1][0] <= i <= current[1][1]:
            index, (left, right) = current
            width = right - left + 1
            weight[i] = scaled_sigmoid(-(right - i + 1) / width) * cost.tp / _MAX_TP
            window_of[i] = index
            if i == right:
                previous = (left, right)
                current = next(spans, None)
        else:
            if previous is None:
                unweighted = -1.0
            else:
                left, right = previous
                unweighted = scaled_sigmoid(abs(right - i) / (right - left))  # NAB divides by width − 1
            weight[i] = unweighted * cost.fp
        if i < probation:
            window_of[i] = PROBATION
    scored = {w for w in window_of if w is not None and w != PROBATION}
    return PointWeights(window_of, weight, len(scored))


@dataclass(frozen=True)
class FileScore:
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def score_at(scores: Sequence[float], points: PointWeights, cost: CostMatrix, threshold: float) -> FileScore:
    """The file's raw NAB score when every point with anomaly score ≥ `threshold` is a detection."""
    best: dict[int, float] = {}
    total = 0.0
    tp = tn = fp = fn = 0
    for score, window, weight in zip(scores, points.window, points.weight, strict=True):
        if window == PROBATION:
            continue
        detected = score >= threshold
        if window is None:
            if detected:
                fp += 1
                total += weight
            else:
                tn += 1
        elif detected:
            tp += 1
            best[window] = max(weight, best.get(window, -math.inf))
        else:
            fn += 1
    total += sum(best.values()) - cost.fn * (points.windows - len(best))
    return FileScore(total, tp, tn, fp, fn)


def null_score(points: PointWeights, cost: CostMatrix) -> float:
    return -cost.fn * points.windows


def perfect_score(points: PointWeights, cost: CostMatrix) -> float:
    return cost.tp * points.windows


def normalised(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null)


def best_threshold(corpus: Sequence[tuple[Sequence[float], PointWeights]], cost: CostMatrix) -> tuple[float, float]:
    """The threshold that maximises the corpus's raw score, and that score: an exact sweep.

    The corpus score only changes at the anomaly scores the files contain, so every distinct score is
    tried, from the highest down, updating the total incrementally (as NAB's own sweep does per file).
    """
    events: list[tuple[float, int, int]] = []  # (anomaly score, file, point), scored points only
    total = 0.0
    for f, (scores, points) in enumerate(corpus):
        total += null_score(points, cost)
        events.extend((s, f, i) for i, (s, w) in enumerate(zip(scores, points.window, strict=True)) if w != PROBATION)
    events.sort(key=lambda e: -e[0])
    best_by_window: dict[tuple[int, int], float] = {}
    best_total, best_at = total, math.inf
    k = 0
    while k < len(events):
        threshold = events[k][0]
        while k < len(events) and events[k][0] == threshold:
            _, f, i = events[k]
            points = corpus[f][1]
            window, weight = points.window[i], points.weight[i]
            if window is None:
                total += weight
            else:
                key = (f, window)
                before = best_by_window.get(key)
                if before is None:
                    total += cost.fn + weight  # the window is found: its miss penalty goes
                    best_by_window[key] = weight
                elif weight > before:
                    total += weight - before
                    best_by_window[key] = weight
            k += 1
        if total > best_total:
            best_total, best_at = total, threshold
    return best_at, best_total


# --- loaders for NAB's files --------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def load_profiles(config: Path) -> dict[str, CostMatrix]:
    raw = json.loads(config.read_text())
    return {
        name: CostMatrix(tp=m["tpWeight"], fp=m["fpWeight"], fn=m["fnWeight"], tn=m["tnWeight"])
        for name, body in raw.items()
        for m in [body["CostMatrix"]]
    }


def load_windows(labels: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    raw = json.loads(labels.read_text())
    return {name: [(parse_time(a), parse_time(b)) for a, b in spans] for name, spans in raw.items()}


def read_series(path: Path) -> tuple[list[datetime], list[float]]:
    """A NAB data file: `timestamp,value` rows."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [parse_time(r["timestamp"]) for r in rows], [float(r["value"]) for r in rows]


def read_detector_output(path: Path) -> tuple[list[datetime], list[float]]:
    """A published raw result file (`timestamp,value,anomaly_score,…`): timestamps and anomaly scores."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [parse_time(r["timestamp"]) for r in rows], [float(r["anomaly_score"]) for r in rows]


@dataclass(frozen=True)
class PublishedScore:
    detector: str
    profile: str
    file: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def read_published_scores(path: Path) -> list[PublishedScore]:
    """A `<detector>_<profile>_scores.csv` of NAB's results (the Totals row is skipped)."""
    with path.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["File"] and r["File"] != "Totals"]
    return [
        PublishedScore(
            r["Detector"],
            r["Profile"],
            r["File"],
            float(r["Threshold"]),
            float(r["Score"]),
            int(r["TP"]),
            int(r["TN"]),
            int(r["FP"]),
            int(r["FN"]),
        )
        for r in rows
    ]


# --- the corpus Outlay is measured on -----------------------------------------------------------------

SUBSETS = ("realAWSCloudwatch", "realKnownCause")


@dataclass(frozen=True)
class NabSeries:
    file: LabelledFile
    values: list[float]


@dataclass(frozen=True)
class NabCorpus:
    series: list[NabSeries]
    profiles: dict[str, CostMatrix]

    @classmethod
    def load(cls, root: Path, subsets: Sequence[str] = SUBSETS) -> NabCorpus:
        """NAB's data files of `subsets` with their windows, and the scoring profiles."""
        windows = load_windows(root / "labels" / "combined_windows.json")
        series = []
        for subset in subsets:
            for path in sorted((root / "data" / subset).glob("*.csv")):
                name = f"{subset}/{path.name}"
                timestamps, values = read_series(path)
                series.append(
                    NabSeries(LabelledFile(name, timestamps, window_indexes(timestamps, windows[name])), values)
                )
        return cls(series, load_profiles(root / "config" / "profiles.json"))


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    score: float  # normalised: null detector 0, perfect 100
    threshold: float
    raw: float


def corpus_normalised(corpus: NabCorpus, cost: CostMatrix, raw: float) -> float:
    """A raw corpus score normalised over `corpus` (null detector 0, perfect detector 100)."""
    weights = [point_weights(s.file, cost) for s in corpus.series]
    null = sum(null_score(w, cost) for w in weights)
    perfect = sum(perfect_score(w, cost) for w in weights)
    return normalised(raw, null, perfect)


def evaluate(corpus: NabCorpus, scores: dict[str, Sequence[float]]) -> dict[str, ProfileResult]:
    """Normalised scores per profile of a detector's anomaly scores (one list per file, by name),
    each at the single threshold that is best for the whole corpus under that profile."""
    results = {}
    for profile, cost in corpus.profiles.items():
        weighted = [(scores[s.file.name], point_weights(s.file, cost)) for s in corpus.series]
        threshold, raw = best_threshold(weighted, cost)
        results[profile] = ProfileResult(profile, corpus_normalised(corpus, cost, raw), threshold, raw)
    return results


def published_normalised(root: Path, corpus: NabCorpus, detector: str, profile: str) -> float:
    """A published detector's score over `corpus`, from NAB's per-file results."""
    published = read_published_scores(root / "results" / detector / f"{detector}_{profile}_scores.csv")
    by_file = {p.file: p.score for p in published}
    raw = sum(by_file[s.file.name] for s in corpus.series)
    return corpus_normalised(corpus, corpus.profiles[profile], raw)


def rescore_published(
    root: Path, detector: str, subset: str = "realAWSCloudwatch"
) -> Iterator[tuple[PublishedScore, FileScore]]:
    """For each profile and each of `detector`'s published raw outputs in `subset`: NAB's published
    per-file score, and this scorer's score of the same output at the published threshold."""
    windows = load_windows(root / "labels" / "combined_windows.json")
    outputs = sorted((root / "results" / detector / subset).glob("*.csv"))
    for profile, cost in load_profiles(root / "config" / "profiles.json").items():
        published = read_published_scores(root / "results" / detector / f"{detector}_{profile}_scores.csv")
        by_file = {p.file: p for p in published}
        for output in outputs:
            name = f"{subset}/" + output.name.removeprefix(f"{detector}_")
            timestamps, scores = read_detector_output(output)
            labelled = LabelledFile(name, timestamps, window_indexes(timestamps, windows[name]))
            expected = by_file[name]
            yield expected, score_at(scores, point_weights(labelled, cost), cost, expected.threshold)
