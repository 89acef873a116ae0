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


#: model arguments added after results folders were written, with the value that reproduces the
#: earlier behaviour: left at it, they are left out of a run's identity (folders still resume)
LATER_MODEL_ARGUMENTS: dict[str, Any] = {
    "loss_scale": "mean",  # ViSP's penalty scaling (issue 21): "mean" is the earlier one
}


def without_later_defaults(effective: dict[str, Any]) -> dict[str, Any]:
    """An effective configuration without the model arguments of
    :data:`LATER_MODEL_ARGUMENTS` that hold their earlier-behaviour value."""
    model = effective.get("model")
    init_args = model.get("init_args") if isinstance(model, dict) else None
    if isinstance(init_args, dict):
        for key, value in LATER_MODEL_ARGUMENTS.items():
            if key in init_args and init_args[key] == value:
                del init_args[key]
    return effective


def with_earlier_protocol_place(effective: dict[str, Any]) -> dict[str, Any]:
    """An effective configuration with the run's top-level ``protocol`` put back where
    configurations recorded it before scoring left the models: ``model.init_args.protocol`` of
    every :class:`~vsumlab.models.summarizer.SummarizerModule` (the only modules that had it),
    so their identities hash as before. Other models keep a ``protocol`` that was set at the
    top level and drop an unset one (they never recorded it)."""
    import importlib

    from vsumlab.models.summarizer import SummarizerModule

    if "protocol" not in effective:
        return effective
    protocol = effective.pop("protocol")
    model = effective.get("model")
    init_args = model.get("init_args") if isinstance(model, dict) else None
    module_name, _, class_name = str((model or {}).get("class_path", "")).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except (ImportError, AttributeError):
        cls = None
    if isinstance(init_args, dict) and isinstance(cls, type) and issubclass(cls, SummarizerModule):
        init_args["protocol"] = protocol
    elif protocol is not None:
        effective["protocol"] = protocol
    return effective
