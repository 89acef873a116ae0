"""Dense-caption data (ActivityNet Captions form) for Cap2Sum's weakly supervised training.

* Files: ``{video_id: {"duration": s, "timestamps": [[start, end], ...], "sentences": [...]}}``
  (ActivityNet Captions; any dense-caption set in this form loads unchanged; extra fields are
  ignored). A corrupt file or a malformed entry raises :class:`CaptionError` naming the file,
  the video id and the field.
* Events are clipped to ``[0, duration]``; an event entirely outside the video is dropped.
* Tokens: lower-cased runs of letters/digits (deterministic, no external tokenizer). The
  vocabulary is built from training captions: words with at least ``min_count`` occurrences,
  ordered by (-count, word); it saves/loads as JSON and travels inside Cap2Sum checkpoints.
* Steps: features are one vector per step. Step ``i`` covers ``[t_i, t_{i+1})`` seconds
  (``t_T = duration``): ``t_i = picks[i] / fps`` for a standard-schema h5 with picks and fps,
  else steps split the duration evenly. An event covers every step it overlaps (at least one);
  its box is ``(first / T, (last + 1) / T)`` of the step axis as (center, length).
* Features (:mod:`vsumlab.data.caption_features`): an h5 with a group per video (this
  project's standard schema, whose ``picks``/``fps`` give step times when present, or the public
  C3D file's ``c3d_features``), an h5 with a dataset per video (TSP), a folder of
  ``<video_id>.npy`` (TSP, CLIP) or PDVC's ``<id>_resnet.npy`` + ``<id>_bn.npy`` pairs; ids with
  or without the ``v_`` prefix. Entries ``<video_id>~<n>`` are further recordings of the same
  captioned video (each is one training item). Videos without features are reported once
  (count printed) and skipped, never zero-padded.
* Synthetic caption-aligned features (:func:`make_caption_features`) for tests and the demo;
  :class:`CaptionDataModule` builds them in ``prepare_data`` when given ``synthetic`` options.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import lightning as L
import numpy as np
import torch
from scipy.signal import lfilter
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from vsumlab.data.caption_features import (
    RECORDING_SEP,
    FeatureStore,
    feature_options,
    open_features,
)
from vsumlab.data.datamodules import pad_videos
from vsumlab.data.schema import (
    VideoRecord,
    change_points_from_boundaries,
    write_dataset,
)
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.io import check_writable, write_json_atomic

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0..3; padding is id 0 everywhere
VOCAB_FORMAT = "vsumlab-vocabulary"


class CaptionError(DatasetError):
    """A caption or vocabulary file is malformed (names file, video id and field)."""


# ---------------------------------------------------------------------------------- files
@dataclass(frozen=True)
class CaptionEvent:
    start: float  # seconds, within [0, duration]
    end: float
    sentence: str


@dataclass(frozen=True)
class CaptionVideo:
    video_id: str
    duration: float
    events: tuple[CaptionEvent, ...]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def parse_video(video_id: str, entry: Any, source: str) -> CaptionVideo:
    """One entry of a caption file; raises :class:`CaptionError` naming the field."""
    where = f"{source}: video '{video_id}'"
    if not isinstance(entry, Mapping):
        raise CaptionError(
            f"{where}: expected an object with fields duration, timestamps, sentences, "
            f"got {type(entry).__name__}"
        )
    for name in ("duration", "timestamps", "sentences"):
        if name not in entry:
            raise CaptionError(f"{where} field '{name}': missing")
    duration = _number(entry["duration"])
    if duration is None or duration <= 0:
        raise CaptionError(
            f"{where} field 'duration': expected a positive number of seconds, "
            f"got {entry['duration']!r}"
        )
    stamps, sentences = entry["timestamps"], entry["sentences"]
    if not isinstance(stamps, list):
        raise CaptionError(f"{where} field 'timestamps': expected a list of [start, end] pairs")
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise CaptionError(f"{where} field 'sentences': expected a list of strings")
    if len(sentences) != len(stamps):
        raise CaptionError(
            f"{where} field 'sentences': expected {len(stamps)} sentences (one per timestamp), "
            f"got {len(sentences)}"
        )
    events = []
    for index, (stamp, sentence) in enumerate(zip(stamps, sentences)):
        pair = stamp if isinstance(stamp, list) and len(stamp) == 2 else None
        start, end = (_number(pair[0]), _number(pair[1])) if pair else (None, None)
        if start is None or end is None:
            raise CaptionError(
                f"{where} field 'timestamps': event {index} is {stamp!r}, expected "
                "[start, end] in seconds"
            )
        if start > end:
            raise CaptionError(
                f"{where} field 'timestamps': event {index} starts after it ends ({start} > {end})"
            )
        if end <= 0 or start >= duration:  # entirely outside the video: nothing to learn from
            continue
        events.append(CaptionEvent(max(0.0, start), min(duration, end), sentence.strip()))
    return CaptionVideo(str(video_id), duration, tuple(events))


def parse_captions(data: Any, source: str = "<captions>") -> dict[str, CaptionVideo]:
    if not isinstance(data, Mapping):
        raise CaptionError(
            f"{source}: expected a JSON object {{video_id: {{duration, timestamps, sentences}}}}, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise CaptionError(f"{source}: contains no videos")
    return {str(vid): parse_video(str(vid), entry, source) for vid, entry in data.items()}


def load_captions(path: str | os.PathLike) -> dict[str, CaptionVideo]:
    """Read and validate a dense-caption JSON file; video order is the file's order."""
    path = Path(path)
    return parse_captions(read_json_file(path, "caption file"), str(path))


