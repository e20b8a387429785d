"""Outlay's NAB scorer against NAB's published results (the raw outputs and per-file scores it ships)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from services.anomaly.evaluation import nab

DETECTORS = ("numenta", "randomCutForest", "null")


@pytest.fixture(scope="module")
def nab_root(shared_data: Path) -> Path:
    return shared_data / "nab"


@pytest.fixture(scope="module")
def corpus(nab_root: Path) -> nab.NabCorpus:
    return nab.NabCorpus.load(nab_root)


@pytest.mark.parametrize("detector", DETECTORS)
def test_per_file_scores_match_the_published_ones(nab_root: Path, detector: str) -> None:
    rescored = list(nab.rescore_published(nab_root, detector))
    assert len(rescored) == 17 * 3  # the realAWSCloudwatch outputs, under each of the three profiles
    for expected, got in rescored:
        assert got.score == pytest.approx(expected.score, abs=0.01), (detector, expected.profile, expected.file)
        assert (got.tp, got.tn, got.fp, got.fn) == (expected.tp, expected.tn, expected.fp, expected.fn)


def test_normalised_subset_scores_match_the_published_scoreboard(corpus: nab.NabCorpus, nab_root: Path) -> None:
    """ARTime 67.3, Numenta HTM 66.5, Random Cut Forest 51.9 (standard) on these 24 files (data README)."""
    expected = {"ARTime": 67.3, "numenta": 66.5, "randomCutForest": 51.9, "null": 0.0}
    cost = corpus.profiles["standard"]
    assert len(corpus.series) == 24 and sum(nab.point_weights(s.file, cost).windows for s in corpus.series) == 49
    for detector, score in expected.items():
        assert round(nab.published_normalised(nab_root, corpus, detector, "standard"), 1) == score


def test_best_threshold_sweep_equals_scoring_at_that_threshold(corpus: nab.NabCorpus) -> None:
    cost = corpus.profiles["standard"]
    # A detector that fires on large jumps: enough structure to make the sweep non-trivial.
    series = corpus.series[:6]
    scores = [[0.0] + [min(1.0, abs(b - a) / (abs(a) + 1.0)) for a, b in itertools.pairwise(s.values)] for s in series]
    weighted = [(sc, nab.point_weights(s.file, cost)) for sc, s in zip(scores, series, strict=True)]
    threshold, raw = nab.best_threshold(weighted, cost)
    assert raw == pytest.approx(sum(nab.score_at(sc, p, cost, threshold).score for sc, p in weighted))
    for other in (threshold * 0.5, threshold * 1.5, 0.999):
        assert raw >= sum(nab.score_at(sc, p, cost, other).score for sc, p in weighted) - 1e-9


def test_reward_curve_shape() -> None:
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.9866, abs=1e-4)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(3.5) == -1.0
    assert nab.probation_length(4032) == 604 and nab.probation_length(22695) == 750
