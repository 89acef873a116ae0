"""``vsumlab video-demo --out DIR``: generated mp4 files with annotated events and their standard
h5 of colour-histogram features (no weights, no download): what ``make video-demo`` trains the
offline summarizer on."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video-demo",
        help="generate annotated demo videos and their colorhist feature h5 (offline)",
        description="Write DIR/videos/video_<i>.mp4 (2-5 s scenes, about a third showing an "
        "event that simulated annotators score high), DIR/colorhist.h5, the standard h5 of "
        "their colour-histogram features, KTS shots and TVSum-style annotations, and "
        "DIR/example/video_1.mp4, a one-minute video of the same kind in no split. A summarizer "
        "trained on it works on any video with `vsumlab summarize` and no weights download.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--videos", type=int, default=30, help="number of videos (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--force", action="store_true", help="overwrite DIR/colorhist.h5")
    parser.set_defaults(handler=_video_demo)


def _video_demo(args: argparse.Namespace) -> int:
    from vsumlab.errors import ConfigError
    from vsumlab.video.demo_set import build_demo_set

    if args.videos < 5:
        raise ConfigError(f"--videos {args.videos}: expected at least 5 (5 folds)")
    demo = build_demo_set(args.out, n_videos=args.videos, seed=args.seed, force=args.force)
    print(json.dumps({"videos": str(demo.videos), "h5": str(demo.h5),
                      "n_videos": demo.n_videos, "example": str(demo.example)}),
          file=sys.stdout)
    return 0