def read_json_file(path: Path, what: str) -> Any:
    """A JSON file's content; a missing file, bad JSON or non-UTF-8 text is a
    :class:`CaptionError` naming the file (``what``: e.g. "caption file")."""
    if not path.is_file():
        raise CaptionError(f"{path}: no such {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CaptionError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise CaptionError(f"{path}: not UTF-8 text ({exc.reason})") from exc


# ---------------------------------------------------------------------------- vocabulary
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(sentence: str) -> list[str]:
    """Lower-cased runs of ASCII letters and digits: "The man's dog." -> the, man, s, dog."""
    return _WORD.findall(sentence.lower())


class Vocabulary:
    """Word <-> id map; ids 0..3 are <pad>, <bos>, <eos>, <unk>."""

    def __init__(self, words: Sequence[str], min_count: int = 1):
        words = [w for w in words if w not in SPECIALS]
        if len(set(words)) != len(words):
            raise ConfigError("vocabulary: duplicate words")
        self.itos: list[str] = [*SPECIALS, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.min_count = min_count

    pad, bos, eos, unk = 0, 1, 2, 3

    @classmethod
    def build(cls, sentences: Iterable[str], min_count: int = 5) -> Vocabulary:
        """Words seen at least ``min_count`` times, most frequent first, ties alphabetical."""
        counts = Counter(word for s in sentences for word in tokenize(s))
        kept = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(kept, min_count)

    @classmethod
    def from_captions(cls, videos: Mapping[str, CaptionVideo], min_count: int = 5) -> Vocabulary:
        return cls.build((e.sentence for v in videos.values() for e in v.events), min_count)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    @property
    def words(self) -> list[str]:
        return self.itos[len(SPECIALS) :]

    def encode(self, sentence: str, max_len: int = 30) -> list[int]:
        """<bos> + at most ``max_len`` word ids + <eos>."""
        ids = [self.stoi.get(w, self.unk) for w in tokenize(sentence)[:max_len]]
        return [self.bos, *ids, self.eos]

    def decode(self, ids: Iterable[int]) -> str:
        words = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i not in (self.pad, self.bos):
                words.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return " ".join(words)

    def to_dict(self) -> dict[str, Any]:
        return {"format": VOCAB_FORMAT, "min_count": self.min_count, "words": self.words}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<vocabulary>") -> Vocabulary:
        if not isinstance(data, Mapping) or data.get("format") != VOCAB_FORMAT:
            raise CaptionError(f"{source}: field 'format': expected '{VOCAB_FORMAT}'")
        words = data.get("words")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise CaptionError(f"{source}: field 'words': expected a list of strings")
        return cls(words, int(data.get("min_count", 1)))

    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        path = check_writable(path, force)
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        path = Path(path)
        return cls.from_dict(read_json_file(path, "vocabulary file"), str(path))


# ---------------------------------------------------------------------------- time -> steps
def uniform_step_times(duration: float, n_steps: int) -> np.ndarray:
    return np.arange(n_steps, dtype=np.float64) * (duration / n_steps)


def event_step_range(
    start: float, end: float, duration: float, n_steps: int, step_times: np.ndarray | None = None
) -> tuple[int, int]:
    """Inclusive (first, last) steps an event overlaps; step i covers [t_i, t_{i+1})."""
    times = uniform_step_times(duration, n_steps) if step_times is None else step_times
    start, end = min(max(start, 0.0), duration), min(max(end, 0.0), duration)
    first = int(np.searchsorted(times, start, side="right")) - 1
    last = int(np.searchsorted(times, end, side="left")) - 1
    first = min(max(first, 0), n_steps - 1)
    return first, min(max(last, first), n_steps - 1)


def event_boxes(
    video: CaptionVideo, n_steps: int, step_times: np.ndarray | None = None
) -> np.ndarray:
    """(G, 2) (center, length) of each event on the step axis, in [0, 1]."""
    boxes = np.zeros((len(video.events), 2), dtype=np.float32)
    for g, event in enumerate(video.events):
        first, last = event_step_range(event.start, event.end, video.duration, n_steps, step_times)
        boxes[g] = [(first + last + 1) / (2 * n_steps), (last + 1 - first) / n_steps]
    return boxes


def captioned_mask(boxes: np.ndarray, n_steps: int) -> np.ndarray:
    """(T,) 1 on steps inside any event (from step-axis boxes), else 0."""
    mask = np.zeros(n_steps, dtype=np.float32)
    for center, length in boxes:
        first = int(round((center - length / 2) * n_steps))
        last = int(round((center + length / 2) * n_steps))
        mask[first:last] = 1.0
    return mask


# ---------------------------------------------------------------------------------- features
def join_features(
    videos: Mapping[str, CaptionVideo], store: FeatureStore, source: str = "captions"
) -> list[str]:
    """Feature keys of the videos that have features (a video's recordings ``<id>~<n>`` each
    count as one item); videos without any are reported once (count printed) and skipped."""
    kept = [key for vid in videos for key in store.keys_for(vid)]
    absent = [vid for vid in videos if vid not in store]
    if absent:
        partial = [reason for vid in absent if (reason := store.incomplete(vid))]
        print(
            f"vsumlab: {source}: {len(absent)} of {len(videos)} videos have no features in "
            f"{store.path} (e.g. '{absent[0]}')"
            + (f", {len(partial)} of them only some parts (e.g. {partial[0]})" if partial else "")
            + "; skipping them",
            file=sys.stderr,
        )
    if not kept:
        raise DatasetError(
            f"{source}: none of its {len(videos)} videos has features in {store.path}"
        )
    return kept


# ---------------------------------------------------------------------------------- datasets
class CaptionDataset(TorchDataset):
    """Items: key, features (T, D), event boxes (G, 2), tokens (G, L), sentences."""

    def __init__(
        self,
        videos: Mapping[str, CaptionVideo],
        store: FeatureStore,
        vocabulary: Vocabulary,
        max_caption_len: int = 30,
        keys: Sequence[str] | None = None,
        source: str = "captions",
    ):
        self.videos, self.store, self.vocabulary = videos, store, vocabulary
        self.max_caption_len = max_caption_len
        self.keys = list(keys) if keys is not None else join_features(videos, store, source)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key = self.keys[index]
        video = self.videos[key.split(RECORDING_SEP, 1)[0]]
        feats, times = self.store.load(key)
        boxes = event_boxes(video, feats.shape[0], times)
        encoded = [self.vocabulary.encode(e.sentence, self.max_caption_len) for e in video.events]
        width = max((len(t) for t in encoded), default=2)
        tokens = torch.zeros(len(encoded), width, dtype=torch.long)
        for g, ids in enumerate(encoded):
            tokens[g, : len(ids)] = torch.tensor(ids)
        return {
            "key": key,
            "features": torch.from_numpy(feats),
            "boxes": torch.from_numpy(boxes),
            "tokens": tokens,
            "sentences": [e.sentence for e in video.events],
            "captioned": torch.from_numpy(captioned_mask(boxes, feats.shape[0])),
        }


def collate_captions(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pad videos to the longest (``mask`` True on real steps); events stay per-video lists."""
    return {
        **pad_videos(items, ("captioned",)),
        "event_boxes": [item["boxes"] for item in items],
        "event_tokens": [item["tokens"] for item in items],
        "sentences": [item["sentences"] for item in items],
    }


def subsample(keys: Sequence[str], fraction: float, seed: int = 0) -> list[str]:
    """A deterministic ``fraction`` of the keys (at least one), in their original order."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"data.train_fraction={fraction} must be in (0, 1]")
    if fraction >= 1.0:
        return list(keys)
    n = max(1, int(round(fraction * len(keys))))
    chosen = set(np.random.default_rng(seed).permutation(len(keys))[:n].tolist())
    return [k for i, k in enumerate(keys) if i in chosen]


class CaptionDataModule(L.LightningDataModule):
    """Dense-caption training data (Cap2Sum pretraining / weak fine-tuning).

    Args:
        train_captions, val_captions: caption JSON files (val optional).
        features: the train videos' features, a file or folder in ``features_format``;
            ``val_features`` for validation (default: the same), in the same format.
        features_format: ``auto`` (a folder: ``npy_dir``, a file: ``h5_groups``),
            ``h5_groups`` (a group per video holding dataset ``features_key``, default
            ``features``; the public C3D file: ``c3d_features``), ``h5_flat`` (a dataset per
            video at the top level, TSP's h5), ``npy_dir`` (``<video id>.npy``, (T, D)) or
            ``pdvc_pairs`` (``<video id><suffix>.npy`` for each of ``feature_suffixes``,
            default ``[_resnet, _bn]``, concatenated on the feature axis); video ids with or
            without ActivityNet's ``v_`` prefix are matched. See
            :mod:`vsumlab.data.caption_features`.
        pair_lengths: ``pdvc_pairs`` parts of different lengths: ``error`` (default) or
            ``nearest`` (resampled to the longest part by PDVC's nearest-neighbour rule).
        vocabulary: a vocabulary JSON to use; default: built from the train captions, keeping
            words seen at least ``min_word_count`` times (not stated in the papers: a config).
        max_caption_len: words kept per sentence.
        train_fraction, max_videos, seed: use part of the training videos (fraction studies,
            quick demos); deterministic.
        synthetic: build synthetic caption-aligned features for the caption files in
            ``prepare_data`` (see :data:`SYNTHETIC_OPTIONS`); written once to ``features``
            (and ``val_features``, default ``<features stem>_val.h5``), reused while the caption
            content and the options match (:func:`build_synthetic_features`).
        force_synthetic: rebuild synthetic feature files made from other inputs instead of
            stopping with an error naming what differs.
    """

    def __init__(
        self,
        train_captions: str,
        features: str,
        val_captions: str | None = None,
        val_features: str | None = None,
        vocabulary: str | None = None,
        min_word_count: int = 5,
        max_caption_len: int = 30,
        batch_size: int = 1,
        num_workers: int = 0,
        train_fraction: float = 1.0,
        max_videos: int | None = None,
        seed: int = 0,
        synthetic: dict[str, Any] | None = None,
        force_synthetic: bool = False,
        features_format: str = "auto",
        features_key: str | None = None,
        feature_suffixes: list[str] | None = None,
        pair_lengths: str = "error",
    ):
        super().__init__()
        self.save_hyperparameters()
        subsample([], train_fraction)  # validate early
        self.feature_options = feature_options(
            features_format, features_key, feature_suffixes, pair_lengths
        )
        if synthetic is not None and (
            features_format not in ("auto", "h5_groups") or features_key not in (None, "features")
        ):
            raise ConfigError(
                f"data.synthetic writes a standard-schema h5 (key 'features'), not "
                f"features_format={features_format} features_key={features_key}; set "
                "data.init_args.synthetic=null to read real features"
            )
        self.train_path, self.val_path = train_captions, val_captions
        self.features_path = features
        self.synthetic = synthetic_options(synthetic) if synthetic is not None else None
        if val_features is None and self.synthetic is not None:
            stem = Path(features)
            val_features = str(stem.with_name(f"{stem.stem}_val{stem.suffix or '.h5'}"))
        self.val_features_path = val_features or features
        self._vocabulary: Vocabulary | None = Vocabulary.load(vocabulary) if vocabulary else None
        self._datasets: dict[str, CaptionDataset] = {}

    @property
    def train_videos(self) -> dict[str, CaptionVideo]:
        if not hasattr(self, "_train_videos"):
            self._train_videos = load_captions(self.train_path)
        return self._train_videos

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary.from_captions(
                self.train_videos, self.hparams.min_word_count
            )
        return self._vocabulary

    def prepare_data(self) -> None:
        if self.synthetic is None:
            return
        options = dict(self.synthetic)
        if options["dim"] is None:  # follow the model being trained
            model = self.trainer.lightning_module if self.trainer is not None else None
            if model is None or not hasattr(model, "input_dim"):
                raise ConfigError("data.synthetic.dim=null needs a model with input_dim")
            options["dim"] = int(model.input_dim)
        val_videos = options.pop("val_videos")
        jobs = [(self.train_path, self.features_path, options.pop("n_videos"))]
        if self.val_path is not None:
            jobs.append((self.val_path, self.val_features_path, val_videos))
        for captions, features, n_videos in jobs:
            build_synthetic_features(
                captions,
                features,
                force=self.hparams.force_synthetic,
                n_videos=n_videos,
                **options,
            )

    def use_vocabulary(self, vocabulary: Vocabulary) -> None:
        """Encode sentences with another vocabulary (a pretrained captioner's); rebuilds the
        datasets, so call it before the loaders are made."""
        self._vocabulary = vocabulary
        self._datasets.clear()

    @property
    def feature_dim(self) -> int:
        dataset = self.dataset("train")
        return int(dataset.store.load(dataset.keys[0])[0].shape[1])

    def dataset(self, stage: str) -> CaptionDataset:
        if stage not in self._datasets:
            hp = self.hparams
            if stage == "train":
                videos, path, feats = self.train_videos, self.train_path, self.features_path
            elif stage == "val" and self.val_path is not None:
                videos, path, feats = (
                    load_captions(self.val_path),
                    self.val_path,
                    self.val_features_path,
                )
            else:
                raise ConfigError(f"caption data has no '{stage}' split")
            store = open_features(feats, **self.feature_options)
            keys = join_features(videos, store, str(path))
            store.check(keys)  # shapes and dtypes from the headers: bad files stop us here
            if stage == "val" and store.dim != self.dataset("train").store.dim:
                raise DatasetError(
                    f"{feats}: {store.dim}-d validation features, but the training features "
                    f"{self.features_path} are {self.dataset('train').store.dim}-d"
                )
            if stage == "train":
                keys = subsample(keys, hp.train_fraction, hp.seed)
            if hp.max_videos is not None:
                keys = keys[: hp.max_videos]
            self._datasets[stage] = CaptionDataset(
                videos, store, self.vocabulary, hp.max_caption_len, keys=keys
            )
        return self._datasets[stage]

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(stage),
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            num_workers=self.hparams.num_workers,
            collate_fn=collate_captions,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self.val_path else []


# ------------------------------------------------------------------- synthetic features
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

    They live in the feature space of :mod:`vsumlab.data.synthetic` (its scene subspace and
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
    from vsumlab.data.synthetic import _feature_space, synthetic_config

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
        # shots of ~4 s on average, neighbouring scenes alike (as in vsumlab.data.synthetic)
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
                # multiples of 1/16 (as vsumlab.data.synthetic) so that the files compress
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


def select_videos(
    videos: Mapping[str, CaptionVideo],
    n: int | None,
    max_duration: float | None = None,
    max_coverage: float | None = None,
) -> dict[str, CaptionVideo]:
    """The first ``n`` videos (file order; None = all) within a duration and coverage limit.

    Coverage = share of the video inside some event; ActivityNet events cover ~99% of a median
    video, so learning "captioned spans score higher" needs videos that leave some uncovered.
    """
    chosen: dict[str, CaptionVideo] = {}
    for vid, video in videos.items():
        if n is not None and len(chosen) >= n:
            break
        if max_duration is not None and video.duration > max_duration:
            continue
        if max_coverage is not None:
            mask = captioned_mask(event_boxes(video, 200), 200)
            if mask.mean() > max_coverage:
                continue
        chosen[vid] = video
    return chosen
