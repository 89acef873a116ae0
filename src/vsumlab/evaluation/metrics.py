"""F1 of keyshot summaries, rank correlations, the human reference and the baselines
(../docs/EVALUATION.md; every choice comes from :class:`Protocol`).

F1 (percent). For each user summary u: overlap = |machine AND u|, P = overlap / |machine|,
R = overlap / |u|, F = 2PR / (P + R) = 2 overlap / (|machine| + |u|), and F = 0 when the overlap
is 0 (never a division by zero). Users are reduced with ``max`` (SumMe style) or ``mean``
(TVSum style); ``Protocol.f1_reduction="auto"`` takes it from the annotation style.

Rank correlation. Kendall's tau-b and Spearman's rho between the predicted scores and EACH
annotator (TVSum: per-user 1..5 ``user_anno``; SumMe: per-user selections ``user_summary > 0``),
averaged over annotators, then over videos; never against the annotators' mean. Rates
(``Protocol.rank_rate``): ``full`` = upsampled predictions vs every frame (default); ``2fps`` =
the step predictions vs the annotations at the steps' frames (``picks``); ``stride`` = both at
frames 0, s, 2s, ... (s = ``rank_stride``). A constant prediction (e.g. the uniform baseline)
carries no ranking and counts 0. A constant annotator has no ranking to agree with: the
correlation is undefined, so that annotator is left out of the video's mean and counted
(``undefined_annotators``); a video whose annotators are all constant has NaN correlations,
left out of the dataset mean and counted there. Which annotations rank is stated in every
result (``ranked_by``); a TVSum-style video without ``user_anno`` is refused under ``auto``
(:func:`resolve_rank_annotations`).

Human reference (leave-one-out). For each annotator i, each OTHER annotator j is treated as the
reference: rank correlation of i against j is computed pairwise (not against the mean of the
others), averaged over the j != i, then over annotators i, then over videos. This is the
definition of Otani et al. (CVPR 2019) and, at full frame rate, reproduces their TVSum figures
tau = 0.177, rho = 0.204 (tests/evaluation/test_real_annotations.py; at every 15th frame the
figures agree to 3 decimals). Correlating each annotator with the mean of the others instead gives
tau = 0.314, rho = 0.396 on TVSum, which is why it is not used. Human F1: annotator i's own
summary is the "machine" summary scored against each other annotator's summary, reduced over the
j != i with the same reduction as models (max for SumMe, mean for TVSum), then averaged over i.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vsumlab.data.annotation_styles import STYLES, annotation_style, check_style, record_style
from vsumlab.data.schema import ATTACH_COMMAND, Dataset, VideoRecord, missing_for
from vsumlab.data.uses import require_evaluable
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.evaluation.correlation import tau_rho_against_each, tau_rho_pairwise
from vsumlab.evaluation.predictions import check_predictions, check_step_scores, select_keys
from vsumlab.evaluation.scores import DatasetScores, VideoScores
from vsumlab.protocol.keyshots import keyshot_summary, upsample_to_frames
from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol

__all__ = [
    "STYLES",
    "DatasetScores",
    "VideoScores",
    "annotation_style",
    "evaluate_dataset",
    "evaluate_video",
    "f1_per_user",
    "human_reference",
    "random_baseline",
    "uniform_baseline",
]

#: ``f1_reduction="auto"`` resolves through the annotation style (Zhang et al. 2016 convention)
REDUCTION_OF_STYLE = {"summe": "max", "tvsum": "mean"}
#: random-baseline draws when none are given; the standard error of the mean F1 this leaves is
#: about 0.1 (TVSum) to 0.4 (SumMe) F1 points (benchmarks/bench_eval.py --real prints it)
DEFAULT_DRAWS = 20


def resolve_reduction(protocol: Protocol, style: str | None, key: str = "") -> str:
    if protocol.f1_reduction != "auto":
        return protocol.f1_reduction
    if style is None:
        raise ConfigError(
            f"video '{key}': f1_reduction=auto needs the annotation style (summe -> max, "
            "tvsum -> mean); pass style/--style or an explicit f1_reduction"
        )
    return REDUCTION_OF_STYLE[check_style(style)]


# ----------------------------------------------------------------------------- F1
def _fit(values: np.ndarray, length: int) -> np.ndarray:
    """Truncate or zero-pad the last axis to ``length``."""
    current = values.shape[-1]
    if current >= length:
        return values[..., :length]
    pad = [(0, 0)] * (values.ndim - 1) + [(0, length - current)]
    return np.pad(values, pad)


def align_lengths(
    machine: np.ndarray, users: np.ndarray, n_frames: int, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Bring a machine summary (N,) and user summaries (U, M) to one length
    (``Protocol.length_mismatch``): ``n_frames`` pads/truncates both to the video's frame count,
    ``truncate`` cuts both to the shorter, ``pad`` zero-pads the shorter to the longer,
    ``users`` fits the machine summary alone to the users' length (DSNet)."""
    if mode == "n_frames":
        length = n_frames
    elif mode == "truncate":
        length = min(machine.shape[-1], users.shape[-1])
    elif mode in ("pad", "users"):
        length = max(machine.shape[-1], users.shape[-1]) if mode == "pad" else users.shape[-1]
    else:
        raise ConfigError(
            f"length_mismatch={mode!r} is unknown; expected n_frames, truncate, pad, users"
        )
    return _fit(machine, length), _fit(users, length)


