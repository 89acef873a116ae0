"""Matplotlib figures of the notebooks (each returns its Figure; nothing is shown or saved)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vsumlab.analysis.captions import TimelineEvent
from vsumlab.analysis.videos import VideoCurves


def _figure(width: float = 10.0, height: float = 3.0, **kwargs: Any) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), **kwargs)


def plot_video(curves: VideoCurves, title: str = "") -> Any:
    """Predicted score vs ground truth and every annotator; selected shots shaded."""
    fig, ax = _figure()
    t = curves.seconds
    for i, row in enumerate(curves.annotators):
        ax.plot(t, row, color="0.8", lw=0.6, label="annotators" if i == 0 else None)
    if curves.ground_truth is not None:
        ax.plot(t, curves.ground_truth, color="tab:green", lw=1.5, label="ground truth")
    ax.plot(t, curves.prediction, color="tab:blue", lw=1.5, label="prediction")
    for i, shot in enumerate(curves.shots):
        ax.axvspan(t[shot.start], t[min(shot.end, len(t) - 1)], color="tab:orange", alpha=0.25,
                   label="selected shots" if i == 0 else None)
    ax.set(xlabel="time (s)", ylabel="score (scaled to [0, 1])", title=title, ylim=(-0.02, 1.05))
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_distributions(
    values: Mapping[str, Mapping[str, Sequence[float]]], title: str = ""
) -> Any:
    """Box plots per metric: values[metric][label] = per-video values (e.g. model vs human)."""
    metrics = list(values)
    fig, axes = _figure(4.0 * len(metrics), 3.2, ncols=len(metrics), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        labels = list(values[metric])
        data = [np.asarray(values[metric][label], dtype=float) for label in labels]
        ax.boxplot(data, tick_labels=labels, showmeans=True)
        for i, points in enumerate(data, start=1):
            jitter = np.linspace(-0.12, 0.12, len(points)) if len(points) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter), points, s=8, color="k", alpha=0.5)
        ax.set_title(metric)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], metric: str) -> Any:
    """One line per fold: a logged metric over epochs."""
    fig, ax = _figure(6.0, 3.2)
    for label, (x, y) in curves.items():
        ax.plot(x, y, marker="o", ms=3, label=label)
    ax.set(xlabel="epoch", ylabel=metric)
    if curves:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_matrix(matrix: np.ndarray, title: str, label: str) -> Any:
    """An annotator x annotator agreement matrix."""
    fig, ax = _figure(4.5, 4.0)
    image = ax.imshow(matrix, cmap="viridis")
    ax.set(xlabel="annotator", ylabel="annotator", title=title)
    fig.colorbar(image, ax=ax, label=label)
    fig.tight_layout()
    return fig


def plot_histogram(values: np.ndarray, xlabel: str, title: str = "", bins: int = 30) -> Any:
    fig, ax = _figure(6.0, 3.0)
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    ax.set(xlabel=xlabel, ylabel="count", title=title)
    fig.tight_layout()
    return fig


def plot_timeline(
    truth: Sequence[TimelineEvent],
    predicted: Sequence[TimelineEvent] | None,
    duration: float,
    scores: np.ndarray | None = None,
    title: str = "",
    missing_reason: str = "needs a Cap2Sum checkpoint",
) -> Any:
    """Ground-truth and predicted events as bars on two lanes; summarizer scores below."""
    rows = 2 if scores is not None else 1
    fig, axes = _figure(11.0, 2.4 + 1.6 * rows, nrows=rows, squeeze=False, sharex=True)
    ax = axes[0, 0]
    lanes = [("ground truth", truth, "tab:green")]
    lanes.append(("predicted", predicted or [], "tab:purple"))
    for lane, (_, events, color) in enumerate(lanes):
        y = 1 - lane
        for i, event in enumerate(events):
            offset = 0.18 * (i % 3 - 1)  # overlapping events stay readable
            ax.plot([event.start, event.end], [y + offset] * 2, color=color, lw=6,
                    solid_capstyle="butt", alpha=0.8)
            ax.text(event.start, y + offset + 0.07, event.sentence[:40], fontsize=7)
    if predicted is None:
        ax.text(0.02 * duration, 0.0, f"predicted events: {missing_reason}", fontsize=9,
                color="tab:red")
    ax.set(yticks=[1, 0], yticklabels=[lane[0] for lane in lanes], ylim=(-0.5, 1.5),
           xlim=(0, duration), title=title)
    if scores is not None:
        t = np.linspace(0, duration, len(scores), endpoint=False)
        axes[1, 0].plot(t, scores, color="tab:blue")
        axes[1, 0].set(xlabel="time (s)", ylabel="summarizer score", ylim=(-0.02, 1.02))
    else:
        ax.set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def plot_por(rows: Sequence[Mapping[str, Any]], title: str = "") -> Any:
    """The Performance-over-Random picture: each replica's F1 against the random summarizer's
    expected F1 on the same test videos (rows of ``result_tables.por_by_split``). On the
    diagonal a method is no better than random (PoR 100); the height above it is what it adds,
    and the spread along it is how much the split itself moves the score."""
    fig, ax = _figure(4.5, 4.0)
    random_f1 = np.asarray([row["random_f1"] for row in rows], dtype=float)
    model_f1 = np.asarray([row["f1"] for row in rows], dtype=float)
    ax.scatter(random_f1, model_f1, s=18, color="tab:blue", label="replicas (split, seed)")
    finite = np.concatenate([random_f1, model_f1])
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()) - 2.0, float(finite.max()) + 2.0) if finite.size else (0, 100)
    ax.plot([low, high], [low, high], color="0.5", ls="--", lw=1, label="PoR 100 (random)")
    ax.set(xlabel="random summarizer F1 (%)", ylabel="method F1 (%)", title=title,
           xlim=(low, high), ylim=(low, high))
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_spread(values: Mapping[str, Sequence[float]], intervals: Mapping[str, tuple[float, float]],
                title: str = "") -> Any:
    """Per metric, every replica's value (points) with the mean's 95% interval (error bar):
    ``values[metric]`` the replicas' values, ``intervals[metric]`` = (mean, half-width)."""
    metrics = list(values)
    fig, axes = _figure(3.2 * len(metrics), 3.2, ncols=len(metrics), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        points = np.asarray(values[metric], dtype=float)
        jitter = np.linspace(-0.15, 0.15, len(points)) if len(points) > 1 else np.zeros(1)
        ax.scatter(jitter[: len(points)], points, s=10, color="k", alpha=0.5)
        mean, half = intervals[metric]
        ax.errorbar([0.4], [mean], yerr=[[half if np.isfinite(half) else 0.0]] * 2, fmt="o",
                    color="tab:red", capsize=4)
        ax.set(xticks=[], xlim=(-0.5, 0.8), title=metric)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
