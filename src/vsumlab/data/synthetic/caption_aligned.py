"""A caption-aligned variant of the embedded synthetic sets, where language carries the signal.

In :func:`vsumlab.data.synthetic.benchmark.make_synthetic_dataset` importance is visible in the features
(a shared hidden direction), so guiding text could add nothing a frame-only model lacks. Here
that direction is switched off (``importance_signal=0`` by default) and *events* carry the
structure instead, as in real videos where the same kind of scene is the highlight of one video
and filler in another:

* every planted run of shots (DATA's ``record.extra["planted"]``, the ground truth) shows one
  event: its steps get ``event_signal`` times the event's visual prototype (a fixed unit vector);
* as many *distractor* runs, of similar length among the non-planted shots, show other events;
* each event appears as planted in some videos and as distractor in others, so from frames alone
  an event segment is only a coin flip; the dense captions name the planted events only.

So a frame-only network can at best find "some event" while a language-guided one can find the
captioned ones. Annotations (user scores, gtscore, summaries) are DATA's, untouched.
``record.extra["event"]`` is the (T,) event id per step (-1: none) and ``extra["event_planted"]``
marks the steps of captioned events. Captions use the ActivityNet form
``{key: {"duration", "timestamps", "sentences"}}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vsumlab.data.schema import Dataset, require_fps
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import ConfigError

#: one sentence per event; its index is the event id
EVENT_SENTENCES = (
    "a dog catches a frisbee in the park",
    "a man rides a bicycle down a mountain trail",
    "a woman cooks pasta in a small kitchen",
    "children play football on a green field",
    "a surfer rides a large wave at the beach",
    "a red car drives through a snowy street",
    "guests dance together at a wedding party",
    "a band plays guitar and drums on a stage",
    "a plane takes off from a busy runway",
    "a cat climbs up a tall tree",
    "a boy jumps down the stairs on a skateboard",
    "a fisherman pulls a net onto a boat",
)
EVENT_SEED = 20_240_801
#: DATA options changed by default: highlights that fit the 15% summary budget
CAPTIONED_DEFAULTS: dict[str, Any] = {"planted_min": 0.08, "planted_max": 0.13}  # prototypes are shared by every generated set (one visual world)


def event_prototypes(n_events: int, feature_dim: int) -> np.ndarray:
    """(n_events, D) unit vectors: what each event looks like in feature space."""
    rng = np.random.default_rng([EVENT_SEED, n_events, feature_dim])
    protos = rng.standard_normal((n_events, feature_dim))
    return protos / np.linalg.norm(protos, axis=1, keepdims=True)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) index ranges of consecutive True values."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _distractor_runs(
    rng: np.random.Generator, free: np.ndarray, lengths: list[int]
) -> list[tuple[int, int]]:
    """Non-overlapping runs of free shots, each about as many shots as the matching length."""
    free = free.copy()
    chosen = []
    for want in lengths:
        starts = np.flatnonzero(free)
        if len(starts) == 0:
            break
        first = int(rng.choice(starts))
        last = first
        while last + 1 < len(free) and free[last + 1] and last - first + 1 < want:
            last += 1
        free[max(0, first - 1) : last + 2] = False  # keep a gap: runs stay separate events
        chosen.append((first, last))
    return chosen


def make_caption_aligned_dataset(
    kind: str = "tvsum",
    seed: int = 0,
    n_events: int = 6,
    event_signal: float = 6.0,
    importance_signal: float = 0.0,
    distractors_per_event: int = 2,
    content_keep: float = 0.1,
    event_noise: float = 0.3,
    **size_overrides: Any,
) -> tuple[Dataset, dict[str, dict[str, Any]]]:
    """DATA's synthetic set with planted and distractor events, and its dense captions.

    ``size_overrides`` go to :func:`make_synthetic_dataset`; by default planted highlights
    cover 8-13% of each video (:data:`CAPTIONED_DEFAULTS`), so that the 15% keyshot summary of
    the ground truth is mostly the captioned events.
    """
    if not 2 <= n_events <= len(EVENT_SENTENCES):
        raise ConfigError(f"n_events={n_events} must be in [2, {len(EVENT_SENTENCES)}]")
    if distractors_per_event < 0 or not 0.0 <= content_keep <= 1.0:
        raise ConfigError(
            f"distractors_per_event={distractors_per_event} must be >= 0 and "
            f"content_keep={content_keep} in [0, 1]"
        )
    overrides = {**CAPTIONED_DEFAULTS, **size_overrides}
    dataset = make_synthetic_dataset(kind, seed, signal=importance_signal, **overrides)
    first = next(iter(dataset))
    protos = event_prototypes(n_events, first.feature_dim).astype(np.float32)
    rng = np.random.default_rng([EVENT_SEED, int(seed), len(kind)])
    captions: dict[str, dict[str, Any]] = {}
    for record in dataset:
        fps = require_fps(record, dataset.path, "caption timestamps are in seconds")
        step_shot = np.searchsorted(record.change_points[:, 0], record.picks, side="right") - 1
        n_shots = len(record.change_points)
        planted_shot = np.zeros(n_shots, dtype=bool)
        planted_shot[step_shot[record.extra["planted"].astype(bool)]] = True
        planted_runs = _runs(planted_shot)
        free = ~planted_shot
        for a, b in planted_runs:  # distractors never touch a planted run
            free[max(0, a - 1) : b + 2] = False
        lengths = [b - a + 1 for a, b in planted_runs] * distractors_per_event
        distractors = _distractor_runs(rng, free, lengths)
        order = rng.permutation(n_events)
        n_planted = min(len(planted_runs), n_events - 1)
        planted_ids = [int(order[i % n_planted]) for i in range(len(planted_runs))]
        others = [int(e) for e in order[n_planted:]]
        distractor_ids = [others[i % len(others)] for i in range(len(distractors))]

        event = np.full(record.n_steps, -1, dtype=np.int64)
        features = record.features.astype(np.float32).copy()
        sentences, timestamps = [], []
        for (a, b), event_id, is_planted in [
            *[(run, e, True) for run, e in zip(planted_runs, planted_ids)],
            *[(run, e, False) for run, e in zip(distractors, distractor_ids)],
        ]:
            steps = (step_shot >= a) & (step_shot <= b)
            event[steps] = event_id
            # an event fills the screen: the shot's own scene content mostly gives way to it
            features[steps] = (
                content_keep * features[steps]
                + event_signal * protos[event_id]
                + event_noise * rng.standard_normal((int(steps.sum()), features.shape[1]))
            )
            if is_planted:
                start, end = record.change_points[a, 0], record.change_points[b, 1] + 1
                sentences.append(EVENT_SENTENCES[event_id])
                timestamps.append([round(start / fps, 3), round(end / fps, 3)])
        record.features = (np.round(features * 16) / 16).astype(np.float32)
        record.extra["event"] = event
        record.extra["event_planted"] = np.isin(event, planted_ids).astype(np.uint8)
        captions[record.key] = {
            "duration": round(record.n_frames / fps, 3),
            "timestamps": timestamps,
            "sentences": sentences,
        }
    dataset.attrs["dataset_name"] = f"{dataset.name}_captioned"
    dataset.attrs["caption_aligned_events"] = int(n_events)
    return dataset, captions


def query_contrasts(module: Any, record: Any) -> list[tuple[int, int, float, float]]:
    """For every ordered pair (A, B) of planted events of a caption-aligned video: the mean
    score of A's steps when the query names A and when it names B, as
    ``(A, B, score named A, score named B)``. A query-aware model scores A higher when A is named.
    ``module`` is a CLIP-It module (``score_video(features, query=...)``)."""
    if "event" not in record.extra or "event_planted" not in record.extra:
        raise ConfigError(
            f"video '{record.key}' has no extra fields 'event' and 'event_planted'; query "
            "contrasts need a caption-aligned set (make_caption_aligned_dataset)"
        )
    event = np.asarray(record.extra["event"])
    planted = sorted(set(event[np.asarray(record.extra["event_planted"]) == 1].tolist()))
    rows = []
    for a in planted:
        steps = event == a
        named_a = float(module.score_video(record.features, query=EVENT_SENTENCES[a])[steps].mean())
        for b in planted:
            if b != a:
                scores = module.score_video(record.features, query=EVENT_SENTENCES[b])[steps]
                rows.append((a, b, named_a, float(scores.mean())))
    return rows
