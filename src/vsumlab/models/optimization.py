"""Optimizers and learning-rate schedulers chosen in YAML, the Lightning way.

Every method module takes ``optimizer`` and ``lr_scheduler`` (typed as Lightning's
``OptimizerCallable`` / ``LRSchedulerCallable``) and ``lr_scheduler_config``::

    model:
      init_args:
        optimizer: {class_path: torch.optim.AdamW, init_args: {lr: 3.0e-4, weight_decay: 0.01}}
        lr_scheduler: {class_path: torch.optim.lr_scheduler.CosineAnnealingLR,
                       init_args: {T_max: 20}}
        lr_scheduler_config: {interval: epoch}   # Lightning's keys: interval, frequency, monitor

Under LightningCLI jsonargparse turns each ``{class_path, init_args}`` into a callable (short
names such as ``AdamW`` and ``--model.init_args.optimizer.lr=...`` work too) and the module's
hyper-parameters record the dict form, so checkpoints stay plain data. Outside the CLI the same
dict, a class path string, an optimizer class or a ``functools.partial`` of one are accepted.
``None`` (the default) keeps each method's own optimizer (Adam with ``lr``/``weight_decay`` for
the summarizers, SGD with a step schedule for DeSumNet); a given optimizer is used as it is
configured and those settings do not apply to it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from vsumlab.errors import ConfigError

#: the modules a short class name (``AdamW``, ``StepLR``) is looked up in
_SHORT_NAME_MODULES = {
    "optimizer": ("torch.optim",),
    "lr_scheduler": ("torch.optim.lr_scheduler",),
}
#: the init arguments that choose a class (recorded in dict form in hyper-parameters)
OPTIMIZATION_KEYS = ("optimizer", "lr_scheduler")
#: Lightning's lr scheduler configuration keys (besides ``scheduler``)
SCHEDULER_CONFIG_KEYS = ("interval", "frequency", "monitor", "strict", "name")


def _resolve_class(class_path: str, kind: str, role: str) -> type:
    candidates = [class_path] if "." in class_path else [
        f"{module}.{class_path}" for module in _SHORT_NAME_MODULES[kind]
    ]
    for candidate in candidates:
        module_name, _, name = candidate.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), name, None)
        except ImportError as exc:
            raise ConfigError(f"{role}: cannot import {module_name!r} for {class_path} ({exc})") from exc
        if isinstance(cls, type):
            return cls
    raise ConfigError(f"{role}: {class_path!r} is not a class (expected e.g. torch.optim.AdamW)")


def describe(value: Any, role: str) -> dict[str, Any] | None:
    """The ``{class_path, init_args}`` form of an optimizer or scheduler choice (None stays None),
    as recorded in hyper-parameters; a Python callable that cannot be written so is refused."""
    if value is None:
        return None
    if isinstance(value, str):
        return {"class_path": value, "init_args": {}}
    if isinstance(value, dict):
        if not isinstance(value.get("class_path"), str):
            raise ConfigError(f"{role}: expected {{class_path: ..., init_args: {{...}}}}, got {value!r}")
        unknown = sorted(set(value) - {"class_path", "init_args"})
        if unknown:
            raise ConfigError(f"{role}: unknown key(s) {', '.join(unknown)}; expected class_path "
                              "and init_args")
        return {"class_path": value["class_path"], "init_args": dict(value.get("init_args") or {})}
    if isinstance(value, type):
        return {"class_path": f"{value.__module__}.{value.__qualname__}", "init_args": {}}
    if isinstance(value, functools.partial):
        # jsonargparse's callables are partials whose positional arguments end with the class
        classes = [a for a in (value.func, *value.args) if isinstance(a, type)]
        if classes:
            cls = classes[-1]
            return {"class_path": f"{cls.__module__}.{cls.__qualname__}",
                    "init_args": dict(value.keywords)}
    raise ConfigError(
        f"{role}: {value!r} cannot be recorded in the checkpoint; give a class, a "
        "functools.partial of one or {class_path: ..., init_args: {...}}"
    )


def _factory(value: Any, kind: str, role: str) -> Callable[..., Any]:
    if callable(value) and not isinstance(value, (str, dict)):
        return value
    spec = describe(value, role)
    assert spec is not None
    cls = _resolve_class(spec["class_path"], kind, role)
    return functools.partial(cls, **spec["init_args"])


def _call(factory: Callable[..., Any], argument: Any, role: str) -> Any:
    try:
        return factory(argument)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # a bad argument of the chosen class
        text = str(exc).strip().splitlines()
        raise ConfigError(f"{role}: {exc.__class__.__name__}: {text[0] if text else ''}") from exc


def build_optimizer(choice: Any, params: Iterable[Any], role: str = "model.optimizer") -> Optimizer:
    """The optimizer a choice makes over ``params`` (parameters or parameter groups)."""
    optimizer = _call(_factory(choice, "optimizer", role), params, role)
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(f"{role}: made a {type(optimizer).__name__}, not a torch.optim.Optimizer")
    return optimizer


def build_lr_scheduler(
    choice: Any,
    optimizer: Optimizer,
    config: dict[str, Any] | None = None,
    role: str = "model.lr_scheduler",
) -> dict[str, Any]:
    """Lightning's lr scheduler configuration for a choice: ``{"scheduler": ..., "interval":
    "epoch", **config}``; ReduceLROnPlateau must name the metric it ``monitor``s."""
    extra = dict(config or {})
    unknown = sorted(set(extra) - set(SCHEDULER_CONFIG_KEYS))
    if unknown:
        raise ConfigError(
            f"model.lr_scheduler_config: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(SCHEDULER_CONFIG_KEYS)}"
        )
    scheduler = _call(_factory(choice, "lr_scheduler", role), optimizer, role)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if not plateau and not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        raise ConfigError(f"{role}: made a {type(scheduler).__name__}, not an LR scheduler")
    if plateau and not extra.get("monitor"):
        raise ConfigError(
            "model.lr_scheduler_config: ReduceLROnPlateau needs the metric to watch, e.g. "
            "{monitor: val/f1} (with lr_scheduler mode: max) or {monitor: val/mse}"
        )
    return {"scheduler": scheduler, "interval": "epoch", **extra}


def record_choices(hparams: Any, *keys: str) -> None:
    """Rewrite each optimizer/scheduler choice in ``hparams`` to its dict form (LightningCLI has
    recorded its configuration dict already; a Python callable becomes one here), so
    checkpoints hold plain data only."""
    for key in keys:
        hparams[key] = describe(hparams.get(key), f"model.{key}")
