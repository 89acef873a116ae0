"""``vsumlab data kts FEATURES.npy``: KTS change points of a (steps x dim) feature file.

Registered under ``vsumlab data`` by :mod:`vsumlab.cli.data` through :func:`add_kts_parser`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vsumlab.errors import ConfigError, DatasetError

if TYPE_CHECKING:  # numpy loads in the handler so that `vsumlab --help` stays fast
    import numpy as np


def add_kts_parser(data_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``kts`` on the ``vsumlab data`` sub-command parsers; returns its parser."""
    parser = data_subparsers.add_parser(
        "kts",
        help="KTS change points of a (steps x dim) .npy feature file",
        description="Print the steps where kernel temporal segmentation starts a new segment "
        "(0 excluded), space-separated on one line, or as JSON with --json.",
    )
    parser.add_argument("features", metavar="FEATURES.npy", help="(steps, dim) float array")
    parser.add_argument("--json", action="store_true", help='print {"change_points", "n_steps"}')
    parser.add_argument(
        "--max-change-points",
        type=int,
        default=None,
        metavar="N",
        help="largest number of change points considered (default: steps - 1)",
    )
    parser.add_argument(
        "--vmax",
        type=float,
        default=1.0,
        metavar="V",
        help="penalty weight: larger gives fewer segments (default 1.0)",
    )
    parser.set_defaults(handler=run_kts_command)
    return parser


def load_features(path: str | os.PathLike) -> np.ndarray:
    """A 2-D numeric array from a .npy file, or a one-line DatasetError naming the file."""
    import numpy as np

    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise DatasetError(f"{path}: expected a .npy file of (steps, dim) features")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path}: not a readable .npy array ({reason})") from None
    if arr.ndim != 2:
        raise DatasetError(f"{path}: expected a 2-D (steps, dim) feature array, got {arr.shape}")
    return arr


def run_kts_command(args: argparse.Namespace) -> int:
    from vsumlab.segmentation.kts import kts

    if args.max_change_points is not None and args.max_change_points < 0:
        raise ConfigError(f"--max-change-points: expected >= 0, got {args.max_change_points}")
    if not math.isfinite(args.vmax) or args.vmax < 0:
        raise ConfigError(f"--vmax: expected a finite number >= 0, got {args.vmax}")
    features = load_features(args.features)
    change_points = kts(
        features, args.max_change_points, args.vmax, source=str(Path(args.features))
    )
    if args.json:
        print(json.dumps({"change_points": change_points.tolist(), "n_steps": len(features)}))
    else:
        print(" ".join(str(int(c)) for c in change_points))
    return 0
