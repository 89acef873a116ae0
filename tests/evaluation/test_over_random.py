"""Performance over Random (Apostolidis et al., ACM MM 2020): 100 · F1 / random F1, per split."""

from __future__ import annotations

import math

import pytest

from vsumlab.errors import VsumError
from vsumlab.evaluation.over_random import per_split, performance_over_random


def test_por_is_the_percent_ratio_to_the_random_f1_of_the_same_split() -> None:
    assert performance_over_random(45.0, 40.0) == pytest.approx(112.5)
    assert performance_over_random(40.0, 40.0) == pytest.approx(100.0)  # no better than random
    assert performance_over_random(47.0, 61.0) == pytest.approx(77.04918, abs=1e-5)


def test_per_split_pairs_each_split_with_its_own_random_f1() -> None:
    assert per_split([45.0, 30.0], [40.0, 40.0]) == pytest.approx([112.5, 75.0])
    assert math.isnan(performance_over_random(30.0, 0.0))  # undefined, never infinite
    with pytest.raises(VsumError, match="2 F1 values but 1 random"):
        per_split([45.0, 30.0], [40.0])
