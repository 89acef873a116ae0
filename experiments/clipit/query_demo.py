"""Query-focused summaries with a trained CLIP-It fold (``make clipit-query``).

For each held-out video of a cross-validation fold (the keys of its predictions.h5) that has at
least two captioned events, scores the video three ways through the library call that
``vsumlab summarize --query`` uses, ``module.score_video(features, query=...)``:
guided by its dense captions (generic), by a query naming event A, and by a query naming another
event B; and prints the mean score of A's steps under each. A query-aware model lifts A when A is
named. Needs the caption-aligned set (``record.extra["event"]``, ``make clipit-data``).

    python experiments/clipit/query_demo.py --fold runs/clipit/canonical/seed_default/fold_0 \
        --dataset data/generated/clipit/captioned_summe.h5 \
        --captions data/generated/clipit/captioned_summe_captions.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from vsumlab.data.schema import read_dataset
from vsumlab.errors import VsumError
from vsumlab.evaluation.predictions import read_predictions
from vsumlab.models.clipit_synthetic import EVENT_SENTENCES
from vsumlab.models.loading import load_summarizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", type=Path, required=True, help="a vsumlab cv fold folder")
    parser.add_argument("--dataset", type=Path, required=True, help="caption-aligned h5")
    parser.add_argument("--captions", type=Path, required=True, help="its captions JSON")
    args = parser.parse_args(argv)
    try:
        module = load_summarizer(args.fold / "checkpoints" / "last.ckpt")
        dataset = read_dataset(args.dataset)
        captions = json.loads(args.captions.read_text())
        keys = list(read_predictions(args.fold / "predictions.h5"))
        gains = []
        print(f"{'video':10s} {'event A':42s} {'generic':>8s} {'query A':>8s} {'query B':>8s}")
        for key in keys:
            record = dataset[key.rpartition("/")[2]]
            event = record.extra["event"]
            named = sorted(set(event[record.extra["event_planted"] == 1].tolist()))
            if len(named) < 2:
                continue
            generic = module.score_video(record.features, captions=captions[record.key]["sentences"])
            for a, b in zip(named, named[1:] + named[:1]):
                steps = event == a
                with_a = module.score_video(record.features, query=EVENT_SENTENCES[a])[steps]
                with_b = module.score_video(record.features, query=EVENT_SENTENCES[b])[steps]
                gains.append(with_a.mean() - with_b.mean())
                print(f"{record.key:10s} {EVENT_SENTENCES[a]:42s} {generic[steps].mean():8.3f} "
                      f"{with_a.mean():8.3f} {with_b.mean():8.3f}")
        if not gains:
            print("no held-out video with two captioned events in this fold")
            return 0
        print(f"naming A instead of B lifts A's steps by {np.mean(gains):+.3f} on average "
              f"(positive in {np.mean(np.array(gains) > 0):.0%} of {len(gains)} cases)")
    except (VsumError, OSError) as exc:
        print(f"query_demo: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
