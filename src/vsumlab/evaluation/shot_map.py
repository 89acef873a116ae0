"""DeSumNet's evaluation (desumnet.txt section 4.1): greedy skims and top-k mAP against human
shot selections, as in MBF / CVS which the paper follows.

* Shot importance: the mean of the frame importance within each shot (mean pooling).
* Greedy skim: shots sorted by decreasing importance, ties to the shorter shot (then the
  earlier one), each shot taken when it still fits the length budget ("the top-ranked shots
  that fit in the user defined length constraint"; a shot that does not fit is skipped and the
  next ones are still tried). Without a budget the skim is the whole ranking.
* Human shot selections on TVSum: each annotator's frame scores are averaged per shot and the
  top 50% of shots (``floor(n_shots * 0.5)``, ties to the earlier shot) form that annotator's
  summary; 20 summaries per video.
* AP@k of a skim's first k shots against one human selection R:
  ``sum_{i<=k} P@i * rel_i / min(k, |R|)`` (the normalisation the paper leaves open; the usual
  truncated AP). mAP@k of a video: the mean over its annotators; of a dataset: the mean over
  videos. Tables 1-2 report k = 5 and 15.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.protocol.keyshots import shot_scores, upsample_to_frames

TOP_K = (5, 15)
HUMAN_FRACTION = 0.5


def shot_lengths(change_points: np.ndarray) -> np.ndarray:
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    return cps[:, 1] - cps[:, 0] + 1


def skim_order(scores: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Shot indices by decreasing score; ties to the shorter shot, then the earlier shot."""
    scores = np.asarray(scores, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    # lexsort: the last key is the primary one
    return np.lexsort((np.arange(len(scores)), lengths, -scores))


def greedy_skim(scores: np.ndarray, lengths: np.ndarray, budget: int | None = None) -> np.ndarray:
    """Shots of the skim in rank order: walk :func:`skim_order`, keep each shot that fits."""
    order = skim_order(scores, lengths)
    if budget is None:
        return order
    if budget < 0:
        raise ConfigError(f"skim budget={budget} frames must be >= 0")
    kept, used = [], 0
    for shot in order:
        if used + int(lengths[shot]) <= budget:
            kept.append(int(shot))
            used += int(lengths[shot])
    return np.asarray(kept, dtype=np.int64)


def average_precision_at_k(ranking: Sequence[int], relevant: np.ndarray, k: int) -> float:
    """AP@k of ranked shot indices against a boolean (n_shots,) selection."""
    if k < 1:
        raise ConfigError(f"top-k mAP: k={k} must be >= 1")
    relevant = np.asarray(relevant, dtype=bool)
    n_relevant = int(relevant.sum())
    if n_relevant == 0:
        return 0.0
    hits = relevant[np.asarray(ranking, dtype=np.int64)[:k]]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / min(k, n_relevant))


def human_shot_selections(
    user_scores: np.ndarray, change_points: np.ndarray, fraction: float = HUMAN_FRACTION
) -> np.ndarray:
    """(U, n_shots) booleans: each annotator's top ``fraction`` of shots by mean frame score."""
    users = np.atleast_2d(np.asarray(user_scores, dtype=np.float64))
    n_shots = len(shot_lengths(change_points))
    n_keep = int(np.floor(n_shots * fraction))
    out = np.zeros((len(users), n_shots), dtype=bool)
    for row, frames in enumerate(users):
        per_shot = shot_scores(frames, change_points)
        order = np.lexsort((np.arange(n_shots), -per_shot))
        out[row, order[:n_keep]] = True
    return out


def video_topk_map(
    frame_scores: np.ndarray,
    change_points: np.ndarray,
    selections: np.ndarray,
    k: int,
    budget: int | None = None,
) -> float:
    """mAP@k of one video: the greedy skim's first k shots against every human selection."""
    per_shot = shot_scores(np.asarray(frame_scores, dtype=np.float64), change_points)
    skim = greedy_skim(per_shot, shot_lengths(change_points), budget)
    return float(np.mean([average_precision_at_k(skim, s, k) for s in selections]))


def record_selections(record: VideoRecord) -> np.ndarray:
    """The TVSum rule on a record's per-annotator frame scores (``user_anno``)."""
    if record.user_anno is None:
        raise DatasetError(
            f"video '{record.key}' field 'user_anno': missing; top-k mAP needs the annotators' "
            f"frame scores, shape (n_users, {record.n_frames})"
        )
    return human_shot_selections(record.user_anno, record.change_points)


def dataset_topk_map(
    dataset: Dataset,
    predictions: Mapping[str, np.ndarray],
    ks: Sequence[int] = TOP_K,
    budget_fraction: float | None = None,
) -> dict[str, float]:
    """``{"map@k": mean over videos}`` of step scores (at ``picks``) of every predicted video;
    ``budget_fraction`` limits each skim to that share of the video's frames."""
    unknown = sorted(set(predictions) - set(dataset.keys))
    if unknown:
        raise ConfigError(f"{dataset.path}: predictions for unknown videos {unknown[:5]}")
    if not predictions:
        raise ConfigError(f"{dataset.path}: no predictions to evaluate")
    values: dict[int, list[float]] = {k: [] for k in ks}
    for key, scores in predictions.items():
        record = dataset[key]
        frames = upsample_to_frames(scores, record.picks, record.n_frames)
        selections = record_selections(record)
        budget = None if budget_fraction is None else int(record.n_frames * budget_fraction)
        for k in ks:
            values[k].append(video_topk_map(frames, record.change_points, selections, k, budget))
    return {f"map@{k}": float(np.mean(v)) for k, v in values.items()}


def human_topk_map(record: VideoRecord, k: int) -> float:
    """The average human's mAP@k on one video (desumnet.txt 4.1, "Mean Human"): each
    annotator's skim (their shots ranked by their own mean frame score) against the selections
    of the OTHER annotators ("the rest of the human-created groundtruth summaries"), averaged
    over annotators."""
    selections = record_selections(record)
    users = np.atleast_2d(np.asarray(record.user_anno, dtype=np.float64))
    if len(users) < 2:
        raise DatasetError(
            f"video '{record.key}' field 'user_anno': {len(users)} annotator(s); the human "
            "reference needs at least 2 (each is scored against the others)"
        )
    lengths = shot_lengths(record.change_points)
    values = []
    for user, frames in enumerate(users):
        skim = greedy_skim(shot_scores(frames, record.change_points), lengths)
        others = [s for index, s in enumerate(selections) if index != user]
        values.append(np.mean([average_precision_at_k(skim, s, k) for s in others]))
    return float(np.mean(values))


def relative_to_human(
    dataset: Dataset, predictions: Mapping[str, np.ndarray], k: int = TOP_K[0]
) -> float:
    """Top-k mAP relative to the average human, in %: ``100 * mAP@k(predictions) / mAP@k(mean
    human)`` over the predicted videos (desumnet.txt 4.1: "normalized average precision scores
    by rescaling the mean AP of human selections to 100%"; Table 3 reports k = 5)."""
    model = dataset_topk_map(dataset, predictions, [k])[f"map@{k}"]
    human = float(np.mean([human_topk_map(dataset[key], k) for key in predictions]))
    if human <= 0:
        raise DatasetError(f"{dataset.path}: the average human's mAP@{k} is 0; no relative score")
    return 100.0 * model / human
