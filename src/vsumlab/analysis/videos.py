"""Per-video views: frame-level score curves against ground truth and annotators, the shots
the knapsack selects, and per-video metrics of a model beside the human reference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord, require_fps
from vsumlab.errors import PredictionError
from vsumlab.evaluation import metrics
from vsumlab.protocol import keyshots
from vsumlab.protocol.options import Protocol


@dataclass(frozen=True)
class SelectedShot:
    index: int
    start: int  # inclusive frame range
    end: int
    score: float  # mean frame score of the shot


@dataclass
class VideoCurves:
    """Frame-level series of one video, all of length n_frames, scaled to [0, 1]."""

    seconds: np.ndarray
    prediction: np.ndarray
    ground_truth: np.ndarray | None
    annotators: np.ndarray  # (U, n_frames)
    summary: np.ndarray  # 0/1 machine summary
    shots: list[SelectedShot]


def _unit(values: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] (a constant series becomes zeros), so curves share an axis."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    return np.zeros_like(values) if high - low < 1e-12 else (values - low) / (high - low)


def selected_shots(
    record: VideoRecord, step_scores: np.ndarray, protocol: Protocol | None = None
) -> list[SelectedShot]:
    """The shots of the keyshot summary (the evaluation's knapsack), in time order."""
    protocol = protocol or Protocol()
    cps = np.asarray(record.change_points, dtype=np.int64).reshape(-1, 2)
    frames = keyshots.upsample_to_frames(step_scores, record.picks, record.n_frames)
    per_shot = keyshots.shot_scores(frames, cps)
    lengths = cps[:, 1] - cps[:, 0] + 1
    capacity = keyshots.knapsack_capacity(record.n_frames, cps, protocol)
    chosen = keyshots.select_shots(per_shot, lengths, capacity, protocol)
    return [SelectedShot(int(i), int(cps[i, 0]), int(cps[i, 1]), float(per_shot[i]))
            for i in chosen]


def video_curves(
    record: VideoRecord,
    step_scores: np.ndarray,
    protocol: Protocol | None = None,
    style: str | None = None,
) -> VideoCurves:
    """Prediction, ground truth and every annotator at frame level, and the selected shots."""
    protocol = protocol or Protocol()
    if len(step_scores) != record.n_steps:
        raise PredictionError(
            f"video '{record.key}': {len(step_scores)} step scores, expected n_steps="
            f"{record.n_steps}"
        )
    prediction = keyshots.upsample_to_frames(step_scores, record.picks, record.n_frames)
    truth = None
    if record.gtscore is not None:
        truth = _unit(keyshots.upsample_to_frames(record.gtscore, record.picks, record.n_frames))
    annotators = metrics.rank_annotators(record, protocol, style)
    # TVSum scores 1..5 -> [0, 1]; SumMe selections are already 0/1
    scale = annotators.max() if annotators.size and annotators.max() > 1 else 1.0
    low = 1.0 if scale > 1 else 0.0
    annotators = np.clip((annotators - low) / max(scale - low, 1e-12), 0.0, 1.0)
    summary = keyshots.keyshot_summary(step_scores, record.change_points, record.n_frames,
                                       record.picks, protocol)
    return VideoCurves(
        seconds=np.arange(record.n_frames) / require_fps(record, why="a time axis in seconds"),
        prediction=_unit(prediction),
        ground_truth=truth,
        annotators=annotators,
        summary=summary,
        shots=selected_shots(record, step_scores, protocol),
    )


def resolve_key(dataset: Dataset, key: str) -> str:
    """A prediction key in the dataset: plain, or qualified '<dataset name>/<key>'."""
    if key in dataset.keys:
        return key
    name, _, plain = key.partition("/")
    if plain and name == dataset.name and plain in dataset.keys:
        return plain
    raise PredictionError(f"{dataset.path}: video '{key}' is not in dataset '{dataset.name}'")


def per_video_scores(
    dataset: Dataset, predictions: Mapping[str, np.ndarray], protocol: Protocol | None = None
) -> dict[str, dict[str, metrics.VideoScores]]:
    """{"model": key -> scores, "human": key -> leave-one-out scores} on the predicted videos."""
    protocol = protocol or Protocol()
    style = metrics.annotation_style(dataset)
    model, human = {}, {}
    for key, scores in predictions.items():
        record = dataset[resolve_key(dataset, key)]
        model[key] = metrics.evaluate_video(record, scores, protocol, style)
        human[key] = metrics.human_video(record, protocol, style)
    return {"model": model, "human": human}
