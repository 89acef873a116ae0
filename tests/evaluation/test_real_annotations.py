"""The metrics on the REAL SumMe / TVSum annotations (VSUMLAB_DATA; skipped when absent).

Marked slow: importing the two sets runs KTS on stand-in features for every video (about a minute
on a 2-core machine); the evaluation itself takes a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import io, stats

from vsumlab.evaluation.metrics import human_reference, random_baseline
from vsumlab.protocol.options import Protocol

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tvsum(tvsum_mat: Path):
    from vsumlab.data.importers import import_tvsum

    return import_tvsum(tvsum_mat)


@pytest.fixture(scope="module")
def summe(summe_gt_dir: Path):
    from vsumlab.data.importers import import_summe

    return import_summe(summe_gt_dir)


def test_tvsum_human_rank_correlation_reproduces_otani_2019(tvsum):
    # Otani et al., CVPR 2019: human leave-one-out tau = 0.177, rho = 0.204 (pairwise definition,
    # full frame rate; see vsumlab.evaluation.metrics)
    human = human_reference(tvsum)
    assert human.style == "tvsum" and len(human.rows) == 50
    assert human.mean.kendall == pytest.approx(0.177, abs=1e-3)
    assert human.mean.spearman == pytest.approx(0.204, abs=1e-3)
    # the 15-frame subsampling some code bases use gives the same figures to 3 decimals
    strided = human_reference(tvsum, Protocol(rank_rate="stride"))
    assert strided.mean.kendall == pytest.approx(0.177, abs=1e-3)
    assert strided.mean.spearman == pytest.approx(0.204, abs=1e-3)
    # human F1 (mean over the other 19 users' keyshot summaries): a plausible band
    assert 40.0 < human.mean.f1 < 65.0


def test_tvsum_random_scores_do_not_correlate(tvsum):
    random = random_baseline(tvsum, draws=2, seed=0)
    assert abs(random.mean.kendall) < 0.01 and abs(random.mean.spearman) < 0.015


def _raw_summe_selections(summe_gt_dir: Path) -> dict[str, np.ndarray]:
    """video name -> (users, frames) selections straight from the .mat files (the oracle)."""
    out = {}
    for path in sorted(summe_gt_dir.glob("*.mat")):
        out[path.stem] = io.loadmat(path)["user_score"].T > 0
    return out


def test_summe_human_f1_against_an_independent_loop(summe, summe_gt_dir):
    raw = _raw_summe_selections(summe_gt_dir)
    by_name = {record.video_name: key for key, record in summe.records.items()}
    assert sorted(by_name) == sorted(raw)

    def loop_f1(selections: np.ndarray, reduce) -> float:
        per_user = []
        for i, mine in enumerate(selections):
            scores = []
            for j, other in enumerate(selections):
                if i != j:
                    overlap = np.sum(mine & other)
                    p, r = overlap / max(mine.sum(), 1), overlap / max(other.sum(), 1)
                    scores.append(0.0 if overlap == 0 else 200 * p * r / (p + r))
            per_user.append(reduce(scores))
        return float(np.mean(per_user))

    human_max = human_reference(summe)  # SumMe style: max over the other users
    human_mean = human_reference(summe, Protocol(f1_reduction="mean"))
    for name, selections in raw.items():
        key = by_name[name]
        assert human_max.rows[key].f1 == pytest.approx(loop_f1(selections, max), abs=1e-9)
        assert human_mean.rows[key].f1 == pytest.approx(loop_f1(selections, np.mean), abs=1e-9)
    # sanity figures on the 25 real videos (computed here; printed by the benchmark)
    assert human_max.mean.f1 == pytest.approx(54.33, abs=0.01)
    assert human_mean.mean.f1 == pytest.approx(31.07, abs=0.01)


def test_summe_human_rank_correlation_against_scipy(summe, summe_gt_dir):
    raw = _raw_summe_selections(summe_gt_dir)
    human = human_reference(summe)
    for record in list(summe)[:3]:  # scipy on full-rate pairs is slow; three videos suffice
        selections = raw[record.video_name].astype(float)
        n = len(selections)
        taus = [
            stats.kendalltau(selections[i], selections[j]).statistic
            for i in range(n)
            for j in range(n)
            if i != j
        ]
        assert human.rows[record.key].kendall == pytest.approx(np.mean(taus), abs=1e-9)
