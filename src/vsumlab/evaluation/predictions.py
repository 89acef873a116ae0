"""Predictions files (one score per step per video) and their validation against a dataset.

Formats, chosen by suffix: ``.h5``/``.hdf5`` with one dataset per video key (a qualified key
``"tvsum/video_1"`` becomes a nested path) and ``.npz`` with one array per key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from vsumlab.data.schema import H5_READ_ERRORS, Dataset, VideoRecord
from vsumlab.errors import ConfigError, PredictionError, printable
from vsumlab.io import atomic_path, check_writable, write_h5_atomic

H5_SUFFIXES = (".h5", ".hdf5")
NPZ_SUFFIXES = (".npz",)


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in H5_SUFFIXES:
        return "h5"
    if suffix in NPZ_SUFFIXES:
        return "npz"
    raise PredictionError(
        f"{path}: unknown predictions format {suffix or '(no suffix)'!r}; expected .h5, .hdf5 "
        "or .npz"
    )


def write_predictions(
    path: str | os.PathLike, predictions: Mapping[str, np.ndarray], force: bool = False
) -> Path:
    """Write key -> (n_steps,) scores atomically; refuse to overwrite without ``force``."""
    path = Path(path)
    kind = _format(path)
    path = check_writable(path, force)
    arrays = {str(key): np.asarray(scores, dtype=np.float32) for key, scores in predictions.items()}
    if kind == "h5":

        def fill(handle: h5py.File) -> None:
            for key, scores in arrays.items():
                handle.create_dataset(key, data=scores)

        write_h5_atomic(path, fill)
        return path
    # a file object: np.savez would append ".npz" to the temporary name
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def read_predictions(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """key -> float64 scores, in the file's order."""
    path = Path(path)
    kind = _format(path)
    if not path.is_file():
        raise PredictionError(f"{path}: no such predictions file")
    try:
        if kind == "npz":
            with np.load(path, allow_pickle=False) as archive:
                return {key: np.asarray(archive[key], dtype=np.float64) for key in archive.files}
        found: dict[str, np.ndarray] = {}
        with h5py.File(path, "r") as handle:

            def collect(name: str | bytes, node: h5py.HLObject) -> None:
                if isinstance(name, bytes):
                    raise PredictionError(f"{printable(path)}: video key '{printable(name)}' is "
                                          "not UTF-8 text (expected keys of the dataset)")
                if isinstance(node, h5py.Dataset):
                    try:
                        found[name] = np.asarray(node[()], dtype=np.float64)
                    except H5_READ_ERRORS as exc:
                        raise PredictionError(f"{printable(path)}: video '{name}': unreadable, "
                                              f"the file is corrupt ({exc})") from exc

            handle.visititems(collect)
        return found
    except (*H5_READ_ERRORS, TypeError) as exc:  # TypeError: a string where scores should be
        raise PredictionError(f"{printable(path)}: not a readable {kind} predictions file "
                              f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                              ) from exc


def _where(source: str | os.PathLike | None) -> str:
    return f"{source}: " if source is not None else "predictions: "


def check_step_scores(
    record: VideoRecord, step_scores: np.ndarray, source: str | os.PathLike | None = None
) -> np.ndarray:
    """The scores as float64 (n_steps,); :class:`PredictionError` on a wrong shape or NaN/inf."""
    scores = np.asarray(step_scores, dtype=np.float64)
    if scores.shape != (record.n_steps,):
        raise PredictionError(
            f"{_where(source)}video '{record.key}': expected shape ({record.n_steps},) "
            f"(one score per step), got {scores.shape}"
        )
    if not np.all(np.isfinite(scores)):
        raise PredictionError(
            f"{_where(source)}video '{record.key}': contains NaN or infinite scores"
        )
    return scores


def select_keys(dataset: Dataset, keys: Sequence[str] | None) -> list[str]:
    """The videos to score: all in dataset order, or ``keys`` (each must exist)."""
    if keys is None:
        return dataset.keys
    selected = list(dict.fromkeys(keys))
    unknown = [key for key in selected if key not in dataset.records]
    if unknown:
        raise ConfigError(
            f"{dataset.path or dataset.name}: unknown video key(s) {', '.join(unknown)}; "
            f"the file has {', '.join(dataset.keys[:5])}{' ...' if len(dataset) > 5 else ''}"
        )
    if not selected:
        raise ConfigError(f"{dataset.path or dataset.name}: no video keys selected")
    return selected


def check_predictions(
    predictions: Mapping[str, np.ndarray],
    dataset: Dataset,
    keys: Sequence[str] | None = None,
    source: str | os.PathLike | None = None,
) -> None:
    """Every selected video present with finite (n_steps,) scores; no video the dataset lacks."""
    selected = select_keys(dataset, keys)
    extra = [key for key in predictions if key not in dataset.records]
    if extra:
        raise PredictionError(
            f"{_where(source)}video(s) {', '.join(extra)} not in dataset "
            f"{dataset.path or dataset.name}"
        )
    missing = [key for key in selected if key not in predictions]
    if missing:
        hint = ""
        if keys is None:  # e.g. `predict` output of one fold: say how to score just those
            covered = [key for key in selected if key in predictions]
            hint = (f"; the predictions cover {len(covered)} of {len(selected)} videos: pass "
                    f"--keys {','.join(covered)} to score only those")
        raise PredictionError(
            f"{_where(source)}missing video(s) {', '.join(missing)} of dataset "
            f"{dataset.path or dataset.name}{hint}"
        )
    for key in selected:
        check_step_scores(dataset[key], predictions[key], source)
