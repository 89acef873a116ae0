"""`vsumlab cv` (k-fold cross-validation of a recipe) and `vsumlab results` (tables)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vsumlab.errors import ConfigError


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


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
    cv.add_argument("--seeds", type=_int_list, default=None,
                    help="repeat the CV once per seed (e.g. 0,1,2) for significance tests")
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
                    "csta): sets --model.init_args.protocol.preset; options given there "
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
        help="print (and merge) results tables",
        description="Print results tables. With several folders whose runs have several seeds "
        "(vsumlab cv --seeds), each folder's model is compared with the first folder's (the base) "
        "by Welch's t-test over the CV rounds.",
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
        overrides.insert(0, f"--model.init_args.protocol.preset={args.preset}")
    name = args.name or args.config.stem
    run_cv(
        CVOptions(
            recipe=args.config,
            out_dir=args.out or default_out_dir(name),
            overrides=overrides,
            pretrain=args.pretrain,
            pretrain_overrides=pretrain_overrides,
            name=name,
            folds=args.folds,
            seeds=args.seeds,
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

    from vsumlab.training.fold_results import format_table, merge_rows, read_results

    loaded = [read_results(folder) for folder in args.folders]
    rows = merge_rows(rows for _, rows, _ in loaded)
    title = " + ".join(title for title, _, _ in loaded)
    tests = _significance([rows for _, rows, _ in loaded])
    if args.json:
        print(json.dumps({
            "title": title, "rows": [r.to_dict() for r in rows],
            "significance": [{"base": b, "other": o, **{m: r.to_dict() for m, r in res.items()}}
                             for b, o, res in tests],
        }, indent=2))  # fmt: skip
    else:
        print(format_table(rows, title))
        from vsumlab.evaluation.significance import format_comparison

        for base, other, res in tests:
            print("\n" + format_comparison(base, other, res), end="")
    return 0


def _significance(folders: list[list]) -> list[tuple[str, str, dict]]:
    """Welch's t-tests of every folder's model row against the first folder's, when both have
    several seeds (one value per CV round); nothing for single-seed runs. ``folders``: the rows
    of each results folder, as read for the table."""
    from vsumlab.evaluation.significance import compare_rounds, round_scores

    models = [next((row for row in rows if row.kind == "model"), None) for rows in folders]
    base = models[0]
    if len(models) < 2 or base is None or len(round_scores(base, "f1")) < 2:
        return []
    return [
        (base.name, other.name, compare_rounds(base, other))
        for other in models[1:]
        if other is not None and len(round_scores(other, "f1")) >= 2
    ]