def f1_per_user(machine: np.ndarray, users: np.ndarray) -> np.ndarray:
    """F1 in percent of a binary machine summary (N,) against each binary user summary (U, N);
    0 where the overlap is 0."""
    machine = (np.asarray(machine) > 0).astype(np.int64)
    users = (np.atleast_2d(np.asarray(users)) > 0).astype(np.int64)
    overlap = users @ machine
    sizes = users.sum(axis=1) + machine.sum()
    safe = np.where(overlap > 0, sizes, 1)
    return np.where(overlap > 0, 200.0 * overlap / safe, 0.0)


def reduce_users(per_user: np.ndarray, reduction: str) -> float:
    if reduction == "max":
        return float(np.max(per_user))
    if reduction == "mean":
        return float(np.mean(per_user))
    raise ConfigError(f"f1 reduction {reduction!r} is unknown; expected max or mean")


def _user_summaries(record: VideoRecord) -> np.ndarray:
    if record.user_summary is None or len(record.user_summary) == 0:
        raise DatasetError(
            f"video '{record.key}' field 'user_summary': missing; F1 needs the users' binary "
            "summaries (n_users, n_frames)"
        )
    return np.asarray(record.user_summary) > 0


def video_f1(
    record: VideoRecord,
    step_scores: np.ndarray,
    protocol: Protocol = DEFAULT_PROTOCOL,
    style: str | None = None,
) -> float:
    """F1 (percent) of the keyshot summary of ``step_scores`` against the user summaries."""
    reduction = resolve_reduction(protocol, style, record.key)
    machine = keyshot_summary(
        step_scores, record.change_points, record.n_frames, record.picks, protocol
    )
    machine, users = align_lengths(
        machine, _user_summaries(record), record.n_frames, protocol.length_mismatch
    )
    return reduce_users(f1_per_user(machine, users), reduction)


