"""``vsumlab sweep FILE --trials N``: a sweep file's trials without a W&B server (random search).

Each trial is the command ``wandb agent`` would run, results in
``runs/sweeps/<id>/<id>-trial<i>`` (run ids unique per sweep); the leaderboard goes to
``runs/sweeps/<id>/leaderboard.md``. Unknown arguments are appended to every trial's command (e.g. ``--trainer.max_epochs=2``). See :mod:`vsumlab.training.sweeps`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a sweep file's trials locally (random search, no W&B server needed)",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("sweep_file", type=Path, metavar="FILE",
                        help="sweep file: a path, or an installed one's name (sweeps/transformer)")
    parser.add_argument("--trials", type=int, default=4, help="trials to run (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the value draws")
    parser.add_argument(
        "--id", dest="sweep_id", default=None, help="sweep folder name (default local-<FILE stem>)"
    )
    parser.set_defaults(handler=_run, accepts_overrides=True)


def _run(args: argparse.Namespace) -> int:
    from vsumlab.training.sweeps import run_local_sweep

    trials = run_local_sweep(
        args.sweep_file, args.trials, seed=args.seed, extra=list(getattr(args, "overrides", [])),
        sweep_id=args.sweep_id,
    )  # fmt: skip
    failed = [t.run_id for t in trials if t.metric is None]
    return 1 if failed and len(failed) == len(trials) else 0
