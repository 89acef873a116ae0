"""Write the caption-aligned synthetic sets of the CLIP-It recipes (``make clipit-data``).

Two sets in one visual world (DATA's shared feature space, the same event prototypes), so the
augmented and transfer settings make sense: a SumMe-like target and a TVSum-like one, each with
its dense-caption JSON (ActivityNet form, keyed by the h5 video keys). See
:mod:`vsumlab.models.clipit_synthetic` for what is planted and why.

    python experiments/clipit/make_synthetic.py --out data/generated/clipit [--videos 80] [--force]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vsumlab.data.schema import write_dataset
from vsumlab.errors import VsumError
from vsumlab.io import check_writable, write_json_atomic
from vsumlab.models.clipit_synthetic import make_caption_aligned_dataset

#: kind -> generator seed (as `make data-synth`: tvsum 0, summe 1)
SETS = {"summe": 1, "tvsum": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/generated/clipit"))
    parser.add_argument("--videos", type=int, default=80, help="videos per set")
    parser.add_argument("--min-duration", type=float, default=40.0, help="seconds")
    parser.add_argument("--max-duration", type=float, default=90.0, help="seconds")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)
    try:
        for kind, seed in SETS.items():
            h5 = args.out / f"captioned_{kind}.h5"
            captions_path = check_writable(args.out / f"captioned_{kind}_captions.json", args.force)
            dataset, captions = make_caption_aligned_dataset(
                kind, seed=seed, n_videos=args.videos, min_duration=args.min_duration,
                max_duration=args.max_duration,
            )  # fmt: skip
            write_dataset(h5, dataset, dataset.attrs, force=args.force)
            write_json_atomic(captions_path, captions)
            print(f"{h5}: {len(dataset)} videos ({dataset.name}); captions {captions_path}")
    except VsumError as exc:
        print(f"make_synthetic: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