# ----------------------------------------------------------------------------- ranks
def resolve_rank_annotations(
    record: VideoRecord,
    protocol: Protocol = DEFAULT_PROTOCOL,
    style: str | None = None,
    source: object = None,
) -> str:
    """Which annotations rank this video: ``user_anno`` or ``user_summary``.

    ``auto`` takes ``user_anno`` when present and ``user_summary`` for SumMe-style videos. A
    TVSum-style video without ``user_anno`` (the published TVSum file) is refused: correlating
    with its binary 15% summaries gives figures unlike the literature's (Otani et al. use the
    1..5 scores), so the user must attach the scores or ask for ``user_summary`` explicitly.
    """
    lacking = missing_for(record, "evaluate")
    if lacking:
        prefix = f"{source}: " if source is not None else ""
        raise DatasetError(
            f"{prefix}video '{record.key}' cannot be evaluated: it lacks {', '.join(lacking)} "
            "(a train-only video, like those of the published OVP/YouTube files)"
        )
    choice = protocol.rank_annotations
    if choice != "auto":
        return choice
    if record.user_anno is not None:
        return "user_anno"
    if style == "tvsum":
        prefix = f"{source}: " if source is not None else ""
        raise DatasetError(
            f"{prefix}video '{record.key}' field 'user_anno': missing; TVSum rank correlation "
            "needs the per-user 1..5 scores, which the published file lacks: add them with "
            f"`{ATTACH_COMMAND}`, or ask for correlation with the binary user summaries (not "
            "comparable to published figures): eval --rank-annotations user_summary, or "
            "rank_annotations: user_summary in the run's protocol"
        )
    return "user_summary"


def rank_annotators(
    record: VideoRecord, protocol: Protocol = DEFAULT_PROTOCOL, style: str | None = None
) -> np.ndarray:
    """The annotators' frame scores (U, n_frames) used for rank correlation."""
    choice = resolve_rank_annotations(record, protocol, style)
    if choice == "user_anno":
        if record.user_anno is None:
            raise DatasetError(
                f"video '{record.key}' field 'user_anno': missing; rank_annotations=user_anno "
                "needs per-user importance scores (n_users, n_frames); add them with "
                f"`{ATTACH_COMMAND}`"
            )
        return np.asarray(record.user_anno, dtype=np.float64)
    return _user_summaries(record).astype(np.float64)


def ranked_by(
    dataset: Dataset,
    keys: Sequence[str],
    protocol: Protocol = DEFAULT_PROTOCOL,
    style: str | None = None,
) -> str:
    """The annotations that rank ``keys`` (checked up front, so a refusal names the file):
    ``user_anno``, ``user_summary`` or both joined with ``+``."""
    source = dataset.path or dataset.name
    require_evaluable(dataset, "the evaluated dataset", list(keys), source)
    used = {
        resolve_rank_annotations(
            dataset[key], protocol, style or record_style(key, dataset[key]), source
        )
        for key in keys
    }
    return "+".join(sorted(used))


def _at_rate(
    frames: np.ndarray, record: VideoRecord, protocol: Protocol, steps: np.ndarray | None = None
) -> np.ndarray:
    """Frame-level values (..., n_frames) at the protocol's rank rate. For predictions at 2 fps
    the step scores themselves are used (``steps``); annotations are taken at the picks."""
    if protocol.rank_rate == "full":
        return frames
    if protocol.rank_rate == "2fps":
        return steps if steps is not None else frames[..., record.picks]
    return frames[..., :: protocol.rank_stride]


def _constant(rows: np.ndarray) -> np.ndarray:
    """(U,) True where a row holds one value only (its rank correlation is undefined)."""
    rows = np.atleast_2d(rows)
    return np.all(rows == rows[:, :1], axis=1)


def video_rank_correlation_counted(
    record: VideoRecord,
    step_scores: np.ndarray,
    protocol: Protocol = DEFAULT_PROTOCOL,
    style: str | None = None,
) -> tuple[float, float, int]:
    """(Kendall tau-b, Spearman rho, annotators left out) of the predictions against each
    annotator, averaged over annotators.

    A constant prediction ranks nothing: 0. A constant annotator has no ranking to agree
    with: that annotator is left out of the mean and counted; when every annotator is
    constant, both values are NaN (undefined, left out of the dataset mean and counted there).
    """
    annotators = _at_rate(rank_annotators(record, protocol, style), record, protocol)
    frames = upsample_to_frames(step_scores, record.picks, record.n_frames)
    prediction = _at_rate(frames, record, protocol, steps=np.asarray(step_scores, np.float64))
    constant = _constant(annotators)
    if np.all(prediction == prediction.flat[0]):
        return 0.0, 0.0, int(constant.sum())
    if np.all(constant):
        return float("nan"), float("nan"), int(constant.sum())
    taus, rhos = tau_rho_against_each(prediction, annotators[~constant])
    return float(np.mean(taus)), float(np.mean(rhos)), int(constant.sum())


