"""Vectorized replicas vs one sequential fold, measured in one run on this machine.

For the transformer and CSTA recipes on the synthetic TVSum-size set: the wall time and peak
memory (RSS) of ONE sequential fold (fold 0, one seed: the baseline), of all 5 folds x 3 seeds
trained as vectorized replicas (``vsumlab cv --replicas vectorized``; target <= 3x the one fold),
and of N random 80/20 splits x 3 seeds (default 50 x 3 = 150 replicas; target <= 20x; the splits
are written as a split file). Each measurement runs in its own process (its own peak RSS).
``--sequential`` also times the 5 x 3 folds sequentially (today's cost, ~15x one fold);
``--profile`` prints cProfile's top entries of the vectorized 5 x 3 run (what bounds it).
``--ranks N`` also times the vectorized 5 x 3 run divided among N DDP processes on the CPU
(``--trainer.devices=N --trainer.strategy=ddp``, Lightning's launcher, one thread each), with
each process's peak RSS. The load average (``uptime``) is printed beside the figures: other
work on the machine slows every measurement.
Usage: python benchmarks/bench_replicas.py [--epochs N] [--splits N] [--recipes transformer,csta]
[--sequential] [--ranks N] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _measure(spec: dict) -> dict:
    """Run one `vsumlab cv` in this process: seconds and peak RSS (MiB)."""
    import cProfile
    import io
    import pstats
    import resource
    import time

    from vsumlab.training.cv import CVOptions, run_cv

    options = CVOptions(recipe=Path(spec["recipe"]), out_dir=Path(spec["out"]),
                        overrides=spec["overrides"], folds=spec["folds"], seeds=spec["seeds"],
                        quiet=True, wandb_mode="disabled", replicas=spec["replicas"],
                        reference_draws=2)
    profile = cProfile.Profile() if spec.get("profile") else None
    start = time.perf_counter()
    if profile is not None:
        profile.enable()
    rows = run_cv(options)
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - start
    text = ""
    if profile is not None:
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats("tottime").print_stats(15)
        text = buffer.getvalue()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not rows:  # a DDP process other than rank 0 (Lightning re-executed this command)
        return {"rank": int(os.environ.get("LOCAL_RANK", 1)), "peak_mib": peak}
    return {"rank": 0, "seconds": seconds, "peak_mib": peak, "f1": rows[0].mean("f1"),
            "runs": len(rows[0].folds), "profile": text}


def _run(spec: dict) -> dict:
    """One measurement in its own process (under DDP: rank 0's figures, and every rank's peak
    RSS in ``peak_mib_ranks``; all processes print to the same pipe)."""
    env = {**os.environ, **spec.get("env", {})}
    done = subprocess.run([sys.executable, __file__, "--measure", json.dumps(spec)],
                          check=True, capture_output=True, text=True, env=env)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    result = next(r for r in reports if r["rank"] == 0)
    result["peak_mib_ranks"] = [r["peak_mib"] for r in sorted(reports, key=lambda r: r["rank"])]
    return result


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _random_splits(data: Path, n: int, path: Path) -> None:
    import numpy as np

    from vsumlab.data.schema import read_dataset

    keys = list(read_dataset(data).keys)
    rng = np.random.default_rng(0)
    splits = []
    for _ in range(n):
        order = [keys[i] for i in rng.permutation(len(keys))]
        cut = int(round(0.2 * len(keys)))
        splits.append({"train_keys": sorted(order[cut:]), "test_keys": sorted(order[:cut])})
    path.write_text(json.dumps(splits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--splits", type=int, default=50, help="random splits (0: skip)")
    parser.add_argument("--recipes", default="transformer,csta")
    parser.add_argument("--sequential", action="store_true",
                        help="also time the 5 x 3 folds sequentially")
    parser.add_argument("--ranks", type=int, default=0,
                        help="also time the vectorized 5 x 3 run on N DDP processes (CPU)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(json.loads(args.measure))))
        return

    from vsumlab.data.schema import write_dataset
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
    from vsumlab.training.environment import machine_description

    print(f"machine: {machine_description()}")
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        data = Path(tmp) / "synthetic_tvsum.h5"
        dataset = make_synthetic_dataset("tvsum", seed=0)
        write_dataset(data, dataset, attrs=dataset.attrs)
        split_file = Path(tmp) / "random_splits.json"
        if args.splits:
            _random_splits(data, args.splits, split_file)
        print(f"data: {len(dataset)} synthetic TVSum-like videos; {args.epochs} epochs")
        for name in args.recipes.split(","):
            recipe = str(ROOT / "experiments" / "supervised" / f"{name}_tvsum.yaml")
            base = [f"--data.init_args.dataset={data}", "--trainer.accelerator=cpu",
                    f"--trainer.max_epochs={args.epochs}"]

            def spec(label: str, replicas: str, folds: list[int] | None, seeds: list[int],
                     extra: tuple[str, ...] = (), profile: bool = False,
                     env: dict | None = None,
                     _recipe: str = recipe, _base: list[str] = base, _name: str = name) -> dict:
                return {"recipe": _recipe, "out": str(Path(tmp) / f"{_name}-{label}"),
                        "overrides": [*_base, *extra], "folds": folds, "seeds": seeds,
                        "replicas": replicas, "profile": profile, "env": env or {}}

            print(f"\n{name}: load before: {_load()}")

            one = _run(spec("one", "sequential", [0], [0]))
            print(f"\n{name}: one sequential fold (baseline): {one['seconds']:.1f} s, "
                  f"peak {one['peak_mib']:.0f} MiB")
            vec = _run(spec("vec", "vectorized", None, [0, 1, 2], profile=args.profile))
            print(f"{name}: 5 folds x 3 seeds vectorized: {vec['seconds']:.1f} s = "
                  f"{vec['seconds'] / one['seconds']:.2f}x one fold (target <= 3x), peak "
                  f"{vec['peak_mib']:.0f} MiB, mean F1 {vec['f1']:.2f}")
            if args.sequential:
                seq = _run(spec("seq", "sequential", None, [0, 1, 2]))
                print(f"{name}: 5 folds x 3 seeds sequential: {seq['seconds']:.1f} s = "
                      f"{seq['seconds'] / one['seconds']:.2f}x one fold, peak "
                      f"{seq['peak_mib']:.0f} MiB, mean F1 {seq['f1']:.2f}; vectorized is "
                      f"{seq['seconds'] / vec['seconds']:.2f}x faster")
            if args.ranks:
                ddp = (f"--trainer.devices={args.ranks}", "--trainer.strategy=ddp")
                ranked = _run(spec("ddp", "vectorized", None, [0, 1, 2], ddp,
                                   env={"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}))
                peaks = " + ".join(f"{p:.0f}" for p in ranked["peak_mib_ranks"])
                print(f"{name}: 5 folds x 3 seeds vectorized on {args.ranks} DDP processes x 1 "
                      f"thread: {ranked['seconds']:.1f} s = "
                      f"{ranked['seconds'] / one['seconds']:.2f}x one fold, "
                      f"{vec['seconds'] / ranked['seconds']:.2f}x faster than one process"
                      + (f", {seq['seconds'] / ranked['seconds']:.2f}x faster than sequential"
                         if args.sequential else "")
                      + f"; peak {peaks} MiB (per process), mean F1 {ranked['f1']:.2f}")
            if args.splits:
                splits = (f"--data.init_args.split_file={split_file}",)
                ran = _run(spec("random", "vectorized", None, [0, 1, 2], splits))
                print(f"{name}: {args.splits} random splits x 3 seeds vectorized: "
                      f"{ran['seconds']:.1f} s = {ran['seconds'] / one['seconds']:.2f}x one "
                      f"fold (target <= 20x), peak {ran['peak_mib']:.0f} MiB")
            print(f"{name}: load after: {_load()}")
            if args.profile:
                print(f"{name}: profile of the vectorized 5 x 3 run (top by own time):\n"
                      + vec["profile"])


if __name__ == "__main__":
    main()
