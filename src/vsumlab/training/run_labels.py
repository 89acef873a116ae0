"""What a cv run is, in words: its method, dataset, setting, split source and protocol.

Tables name a run by these (never by its recipe file name, which Cap2Sum, ViSP and CLIP-It
share: ``finetune_tvsum``) and only put runs side by side whose test videos and protocol are
the same (:mod:`vsumlab.training.result_groups`). ``vsumlab cv`` records the description in
``results.json`` (``comparison``); folders written before that are described from what they
hold: each fold's ``result.json`` (``data``: the data module's ``describe()``, ``protocol``,
``seeds``) and the effective ``config.yaml`` (``model.class_path``, ``data.init_args``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vsumlab.errors import VsumError
from vsumlab.io import parse_json

#: model class (last part of its class path, which survives module moves) -> method name
METHODS = {
    "Cap2SumModule": "Cap2Sum",
    "CLIPItModule": "CLIP-It",
    "DeSumNetModule": "DeSumNet",
    "ViSPPretrainModule": "ViSP",
    "FSAPretrainModule": "ViSP (FSA)",
}
#: SummarizerModule's ``summarizer`` -> the architecture's name in the papers
SUMMARIZERS = {"csta": "CSTA", "transformer": "Transformer"}
#: Cap2Sum's fine-tuning modes as its Table 1 names them
CAP2SUM_MODES = {"supervised": "sup.", "weak_finetune": "weak sup.", "pretrain": "unsup."}


class Undescribed(VsumError):
    """A results folder records too little to say which test videos it scored (the reason)."""


@dataclass(frozen=True)
class RunDescription:
    method: str
    dataset: str  # the dataset's name (its h5 ``dataset_name``, else the file name)
    dataset_path: str  # as the run recorded it
    setting: str
    split_source: str  # "5 folds, split seed 0" | "split file F" | "one split: all videos"
    protocol: dict[str, Any] | None  # Protocol.to_dict(); None when not recorded
    train_share: float | None = None

    @property
    def label(self) -> str:
        """A row's name: method, dataset, setting and split source (and the share of training
        videos when the run used one, e.g. Cap2Sum's "sup. 5% videos")."""
        parts = [self.method, self.dataset, self.setting, self.split_source]
        if self.train_share is not None:
            parts.append(f"train share {self.train_share:g}")
        return " · ".join(parts)

    @property
    def protocol_label(self) -> str:
        return protocol_label(self.protocol)

    @property
    def group_key(self) -> tuple[str, str, str, str]:
        """Runs with equal keys scored the same test videos under the same protocol."""
        return (os.path.normpath(self.dataset_path), self.setting, self.split_source,
                json.dumps(self.protocol, sort_keys=True, default=str))

    @property
    def group_title(self) -> str:
        return (f"{self.dataset} · {self.setting} · {self.split_source} · "
                f"protocol: {self.protocol_label}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunDescription:
        share = data.get("train_share")
        return cls(str(data["method"]), str(data["dataset"]), str(data["dataset_path"]),
                   str(data["setting"]), str(data["split_source"]), data.get("protocol"),
                   None if share is None else float(share))


def protocol_label(protocol: Mapping[str, Any] | None) -> str:
    """The protocol as tables state it: its preset and the options set on top, or the
    defaults."""
    if protocol is None:
        return "not recorded"
    from vsumlab.protocol.options import Protocol

    try:
        described = Protocol.from_dict(dict(protocol)).describe()
    except (VsumError, TypeError):
        return json.dumps(dict(protocol), sort_keys=True)
    return described or "vsumlab defaults"


def method_label(model: Mapping[str, Any] | None, pretrain_class: str | None = None) -> str | None:
    """The method of a model configuration (``class_path`` and ``init_args``), or None when
    there is none. A summarizer fine-tuned from a ViSP pretraining is "ViSP+<summarizer>"."""
    if not isinstance(model, Mapping) or not model.get("class_path"):
        return None
    name = str(model["class_path"]).rsplit(".", 1)[-1]
    init = model.get("init_args") or {}
    if name == "SummarizerModule":
        summarizer = str(init.get("summarizer") or "summarizer")
        label = SUMMARIZERS.get(summarizer, summarizer)
        pretrained_by = METHODS.get(str(pretrain_class or "").rsplit(".", 1)[-1])
        if pretrained_by is not None:
            return f"{pretrained_by}+{label}"
        return label + (" (pretrained)" if pretrain_class or init.get("pretrained") else "")
    method = METHODS.get(name, name)
    if name == "Cap2SumModule" and init.get("mode") in CAP2SUM_MODES:
        method += f" ({CAP2SUM_MODES[init['mode']]})"
    if name == "CLIPItModule" and init.get("guide") == "title":
        method += " (title-guided)"
    return method


def dataset_name(path: str | os.PathLike) -> str:
    """The dataset's name: the h5 file's ``dataset_name`` when the file is here, else its stem."""
    file = Path(path)
    if file.is_file():
        try:
            import h5py

            with h5py.File(file, "r") as handle:
                name = handle.attrs.get("dataset_name")
            if name is not None:
                return name.decode() if isinstance(name, bytes) else str(name)
        except (OSError, UnicodeDecodeError):
            pass  # not readable now: the file name still tells datasets apart
    return file.stem


def split_source(data: Mapping[str, Any], n_splits: int | None, split_seed: Any) -> str:
    """Where the splits came from: a split file, generated folds (count and seed), or the one
    split of the transfer and zero-shot settings (every target video tests)."""
    if data.get("split_source"):
        return str(data["split_source"])
    if data.get("split_file"):
        return f"split file {data['split_file']}"
    if data.get("setting") in ("transfer", "zero_shot"):
        return "one split: all videos"
    folds = "? folds" if n_splits is None else f"{n_splits} folds"
    return f"{folds}, split seed {split_seed if split_seed is not None else 0}"


def pretrain_class(recipe: str | os.PathLike | None = None,
                   checkpoint: str | os.PathLike | None = None) -> str | None:
    """The model class of the pretraining a run fine-tuned from: its recipe's, or the recipe
    recorded beside its checkpoint (``<stage>/result.json``, written by ``run_pretrain``)."""
    if recipe is None and checkpoint is not None:
        record = Path(checkpoint).parent.parent / "result.json"
        try:
            recipe = parse_json(record.read_text(encoding="utf-8"), record).get("recipe")
        except (OSError, ValueError, AttributeError, VsumError):
            return None
    if not recipe:
        return None
    from vsumlab.training.recipes import compose_recipe

    try:
        model = compose_recipe(str(recipe)).get("model") or {}
    except (VsumError, OSError):
        return None
    return str(model.get("class_path")) if isinstance(model, Mapping) else None


def describe_run(
    config: Mapping[str, Any] | None,
    folds: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    pretrained_class: str | None = None,
    fallback_method: str = "",
) -> RunDescription:
    """The description of a run from its effective configuration, its fold results and the
    results meta (raises :class:`Undescribed` when no record names its dataset)."""
    config = config or {}
    data_config = ((config.get("data") or {}).get("init_args") or {})
    recorded = next((dict(f["data"]) for f in folds if isinstance(f.get("data"), Mapping)), {})
    data = {**data_config, **recorded}
    if not data.get("dataset"):
        raise Undescribed("its dataset is not recorded (no fold result.json or config.yaml "
                          "names it)")
    data.setdefault("setting", "canonical")
    seeds = next((f.get("seeds") for f in folds if isinstance(f.get("seeds"), Mapping)), {})
    split_seed = seeds.get("split_seed", data_config.get("split_seed"))
    n_splits = meta.get("n_folds") or data_config.get("n_folds")
    protocol = meta.get("protocol") or next(
        (f["protocol"] for f in folds if isinstance(f.get("protocol"), Mapping)), None)
    init = (config.get("model") or {}).get("init_args") or {}
    if protocol is None and "protocol" in init:
        # the effective configuration lists every argument: null there means the defaults
        options = init["protocol"]
        from vsumlab.protocol.options import Protocol

        try:
            protocol = Protocol.from_dict(dict(options or {})).to_dict()
        except (VsumError, TypeError, ValueError):
            protocol = dict(options) if isinstance(options, Mapping) else None
    method = method_label(config.get("model"), pretrained_class)
    if method is None:
        method = f"{fallback_method} (method not recorded)" if fallback_method else "unknown"
    share = data.get("train_share")
    return RunDescription(
        method=method,
        dataset=dataset_name(data["dataset"]),
        dataset_path=str(data["dataset"]),
        setting=str(data["setting"]),
        split_source=split_source(data, n_splits, split_seed),
        protocol=dict(protocol) if isinstance(protocol, Mapping) else None,
        train_share=None if share is None else float(share),
    )
