"""Read W&B offline runs (``wandb/offline-run-*/run-<id>.wandb``) without a server.

The file is W&B's transaction log: a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then
LevelDB-log framed records (32 KiB blocks; each chunk has a 7-byte header: crc32 uint32,
length uint16, type uint8 with 1 = full, 2 = first, 3 = middle, 4 = last) holding
``wandb_internal_pb2.Record`` protobufs. We take the run, config, history, summary and
artifact records; checksums are not verified (a damaged file fails to parse and raises instead).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsumlab.errors import VsumError

FILE_HEADER = b":W&B"
HEADER_LEN = 7
BLOCK_LEN = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


@dataclass
class OfflineRun:
    """What an offline run logged: its id, config, history rows and final summary."""

    path: Path
    run_id: str
    project: str = ""
    group: str = ""
    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    finished: bool = False
    artifacts: dict[str, list[str]] = field(default_factory=dict)  # name -> file names

    def series(self, key: str) -> list[Any]:
        """Values of one history key, in logging order (rows without it are skipped)."""
        return [row[key] for row in self.history if key in row]


def _chunks(data: bytes, source: Path) -> list[bytes]:
    if not data.startswith(FILE_HEADER):
        raise VsumError(f"{source}: not a W&B run file (header {data[:4]!r}, expected ':W&B')")
    records: list[bytes] = []
    pending = b""
    pos = HEADER_LEN
    while pos + HEADER_LEN <= len(data):
        left = BLOCK_LEN - pos % BLOCK_LEN
        if left < HEADER_LEN:  # block trailer too short for a header: zero padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER_LEN])
        pos += HEADER_LEN
        if kind == 0 and length == 0:  # preallocated, unwritten space
            break
        if kind not in (FULL, FIRST, MIDDLE, LAST) or pos + length > len(data):
            raise VsumError(f"{source}: damaged record at byte {pos - HEADER_LEN}")
        pending += data[pos : pos + length]
        pos += length
        if kind in (FULL, LAST):
            records.append(pending)
            pending = b""
    return records


def _key(item: Any) -> str:
    parts = list(item.nested_key) or [item.key]
    return ".".join(parts)


def _items_to_dict(items: Any) -> dict[str, Any]:
    return {_key(item): json.loads(item.value_json) for item in items}


def read_offline_run(path: str | os.PathLike) -> OfflineRun:
    """Parse one run: a ``run-<id>.wandb`` file or its ``offline-run-*`` folder."""
    from wandb.proto import wandb_internal_pb2 as pb

    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("run-*.wandb"))
        if not files:
            raise VsumError(f"{path}: no run-<id>.wandb file in this W&B run folder")
        path = files[0]
    if not path.is_file():
        raise VsumError(f"{path}: W&B run file not found")
    run = OfflineRun(path=path, run_id=path.stem.removeprefix("run-"))
    for raw in _chunks(path.read_bytes(), path):
        record = pb.Record()
        try:
            record.ParseFromString(raw)
        except Exception as exc:  # protobuf's DecodeError
            raise VsumError(f"{path}: damaged record ({exc.__class__.__name__})") from exc
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.run_id = record.run.run_id or run.run_id
            run.project, run.group = record.run.project, record.run.run_group
            run.name = record.run.display_name
            run.config.update(_items_to_dict(record.run.config.update))
        elif kind == "config":
            run.config.update(_items_to_dict(record.config.update))
        elif kind == "history":
            run.history.append(_items_to_dict(record.history.item))
        elif kind == "summary":
            run.summary.update(_items_to_dict(record.summary.update))
            for item in record.summary.remove:
                run.summary.pop(_key(item), None)
        elif kind == "artifact":
            run.artifacts[record.artifact.name] = [
                entry.path for entry in record.artifact.manifest.contents]
        elif kind == "exit":
            run.finished = True
    return run


def find_offline_runs(folder: str | os.PathLike) -> list[Path]:
    """Every offline run folder under ``folder`` (e.g. a results folder), oldest first."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("offline-run-*") if p.is_dir() and not p.is_symlink())
