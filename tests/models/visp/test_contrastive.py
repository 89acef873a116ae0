"""InfoNCE (eq. 3) and the size / binary penalties (eq. 10) against hand computations."""

import math

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.losses.contrastive import binary_penalty, info_nce, size_penalty

SUMMARIES = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
VIDEOS = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
RANDOMS = torch.tensor([[1.0, 1.0], [0.0, 0.0]])


def test_info_nce_by_hand():
    # s(X_s^i, X_o^j) = S_i . O_j = [[2, 0], [0, 1]]
    first = -math.log(math.exp(2) / (math.exp(2) + math.exp(0)))
    second = -math.log(math.exp(1) / (math.exp(0) + math.exp(1)))
    assert info_nce(SUMMARIES, VIDEOS).item() == pytest.approx((first + second) / 2, abs=1e-6)
    assert info_nce(SUMMARIES, VIDEOS, reduction="sum").item() == pytest.approx(first + second, abs=1e-6)


def test_info_nce_with_random_summaries_as_hard_negatives_by_hand():
    # extra denominator terms s(X_s^i, X_r^j) = S_i . R_j = [[1, 0], [1, 0]]
    first = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(1) + 1))
    second = -math.log(math.exp(1) / (1 + math.exp(1) + math.exp(1) + 1))
    assert info_nce(SUMMARIES, VIDEOS, RANDOMS).item() == pytest.approx((first + second) / 2, abs=1e-6)


def test_cosine_similarity_and_temperature_by_hand():
    # cosines [[1, 0], [0, 1]] / 0.5
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert info_nce(SUMMARIES, VIDEOS, similarity="cosine", temperature=0.5).item() == pytest.approx(
        expected, abs=1e-6
    )


def test_info_nce_rejects_bad_options():
    with pytest.raises(ConfigError, match="similarity='l2'"):
        info_nce(SUMMARIES, VIDEOS, similarity="l2")
    with pytest.raises(ConfigError, match="nce_temperature=0"):
        info_nce(SUMMARIES, VIDEOS, temperature=0.0)


def test_penalties_by_hand():
    y = torch.tensor([[0.5, 1.0, 0.0], [0.2, 0.7, 0.7]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    # size: (1.5 / 3 + 0.2 / 1) / 2; binary: ((0.25 + 0 + 0) / 3 + 0.16 / 1) / 2
    assert size_penalty(y, mask).item() == pytest.approx(0.35, abs=1e-6)
    assert binary_penalty(y, mask).item() == pytest.approx((0.25 / 3 + 0.16) / 2, abs=1e-6)


def test_penalties_on_the_papers_scale_by_hand():
    # visp.txt section 3.4: R_size = ||Y||_1, R_binary = Y (1 - Y), summed over frames and the
    # batch's videos (eq. 3 sums L_N over the batch): size 0.5 + 1 + 0 + 0.2, binary 0.25 + 0.16
    y = torch.tensor([[0.5, 1.0, 0.0], [0.2, 0.7, 0.7]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    assert size_penalty(y, mask, "sum").item() == pytest.approx(1.7, abs=1e-6)
    assert binary_penalty(y, mask, "sum").item() == pytest.approx(0.41, abs=1e-6)
    with pytest.raises(ConfigError, match="reduction='max'"):
        size_penalty(y, mask, "max")


def test_penalties_vanish_on_empty_binary_summaries():
    mask = torch.ones(2, 4, dtype=torch.bool)
    assert size_penalty(torch.zeros(2, 4), mask).item() == 0.0
    assert binary_penalty(torch.tensor([[0.0, 1.0, 1.0, 0.0]] * 2), mask).item() == 0.0


def test_positive_is_each_summary_with_its_own_video():
    # An asymmetric similarity matrix: S . O^T = [[2, 0], [2, 1]] (rows: summaries, columns:
    # videos). Summary i is scored against every video j, the positive is j = i; reading the
    # matrix the other way (videos as queries) would give [[2, 2], [0, 1]] and another loss.
    summaries = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    first = -math.log(math.exp(2) / (math.exp(2) + math.exp(0)))
    second = -math.log(math.exp(1) / (math.exp(2) + math.exp(1)))
    assert info_nce(summaries, VIDEOS).item() == pytest.approx((first + second) / 2, abs=1e-6)
    # random summaries only ever add to the denominator: S . R^T = [[1, 0], [2, 0]]
    first_r = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(1) + 1))
    second_r = -math.log(math.exp(1) / (math.exp(2) + math.exp(1) + math.exp(2) + 1))
    assert info_nce(summaries, VIDEOS, RANDOMS).item() == pytest.approx(
        (first_r + second_r) / 2, abs=1e-6
    )
