"""`vsumlab reproduce`: the papers' main tables with our figures beside the published ones."""

from __future__ import annotations

import argparse
from pathlib import Path

from vsumlab.cli.cv import SEEDS_SYNTAX, parse_seeds
from vsumlab.errors import ConfigError


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="run the recipes behind the papers' main tables; markdown tables vs published",
        description="Run every method's recipes for the settings of the papers' main tables "
        "(experiments/published/*.yaml) on the datasets in TVSUM_H5, SUMME_H5, OVP_H5, "
        "YOUTUBE_H5 (default: the synthetic sets) and write OUT/<paper>.md. Unknown arguments "
        "are LightningCLI overrides for every fold run, e.g. --trainer.max_epochs=5.",
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default runs/reproduce, runs/reproduce-quick)")
    parser.add_argument("--published", type=Path, default=Path("experiments/published"),
                        help="folder of published-table files (default: ./experiments/"
                        "published, else the copy installed with vsumlab)")
    parser.add_argument("--papers", type=_names, default=None,
                        help="only these papers (file stems), e.g. visp,cap2sum")
    parser.add_argument("--rows", type=_names, default=None,
                        help="only rows whose name contains one of these (case-insensitive)")
    parser.add_argument("--quick", action="store_true",
                        help="2 folds, one short epoch: checks the pipeline, figures not comparable")
    parser.add_argument("--seeds", type=parse_seeds, default=None,
                        help=f"repeat each CV per seed, as `vsumlab cv --seeds`: {SEEDS_SYNTAX}")
    parser.add_argument("--force", action="store_true", help="rerun folders of other configs")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the planned runs and unavailable cells; run nothing")
    parser.add_argument("--wandb-mode", choices=("offline", "online", "disabled"), default=None)
    parser.set_defaults(handler=_run, accepts_overrides=True)


def _run(args: argparse.Namespace) -> int:
    from vsumlab.training.reproduce import ReproduceOptions, reproduce

    overrides = list(getattr(args, "overrides", []) or [])
    for item in overrides:
        if not item.startswith("--"):
            raise ConfigError(f"unexpected argument {item!r}: overrides look like --key=value")
    out = args.out or Path("runs/reproduce-quick" if args.quick else "runs/reproduce")
    report = reproduce(ReproduceOptions(
        out_dir=out, published=args.published, papers=args.papers, rows=args.rows,
        quick=args.quick, force=args.force, dry_run=args.dry_run, seeds=args.seeds,
        overrides=overrides, wandb_mode=args.wandb_mode,
    ))
    if args.dry_run:
        for slug, status in report.runs.items():
            print(f"{slug}: {status}")
        for paper, cells in report.cells.items():
            for (table, row, column), cell in cells.items():
                if cell.status == "unavailable":
                    print(f"{paper} {table} {row!r} {column}: n/a: {cell.reason}")
        return 0
    for paper, path in report.tables.items():
        print(f"{paper}: {path}")
    for slug in report.failed:
        print(f"vsumlab: run {slug} {report.runs[slug]}")
    return 1 if report.failed else 0
