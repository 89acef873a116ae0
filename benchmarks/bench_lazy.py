"""Lazy datasets at scale (issue 20, item 4, first bullet), measured in one run.

1. Peak RSS of one training epoch (index + every training batch) over a large Mr. HiSum-like
   stand-in on disk against the same epoch over a 50-video set, each in a fresh process
   (``resource.getrusage`` maximum RSS of that child).
2. On the 50-video set, seconds per epoch of the lazy loader against the in-memory one
   (``read_dataset`` records in :class:`VideoFeatureDataset`), best of ``--repeats``.

Run: ``python benchmarks/bench_lazy.py [--videos 20000] [--dim 1024] [--folder DIR]``.
Prints the machine and its load (the machine is shared: ratios, not seconds, are the result).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def epoch(path: str, lazy: bool, batch_size: int = 8) -> float:
    """Seconds of one pass over every video's batches (what a training epoch reads)."""
    from torch.utils.data import DataLoader

    from vsumlab.data.lazy import H5Dataset
    from vsumlab.data.schema import read_dataset
    from vsumlab.data.standard_h5 import (
        LazyVideoFeatureDataset,
        VideoFeatureDataset,
        collate_videos,
    )

    start = time.perf_counter()
    if lazy:
        data = H5Dataset(path)
        items = LazyVideoFeatureDataset([(k, data, k) for k in data.keys])
    else:
        dataset = read_dataset(path)
        items = VideoFeatureDataset(list(dataset.records.items()))
    for _ in DataLoader(items, batch_size=batch_size, collate_fn=collate_videos):
        pass
    return time.perf_counter() - start


def child_peak(path: str) -> int:
    """Peak RSS (KiB) of a fresh process running one lazy epoch over ``path``."""
    code = (f"import resource, sys; sys.path[:0] = {sys.path!r}; "
            f"from bench_lazy import epoch; epoch({path!r}, True); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent)
    return int(out.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", help="where the stand-ins are written (default: a temp)")
    args = parser.parse_args()
    from vsumlab.data.synthetic.mrhisum_standin import write_mrhisum_standin

    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_lazy_"))
    large, small = folder / f"large_{args.videos}.h5", folder / "small_50.h5"
    for path, n in ((large, args.videos), (small, 50)):
        if not path.exists():
            write_mrhisum_standin(path, n, dim=args.dim)
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    peak_small, peak_large = child_peak(str(small)), child_peak(str(large))
    print(f"peak RSS of one epoch: {args.videos} videos {peak_large / 1024:.0f} MiB, 50 videos "
          f"{peak_small / 1024:.0f} MiB: ratio {peak_large / peak_small:.2f} (goal <= 1.5); "
          f"file {large.stat().st_size / 2**20:.0f} MiB")
    lazy = min(epoch(str(small), True) for _ in range(args.repeats))
    memory = min(epoch(str(small), False) for _ in range(args.repeats))
    print(f"50 videos, one epoch: lazy {lazy:.3f} s, in memory {memory:.3f} s (read included): "
          f"lazy speed {memory / lazy:.2f}x the in-memory one (goal >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
