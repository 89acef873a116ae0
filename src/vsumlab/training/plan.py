"""The run plan: one typed object per run, and the one place a run is put together.

A :class:`RunPlan` names what a run is: the recipe and its command-line overrides, the fold and
seed, the checkpoint it starts from, and whether algorithms are deterministic. Its evaluation
protocol (model selection included) is read from the parsed recipe, never from a probe run.

:class:`RecipeConfig` parses the recipe and its overrides **once** (LightningCLI's jsonargparse
parser, so recipes are checked exactly as ``vsumlab fit`` checks them); every fold and seed of
a cross-validation is then the same parsed configuration with typed fields set (no override
strings), and :func:`build` instantiates it: ``(model, datamodule, trainer)``. The number of
folds, the effective configuration (what ``config.yaml`` and W&B record) and the protocol come
from the same object.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from vsumlab.errors import ConfigError
from vsumlab.protocol.options import Protocol
from vsumlab.training.lightning_cli import VsumCLI, make_cli, vsum_cause
from vsumlab.training.recipes import compose_recipe

FOLD_KEY = "data.init_args.fold"
VAL_SOURCE_KEY = "data.init_args.val_source"
PROTOCOL_KEY = "protocol"  # the run's evaluation protocol: a top-level key of the recipe


@dataclass(frozen=True)
class RunPlan:
    """One run: a recipe with overrides, at one fold and seed, optionally from a checkpoint.

    ``fold``/``seed`` None keep the recipe's values; ``pretrained`` goes to the model's init
    argument ``pretrained_into`` (``pretrained`` for most methods, ``captioner`` for CLIP-It).
    """

    recipe: Path
    overrides: tuple[str, ...] = ()
    fold: int | None = None
    seed: int | None = None
    pretrained: Path | None = None
    pretrained_into: str = "pretrained"
    deterministic: bool = False

    def at(self, fold: int | None, seed: int | None, pretrained: Path | None = None) -> RunPlan:
        """The same plan at another fold and seed (and starting checkpoint)."""
        return replace(self, fold=fold, seed=seed, pretrained=pretrained or self.pretrained)


class _ParsingCLI(VsumCLI):
    """LightningCLI that parses on construction and instantiates only when :func:`build` asks.

    Seeding is left to :func:`build` as well: a recipe's ``seed_everything: true`` is drawn anew
    for every run, as a fresh ``vsumlab fit`` would.
    """

    building = False

    def _set_seed(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        if self.building:
            super().instantiate_classes()


class RecipeConfig:
    """A recipe and its overrides, composed and parsed once; every run of a plan starts here."""

    def __init__(self, recipe: str | os.PathLike, overrides: Sequence[str] = ()) -> None:
        self.recipe = Path(recipe)
        self.overrides = list(overrides)
        self.composed: dict[str, Any] = compose_recipe(self.recipe)
        with tempfile.TemporaryDirectory(prefix="vsumlab-plan-") as tmp:
            path = Path(tmp) / "config.yaml"
            path.write_text(yaml.safe_dump(self.composed, sort_keys=False))
            cli = make_cli(["--config", str(path), *self.overrides], run=False,
                           cli_class=_ParsingCLI)
        assert isinstance(cli, _ParsingCLI)
        self._cli = cli
        self.config = cli.config  # jsonargparse Namespace; never mutated (runs use clones)
        self._data: Any = None  # the data module datamodule() built, whose files are read
        # read once: every fold, the scoring callback and the results files share this object
        self._protocol = Protocol.from_dict(_plain(self.config.get(PROTOCOL_KEY)))

    # -- what the plan reads without building anything ---------------------------------------

    @property
    def has_folds(self) -> bool:
        return FOLD_KEY in self.config

    def protocol(self) -> Protocol:
        """The run's evaluation protocol (the recipe's ``protocol:``; defaults when unset)."""
        return self._protocol

    def model_selection(self) -> str:
        return self._protocol.model_selection

    def max_epochs(self) -> int | None:
        value = self.config.get("trainer.max_epochs") if "trainer" in self.config else None
        return int(value) if isinstance(value, int) and value >= 0 else None

    def datamodule(self) -> Any:
        """The data module alone (fold 0), to count folds and read split files."""
        from lightning.pytorch.cli import instantiate_class

        data = _plain(self.config["data"])
        if isinstance(data, Mapping) and FOLD_KEY in self.config:
            data = {**data, "init_args": {**data.get("init_args", {}), "fold": 0}}
        try:
            self._data = instantiate_class((), data)
        except (ValueError, TypeError) as exc:
            cause = vsum_cause(exc)
            if cause is None:
                raise
            raise cause from exc
        return self._data

    # -- the configuration of one run --------------------------------------------------------

    def resolve(self, plan: RunPlan) -> Any:
        """The plan's configuration (a Namespace): fold, seed, starting checkpoint and the
        validation source its model selection needs set; a drawn seed (``seed_everything:
        true``) is drawn here, so the configuration records the seed the run uses."""
        config = self.config.clone()
        if plan.fold is not None:
            if FOLD_KEY not in config:
                raise ConfigError(f"{self.recipe}: the data module has no 'fold' argument; it "
                                  "cannot be cross-validated")
            config[FOLD_KEY] = int(plan.fold)
        if plan.seed is not None:
            config["seed_everything"] = int(plan.seed)
        if plan.pretrained is not None:
            key = f"model.init_args.{plan.pretrained_into}"
            if key not in config:
                raise ConfigError(f"{self.recipe}: the model has no '{plan.pretrained_into}' "
                                  "argument to start from a pretrained checkpoint")
            config[key] = str(plan.pretrained)
        if (self.model_selection() == "best_test" and VAL_SOURCE_KEY in config
                and config[VAL_SOURCE_KEY] != "test"):
            # the "best test epoch" (e.g. a preset's) selects on the test videos, as labelled
            config[VAL_SOURCE_KEY] = "test"
        seed = config.get("seed_everything")
        if seed is True:
            from lightning.fabric.utilities.seed import seed_everything

            config["seed_everything"] = seed_everything(workers=True)
        return config

    def effective(self, config: Any | None = None) -> dict[str, Any]:
        """A run's configuration as plain data (the recipe file name left out)."""
        data = _plain(self.config if config is None else config)
        data.pop("config", None)
        return data

    def dump(self, config: Any | None = None) -> str:
        """A run's configuration as YAML that ``vsumlab fit --config`` reads back."""
        text = self._cli.parser.dump(self.config if config is None else config,
                                     skip_none=False, skip_link_targets=False, format="yaml")
        return text

    def instantiate(self, config: Any, trainer_overrides: Mapping[str, Any]) -> tuple[Any, Any, Any]:
        cli = self._cli
        cli.config = config
        cli._trainer_overrides = dict(trainer_overrides)
        cli.run_protocol = self._protocol
        cli.building = True
        try:
            cli.instantiate_classes()
        except (ValueError, TypeError) as exc:
            cause = vsum_cause(exc)
            if cause is None:
                raise
            raise cause from exc
        finally:
            cli.building = False
        reuse = getattr(cli.datamodule, "reuse_datasets", None)
        if self._data is not None and callable(reuse):
            reuse(self._data)  # every fold reads the same files: read them once per plan
        return cli.model, cli.datamodule, cli.trainer


