"""The offline video demo set: generated mp4 files and their standard h5 of features any machine
computes (``colorhist``: no weights, no download).

``make video-demo`` builds it, trains a small summarizer on it and runs ``vsumlab summarize``
with that checkpoint, so the whole path from an mp4 to a summary video, keyframes and a score
plot works on a fresh machine without network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vsumlab.io import check_writable
from vsumlab.video.encoders import build_encoder
from vsumlab.video.features import Sampling
from vsumlab.video.h5build import build_feature_file

#: the encoder of the demo set; every checkpoint trained on it records it (summarize reads it)
DEMO_ENCODER = "colorhist"
#: steps per second, summarize's default sampling, so training and use see the same steps
DEMO_FPS = 2.0


@dataclass(frozen=True)
class DemoSet:
    videos: Path
    h5: Path
    n_videos: int
    #: a one-minute video of the same kind, in no split: what the demo summarizes
    example: Path


def build_demo_set(
    out_dir: str | os.PathLike, n_videos: int = 40, seed: int = 0, force: bool = False
) -> DemoSet:
    """``out_dir/videos/video_<i>.mp4``, ``out_dir/colorhist.h5`` (features, picks, KTS shots,
    TVSum-style annotations re-derived on them) and ``out_dir/example/video_1.mp4``, a one-minute
    video drawn with another seed and in no split."""
    from vsumlab.data.synthetic.summary_videos import make_summary_videos

    out_dir = Path(out_dir)
    h5 = check_writable(out_dir / f"{DEMO_ENCODER}.h5", force)
    annotations = make_summary_videos(out_dir / "videos", n_videos=n_videos, seed=seed)
    make_summary_videos(out_dir / "example", n_videos=1, seed=seed + 1_000_003,
                        seconds=(60.0, 60.0))
    encoder = build_encoder(DEMO_ENCODER)
    build_feature_file(out_dir / "videos", h5, encoder, Sampling(target_fps=DEMO_FPS),
                       annotations=annotations, force=True)
    return DemoSet(videos=out_dir / "videos", h5=h5, n_videos=n_videos,
                   example=out_dir / "example" / "video_1.mp4")
