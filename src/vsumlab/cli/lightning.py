"""`vsumlab fit|validate|test|predict`: LightningCLI over the harness, with recipe composition.

Recipes may list shared pieces under ``defaults:`` (see :mod:`vsumlab.training.recipes`); each
``--config`` is composed first, then handed to LightningCLI (omegaconf parser mode, so command
line overrides may interpolate). Model and data are given by ``class_path`` so every method's
LightningModule and DataModule runs through the same entry point.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

# the CLI class lives in the library (the run plan builds runs with it); re-exported here
from vsumlab.training.lightning_cli import (  # noqa: F401
    VsumCLI,
    condense_parser_error,
    make_cli,
)


def expand_recipes(argv: Sequence[str], workdir: Path) -> list[str]:
    """Replace each ``--config RECIPE`` by its composed form (pieces merged, interpolated)."""
    from vsumlab.training.recipes import write_composed

    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--config" and i + 1 < len(args):
            composed = write_composed(args[i + 1], workdir / f"recipe_{i}.yaml")
            out += ["--config", str(composed)]
            i += 2
            continue
        if arg.startswith("--config="):
            composed = write_composed(arg.split("=", 1)[1], workdir / f"recipe_{i}.yaml")
            out.append(f"--config={composed}")
        else:
            out.append(arg)
        i += 1
    return out


#: keeps Lightning's and W&B's own messages, as `vsumlab cv --verbose` does
VERBOSE_FLAG = "--verbose"


def run_lightning_cli(argv: Sequence[str]) -> int:
    """`vsumlab fit|validate|test|predict`: the quiet rules of `vsumlab cv` (banners, tips and
    third-party warnings held back; ``--verbose`` shows them). Lightning's progress bar stays."""
    from vsumlab.training.progress import quiet_output

    argv = list(argv)
    verbose = VERBOSE_FLAG in argv
    argv = [arg for arg in argv if arg != VERBOSE_FLAG]
    with tempfile.TemporaryDirectory(prefix="vsumlab-recipe-") as tmp, quiet_output(verbose):
        make_cli(expand_recipes(argv, Path(tmp)), run=True)
    return 0
