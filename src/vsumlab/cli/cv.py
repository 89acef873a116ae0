"""`vsumlab cv` (k-fold cross-validation of a recipe) and `vsumlab results` (tables)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vsumlab.errors import ConfigError

SEEDS_SYNTAX = ("K (an integer >= 1: the K seeds 0..K-1) or a comma-separated list of seeds "
                "(0,1,2; one seed: 7, with the comma)")


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: ``K`` is the K seeds 0..K-1; a value with a comma lists the seeds
    (``0,1,2``; a single seed ``7,``). Anything else: ConfigError naming the option."""
    from vsumlab.training.cv import check_seeds

    value = text.strip()
    try:
        if "," not in value:
            count = int(value)
            if count < 1:
                raise ConfigError(f"--seeds {value}: a number of seeds must be >= 1; expected "
                                  f"{SEEDS_SYNTAX}")
            return list(range(count))
        seeds = [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"--seeds {value}: expected {SEEDS_SYNTAX}") from exc
    check_seeds(seeds)
    return seeds


def register(subparsers: argparse._SubParsersAction) -> None:
    cv = subparsers.add_parser(
        "cv",
        help="cross-validate a recipe: one Lightning run per fold, results table",
        description="Run all folds of a recipe's setting. Unknown arguments are LightningCLI "
        "overrides, e.g. --trainer.max_epochs=5 --data.init_args.dataset=FILE.h5",
    )
    cv.add_argument("--config", required=True, type=Path,
                    help="recipe: a YAML path, or the name of a recipe installed with vsumlab "
                    "(experiments/<name>.yaml), e.g. supervised/transformer_tvsum")
    cv.add_argument("--out", type=Path, default=None, help="results folder (default runs/<name>)")
    cv.add_argument("--name", default=None, help="experiment name (default: recipe file name)")
    cv.add_argument("--folds", type=_int_list, default=None, help="only these folds, e.g. 0,1")
    cv.add_argument("--splits", metavar="canonical|random:N[:SEED]|FILE", default=None,
                    help="the folds: canonical (the setting's k folds, default), random:N[:SEED] "
                    "(N random 80/20 splits of the target videos, each an independent draw as "
                    "PGL-SUM/CA-SUM draw theirs; test sets may overlap; SEED default 0) or a "
                    "split file (JSON, DSNet YAML, CSTA text); sets --data.init_args.splits or "
                    "--data.init_args.split_file")
    cv.add_argument("--seeds", metavar="K|S1,S2,...", default=None,
                    help=f"repeat the CV once per seed: {SEEDS_SYNTAX}; every (split, seed) is "
                    "one replica, and `vsumlab results` pairs two runs on identical replicas")
    cv.add_argument("--deterministic", action="store_true",
                    help="deterministic algorithms: identical metrics on rerun (CPU)")
    cv.add_argument("--force", action="store_true", help="overwrite an existing results folder")
    cv.add_argument("--wandb-mode", choices=("offline", "online", "disabled"), default=None,
                    help="W&B mode (default: $WANDB_MODE or offline)")
    cv.add_argument("--wandb-project", default="vsumlab")
    cv.add_argument("--verbose", action="store_true",
                    help="also print Lightning's and W&B's own messages (banners, sync notices)")
    cv.add_argument("--preset", metavar="NAME", default=None,
                    help="evaluation protocol of a public code base (vsumlab, dsnet, pglsum, "
                    "csta): sets --protocol.preset; options given there "
                    "override it")
    cv.add_argument("--reference-draws", type=int, default=20,
                    help="random-baseline draws per fold")
    cv.add_argument("--pretrain", type=Path, default=None,
                    help="pretraining recipe fitted once before the folds, which fine-tune from "
                    "its checkpoint (--model.init_args.pretrained); override it with "
                    "--pretrain.KEY=VALUE, e.g. --pretrain.model.init_args.beta_size=10")
    cv.add_argument("--replicas", choices=("sequential", "vectorized", "auto"), default="auto",
                    help="train the folds and seeds one after another, or all in one run with "
                    "stacked parameters (vectorized); auto: vectorized when the method's "
                    "network allows it (a note says why not)")
    cv.set_defaults(handler=_run_cv, accepts_overrides=True)

    results = subparsers.add_parser(
        "results",
        help="print results tables, one per dataset, setting, split source and protocol",
        description="Print the results report of cv folders: runs are grouped by (dataset, "
        "setting, split source, protocol), one table per group with that group's own random, "
        "uniform and human rows; each row shows mean ± 95%% interval over its replicas, n and "
        "Performance over Random. A run that cannot be grouped is printed apart, saying why. "
        "Within a group, each run's model is compared with the group's first run: by a paired "
        "t-test over their (split, seed) replicas when both hold the same ones (identical "
        "train/test videos and seeds, as their folds' result.json record), else by Welch's "
        "t-test over the CV rounds when both have several seeds; the output names the test.",
    )
    results.add_argument("folders", nargs="+", type=Path, help="results folders or results.json")
    results.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    results.set_defaults(handler=_print_results)


