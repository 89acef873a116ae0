"""Mr. HiSum (Sul et al., NeurIPS 2023 Datasets and Benchmarks) in the layout it is published in.

Read from the official repository (MRHiSum/MR.HiSum): ``README.md`` ("Complete Mr.HiSum
Dataset"), ``preprocess/preprocess.py``, ``model/mrhisum_dataset.py`` and
``dataset/mrsum_split.json``. ``mr_hisum.h5`` has one group per video, ``video_1`` ..
``video_31892`` (``metadata.csv`` column ``video_id``), each with

=================  ==============================================================
``features``       (T, 1024) YouTube-8M frame features, one per second (added by
                   ``preprocess.py`` from the YouTube-8M tfrecords)
``gtscore``        (T,) Most-replayed statistics normalised to [0, 1]
``change_points``  (S, 2) KTS shots, inclusive [start, end] (the evaluation slices
                   ``start:end + 1``)
``gt_summary``     (T,) 0/1 knapsack summary of the shots; the README calls it
                   ``gtsummary``, the dataset class reads ``gt_summary``: both are
                   accepted
=================  ==============================================================

No ``picks``, ``n_frames``, ``n_frame_per_seg`` or ``user_summary``: the official dataset class
derives them (``n_frames = T``, ``picks = arange(T)``, ``user_summary = gt_summary[None]``);
:func:`complete_mrhisum_record` does the same, so such a file is trainable and evaluable as read.
Its ``n_frame_per_seg`` is ``end - start`` in the official class (one frame short of the shot it
weighs in the knapsack); here it is ``end - start + 1``, the shot's length as every other file
has it (a documented difference: F1 may differ slightly from the official script's).

The split file is one JSON object ``{"train_keys": [...], "val_keys": [...], "test_keys": [...]}``
(read by :func:`vsumlab.data.split_files.read_split_file`): one split with its own validation
videos.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from vsumlab.errors import DatasetError, printable

#: the official dataset class's name for the knapsack summary, and the README's
SUMMARY_FIELDS = ("gt_summary", "gtsummary")
#: YouTube-8M frame features are one per second of video (the YouTube-8M dataset page)
FEATURE_FPS = 1.0


def is_mrhisum_record(record: Any) -> bool:
    """A video in Mr. HiSum's layout: gtscore and shots, a gt_summary, no frame indices."""
    return (record.picks is None and record.n_frames is None and record.user_summary is None
            and record.gtscore is not None and record.change_points is not None
            and ("gt_summary" in record.extra or record.gtsummary is not None))


def complete_mrhisum_record(record: Any, path: str | os.PathLike | None) -> Any:
    """``record`` with the fields the official dataset class derives, when it is in Mr. HiSum's
    layout; any other record unchanged."""
    if not is_mrhisum_record(record):
        return record
    summary = record.extra.pop("gt_summary", None)
    if summary is not None:
        if record.gtsummary is not None:
            raise DatasetError(
                f"{printable(path)}: video '{printable(record.key)}' has both 'gt_summary' and "
                "'gtsummary' (expected one knapsack summary per video)")
        summary = np.asarray(summary)
        if not np.issubdtype(summary.dtype, np.number) and summary.dtype != bool:
            raise DatasetError(
                f"{printable(path)}: video '{printable(record.key)}' field 'gt_summary': "
                f"expected numbers, got dtype {summary.dtype} (expected (n_steps,) 0/1)")
        record.gtsummary = summary.astype(np.float32).reshape(-1)
    n_steps = record.n_steps
    record.layout = "mrhisum"
    record.n_frames = n_steps
    record.picks = np.arange(n_steps, dtype=np.int64)
    if record.fps is None:
        record.fps = FEATURE_FPS
    cps = np.asarray(record.change_points)
    if cps.ndim == 2 and cps.shape[1] == 2:
        record.n_frame_per_seg = cps[:, 1] - cps[:, 0] + 1
    if record.gtsummary is not None and np.asarray(record.gtsummary).shape == (n_steps,):
        # the official class scores against the one summary: expand_dims(gt_summary, 0)
        record.user_summary = np.asarray(record.gtsummary, dtype=np.float32)[None, :]
    return record
