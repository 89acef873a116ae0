"""Read checkpoints without running their code; load any vsumlab checkpoint as a scorer.

Checkpoints are user-given files (downloaded, shared), and a pickle can execute anything on
load. So every checkpoint is read with ``torch.load(weights_only=True)``: tensors, plain Python
values and the few harmless types of :data:`SAFE_GLOBALS` only; anything else is refused with
one line naming the file and the object it wanted to create. The module class a checkpoint names
(``vsumlab_class``) is imported only when it is a LightningModule of ``vsumlab.models`` or a
class the user trusts explicitly (``--trust-class``). The same holds for the summarizer network
its hyper-parameters name (``summarizer: mypkg.MyNet``): a class outside ``vsumlab.models`` is
imported only when trusted by name. The optimizer and scheduler a checkpoint records are never
imported when loading a model to score with.
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.optimization import OPTIMIZATION_KEYS
from vsumlab.protocol.options import Protocol

CLASS_KEY = "vsumlab_class"
TRUSTED_MODULE_PREFIX = "vsumlab.models."
#: optimizer and scheduler classes under this prefix (or short names) are torch's own
TRUSTED_OPTIM_PREFIX = "torch.optim."

#: types a checkpoint may hold besides tensors and plain values: numpy arrays and scalars
#: (hyper-parameters from numpy code), which rebuild data and run nothing
_multiarray = importlib.import_module(
    "numpy._core.multiarray" if np.lib.NumpyVersion(np.__version__) >= "2.0.0"
    else "numpy.core.multiarray"
)
SAFE_GLOBALS: list[Any] = [
    _multiarray._reconstruct,
    _multiarray.scalar,
    np.ndarray,
    np.dtype,
    *{type(np.dtype(name)) for name in ("float32", "float64", "int32", "int64", "bool")},
]
torch.serialization.add_safe_globals(SAFE_GLOBALS)  # also for Lightning's own resume loads

# torch words it "Unsupported global: GLOBAL m.f" or "unsupported GLOBAL m.f whose module ..."
_UNSAFE = re.compile(r"GLOBAL ([\w.]+)")


def read_checkpoint(path: str | os.PathLike, role: str, map_location: Any = "cpu") -> Any:
    """The object a checkpoint holds, read without executing code; one-line ConfigError naming
    ``role`` (the option that gave the file) and the file when missing, unsafe or unreadable."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{role}: checkpoint not found: {file}")
    try:
        return torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        unsafe = _UNSAFE.search(str(exc))
        if unsafe:
            raise ConfigError(
                f"{role}: {file}: refused to load: it would create {unsafe.group(1)}, which is "
                "not a tensor or plain value (checkpoints are never unpickled as code)"
            ) from exc
        raise _unreadable(role, file, exc) from exc
    except Exception as exc:  # truncated or foreign files surface as many exception types
        raise _unreadable(role, file, exc) from exc


def _unreadable(role: str, file: Path, exc: BaseException) -> ConfigError:
    # torch's own messages span paragraphs and suggest weights_only=False: not repeated here
    return ConfigError(f"{role}: {file}: not a readable checkpoint, truncated or not written by "
                       f"torch.save ({exc.__class__.__name__})")


