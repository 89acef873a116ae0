"""Synthetic caption-aligned features for dense-caption sets (tests, the demo, Cap2Sum's
default pretraining data): :func:`make_caption_features`, and the stamped, reusable file that
:class:`vsumlab.data.captions.datamodule.CaptionDataModule` builds in ``prepare_data`` when
given ``synthetic`` options (:func:`build_synthetic_features`).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from scipy.signal import lfilter

from vsumlab.data.captions.features import RECORDING_SEP
from vsumlab.data.captions.format import CaptionError, CaptionVideo, load_captions
from vsumlab.data.captions.steps import event_step_range, select_videos
from vsumlab.data.captions.vocabulary import tokenize
from vsumlab.data.schema import VideoRecord, change_points_from_boundaries, write_dataset
from vsumlab.errors import ConfigError, DatasetError


def word_direction(word: str, dim: int) -> np.ndarray:
    """A fixed random unit vector per word (seeded by the word itself, so order-independent)."""
    rng = np.random.default_rng([zlib.crc32(word.encode("utf-8")), dim])
    v = rng.standard_normal(dim)
    return v / np.linalg.norm(v)


class _SentenceMeaning:
    """Unit 'meaning' vector of a sentence: the normalized mean of its word directions."""

    def __init__(self, dim: int):
        self.dim = dim
        self.words: dict[str, np.ndarray] = {}

    def __call__(self, sentence: str) -> np.ndarray:
        tokens = tokenize(sentence) or ["<empty>"]
        for w in tokens:
            if w not in self.words:
                self.words[w] = word_direction(w, self.dim)
        meaning = np.mean([self.words[w] for w in tokens], axis=0)
        return meaning / max(float(np.linalg.norm(meaning)), 1e-8)


def make_caption_features(
    videos: Mapping[str, CaptionVideo],
    dim: int = 1024,
    steps_per_second: float = 2.0,
    fps: float = 30.0,
    signal: float = 2.5,
    word_gain: float = 3.0,
    distractor_gain: float = 3.0,
    seed: int = 0,
    draws: int = 1,
) -> list[VideoRecord]:
    """Synthetic features whose content follows the captions' real timestamps.

    They live in the feature space of :mod:`.benchmark` (its scene subspace and
    hidden "importance" direction ``u``): smooth per-shot scene content and AR(1) noise, plus

    * on steps inside an event: ``signal * u`` (importance 1) and ``word_gain`` times the
      meaning of the event's sentence (normalized mean of fixed random word directions);
    * on other steps: a per-shot background importance in [0, 0.4] along ``u`` (as there) and,
      per shot, ``distractor_gain`` times the meaning of a sentence of ANOTHER video: uncaptioned
      footage shows things too, just not what this video's captions describe.

    So captions are learnable from the features, words alone do not tell captioned steps from
    others, and what captions cover looks like what is important in the synthetic
    summarization sets: the synthetic stand-in for "captions describe the important content"
    that Cap2Sum relies on. Records follow the standard schema (picks every
    ``fps / steps_per_second`` frames) with ``extra["captioned"]`` the (T,) 0/1 captioned mask.

    The three gains are given for 32-d features and scale with ``sqrt(dim / 32)``: the scene
    content's norm grows as ``sqrt(dim)``, so the caption signal keeps the same share of the
    features at every size (at 1024-d, ``signal`` 2.5 becomes 14; the summarization sets keep
    2.5 there, a weaker but identical direction).

    ``draws > 1`` makes that many independent recordings of each video (keys ``<id>~<n>``):
    same events and sentences, new scenes, noise and distractors. With few videos this keeps a
    captioner from recognising a video by its uncaptioned footage and reciting its captions, so
    captions must come from the captioned content, as they must on a large real set.
    """
    from vsumlab.data.synthetic.benchmark import _feature_space, synthetic_config

    config = synthetic_config("tvsum", feature_dim=dim)
    basis, direction = _feature_space(config)
    stride = max(1, int(round(fps / steps_per_second)))
    scale = float(np.sqrt(dim / 32.0))
    signal, word_gain, distractor_gain = signal * scale, word_gain * scale, distractor_gain * scale
    meaning = _SentenceMeaning(dim)
    pool = [(vid, e.sentence) for vid, v in videos.items() for e in v.events]
    records = []
    items = [
        (vid if draws == 1 else f"{vid}{RECORDING_SEP}{d}", vid, video, [seed, index, d])
        for d in range(draws)
        for index, (vid, video) in enumerate(videos.items())
    ]
    for key, vid, video, rng_seed in items:
        rng = np.random.default_rng(rng_seed)
        n_frames = max(1, int(round(video.duration * fps)))
        picks = np.arange(0, n_frames, stride, dtype=np.int64)
        n_steps = len(picks)
        times = picks / fps
        # shots of ~4 s on average, neighbouring scenes alike (as in .benchmark)
        shot_of_step = np.cumsum(rng.random(n_steps) < 1.0 / (4.0 * steps_per_second))
        shot_of_step -= shot_of_step[0]
        n_shots = int(shot_of_step[-1]) + 1
        fresh = rng.standard_normal((n_shots, config.scene_dim))
        scenes = lfilter([np.sqrt(1 - 0.3**2)], [1, -0.3], fresh, axis=0)
        feats = scenes[shot_of_step] @ basis
        noise = rng.standard_normal(feats.shape)
        feats += 0.3 * lfilter([np.sqrt(1 - 0.7**2)], [1, -0.7], noise, axis=0)
        captioned = np.zeros(n_steps, dtype=bool)
        for event in video.events:
            first, last = event_step_range(event.start, event.end, video.duration, n_steps, times)
            feats[first : last + 1] += word_gain * meaning(event.sentence)
            captioned[first : last + 1] = True
        others = [sentence for other, sentence in pool if other != vid]
        background = rng.uniform(0.0, config.background_max, n_shots)
        for shot in np.unique(shot_of_step[~captioned]):
            steps = (shot_of_step == shot) & ~captioned
            if others and distractor_gain:
                sentence = others[int(rng.integers(len(others)))]
                feats[steps] += distractor_gain * meaning(sentence)
        importance = np.where(captioned, 1.0, background[shot_of_step])
        feats += signal * importance[:, None] * direction[None, :]
        starts = picks[np.flatnonzero(np.diff(shot_of_step)) + 1]
        cps = change_points_from_boundaries(starts, n_frames)
        records.append(
            VideoRecord(
                key=key,
                # multiples of 1/16 (as .benchmark) so that the files compress
                features=(np.round(feats * 16) / 16).astype(np.float32),
                picks=picks,
                n_frames=n_frames,
                fps=fps,
                change_points=cps,
                n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1,
                video_id=vid,
                extra={"captioned": captioned.astype(np.float32)},
            )
        )
    return records


def write_caption_features(
    path: str | os.PathLike,
    videos: Mapping[str, CaptionVideo],
    force: bool = False,
    **kwargs: Any,
) -> Path:
    """:func:`make_caption_features` written as a standard-schema h5 flagged synthetic."""
    records = make_caption_features(videos, **kwargs)
    attrs = {"dataset_name": "synthetic_captions", "synthetic_features": True}
    return write_dataset(path, records, attrs=attrs, force=force)


#: bumped whenever make_caption_features changes, so stale generated files are not reused
SYNTHETIC_VERSION = 2
#: options of synthetic caption-aligned features (CaptionDataModule ``synthetic``)
SYNTHETIC_OPTIONS: dict[str, Any] = {
    "n_videos": None,  # train videos used (file order after the filters); None = all
    "val_videos": None,  # the same for the validation captions
    "max_coverage": None,  # keep videos whose events cover at most this share of the video
    "max_duration": None,  # seconds
    "draws": 1,  # recordings per video (see make_caption_features)
    "dim": None,  # feature size; None = the model's input_dim
    "steps_per_second": 2.0,
    "signal": 2.5,  # gains for 32-d features; they scale with sqrt(dim / 32)
    "word_gain": 3.0,
    "distractor_gain": 3.0,
    "seed": 0,
}


def config_null(value: Any) -> Any:
    """None for a null that arrived as text: LightningCLI hands a dotted override of a key
    inside a dict-valued argument (``--data.init_args.synthetic.n_videos=null``,
    ``--model.init_args.prior.text_features=null``) over as the string 'None'."""
    if isinstance(value, str) and value.strip().lower() in ("none", "null", "~"):
        return None
    return value


def synthetic_options(options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(SYNTHETIC_OPTIONS))
    if unknown:
        raise ConfigError(
            f"data.synthetic: unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(SYNTHETIC_OPTIONS)}"
        )
    merged = {**SYNTHETIC_OPTIONS, **{k: config_null(v) for k, v in options.items()}}
    for name, value in merged.items():  # every option is a number (some may be null)
        nullable = SYNTHETIC_OPTIONS[name] is None
        if isinstance(value, bool) or not (
            isinstance(value, int | float) or (value is None and nullable)
        ):
            raise ConfigError(
                f"data.synthetic.{name}={value!r} must be a number{' or null' if nullable else ''}"
            )
    return merged


def _file_sha256(path: str | os.PathLike) -> str:
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise CaptionError(f"{path}: cannot read the caption file ({exc})") from exc
    return digest.hexdigest()


def synthetic_stamp(captions: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """What synthetic caption features are made from: the generator version, the options and
    the caption file, identified by its content (sha256); its resolved path is kept to name
    it in messages. Stored as JSON in the file's ``synthetic_options`` attribute."""
    return {
        "generator": SYNTHETIC_VERSION,
        "captions": str(Path(captions).resolve()),
        "captions_sha256": _file_sha256(captions),
        **synthetic_options(options),
    }


