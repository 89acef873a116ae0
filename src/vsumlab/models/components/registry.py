"""Summarizer networks by short name or by class path, so recipes choose one in YAML.

A recipe's ``summarizer`` is one of
- a built-in short name: ``transformer``, ``csta``;
- a class path: ``mypkg.nets.MyNet`` (importable from ``PYTHONPATH``);
- ``{class_path: mypkg.nets.MyNet, init_args: {...}}`` (Lightning's form; ``class_path`` may also
  be a short name).
``summarizer_args`` are further keyword arguments of the network (merged with ``init_args``).

The contract of a summarizer network (what :class:`~vsumlab.models.summarizer.SummarizerModule`
calls): an ``nn.Module`` built as ``Class(input_dim=D, **args)`` (``input_dim`` only when its
constructor takes it), whose ``forward(features (B, T, D) float, mask (B, T) bool, True =
valid) -> logits (B, T)``; the module's scores are their sigmoid. Padded steps must not change
valid ones. ViSP pretraining also needs ``encode(features, mask) -> (B, encode_dim)`` and an
``encode_dim`` attribute. A class outside ``vsumlab`` is checked once when built (one forward
pass on a small padded batch) and any violation is one :class:`ConfigError` line.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import torch
from torch import Tensor, nn

from vsumlab.errors import ConfigError
from vsumlab.models.components.csta import CSTA
from vsumlab.models.components.transformer_summarizer import TransformerSummarizer

SUMMARIZERS: dict[str, type[nn.Module]] = {
    "transformer": TransformerSummarizer,
    "csta": CSTA,
}

#: what a recipe may give as ``summarizer``: a short name, a class path or Lightning's dict form
SummarizerSpec = str | dict[str, Any]


def summarizer_names() -> list[str]:
    return sorted(SUMMARIZERS)


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def split_spec(spec: SummarizerSpec) -> tuple[str, dict[str, Any]]:
    """(short name or class path, init_args) of a spec, without importing anything."""
    if isinstance(spec, str) and spec:
        return spec, {}
    if isinstance(spec, dict) and isinstance(spec.get("class_path"), str):
        unknown = sorted(set(spec) - {"class_path", "init_args"})
        if unknown:
            raise ConfigError(
                f"model.summarizer: unknown key(s) {', '.join(unknown)}; expected class_path "
                "and init_args"
            )
        init_args = spec.get("init_args") or {}
        if not isinstance(init_args, dict):
            raise ConfigError("model.summarizer.init_args: expected a mapping of arguments")
        return spec["class_path"], dict(init_args)
    raise ConfigError(
        f"model.summarizer: expected a short name ({', '.join(summarizer_names())}), a class "
        f"path such as mypkg.MyNet or {{class_path: ..., init_args: {{...}}}}; got {spec!r}"
    )


def summarizer_class_path(spec: SummarizerSpec) -> str:
    """The qualified class name a spec builds (short names resolved), without importing it."""
    name, _ = split_spec(spec)
    return _qualified(SUMMARIZERS[name]) if name in SUMMARIZERS else name


def summarizer_class(spec: SummarizerSpec) -> type[nn.Module]:
    """The network class of a spec; an unknown name, failed import or non-Module is one line."""
    name, _ = split_spec(spec)
    if name in SUMMARIZERS:
        return SUMMARIZERS[name]
    module_name, _, class_name = name.rpartition(".")
    if not module_name:
        raise ConfigError(
            f"unknown summarizer {name!r}; expected one of {', '.join(summarizer_names())} "
            "or a class path such as mypkg.MyNet"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"model.summarizer: cannot import {module_name!r} for {name} ({exc}); is its "
            "folder on PYTHONPATH?"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigError(f"model.summarizer: module {module_name} has no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ConfigError(f"model.summarizer: {name} is not a torch.nn.Module class")
    return cls


def _accepts(cls: type, name: str) -> bool:
    params = inspect.signature(cls).parameters.values()
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def summarizer_options(spec: SummarizerSpec) -> list[str]:
    """The keyword arguments a summarizer accepts besides ``input_dim``."""
    params = inspect.signature(summarizer_class(spec)).parameters.values()
    return [
        p.name for p in params
        if p.name != "input_dim" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def build_summarizer(spec: SummarizerSpec, input_dim: int, **kwargs: Any) -> nn.Module:
    """Instantiate a summarizer network; unknown names or arguments raise :class:`ConfigError`.

    ``kwargs`` (the recipe's ``summarizer_args``) are merged with the spec's ``init_args``; a key
    given in both with different values is an error rather than a silent choice.
    """
    name, init_args = split_spec(spec)
    cls = summarizer_class(spec)
    clash = sorted(k for k in set(init_args) & set(kwargs) if init_args[k] != kwargs[k])
    if clash:
        raise ConfigError(
            f"summarizer {name!r}: {', '.join(clash)} given both in summarizer.init_args and "
            "summarizer_args with different values"
        )
    args = {**init_args, **kwargs}
    if not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        allowed = summarizer_options(spec)
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            # switching a recipe to another network keeps the recipe's summarizer_args
            hint = ("" if name in SUMMARIZERS else
                    " (another network's summarizer_args? set model.init_args.summarizer_args=null)")
            raise ConfigError(
                f"summarizer {name!r}: unknown argument(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed) or 'none'}{hint}"
            )
    if _accepts(cls, "input_dim"):
        args["input_dim"] = int(input_dim)
    try:
        network = cls(**args)
    except ConfigError:
        raise
    except Exception as exc:  # a user's constructor may fail in any way: one line naming it
        raise ConfigError(
            f"summarizer {name!r}: construction failed: {exc.__class__.__name__}: "
            f"{_first_line(exc)}"
        ) from exc
    if name not in SUMMARIZERS:
        check_summarizer_contract(network, name, int(input_dim))
    return network


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def check_summarizer_contract(network: nn.Module, name: str, input_dim: int) -> None:
    """One forward pass on a small padded batch: ``forward(features, mask)`` must return (B, T).

    Runs in eval mode without gradients and with the RNG state restored, so the check changes
    neither the weights, the training mode nor any later random draw. It also materialises lazy
    modules (``nn.LazyLinear``) before the optimizer sees the parameters.
    """
    batch, steps = 2, 5
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        features = torch.randn(batch, steps, input_dim)
        mask = torch.ones(batch, steps, dtype=torch.bool)
        mask[1, 3:] = False  # a padded video, as in every real batch
        was_training = network.training
        network.eval()
        try:
            out = network(features, mask)
        except Exception as exc:
            raise ConfigError(
                f"summarizer {name!r}: forward(features {tuple(features.shape)}, mask "
                f"{tuple(mask.shape)}) failed: {exc.__class__.__name__}: {_first_line(exc)}"
            ) from exc
        finally:
            network.train(was_training)
    if not isinstance(out, Tensor) or out.shape != (batch, steps) or not out.is_floating_point():
        got = (f"a {out.dtype} tensor of shape {tuple(out.shape)}" if isinstance(out, Tensor)
               else type(out).__name__)
        raise ConfigError(
            f"summarizer {name!r}: forward(features (B, T, D), mask (B, T)) must return float "
            f"logits of shape (B, T) = {(batch, steps)}; it returned {got}"
        )
