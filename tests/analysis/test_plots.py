"""The notebooks' figures draw what they claim (artists counted on the returned Figure)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from vsumlab.analysis.captions import TimelineEvent  # noqa: E402
from vsumlab.analysis.plots import (  # noqa: E402
    plot_curves,
    plot_distributions,
    plot_por,
    plot_spread,
    plot_timeline,
    plot_video,
)
from vsumlab.analysis.videos import video_curves  # noqa: E402
from vsumlab.protocol.options import Protocol  # noqa: E402

from ._records import record  # noqa: E402


def test_video_plot_has_every_annotator_the_prediction_and_shots() -> None:
    rec = record(user_summary=[[1] * 5 + [0] * 5, [1] * 10, [0] * 10],
                 user_anno=[[5] * 10, [1] * 10, [3] * 10], gtscore=[1.0, 2.0])
    fig = plot_video(video_curves(rec, np.array([0.9, 0.1]), Protocol(budget=0.5)))
    ax = fig.axes[0]
    assert len(ax.lines) == 3 + 2  # three annotators, ground truth, prediction
    assert len(ax.patches) == 1  # one selected shot
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["annotators", "ground truth", "prediction", "selected shots"]


def test_distributions_curves_and_timeline() -> None:
    fig = plot_distributions({"f1": {"model": [40, 50], "human": [55, 60, 65]},
                              "kendall": {"model": [0.1], "human": [0.2]}})
    assert [ax.get_title() for ax in fig.axes] == ["f1", "kendall"]
    fig = plot_curves({"fold 0": (np.array([0, 1]), np.array([1.0, 2.0]))}, "val/f1")
    assert len(fig.axes[0].lines) == 1
    truth = [TimelineEvent(0, 5, "a man runs"), TimelineEvent(6, 9, "he jumps")]
    fig = plot_timeline(truth, None, duration=10.0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "a man runs" in texts and any("needs a Cap2Sum checkpoint" in t for t in texts)
    fig = plot_timeline(truth, [TimelineEvent(1, 4, "x")], 10.0, scores=np.linspace(0, 1, 20))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3


def test_por_picture_puts_replicas_against_their_random_f1() -> None:
    rows = [{"f1": 50.0, "random_f1": 40.0, "por": 125.0},
            {"f1": 30.0, "random_f1": 35.0, "por": 30 / 35 * 100}]
    ax = plot_por(rows).axes[0]
    [points] = ax.collections
    np.testing.assert_allclose(points.get_offsets(), [[40.0, 50.0], [35.0, 30.0]])
    [diagonal] = ax.lines  # PoR 100: y = x
    xs, ys = diagonal.get_data()
    np.testing.assert_allclose(xs, ys)
    assert xs[0] < 30.0 and xs[1] > 50.0


def test_spread_shows_every_replica_and_the_interval() -> None:
    fig = plot_spread({"f1": [50.0, 52.0, 54.0], "por": [110.0, 120.0, 130.0]},
                      {"f1": (52.0, 4.97), "por": (120.0, 24.8)})
    assert [ax.get_title() for ax in fig.axes] == ["f1", "por"]
    points = fig.axes[0].collections[0].get_offsets()
    assert sorted(points[:, 1]) == [50.0, 52.0, 54.0]
