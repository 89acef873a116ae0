"""``vsumlab clipit``: CLIP-It's steps outside Lightning.

- ``clipit data --out DIR``: the caption-aligned synthetic SumMe-like and TVSum-like sets with
  their dense-caption JSON (ActivityNet form, keyed by the h5 video keys), in one visual world so
  the augmented and transfer settings make sense (:mod:`vsumlab.data.synthetic.caption_aligned`).
- ``clipit query-demo --fold DIR --dataset H5 --captions JSON``: for each held-out video of a
  trained fold with at least two captioned events, the mean score of event A's steps guided by
  the video's captions (generic), by a query naming A and by one naming another event B (every
  ordered pair of its planted events), through
  ``module.score_video(..., query=...)``, the call ``vsumlab summarize --query`` makes.

Training runs through ``vsumlab cv`` with the recipes in experiments/clipit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: kind -> generator seed (as `make data-synth`: tvsum 0, summe 1)
CAPTIONED_SETS = {"summe": 1, "tvsum": 0}


def register(subparsers: argparse._SubParsersAction) -> None:
    tools = subparsers.add_parser(
        "clipit", help="CLIP-It tools: caption-aligned synthetic sets, the query demo"
    )
    commands = tools.add_subparsers(dest="clipit_command", metavar="TOOL")
    tools.set_defaults(handler=lambda _args: tools.print_help() or 2)

    data = commands.add_parser(
        "data", help="caption-aligned synthetic SumMe-like and TVSum-like sets + captions JSON"
    )
    data.add_argument("--out", type=Path, default=Path("data/generated/clipit"))
    data.add_argument("--videos", type=int, default=80, help="videos per set")
    data.add_argument("--min-duration", type=float, default=40.0, help="seconds")
    data.add_argument("--max-duration", type=float, default=90.0, help="seconds")
    data.add_argument("--force", action="store_true", help="overwrite existing files")
    data.set_defaults(handler=_data)

    demo = commands.add_parser(
        "query-demo", help="a query naming one event vs another, on a trained CV fold"
    )
    demo.add_argument("--fold", type=Path, required=True, help="a vsumlab cv fold folder")
    demo.add_argument("--dataset", type=Path, required=True, help="caption-aligned h5")
    demo.add_argument("--captions", type=Path, required=True, help="its captions JSON")
    demo.set_defaults(handler=_query_demo)


def _data(args: argparse.Namespace) -> int:
    from vsumlab.data.schema import write_dataset
    from vsumlab.data.synthetic.caption_aligned import make_caption_aligned_dataset
    from vsumlab.io import check_writable, write_json_atomic

    for kind, seed in CAPTIONED_SETS.items():
        h5 = args.out / f"captioned_{kind}.h5"
        captions_path = check_writable(args.out / f"captioned_{kind}_captions.json", args.force)
        dataset, captions = make_caption_aligned_dataset(
            kind, seed=seed, n_videos=args.videos, min_duration=args.min_duration,
            max_duration=args.max_duration,
        )  # fmt: skip
        write_dataset(h5, dataset, dataset.attrs, force=args.force)
        write_json_atomic(captions_path, captions)
        print(f"{h5}: {len(dataset)} videos ({dataset.name}); captions {captions_path}")
    return 0


def _query_demo(args: argparse.Namespace) -> int:
    import numpy as np

    from vsumlab.data.captions.format import read_json_file
    from vsumlab.data.schema import read_dataset
    from vsumlab.data.synthetic.caption_aligned import EVENT_SENTENCES, query_contrasts
    from vsumlab.errors import ConfigError, DatasetError
    from vsumlab.evaluation.predictions import read_predictions
    from vsumlab.models.loading import load_summarizer

    checkpoint = args.fold / "checkpoints" / "last.ckpt"
    if not checkpoint.is_file():
        raise ConfigError(f"--fold: checkpoint not found: {checkpoint}")
    # every input is checked before the model is loaded
    dataset = read_dataset(args.dataset)
    captions = read_json_file(args.captions, "captions file")
    if not isinstance(captions, dict):
        raise DatasetError(f"{args.captions}: expected a JSON object of videos' captions")
    names = [key.rpartition("/")[2] for key in read_predictions(args.fold / "predictions.h5")]
    for name in names:
        if name not in dataset.records:
            raise DatasetError(
                f"{args.dataset}: has no video {name!r}, which fold {args.fold} predicted; "
                "pass the dataset the fold was trained on"
            )
        if not isinstance(captions.get(name), dict) or "sentences" not in captions[name]:
            raise DatasetError(
                f"{args.captions}: no 'sentences' for video {name!r}; pass the captions file "
                "of --dataset"
            )
    module = load_summarizer(checkpoint)
    gains = []
    print(f"{'video':10s} {'event A':42s} {'event B':42s} {'generic':>8s} {'query A':>8s} "
          f"{'query B':>8s}")
    for name in names:
        record = dataset[name]
        try:
            contrasts = query_contrasts(module, record)
        except ConfigError as exc:  # not a caption-aligned set: name the file
            raise DatasetError(f"{args.dataset}: {exc}") from exc
        generic = module.score_video(record.features, captions=captions[record.key]["sentences"])
        for a, b, named_a, named_b in contrasts:
            gains.append(named_a - named_b)
            steps = record.extra["event"] == a
            print(f"{record.key:10s} {EVENT_SENTENCES[a]:42s} {EVENT_SENTENCES[b]:42s} "
                  f"{generic[steps].mean():8.3f} {named_a:8.3f} {named_b:8.3f}")
    if not gains:
        print("no held-out video with two captioned events in this fold")
        return 0
    print(f"naming A instead of B lifts A's steps by {np.mean(gains):+.3f} on average "
          f"(positive in {np.mean(np.array(gains) > 0):.0%} of {len(gains)} cases)")
    return 0