def video_rank_correlation(
    record: VideoRecord,
    step_scores: np.ndarray,
    protocol: Protocol = DEFAULT_PROTOCOL,
    style: str | None = None,
) -> tuple[float, float]:
    """(Kendall tau-b, Spearman rho): :func:`video_rank_correlation_counted` without the count."""
    tau, rho, _ = video_rank_correlation_counted(record, step_scores, protocol, style)
    return tau, rho


# ----------------------------------------------------------------------------- videos
def evaluate_video(
    record: VideoRecord,
    step_scores: np.ndarray,
    protocol: Protocol = DEFAULT_PROTOCOL,
    style: str | None = None,
) -> VideoScores:
    """F1 (percent), Kendall tau-b and Spearman rho of one video's step scores (n_steps,).

    ``style`` (summe/tvsum) resolves ``f1_reduction="auto"``; when None it is inferred from the
    record (:func:`record_style`) or an error asks for it.
    """
    scores = check_step_scores(record, step_scores)
    if style is None and protocol.f1_reduction == "auto":
        style = record_style(record.key, record)
    tau, rho, left_out = video_rank_correlation_counted(record, scores, protocol, style)
    return VideoScores(
        f1=video_f1(record, scores, protocol, style),
        kendall=tau,
        spearman=rho,
        undefined_annotators=left_out,
    )


def _dataset_style(dataset: Dataset, protocol: Protocol, style: str | None) -> str | None:
    if style is not None:
        return check_style(style)
    if protocol.f1_reduction != "auto":
        # the style only matters for the reduction; report it when it is known anyway
        try:
            return annotation_style(dataset)
        except ConfigError:
            return None
    return annotation_style(dataset)


def evaluate_dataset(
    dataset: Dataset,
    predictions: Mapping[str, np.ndarray],
    protocol: Protocol = DEFAULT_PROTOCOL,
    keys: Sequence[str] | None = None,
    style: str | None = None,
    label: str = "model",
) -> DatasetScores:
    """Score ``predictions`` (key -> step scores) on ``keys`` (default: every video).

    Predictions must cover every selected video with finite scores of length n_steps and hold no
    video the dataset lacks (:class:`PredictionError` otherwise).
    """
    selected = select_keys(dataset, keys)
    check_predictions(predictions, dataset, selected)
    style = _dataset_style(dataset, protocol, style)
    ranked = ranked_by(dataset, selected, protocol, style)
    rows = {
        key: evaluate_video(dataset[key], predictions[key], protocol, style) for key in selected
    }
    return DatasetScores(
        rows, label=label, protocol=protocol, style=style, dataset=dataset.name, ranked_by=ranked
    )


# ----------------------------------------------------------------------------- references
def human_video(
    record: VideoRecord, protocol: Protocol = DEFAULT_PROTOCOL, style: str | None = None
) -> VideoScores:
    """Leave-one-out human agreement of one video (definition in the module docstring)."""
    if style is None and protocol.f1_reduction == "auto":
        style = record_style(record.key, record)
    reduction = resolve_reduction(protocol, style, record.key)
    users = _user_summaries(record).astype(np.int64)
    annotators = rank_annotators(record, protocol, style)
    for name, rows in (("user_summary", users), ("annotators", annotators)):
        if len(rows) < 2:
            raise DatasetError(
                f"video '{record.key}' field '{name}': the human reference needs at least 2 "
                f"annotators, got {len(rows)}"
            )
    overlap = users @ users.T
    sizes = users.sum(axis=1)
    pair_sizes = sizes[:, None] + sizes[None, :]
    f1 = np.where(overlap > 0, 200.0 * overlap / np.maximum(pair_sizes, 1), 0.0)
    others = ~np.eye(len(users), dtype=bool)
    per_user = [reduce_users(f1[i][others[i]], reduction) for i in range(len(users))]

    # a constant annotator ranks nothing: left out (and counted), not scored as 0
    ranked = _at_rate(annotators, record, protocol)
    constant = _constant(ranked)
    varied = ranked[~constant]
    if len(varied) < 2:
        tau = rho = float("nan")
    else:
        taus, rhos = tau_rho_pairwise(varied)
        off = ~np.eye(len(varied), dtype=bool)
        # mean over ordered pairs (i, j != i) = mean over i of the mean over the others
        tau, rho = float(np.mean(taus[off])), float(np.mean(rhos[off]))
    return VideoScores(
        f1=float(np.mean(per_user)),
        kendall=tau,
        spearman=rho,
        undefined_annotators=int(constant.sum()),
    )


