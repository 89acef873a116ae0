"""KTS speed and memory: 10-minute, 30-minute and 1-hour videos at 2 fps (1,200 / 3,600 / 7,200
steps) of 1,024-d features made of random scenes (2-60 s, non-negative like CNN features) plus
noise. Prints wall and CPU seconds (best of --repeats), the peak memory KTS allocates (traced
in a separate, untimed run), the process peak RSS, the number of change points, the share of
planted scene cuts recovered, and the machine.

    .venv/bin/python benchmarks/bench_kts.py [--steps 1200 3600 7200] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc

import numpy as np

from vsumlab.segmentation import hull
from vsumlab.segmentation.kts import kts
from vsumlab.segmentation.scatter import SegmentScatter

DIM = 1024


def piecewise_features(n_steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features float32 (n_steps, DIM), planted cut steps)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, 121, size=n_steps // 4 + 1)  # 2-60 s scenes at 2 fps
    starts = np.cumsum(lengths)
    cuts = starts[starts < n_steps]
    scene = np.searchsorted(starts, np.arange(n_steps), side="right")
    means = np.abs(rng.standard_normal((len(cuts) + 1, DIM))).astype(np.float32)
    noise = 0.5 * rng.standard_normal((n_steps, DIM), dtype=np.float32)
    return means[scene] + noise, cuts


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.machine()}{load}"


def bench(n_steps: int, repeats: int) -> dict[str, float]:
    x, cuts = piecewise_features(n_steps, seed=n_steps)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        found = kts(x)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    kts(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    search = hull._HullSearch(SegmentScatter(x), n_steps - 1, 1.0)
    search.run()
    return {
        "wall": min(walls),
        "cpu": min(cpus),
        "peak_mib": peak / 2**20,
        "gram_mib": n_steps * n_steps * 8 / 2**20,
        "m": len(found),
        "recovered": len(np.intersect1d(found, cuts)) / max(1, len(cuts)),
        "runs": search.runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, nargs="+", default=[1200, 3600, 7200])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"numpy {np.__version__}; features: random scenes x {DIM}-d float32, vmax 1")
    header = f"{'steps':>6} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9} {'(Gram MiB)':>10}"
    print(header + f" {'change pts':>10} {'cuts found':>10} {'penalised runs':>14}")
    for n in args.steps:
        r = bench(n, args.repeats)
        print(
            f"{n:>6} {r['wall']:>7.2f} {r['cpu']:>7.2f} {r['peak_mib']:>9.1f} "
            f"{r['gram_mib']:>10.0f} {r['m']:>10d} {r['recovered']:>10.1%} {r['runs']:>14d}"
        )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {peak_rss:.0f} MiB (includes the inputs and the Python runtime)")


if __name__ == "__main__":
    main()
