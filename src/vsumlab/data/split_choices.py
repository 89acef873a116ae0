"""Which splits a cross-validation runs: ``canonical``, ``random:N[:SEED]`` or a split file.

* ``canonical``: the setting's k folds (``data.n_folds``, ``data.split_seed``; see
  :func:`vsumlab.data.splits.setting_splits`).
* ``random:N[:SEED]``: N random 80/20 splits of the target videos drawn as Apostolidis et al.
  draw theirs (PGL-SUM, CA-SUM, "Performance over Random", ACM MM 2020): each split an
  independent draw of ``ceil(0.8 * n)`` training videos, the rest tested, so test sets of two
  splits may overlap (:func:`vsumlab.data.splits.random_splits`). SEED defaults to 0.
* a split file in any form :mod:`vsumlab.data.split_files` reads (``data.split_file``).

``vsumlab cv --splits`` and the data module's ``splits`` argument read the same text;
:meth:`SplitChoice.spec` is its normal form (``random:5`` is ``random:5:0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vsumlab.errors import ConfigError

CANONICAL = "canonical"
RANDOM = "random"
FILE = "file"
_RANDOM = re.compile(r"random:(\d+)(?::(\d+))?")
_EXPECTED = "expected canonical, random:N[:SEED] or a split file"


@dataclass(frozen=True)
class SplitChoice:
    """A parsed split choice: ``kind`` canonical | random | file."""

    kind: str
    n_splits: int = 0
    seed: int = 0
    path: Path | None = None

    def spec(self) -> str:
        """The normal form: ``canonical``, ``random:N:SEED`` or the file's path."""
        if self.kind == RANDOM:
            return f"{RANDOM}:{self.n_splits}:{self.seed}"
        return str(self.path) if self.kind == FILE else CANONICAL


def parse_split_choice(text: str, option: str, files: bool = True) -> SplitChoice:
    """The choice ``text`` names; ``option`` (``--splits``, ``data.splits``) heads every error.

    ``files``: whether a split file may be named (else it is refused with where it goes).
    """
    value = str(text).strip()
    named = f"{option} {value}" if option.startswith("-") else f"{option}={value}"
    if value == CANONICAL:
        return SplitChoice(CANONICAL)
    if value.startswith(RANDOM):
        match = _RANDOM.fullmatch(value)
        if match is None:
            raise ConfigError(
                f"{named}: expected random:N[:SEED], N random 80/20 splits (an integer "
                ">= 1) and SEED their seed (an integer >= 0, default 0), e.g. random:10:0"
            )
        n_splits, seed = int(match.group(1)), int(match.group(2) or 0)
        if n_splits < 1:
            raise ConfigError(f"{named}: expected at least 1 random split, got {n_splits}")
        return SplitChoice(RANDOM, n_splits, seed)
    if not files:
        raise ConfigError(
            f"{named}: expected canonical or random:N[:SEED]; a split file goes to "
            "data.split_file (vsumlab cv --splits FILE sets it)"
        )
    if not value:
        raise ConfigError(f"{option}: {_EXPECTED}, got an empty value")
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{named}: no such split file ({_EXPECTED})")
    return SplitChoice(FILE, path=path)


def normal_spec(text: str | None) -> str | None:
    """``data.splits`` as a run's identity holds it: None for canonical folds (also when written
    out), ``random:N:SEED`` in full; an invalid value unchanged (the data module refuses it)."""
    if text is None:
        return None
    try:
        choice = parse_split_choice(text, "data.splits", files=False)
    except ConfigError:
        return text
    return None if choice.kind == CANONICAL else choice.spec()
