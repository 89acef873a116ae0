"""Web videos labelled only by category (DeSumNet's weak supervision).

- :mod:`.sources`: folders per category (UCF101 layout), list files, TVSum's category labels
- :mod:`.clips`: 16-frame clip positions, one-pass clip decoding, the on-disk clip cache
- :mod:`.augment`: crops, flips, multi-scale jitter, corner crops
- :mod:`.dataset`: the torch Dataset of labelled clips
- :mod:`.datamodule`: :class:`WebVideoDataModule`
- generated category videos with planted events: :mod:`vsumlab.data.synthetic.event_videos`
"""

from vsumlab.data.webvideos.augment import ClipAugment
from vsumlab.data.webvideos.clips import ClipCache, ClipSpec, clip_starts, segment_starts
from vsumlab.data.webvideos.datamodule import WebVideoDataModule
from vsumlab.data.webvideos.dataset import WebVideoClips
from vsumlab.data.webvideos.sources import (
    TVSUM_CATEGORIES,
    VideoEntry,
    load_sources,
    read_list_file,
    tvsum_categories,
    tvsum_entries,
    write_list_file,
)

__all__ = [
    "TVSUM_CATEGORIES",
    "ClipAugment",
    "ClipCache",
    "ClipSpec",
    "VideoEntry",
    "WebVideoClips",
    "WebVideoDataModule",
    "clip_starts",
    "load_sources",
    "read_list_file",
    "segment_starts",
    "tvsum_categories",
    "tvsum_entries",
    "write_list_file",
]