PRETRAIN_PREFIX = "--pretrain."


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """LightningCLI overrides of the folds, and those of the pretraining stage (prefix removed)."""
    folds: list[str] = []
    pretrain: list[str] = []
    for item in items:
        if not item.startswith("--"):
            raise ConfigError(f"unexpected argument {item!r}: overrides look like --key=value")
        if item.startswith(PRETRAIN_PREFIX):
            pretrain.append("--" + item[len(PRETRAIN_PREFIX):])
        else:
            folds.append(item)
    return folds, pretrain


def default_out_dir(name: str) -> Path:
    """runs/<name>; under a W&B sweep agent one folder per trial: runs/sweeps/<sweep>/<run>."""
    from vsumlab.training.cv import sweep_context

    sweep = sweep_context()
    if sweep is not None:
        return Path("runs") / "sweeps" / sweep.sweep_id / sweep.run_id
    return Path("runs") / name


def _run_cv(args: argparse.Namespace) -> int:
    from vsumlab.training.cv import CVOptions, run_cv

    overrides, pretrain_overrides = split_overrides(list(getattr(args, "overrides", []) or []))
    if args.preset is not None:
        from vsumlab.protocol.options import preset_options

        preset_options(args.preset)  # an unknown name fails before anything runs
        overrides.insert(0, f"--protocol.preset={args.preset}")
    name = args.name or args.config.stem
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    run_cv(
        CVOptions(
            recipe=args.config,
            out_dir=args.out or default_out_dir(name),
            overrides=overrides,
            pretrain=args.pretrain,
            pretrain_overrides=pretrain_overrides,
            name=name,
            folds=args.folds,
            seeds=seeds,
            splits=args.splits,
            force=args.force,
            deterministic=args.deterministic,
            wandb_mode=args.wandb_mode,
            wandb_project=args.wandb_project,
            reference_draws=args.reference_draws,
            verbose=args.verbose,
            replicas=args.replicas,
        )
    )
    return 0


def _print_results(args: argparse.Namespace) -> int:
    import json

    from vsumlab.training.result_groups import group_runs, read_run
    from vsumlab.training.result_report import format_report, report_json

    runs = [read_run(folder) for folder in args.folders]  # every folder read before printing
    groups, apart = group_runs(runs)
    # significance only between runs of one group: the same test videos, the same protocol
    tests = [test for group in groups if len(group.runs) > 1
             for test in _significance([run.rows for run in group.runs],
                                       [run.folder for run in group.runs])]
    if args.json:
        print(json.dumps({
            "title": " + ".join(run.title for run in runs),
            **report_json(groups, apart),
            "rows": [row.to_dict() for run in runs for row in run.models],
            "significance": [{"base": b, "other": o, **{m: r.to_dict() for m, r in res.items()}}
                             for b, o, res in tests],
        }, indent=2))  # fmt: skip
    else:
        print(format_report(groups, apart), end="")
        from vsumlab.evaluation.significance import format_comparison

        for base, other, res in tests:
            print("\n" + format_comparison(base, other, res), end="")
    return 0


def _significance(folders: list[list], paths: list[Path] | None = None
                  ) -> list[tuple[str, str, dict]]:
    """Every folder's model row against the first folder's: the paired t-test over their
    shared (split, seed) replicas, else Welch's t-test over CV rounds (several seeds each); no
    entry where neither can run. ``folders``: the rows of each results folder, as read for the
    table; ``paths``: the folders, whose folds' result.json name their splits (without them
    nothing is paired)."""
    from vsumlab.evaluation.significance import Replicas, compare_models
    from vsumlab.training.split_records import replica_keys

    models = [next((row for row in rows if row.kind == "model"), None) for rows in folders]
    if len(models) < 2 or models[0] is None:
        return []
    replicas = [replica_keys(path, row) if path is not None and row is not None
                else Replicas(None, "no results folder given")
                for path, row in zip(paths or [None] * len(models), models)]
    tests = []
    for other, other_replicas in zip(models[1:], replicas[1:]):
        if other is None:
            continue
        results = compare_models(models[0], other, replicas[0], other_replicas)
        if results is not None:
            tests.append((models[0].name, other.name, results))
    return tests
