"""Dense-caption files (ActivityNet Captions form): parsing, validation, loading.

``{video_id: {"duration": s, "timestamps": [[start, end], ...], "sentences": [...]}}``; any
dense-caption set in this form loads unchanged; extra fields are ignored. A corrupt file or a
malformed entry raises :class:`CaptionError` naming the file, the video id and the field.
Events are clipped to ``[0, duration]``; an event entirely outside the video is dropped.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsumlab.errors import DatasetError


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


def _unique_keys(path: Path, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise CaptionError(f"{path}: key {key!r} appears twice in one JSON object "
                               "(expected each key once)")
    return dict(pairs)


def read_json_file(path: Path, what: str) -> Any:
    """A JSON file's content; a missing file, bad JSON or non-UTF-8 text is a
    :class:`CaptionError` naming the file (``what``: e.g. "caption file")."""
    if not path.is_file():
        raise CaptionError(f"{path}: no such {what}")
    try:
        # a repeated key (json would keep the last one silently) is refused too
        return json.loads(path.read_text(encoding="utf-8"),
                          object_pairs_hook=lambda pairs: _unique_keys(path, pairs))
    except json.JSONDecodeError as exc:
        raise CaptionError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise CaptionError(f"{path}: not UTF-8 text ({exc.reason})") from exc


