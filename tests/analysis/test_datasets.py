"""Dataset explorer: pairwise agreement, per-video agreement rows, shot lengths; real SumMe."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.analysis.datasets import (
    annotator_agreement,
    overview,
    pairwise_f1,
    pairwise_rank,
    shot_lengths,
)
from vsumlab.errors import DatasetError

from ._records import dataset, record

TWO_USERS = record(
    n_frames=4, picks=[0, 2], change_points=[[0, 1], [2, 3]],
    user_summary=[[1, 1, 0, 0], [0, 1, 1, 0]],
    user_anno=[[1, 2, 3, 4], [4, 3, 2, 1]],
)


def test_pairwise_f1_by_hand() -> None:
    matrix = pairwise_f1(TWO_USERS)
    # overlap 1 frame, sizes 2 and 2: F = 2 * 1 / (2 + 2) = 50 %
    assert matrix.tolist() == [[100.0, 50.0], [50.0, 100.0]]
    tau, rho = pairwise_rank(TWO_USERS)
    assert tau[0, 1] == pytest.approx(-1.0) and rho[0, 1] == pytest.approx(-1.0)


def test_agreement_rows_and_shot_lengths() -> None:
    data = dataset(TWO_USERS, style="tvsum")
    (row,) = annotator_agreement(data)
    assert row["n_users"] == 2 and row["human_f1"] == pytest.approx(50.0)
    assert row["human_kendall"] == pytest.approx(-1.0)
    assert row["summary_share"] == pytest.approx(0.5)  # 4 of 8 user-frames selected
    assert row["duration_s"] == pytest.approx(4 / 30)
    assert shot_lengths(data).tolist() == pytest.approx([2 / 30, 2 / 30])
    info = overview(data)
    assert info["videos"] == 1 and info["annotators"] == [2] and info["style"] == "tvsum"
    with pytest.raises(DatasetError, match="user_summary"):
        annotator_agreement(dataset(record(user_anno=[[1] * 10, [2] * 10])))


@pytest.mark.slow  # reading the 25 SumMe mats takes ~5 s
def test_real_summe_annotators_and_shots(summe_gt_dir) -> None:
    from vsumlab.data.importers import import_summe

    data = import_summe(summe_gt_dir)
    rows = annotator_agreement(data)
    assert len(rows) == 25
    # data/README: 15-18 users per video; SumMe summaries are short (users kept ~5-20 %)
    assert all(15 <= r["n_users"] <= 18 for r in rows)
    shares = np.array([r["summary_share"] for r in rows])
    assert 0.05 < shares.mean() < 0.25
    human = np.mean([r["human_f1"] for r in rows])
    assert 45.0 < human < 65.0  # measured 54.3 (leave-one-out, max over the other users)
    # Otani et al. 2019 report human tau 0.205 on SumMe (binary selections: tau-b = rho = phi)
    tau = np.mean([r["human_kendall"] for r in rows])
    assert 0.17 < tau < 0.25
    assert overview(data)["duration_s_max"] < 7 * 60  # 1 to 6 minute videos
