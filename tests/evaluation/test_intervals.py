"""The interval every table prints: Student-t, 95%, over replicas (hand-computed values)."""

from __future__ import annotations

import math

import pytest

from vsumlab.evaluation.intervals import CONFIDENCE, t_interval


def test_the_tables_print_95_percent_intervals() -> None:
    assert CONFIDENCE == 0.95  # docs/EVALUATION.md states this coverage


def test_two_replicas() -> None:
    # mean 55, s = sqrt(50) = 7.0711, s/sqrt(2) = 5, t(0.975, 1 dof) = 12.7062 -> 63.531
    interval = t_interval([50.0, 60.0])
    assert (interval.mean, interval.n) == (55.0, 2)
    assert interval.half_width == pytest.approx(63.531024, abs=1e-5)
    assert (interval.low, interval.high) == pytest.approx((55 - 63.531024, 55 + 63.531024))


def test_four_replicas() -> None:
    # mean 2.5, s = sqrt(5/3) = 1.290994, s/2 = 0.645497, t(0.975, 3 dof) = 3.182446 -> 2.054260
    interval = t_interval([1.0, 2.0, 3.0, 4.0])
    assert interval.mean == 2.5 and interval.half_width == pytest.approx(2.054260, abs=1e-5)


def test_one_replica_has_no_interval_and_nan_is_left_out() -> None:
    single = t_interval([42.0])
    assert single.mean == 42.0 and single.n == 1 and math.isnan(single.half_width)
    assert not single.defined
    # an undefined rank correlation (NaN) is left out, as the metric's own mean does
    assert t_interval([1.0, float("nan"), 3.0]).n == 2
    assert t_interval([]).n == 0 and math.isnan(t_interval([]).mean)