def human_reference(
    dataset: Dataset,
    protocol: Protocol = DEFAULT_PROTOCOL,
    keys: Sequence[str] | None = None,
    style: str | None = None,
) -> DatasetScores:
    """Human leave-one-out agreement per video and its mean (module docstring)."""
    selected = select_keys(dataset, keys)
    style = _dataset_style(dataset, protocol, style)
    ranked = ranked_by(dataset, selected, protocol, style)
    rows = {key: human_video(dataset[key], protocol, style) for key in selected}
    return DatasetScores(
        rows, label="human", protocol=protocol, style=style, dataset=dataset.name, ranked_by=ranked
    )


def random_baseline(
    dataset: Dataset,
    protocol: Protocol = DEFAULT_PROTOCOL,
    keys: Sequence[str] | None = None,
    seed: int = 0,
    draws: int = DEFAULT_DRAWS,
    style: str | None = None,
) -> DatasetScores:
    """Step scores drawn i.i.d. uniform in [0, 1), averaged per video over ``draws`` draws.

    Deterministic: one ``numpy.random.default_rng(seed)`` stream, draws outer, videos inner in
    key order. ``notes`` records the standard deviation of the dataset-mean F1 across draws and
    the resulting standard error of the reported mean.
    """
    if draws < 1:
        raise ConfigError(f"random baseline draws={draws} must be >= 1")
    selected = select_keys(dataset, keys)
    style = _dataset_style(dataset, protocol, style)
    ranked = ranked_by(dataset, selected, protocol, style)
    rng = np.random.default_rng(seed)
    values = np.zeros((draws, len(selected), 3))
    for draw in range(draws):
        for v, key in enumerate(selected):
            record = dataset[key]
            scores = evaluate_video(record, rng.random(record.n_steps), protocol, style)
            values[draw, v] = (scores.f1, scores.kendall, scores.spearman)
    per_video = values.mean(axis=0)
    rows = {key: VideoScores(*(float(x) for x in per_video[v])) for v, key in enumerate(selected)}
    f1_per_draw = values[:, :, 0].mean(axis=1)
    # one draw has no spread: None keeps the JSON output valid (no NaN)
    spread = float(f1_per_draw.std(ddof=1)) if draws > 1 else None
    return DatasetScores(
        rows,
        label="random",
        protocol=protocol,
        style=style,
        dataset=dataset.name,
        ranked_by=ranked,
        notes={
            "draws": draws,
            "seed": seed,
            "f1_sd_over_draws": spread,
            "f1_standard_error": None if spread is None else spread / float(np.sqrt(draws)),
        },
    )


def uniform_baseline(
    dataset: Dataset,
    protocol: Protocol = DEFAULT_PROTOCOL,
    keys: Sequence[str] | None = None,
    style: str | None = None,
) -> DatasetScores:
    """The same score (0.5) for every step: correlations are 0 by the NaN rule; the knapsack
    then maximizes the number of shots, i.e. prefers short shots."""
    selected = select_keys(dataset, keys)
    style = _dataset_style(dataset, protocol, style)
    ranked = ranked_by(dataset, selected, protocol, style)
    rows = {
        key: evaluate_video(dataset[key], np.full(dataset[key].n_steps, 0.5), protocol, style)
        for key in selected
    }
    return DatasetScores(
        rows, label="uniform", protocol=protocol, style=style, dataset=dataset.name,
        ranked_by=ranked,
    )
