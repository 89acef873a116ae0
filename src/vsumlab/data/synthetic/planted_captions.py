"""Stand-in captions for the synthetic summarization sets, made from their planted segments
(Cap2Sum's ``model.target_captions: synthetic:planted``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vsumlab.data.captions.format import CaptionEvent, CaptionVideo
from vsumlab.data.schema import require_fps
from vsumlab.errors import ConfigError

#: ``target_captions`` value for synthetic sets: captions made from their planted segments
PLANTED_CAPTIONS = "synthetic:planted"
PLANTED_SENTENCES = (
    "something important happens",
    "the key moment of the video",
    "an important event takes place",
)


def planted_captions(records: Mapping[str, Any]) -> dict[str, CaptionVideo]:
    """Stand-in captions for the synthetic summarization sets (no caption files exist for them):
    one event per planted run of ``extra["planted"]``, with a fixed generic sentence. It lets
    weak fine-tuning run end to end on the embedded data; it is not TVSum-/SumMe-Caption."""
    captions = {}
    for key, record in records.items():
        planted = record.extra.get("planted")
        if planted is None:
            raise ConfigError(
                f"model.target_captions={PLANTED_CAPTIONS}: video '{key}' has no planted "
                "segments (only the synthetic sets have them); give a caption JSON instead"
            )
        fps = require_fps(record, why="caption timestamps are in seconds")
        times = np.concatenate([record.picks / fps, [record.n_frames / fps]])
        flags = np.concatenate([[0], np.asarray(planted) > 0, [0]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(flags))
        events = tuple(
            CaptionEvent(float(times[a]), float(times[b]), PLANTED_SENTENCES[i % 3])
            for i, (a, b) in enumerate(zip(edges[0::2], edges[1::2]))
        )
        captions[key] = CaptionVideo(key, float(times[-1]), events)
    return captions
