"""The single ``vsumlab`` entry point.

``fit|validate|test|predict`` go to LightningCLI (:mod:`vsumlab.cli.lightning`); every other
command is an argparse sub-command registered by one module of :data:`COMMAND_MODULES`. Each
module exposes ``register(subparsers)`` and keeps heavy imports inside its handlers so that
``vsumlab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vsumlab import __version__
from vsumlab.errors import VsumError, printable

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")

#: modules that register sub-commands, in the order --help lists them
COMMAND_MODULES: tuple[str, ...] = (
    "vsumlab.cli.data",
    "vsumlab.cli.eval",
    "vsumlab.cli.cv",
    "vsumlab.cli.sweep",
    "vsumlab.cli.reproduce",
    "vsumlab.cli.features",
    "vsumlab.cli.summarize",
    "vsumlab.cli.video_demo",
    "vsumlab.cli.timelapse",
    "vsumlab.cli.desumnet",
    "vsumlab.cli.clipit",
)


class _Parser(argparse.ArgumentParser):
    """One-line errors; no abbreviations (``--for`` is not ``--force``: a typo exits 2, as the
    LightningCLI commands do), also for every sub-command (argparse builds them with this
    class)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, not the whole usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vsumlab",
        description="vsumlab: video summarization research (Cap2Sum, ViSP, DeSumNet, CLIP-It) "
        "over one evaluation protocol",
    )
    parser.add_argument("--version", action="version", version=f"vsumlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in LIGHTNING_SUBCOMMANDS:
        subparsers.add_parser(name, help=f"LightningCLI {name} (see `vsumlab {name} --help`)")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in LIGHTNING_SUBCOMMANDS:
            from vsumlab.cli.lightning import run_lightning_cli

            return run_lightning_cli(argv)
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            if not getattr(args, "accepts_overrides", False):
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            args.overrides = unknown
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return 0 if not argv else 2
        return int(args.handler(args) or 0)
    except VsumError as exc:
        _error(str(exc))
        return 2
    except OSError as exc:
        if exc.errno is None:  # a library's own OSError (h5py, av): a bug to report, not input
            raise
        # the file system refused something (missing file, permissions, full disk, read-only)
        where = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
        _error(where)
        return 2
    except KeyboardInterrupt:
        print("vsumlab: interrupted", file=sys.stderr)
        return 130


def _error(message: str) -> None:
    """One line on stderr, whatever bytes the message quotes (file names, h5 keys that are not
    UTF-8 appear escaped) and whatever the terminal's encoding."""
    text = " ".join(printable(message).splitlines())
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    text = text.encode(encoding, "backslashreplace").decode(encoding)
    print(f"vsumlab: error: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
