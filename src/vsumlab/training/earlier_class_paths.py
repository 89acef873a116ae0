"""Class paths as results folders written before the layout of issue 16 recorded them.

The DataModules moved into ``vsumlab.data`` (one module per data source). A run's identity
hashes its configuration, class paths included (``run.json``'s ``config_hash``, the cache key of
``reproduce``'s pretrainings), so identities are hashed with the earlier paths: folders written
before the move resume instead of being refused as another configuration.
"""

from __future__ import annotations

import re
from typing import Any

#: current class path -> the path configurations recorded before the move
EARLIER_CLASS_PATHS = {
    "vsumlab.data.standard_h5.SummarizationDataModule":
        "vsumlab.data.datamodules.SummarizationDataModule",
    "vsumlab.data.captions.datamodule.CaptionDataModule": "vsumlab.data.captions.CaptionDataModule",
    "vsumlab.data.unlabeled_videos.ViSPPretrainDataModule":
        "vsumlab.models.visp.ViSPPretrainDataModule",
    "vsumlab.data.pseudo_summaries.FSAPretrainDataModule":
        "vsumlab.models.visp_fsa.FSAPretrainDataModule",
}
_MOVED = re.compile("|".join(re.escape(path) + r"\b" for path in EARLIER_CLASS_PATHS))


def with_earlier_class_paths(value: Any) -> Any:
    """``value`` (nested dicts, lists and strings, e.g. a configuration and its overrides) with
    every moved class path replaced by its earlier one; everything else unchanged."""
    if isinstance(value, str):
        return _MOVED.sub(lambda match: EARLIER_CLASS_PATHS[match.group(0)], value)
    if isinstance(value, dict):
        return {key: with_earlier_class_paths(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(with_earlier_class_paths(item) for item in value)
    return value
