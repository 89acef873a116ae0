"""Content fingerprints of a run's input files, so a resume never mixes two inputs.

A results folder is resumed when its configuration matches; but the same configuration can name
a file that changed (a regenerated dataset under the same path, another file of the same name
from another directory). Every option of the effective configuration that names an existing
file (datasets, extra datasets, split file, pretrained checkpoint, caption and feature files) is
recorded in ``run.json`` with the file's SHA-256, size and modification time; a resume rehashes
only files whose size or time changed, and refuses when a content differs, naming the option
and the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SKIPPED_KEYS = frozenset({"config"})  # the composed recipe file itself: hashed as configuration
_CHUNK = 1 << 20


def input_files(config: Any, prefix: str = "") -> dict[str, Path]:
    """``{dotted option: file}`` for every string value of ``config`` naming an existing file."""
    found: dict[str, Path] = {}
    if isinstance(config, Mapping):
        for key, value in config.items():
            if key in SKIPPED_KEYS and not prefix:
                continue
            found.update(input_files(value, f"{prefix}{key}."))
    elif isinstance(config, list | tuple):
        for index, value in enumerate(config):
            found.update(input_files(value, f"{prefix}{index}."))
    elif isinstance(config, str | os.PathLike) and _names_file(config):
        found[prefix.rstrip(".")] = Path(config).resolve()
    return found


def _names_file(value: str | os.PathLike) -> bool:
    text = os.fspath(value)
    if not text or len(text) > 4096 or "\n" in text or "\0" in text:
        return False
    try:
        return Path(text).is_file()
    except OSError:
        return False


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: Path, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{path, sha256, size, mtime_ns}``; the digest of ``previous`` is reused when it records
    the same file with the same size and modification time (no rehash of unchanged data)."""
    stat = path.stat()
    record = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if (previous and previous.get("path") == record["path"]
            and previous.get("size") == stat.st_size
            and previous.get("mtime_ns") == stat.st_mtime_ns and previous.get("sha256")):
        record["sha256"] = previous["sha256"]
    else:
        record["sha256"] = sha256_file(path)
    return record


def fingerprint_inputs(
    files: Mapping[str, Path], previous: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    previous = previous or {}
    return {option: fingerprint(path, previous.get(option)) for option, path in files.items()}


def input_difference(
    previous: Mapping[str, Any], current: Mapping[str, Any]
) -> str | None:
    """Why ``current`` inputs are not those of ``previous`` (one line naming the option and
    file), or None when every input has the same content."""
    for option in sorted(set(previous) | set(current)):
        before, now = previous.get(option), current.get(option)
        if before is None:
            return f"{option}: {now['path']} was not an input when the run started"
        if now is None:
            return f"{option}: {before['path']} was an input when the run started and is gone"
        if before.get("sha256") != now["sha256"]:
            moved = "" if before.get("path") == now["path"] else f" (was {before.get('path')})"
            return (f"{option}: {now['path']}{moved} differs from the file the run started with "
                    f"(sha256 {str(before.get('sha256'))[:12]}… now {now['sha256'][:12]}…)")
    return None