def checkpoint_class(
    payload: dict[str, Any], path: Path, trusted: Iterable[str] = ()
) -> type[L.LightningModule]:
    """The LightningModule class recorded in a checkpoint by ``on_save_checkpoint``: a module of
    ``vsumlab.models`` or one of the ``trusted`` qualified names, nothing else is imported."""
    qualified = payload.get(CLASS_KEY)
    if not qualified or not isinstance(qualified, str):
        raise ConfigError(f"{path}: not a vsumlab checkpoint (no '{CLASS_KEY}' entry)")
    module_name, _, class_name = qualified.rpartition(".")
    if not module_name.startswith(TRUSTED_MODULE_PREFIX) and qualified not in set(trusted):
        raise ConfigError(
            f"{path}: checkpoint class {qualified} is not a vsumlab model; pass "
            f"--trust-class {qualified} if you trust its code"
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{path}: checkpoint class {qualified} cannot be imported") from exc
    if not (isinstance(cls, type) and issubclass(cls, L.LightningModule)):
        raise ConfigError(f"{path}: checkpoint class {qualified} is not a LightningModule")
    return cls


def hparam_classes(hparams: Any) -> list[str]:
    """The classes outside vsumlab.models and torch.optim that building a module from these
    hyper-parameters would import: its summarizer network, optimizer and LR scheduler."""
    from vsumlab.models.components.registry import summarizer_class_path

    if not isinstance(hparams, dict):
        return []
    found: list[str] = []
    spec = hparams.get("summarizer")
    if spec is not None:
        try:
            name = summarizer_class_path(spec)
        except ConfigError:
            name = None  # malformed: the module's own check refuses it without importing
        if name and "." in name and not name.startswith(TRUSTED_MODULE_PREFIX):
            found.append(name)
    for key in OPTIMIZATION_KEYS:
        choice = hparams.get(key)
        name = choice.get("class_path") if isinstance(choice, dict) else choice
        if isinstance(name, str) and "." in name and not name.startswith(TRUSTED_OPTIM_PREFIX):
            found.append(name)
    return found


def check_summarizer_trusted(payload: dict[str, Any], path: Path, trusted: Iterable[str] = ()) -> None:
    """Refuse a checkpoint whose summarizer network is a class outside vsumlab.models unless the
    user trusts it by name (``--trust-class mypkg.MyNet``)."""
    from vsumlab.models.components.registry import summarizer_class_path

    hparams = payload.get("hyper_parameters")
    spec = hparams.get("summarizer") if isinstance(hparams, dict) else None
    if spec is None:
        return
    try:
        name = summarizer_class_path(spec)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if "." in name and not name.startswith(TRUSTED_MODULE_PREFIX) and name not in set(trusted):
        raise ConfigError(
            f"{path}: its summarizer network is {name}, not a vsumlab model; pass "
            f"--trust-class {name} if you trust its code"
        )


#: checkpoint entry holding the run's protocol (written by vsumlab.training.scoring)
PROTOCOL_CHECKPOINT_KEY = "vsumlab_protocol"


def checkpoint_protocol(payload: Any) -> Protocol | None:
    """The protocol a checkpoint records: the run's (``vsumlab_protocol``) or, in checkpoints
    written before scoring left the models, the model's ``protocol`` hyper-parameter."""
    if not isinstance(payload, dict):
        return None
    recorded = payload.get(PROTOCOL_CHECKPOINT_KEY)
    if recorded is None:
        hparams = payload.get("hyper_parameters")
        recorded = hparams.get("protocol") if isinstance(hparams, dict) else None
    if not isinstance(recorded, dict):
        return None
    return Protocol.from_dict(dict(recorded))


def load_summarizer(
    checkpoint_path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    trusted_classes: Iterable[str] = (),
) -> L.LightningModule:
    """The module of a checkpoint, in eval mode; it has ``score_video`` (and ``input_dim``)."""
    path = Path(checkpoint_path)
    payload = read_checkpoint(path, "checkpoint", map_location=map_location)
    if not isinstance(payload, dict):
        raise ConfigError(f"{path}: not a Lightning checkpoint")
    trusted_classes = list(trusted_classes)
    cls = checkpoint_class(payload, path, trusted_classes)
    check_summarizer_trusted(payload, path, trusted_classes)
    overrides: dict[str, Any] = {}
    hparams = payload.get("hyper_parameters", {})
    if "pretrained" in hparams:
        # the weights are in the checkpoint; the pretraining file need not exist any more
        overrides["pretrained"] = None
    for key in (*OPTIMIZATION_KEYS, "lr_scheduler_config"):
        if key in hparams:  # scoring needs no optimizer: its recorded class is not imported
            overrides[key] = None
    try:
        module = cls.load_from_checkpoint(
            path, map_location=map_location, weights_only=True, **overrides
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ConfigError(f"{path}: does not rebuild a {cls.__name__}: {first}") from exc
    module.eval()
    # the budget `vsumlab summarize` defaults to: the protocol the model was selected under
    module.recorded_protocol = checkpoint_protocol(payload)
    return module
