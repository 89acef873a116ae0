"""Atomic file writing: long jobs never leave half-written outputs; strict JSON reading.

An output is written to a temporary ``.NAME.HOST-PID-XXXX.tmp`` beside it and renamed over it on
success. A process killed mid-write (``kill -9``, out of memory) cannot remove its temporary;
the next write of the same output removes temporaries whose process is gone. A write that fails
(full disk, read-only file system, a folder that is a file) raises :class:`OutputError` naming
the output; its temporary is removed and the previous output kept. HDF5 files are built in
memory and written as finished bytes (:func:`write_h5_atomic`): HDF5 writing straight to a full
disk fails inside the library and can crash the process.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vsumlab.errors import ConfigError, OutputError, OutputExistsError, VsumError, printable

#: errors that only the writing side raises: no space, quota, read-only file system, file size
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def _kept(path: Path) -> str:
    return f"the previous {path.name} is kept" if path.exists() else "nothing was written"


def _make_parent(path: Path) -> None:
    """Create the output's folder; one line naming the output when that is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in [path.parent, *path.parent.parents]
                        if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise OutputError(f"{printable(path)}: cannot be written: {printable(blocker)} is a "
                              "file, not a folder") from exc
        raise OutputError(f"{printable(path)}: cannot create its folder {printable(path.parent)}: "
                          f"{exc.strerror or exc.__class__.__name__}") from exc


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing output unless ``force`` is set; create its folder."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{printable(path)}: already exists; pass --force to overwrite")
    _make_parent(path)
    return path


def write_failure(path: str | os.PathLike, exc: OSError) -> OutputError:
    """The one-line error of a failed write of ``path`` (its previous content is kept)."""
    path = Path(path)
    return OutputError(f"{printable(path)}: cannot write: {exc.strerror or exc} ({_kept(path)})")


@contextlib.contextmanager
def naming_writes(path: str | os.PathLike) -> Iterator[None]:
    """Turn a full disk or read-only file system met inside a library that does not say which
    file it was writing (Lightning's checkpoints) into an :class:`OutputError` naming ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        # the library's own file name may be a temporary elsewhere (fsspec stages in /tmp)
        raise OutputError(f"{printable(path)}: cannot write: {exc.strerror or exc}") from exc


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``path`` left by killed processes of this host; returns them.
    Temporaries of live processes and of other hosts (shared file systems) are kept."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        owner = tmp.name[len(path.name) + 2 :].split("-")
        if len(owner) < 3 or owner[0] != _host() or not owner[1].isdigit():
            continue
        if _alive(int(owner[1])):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
            print(f"vsumlab: note: removed {tmp}, left by a killed run", file=sys.stderr)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    _make_parent(path)
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_host()}-{os.getpid()}-",
                                   suffix=".tmp", dir=path.parent)
    except OSError as exc:  # read-only file system, no space for even an empty file
        raise write_failure(path, exc) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; outputs get the usual mode
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        # the body writes the temporary: these errors are the disk's, not an input's
        if exc.errno not in WRITE_ERRNOS and exc.filename not in (str(path), str(tmp_path)):
            raise
        raise write_failure(path, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as file:
        file.write(text)


def write_h5_atomic(
    path: str | os.PathLike,
    fill: Callable[[Any], None],
    *,
    start_from: str | os.PathLike | None = None,
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Write an HDF5 file atomically: ``fill(handle)`` builds it in memory (on a copy of
    ``start_from`` when given), its bytes are written to a temporary, ``check(temporary)`` may
    refuse it, and only then is it renamed over ``path``.

    Why in memory: HDF5 writing to a full disk fails inside the library (h5py then prints
    "Can't decrement id ref count" by the thousand and the process may segfault); finished bytes
    written by Python fail with one ``OSError``, reported as :class:`OutputError`. A ``check``
    error names ``path``, not the temporary, and says nothing was written.
    """
    import h5py

    path = Path(path)
    buffer = io.BytesIO(Path(start_from).read_bytes() if start_from is not None else b"")
    with h5py.File(buffer, "r+" if start_from is not None else "w") as handle:
        fill(handle)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as file:
            file.write(buffer.getbuffer())
        if check is not None:
            try:
                check(tmp)
            except VsumError as exc:
                message = str(exc).replace(str(tmp), str(path))
                raise type(exc)(f"{message} ({_kept(path)})") from exc
    return path


def _unique_object(source: str, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            # json keeps the last silently: a split file with test_keys twice loses one of them
            raise ConfigError(f"{source}: key {key!r} appears twice in one JSON object "
                              "(expected each key once)")
        seen[key] = value
    return seen


def parse_json(text: str, source: str | os.PathLike) -> Any:
    """JSON text read by the project: :class:`ConfigError` naming ``source`` with line and
    column when it is not JSON, and when an object repeats a key (json keeps the last one)."""
    where = printable(source)
    try:
        return json.loads(text, object_pairs_hook=lambda pairs: _unique_object(where, pairs))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{where}: JSON nested too deeply") from exc


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """The content of a JSON file the project reads (results, split files, run records): one
    line naming the file when it is missing, not UTF-8, not JSON or repeats a key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{printable(path)}: {what} not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{printable(path)}: {what} is not UTF-8 text (byte "
                          f"{exc.object[exc.start:exc.start + 1]!r} at offset {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{printable(path)}: cannot read the {what}: "
                          f"{exc.strerror or exc}") from exc
    return parse_json(text, path)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
