"""Wall time of a full 5-fold CV of the transformer summarizer on the synthetic TVSum-size set.

Prints seconds per fold and in total, with the machine, and the share of the wall time spent
outside Lightning's training, validation and prediction epochs (parsing, building models and
trainers, checkpoints, loggers, scoring: a fold's fixed cost). Targets: under 10 minutes on a
2-core CPU; at most 10% outside the epochs for the 20-epoch demo CV (issue 16).
Usage: python benchmarks/bench_cv.py [--epochs N] [--recipe PATH] [--folds 0,1]
[--wandb-mode offline]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vsumlab.training.environment import machine_description as machine

ROOT = Path(__file__).resolve().parents[1]


def _time_scoring() -> dict[str, float]:
    """Count the time `vsumlab cv` spends in the protocol's scoring functions (evaluation)."""
    from vsumlab.evaluation import metrics

    spent = {"seconds": 0.0}
    for name in ("evaluate_dataset", "random_baseline", "uniform_baseline", "human_reference"):
        function = getattr(metrics, name)

        def timed(*args, _function=function, **kwargs):
            start = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                spent["seconds"] += time.perf_counter() - start

        setattr(metrics, name, timed)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--recipe", type=Path,
                        default=ROOT / "experiments/supervised/transformer_tvsum.yaml")
    parser.add_argument("--epochs", type=int, default=None, help="override max_epochs")
    parser.add_argument("--folds", default=None, help="only these folds, e.g. 0,1")
    parser.add_argument("--wandb-mode", default="disabled", choices=("disabled", "offline"),
                        help="W&B logging of every fold (default disabled; offline as `make demo`)")
    args = parser.parse_args()

    from vsumlab.data.schema import write_dataset
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.training.callbacks import LoopTimer
    from vsumlab.training.cv import CVOptions, run_cv

    with tempfile.TemporaryDirectory(prefix="bench-cv-") as tmp:
        data = Path(tmp) / "synthetic_tvsum.h5"
        dataset = make_synthetic_dataset("tvsum", seed=0)
        write_dataset(data, dataset, attrs=dataset.attrs)
        overrides = [f"--data.init_args.dataset={data}", "--trainer.accelerator=cpu"]
        if args.epochs:
            overrides.append(f"--trainer.max_epochs={args.epochs}")
        folds = [int(f) for f in args.folds.split(",")] if args.folds else None
        timer = LoopTimer()
        scoring = _time_scoring()
        start = time.perf_counter()
        rows = run_cv(CVOptions(recipe=args.recipe, out_dir=Path(tmp) / "run",
                                overrides=overrides, folds=folds, quiet=True,
                                wandb_mode=args.wandb_mode, callbacks=[timer]))
        total = time.perf_counter() - start
    n = len(rows[0].folds)
    print(f"machine: {machine()}")
    print(f"recipe: {args.recipe.resolve().relative_to(ROOT)}  videos: {len(dataset)}  folds: {n}")
    print(f"cv wall time: {total:.1f} s total, {total / n:.1f} s per fold")
    inside = timer.seconds + scoring["seconds"]
    outside = total - inside
    print(f"training/validation/prediction loops: {timer.seconds:.1f} s; scoring the test "
          f"folds and references: {scoring['seconds']:.1f} s")
    print(f"outside training and evaluation: {outside:.1f} s ({outside / n:.1f} s per fold) = "
          f"{100 * outside / total:.1f}% of the wall time (target <= 10% for the 20-epoch demo)")
    print(f"model: F1 {rows[0].mean('f1'):.2f}  tau {rows[0].mean('kendall'):.3f}  "
          f"rho {rows[0].mean('spearman'):.3f}")
    for row in rows[1:]:
        print(f"{row.name}: F1 {row.mean('f1'):.2f}  tau {row.mean('kendall'):.3f}")


if __name__ == "__main__":
    main()