def build(
    plan: RunPlan,
    recipe: RecipeConfig | None = None,
    *,
    config: Any | None = None,
    trainer_overrides: Mapping[str, Any] | None = None,
) -> tuple[Any, Any, Any]:
    """``(model, datamodule, trainer)`` of one run of ``plan``.

    ``recipe``: the plan's parsed recipe, shared by every run of a cross-validation (parsed here
    when omitted); ``config``: :meth:`RecipeConfig.resolve`'s result when the caller already
    has it; ``trainer_overrides``: trainer arguments the caller owns (loggers, callbacks:
    callbacks are added to the recipe's). Seeds every generator with the run's seed first, so
    a model's initial weights depend only on the plan.
    """
    recipe = recipe or RecipeConfig(plan.recipe, plan.overrides)
    config = recipe.resolve(plan) if config is None else config
    seed = config.get("seed_everything")
    if seed is not False and seed is not None:
        from lightning.fabric.utilities.seed import seed_everything

        seed_everything(int(seed), workers=True)
    overrides = dict(trainer_overrides or {})
    if plan.deterministic:
        overrides["deterministic"] = True
    return recipe.instantiate(config, overrides)


def _plain(value: Any) -> Any:
    """A jsonargparse Namespace (or anything holding them) as plain dicts and lists."""
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
