"""The one registry of metrics: names, directions, reductions over videos and formats."""

from __future__ import annotations

import dataclasses
import math

import pytest

from vsumlab.errors import ConfigError
from vsumlab.evaluation.metric_registry import (
    METRICS,
    PRIMARY,
    REGISTRY,
    MetricSpec,
    logged_name,
    metric,
    one_line,
    reduce_videos,
)
from vsumlab.evaluation.scores import VideoScores


def test_the_protocols_metrics_in_table_order() -> None:
    assert METRICS == ("f1", "kendall", "spearman")
    assert PRIMARY == "f1"
    assert all(REGISTRY[name].higher_is_better for name in METRICS)
    # each registered metric is a per-video value evaluate_video returns
    assert set(METRICS) <= {f.name for f in dataclasses.fields(VideoScores)}


def test_f1_is_the_mean_over_all_videos_and_correlations_skip_undefined_ones() -> None:
    """EVALUATION.md: F1 averages every video; a rank correlation is undefined (NaN) on a video
    whose annotators are all constant and is left out of the mean."""
    values = [10.0, 20.0, math.nan]
    assert math.isnan(metric("f1").reduce(values))  # never hides a missing F1
    assert metric("kendall").reduce(values) == pytest.approx(15.0)
    assert metric("spearman").reduce(values) == pytest.approx(15.0)
    assert metric("f1").reduce([10.0, 20.0, 60.0]) == pytest.approx(30.0)
    assert math.isnan(metric("kendall").reduce([math.nan]))
    assert reduce_videos({"f1": [1.0, 3.0], "kendall": [0.5, math.nan]}) == {
        "f1": 2.0, "kendall": 0.5}


def test_formats_and_names() -> None:
    assert metric("f1").format(57.6449) == "57.64"
    assert metric("kendall").format(0.24249) == "0.242"
    assert metric("spearman").format(math.nan) == "nan"
    assert metric("f1").header == "F1 (%)" and metric("kendall").header == "Kendall tau"
    assert logged_name("val", "f1") == "val/f1" and logged_name("test", "spearman") == "test/spearman"


def test_direction_decides_which_value_is_better() -> None:
    assert metric("f1").better(50.0, 40.0) and not metric("f1").better(40.0, 50.0)
    loss = MetricSpec("mse", "MSE", "mse", direction="min")
    assert loss.better(0.1, 0.2) and not loss.higher_is_better


def test_unknown_names_and_choices_are_refused() -> None:
    with pytest.raises(ConfigError, match="metric 'f2' is unknown; expected one of f1, kendall"):
        metric("f2")
    with pytest.raises(ValueError, match="direction"):
        MetricSpec("x", "X", "x", direction="up")
    with pytest.raises(ValueError, match="reduction"):
        MetricSpec("x", "X", "x", reduction="median")


def test_one_line_summaries_follow_the_registry() -> None:
    assert one_line({"spearman": 0.31849, "f1": 57.6449, "kendall": 0.24249}) == (
        "F1 57.64  tau 0.242  rho 0.318")
    assert one_line({"f1": 50.0}) == "F1 50.00"
