"""LightningCLI over the harness, as the library uses it (`vsumlab fit` and the run plan).

:class:`VsumCLI` adds per-run trainer overrides (the run plan's loggers and callbacks),
``--predictions`` for ``predict``, and one-line refusals of unsafe ``--ckpt_path`` files.
:func:`make_cli` turns argument errors into :class:`~vsumlab.errors.ConfigError`.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from vsumlab.errors import ConfigError, VsumError


class VsumCLI(LightningCLI):
    """LightningCLI with per-run trainer overrides (used by `vsumlab cv`) and `--predictions`."""

    #: the run plan's protocol, parsed once (else the parsed ``protocol`` key is read)
    run_protocol: Any = None

    def __init__(self, *args: Any, trainer_overrides: dict[str, Any] | None = None, **kwargs: Any):
        self._trainer_overrides = dict(trainer_overrides or {})
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.add_argument(
            "--protocol",
            type=dict[str, Any] | None,
            default=None,
            help="evaluation protocol of the run (vsumlab.protocol.options.Protocol): options by "
            "name, e.g. {preset: dsnet} or --protocol.budget=0.2; scored by the run, not the model",
        )
        parser.add_argument(
            "--predictions",
            type=str | None,
            default=None,
            help="predict: write step scores per video to this .h5/.npz file (for vsumlab eval)",
        )
        parser.add_argument(
            "--force", type=bool, default=False, help="predict: overwrite an existing file"
        )

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        from vsumlab.training.scoring import ProtocolScoring

        overrides = dict(self._trainer_overrides)
        # scoring belongs to the run: the protocol's metrics are computed by this callback from
        # the per-video scores the model returns (added to the recipe's callbacks)
        protocol = self.run_protocol or self._get(self.config_init, "protocol", default=None)
        scoring = ProtocolScoring(protocol)
        configured = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        if not isinstance(configured, list):
            configured = [configured]
        overrides["callbacks"] = [*configured, *overrides.get("callbacks", []), scoring]
        try:
            return super().instantiate_trainer(**{**kwargs, **overrides})
        except (ValueError, MisconfigurationException) as exc:
            # Lightning rejects impossible combinations here (e.g. strategy=fsdp on a CPU):
            # a configuration error, reported as one line naming the trainer settings
            raise ConfigError(f"trainer configuration: {exc}") from exc

    def _parse_ckpt_path(self) -> None:
        # Lightning reads the checkpoint's hyper-parameters here, before any of our hooks
        subcommand = self.config.get("subcommand")
        if subcommand:
            config = self.config[subcommand]
            model = config.get("model")
            recipe_class = model.get("class_path") if hasattr(model, "get") else None
            init_args = model.get("init_args") if hasattr(model, "get") else None
            own = init_args.as_dict() if hasattr(init_args, "as_dict") else {}
            _check_checkpoint_file(config.get("ckpt_path"), recipe_class, own)
        super()._parse_ckpt_path()

    def _check_checkpoint(self) -> None:
        config = self.config.get(self.subcommand, self.config)
        _check_checkpoint_file(config.get("ckpt_path"))

    def before_fit(self) -> None:
        self._check_checkpoint()

    def before_validate(self) -> None:
        self._check_checkpoint()

    def before_test(self) -> None:
        self._check_checkpoint()

    def before_predict(self) -> None:
        from vsumlab.training.callbacks import PredictionsWriter

        self._check_checkpoint()
        config = self.config.get(self.subcommand, self.config)
        output = config.get("predictions")
        if output:
            self.trainer.callbacks.append(PredictionsWriter(output, force=bool(config.get("force"))))


def _check_checkpoint_file(
    ckpt: str | None, recipe_class: str | None = None, recipe_args: dict | None = None
) -> None:
    """Refuse a missing, truncated, foreign or code-carrying ``--ckpt_path`` in one line, and
    one naming a model class (which Lightning would import) other than vsumlab's or the
    recipe's own; with ``recipe_args`` (the recipe's model init_args) also one naming a
    summarizer, optimizer or scheduler class outside vsumlab and torch.optim that the recipe
    does not name itself."""
    # "best"/"last" name checkpoints of the current trainer, not files
    if ckpt and ckpt not in ("best", "last", "hpc", "registry"):
        from vsumlab.models.loading import TRUSTED_MODULE_PREFIX, read_checkpoint

        payload = read_checkpoint(Path(ckpt), "--ckpt_path")
        if not isinstance(payload, dict) or "state_dict" not in payload:
            raise ConfigError(f"--ckpt_path: {ckpt}: not a Lightning checkpoint")
        hparams = payload.get("hyper_parameters")
        named = hparams.get("_class_path") if isinstance(hparams, dict) else None
        if named is not None and not (
            isinstance(named, str)
            and (named.startswith(TRUSTED_MODULE_PREFIX) or named == recipe_class)
        ):
            raise ConfigError(
                f"--ckpt_path: {ckpt}: names the model class {named!r}, neither a vsumlab model "
                "nor the recipe's model.class_path; set model.class_path to it if you trust it"
            )
        if recipe_args is not None:
            from vsumlab.models.loading import hparam_classes

            own = set(hparam_classes(recipe_args))
            foreign = [name for name in hparam_classes(hparams) if name not in own]
            if foreign:
                raise ConfigError(
                    f"--ckpt_path: {ckpt}: names the class {foreign[0]!r} (summarizer, optimizer "
                    "or scheduler), outside vsumlab and torch.optim and not in the recipe; set "
                    "it in the recipe if you trust it"
                )


def make_cli(
    args: list[str] | None, run: bool, cli_class: type[VsumCLI] | None = None, **kwargs: Any
) -> VsumCLI:
    """Build the CLI; argument errors become :class:`ConfigError` naming the key."""
    args = relocate_protocol_args(args)
    try:
        with warnings.catch_warnings():
            # we always pass the (recipe-expanded) argv explicitly, which this warning flags
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            return (cli_class or VsumCLI)(
                L.LightningModule,
                L.LightningDataModule,
                subclass_mode_model=True,
                subclass_mode_data=True,
                args=args,
                run=run,
                # allow_abbrev=False: `--trainer.max_epoch=1` is a typo naming its key, not
                # max_epochs (argparse would take any unambiguous prefix)
                parser_kwargs={"parser_mode": "omegaconf", "exit_on_error": False,
                               "allow_abbrev": False},
                save_config_kwargs={"overwrite": True},
                **kwargs,
            )
    except argparse.ArgumentError as exc:
        raise ConfigError(f"configuration: {condense_parser_error(str(exc))}") from exc
    except (ValueError, TypeError) as exc:
        # jsonargparse wraps errors raised while instantiating classes; surface ours as one line
        cause = vsum_cause(exc)
        if cause is None:
            raise
        raise cause from exc


#: where recipes and overrides named the protocol before it became the run's (still read)
EARLIER_PROTOCOL_KEY = "model.init_args.protocol"


def relocate_protocol_args(args: list[str] | None) -> list[str] | None:
    """Command-line overrides with the earlier ``--model.init_args.protocol...`` spelling
    moved to the run's ``--protocol...``."""
    if args is None:
        return None
    old, new = "--" + EARLIER_PROTOCOL_KEY, "--protocol"
    return [new + arg[len(old):] if arg.startswith(old) and arg[len(old):len(old) + 1] in
            ("", ".", "=") else arg for arg in args]


def vsum_cause(exc: BaseException) -> VsumError | None:
    """The vsumlab error behind an exception jsonargparse raised while instantiating, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, VsumError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_BOILERPLATE = ("Does not validate", "Subtypes:", "Errors:", "Expected a <class 'NoneType'>",
                "Given value")


def condense_parser_error(message: str) -> str:
    """One line out of jsonargparse's nested report, keeping the key and the actual problem."""
    lines = [line.strip().lstrip("- ").strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not line.startswith(_BOILERPLATE)]
    return " ".join(kept) if kept else message.strip()