def read_synthetic_stamp(path: str | os.PathLike) -> dict[str, Any] | None:
    """The stamp of a synthetic caption-feature file, or None for an h5 without one."""
    try:
        with h5py.File(path, "r") as handle:
            stamp = handle.attrs.get("synthetic_options")
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file ({exc})") from exc
    if stamp is None:
        return None
    if isinstance(stamp, bytes):
        stamp = stamp.decode("utf-8")
    try:
        value = json.loads(str(stamp))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: attribute synthetic_options is not JSON ({exc})") from exc
    return value if isinstance(value, dict) else None


def stamp_differences(previous: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """What differs between the stamp of an existing file and the one asked for, one
    ``"name: file X, asked Y"`` line each; empty when the file can be reused.

    The caption file counts by content: the same captions at another path (a relative vs an
    absolute ``VSUMLAB_DATA``, a copy, a symlink) are the same input. Stamps written before
    the content hash existed name only the resolved path, which is then compared instead.
    Numbers compare by value (150 and 150.0 are the same option)."""
    differences = []
    if "captions_sha256" in previous:
        if previous["captions_sha256"] != wanted["captions_sha256"]:
            differences.append(
                f"captions: file made from {previous.get('captions')} "
                f"(sha256 {str(previous['captions_sha256'])[:12]}), asked "
                f"{wanted['captions']} (sha256 {wanted['captions_sha256'][:12]}), other content"
            )
    elif previous.get("captions") != wanted["captions"]:
        differences.append(
            f"captions: file made from {previous.get('captions')}, asked {wanted['captions']}"
        )
    for name in sorted((set(previous) | set(wanted)) - {"captions", "captions_sha256"}):
        old, new = previous.get(name, "<unset>"), wanted.get(name, "<unset>")
        if old != new:  # 150 == 150.0; True == 1 cannot occur for these options
            differences.append(f"{name}: file {old!r}, asked {new!r}")
    return differences


def build_synthetic_features(
    captions: str | os.PathLike,
    features: str | os.PathLike,
    force: bool = False,
    **options: Any,
) -> Path:
    """Write synthetic features for (a selection of) a caption file's videos, once.

    An existing file made from the same inputs (caption content, options, generator version;
    see :func:`stamp_differences`) is reused as it is, with or without ``force``. One made from
    other inputs raises a :class:`ConfigError` naming the file and each difference, unless
    ``force``, which rebuilds it; an h5 that was not made here (or cannot be read) is never
    overwritten without ``force`` either."""
    wanted = synthetic_stamp(captions, **options)
    options = synthetic_options(options)
    path = Path(features)
    if path.exists():
        try:
            previous = read_synthetic_stamp(path)
        except DatasetError:
            if not force:
                raise
            previous = None
        if previous is None:
            differences = ["no synthetic_options attribute: not made by this function"]
        else:
            differences = stamp_differences(previous, wanted)
        if not differences:
            return path
        if not force:
            raise ConfigError(
                f"{path}: synthetic caption features made from other inputs "
                f"({'; '.join(differences)}); pass data.init_args.force_synthetic=true "
                "(make pretrain-cap2sum FORCE=1) to rebuild it, delete it, or choose another "
                "data.features path"
            )
    videos = select_videos(
        load_captions(captions),
        options["n_videos"],
        max_duration=options["max_duration"],
        max_coverage=options["max_coverage"],
    )
    if not videos:
        raise ConfigError(f"data.synthetic: no video of {captions} passes the filters {options}")
    generate = {k: v for k, v in options.items() if k not in ("n_videos", "val_videos",
                                                              "max_coverage", "max_duration")}  # fmt: skip
    records = make_caption_features(videos, **generate)
    attrs = {"dataset_name": "synthetic_captions", "synthetic_features": True,
             "synthetic_options": json.dumps(wanted, sort_keys=True)}  # fmt: skip
    return write_dataset(path, records, attrs=attrs, force=force)


