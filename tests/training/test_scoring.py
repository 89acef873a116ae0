"""Scoring is part of the run: the run's protocol (read once from the recipe) scores the
per-video outputs of any method; the methods hold no protocol and no metrics."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import pytest

from vsumlab.data.schema import Dataset
from vsumlab.evaluation import metrics
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.protocol.options import Protocol
from vsumlab.training.cv import _digest, _effective
from vsumlab.training.plan import RecipeConfig, RunPlan, build
from vsumlab.training.recipes import compose_recipe
from vsumlab.training.scoring import ProtocolScoring

from .test_plan import RECIPE, ROOT
from .test_plan import _overrides as _plan_overrides


def _overrides(data: Path, *extra: str) -> tuple[str, ...]:
    return _plan_overrides(data, "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                           "--trainer.enable_model_summary=false", *extra)


def _validate(data: Path, root: Path, *extra: str) -> tuple[dict[str, float], dict[str, float], Protocol]:
    """(logged val metrics, the same metrics computed directly from the model's predictions of
    the validation videos, the protocol) of an untrained tiny model."""
    overrides = _overrides(data, f"--trainer.default_root_dir={root}", *extra)
    recipe = RecipeConfig(RECIPE, overrides)
    plan = RunPlan(RECIPE, overrides, fold=0, seed=3)
    model, datamodule, trainer = build(plan, recipe)
    [logged] = trainer.validate(model, datamodule=datamodule, verbose=False)
    outputs = trainer.predict(model, dataloaders=datamodule.val_dataloader())
    predictions = {k: v for batch in outputs for k, v in batch.items()}
    records = datamodule.records_for("val")
    direct = metrics.evaluate_dataset(
        Dataset(records=records, attrs=dict(datamodule.target.attrs), path=datamodule.target.path),
        predictions, recipe.protocol()).mean
    return ({m: float(logged[f"val/{m}"]) for m in METRICS},
            {m: float(getattr(direct, m)) for m in METRICS}, recipe.protocol())


@pytest.mark.slow
def test_the_run_scores_the_models_outputs_with_its_protocol(small_tvsum_h5, tmp_path) -> None:
    """The logged val metrics are the protocol's metrics of the model's own predictions, and a
    change of the run's protocol (budget) changes them: the callback uses the run's protocol."""
    logged, direct, protocol = _validate(small_tvsum_h5, tmp_path / "a")
    assert protocol.budget == 0.15
    for name in METRICS:
        assert logged[name] == pytest.approx(direct[name], abs=1e-9)
    wide_logged, wide_direct, wide = _validate(small_tvsum_h5, tmp_path / "b",
                                                 "--protocol.budget=0.5")
    assert wide.budget == 0.5
    assert wide_logged["f1"] == pytest.approx(wide_direct["f1"], abs=1e-9)
    assert not math.isclose(wide_logged["f1"], logged["f1"])


def test_methods_hold_no_protocol_and_no_metrics() -> None:
    """Methods produce scores and their own losses: no protocol argument, no metric objects."""
    from vsumlab.models.cap2sum import Cap2SumModule
    from vsumlab.models.clipit import CLIPItModule
    from vsumlab.models.summarizer import SummarizerModule
    from vsumlab.models.visp import ViSPPretrainModule
    from vsumlab.models.visp_fsa import FSAPretrainModule

    for cls in (SummarizerModule, Cap2SumModule, CLIPItModule, ViSPPretrainModule,
                FSAPretrainModule):
        assert "protocol" not in inspect.signature(cls.__init__).parameters, cls.__name__
    for path in sorted((ROOT / "src" / "vsumlab" / "models").rglob("*.py")):
        text = path.read_text()
        assert "SummarizationMetrics" not in text, path.name
        assert "self.protocol" not in text, path.name


def test_the_protocol_is_read_once_from_the_recipe(small_tvsum_h5, tmp_path) -> None:
    recipe = RecipeConfig(RECIPE, _overrides(small_tvsum_h5, "--protocol.budget=0.3",
                                             f"--trainer.default_root_dir={tmp_path}"))
    assert recipe.protocol() is recipe.protocol()
    assert recipe.protocol().budget == 0.3
    model, _, trainer = build(RunPlan(RECIPE, recipe.overrides, fold=0), recipe)
    [scoring] = [c for c in trainer.callbacks if isinstance(c, ProtocolScoring)]
    assert scoring.protocol is recipe.protocol()
    assert not hasattr(model, "protocol")


def test_the_earlier_spelling_moves_to_the_run(small_tvsum_h5, tmp_path) -> None:
    """``model.init_args.protocol`` (on the command line or in a recipe) is still read, as the
    run's protocol; a recipe's own top-level options win over the moved ones."""
    recipe = RecipeConfig(RECIPE, _overrides(small_tvsum_h5,
                                             "--model.init_args.protocol.preset=dsnet"))
    assert recipe.protocol().preset == "dsnet"
    old = tmp_path / "old.yaml"
    old.write_text(f"defaults: [{RECIPE}]\nprotocol: {{budget: 0.2}}\n"
                   "model:\n  init_args:\n    protocol: {budget: 0.4, rank_rate: 2fps}\n")
    composed = compose_recipe(old)
    assert "protocol" not in composed["model"]["init_args"]
    assert composed["protocol"] == {"budget": 0.2, "rank_rate": "2fps"}


#: run identities recorded by the code before the protocol left the models (commit 0b1f664):
#: results folders written then still resume
EARLIER_HASHES = [
    ("supervised/transformer_tvsum.yaml", (), "0c31ea5ef186aa75"),
    ("supervised/csta_summe.yaml", ("--trainer.max_epochs=3",), "736f6e06dfb54cd7"),
    ("supervised/transformer_tvsum.yaml", ("--protocol.preset=dsnet",), "1df25d369b060632"),
    ("supervised/transformer_tvsum.yaml", ("--model.init_args.protocol.preset=dsnet",),
     "1df25d369b060632"),
    ("clipit/synthetic_augmented.yaml", (), "9c8a3403785b398e"),
    ("visp/pretrain.yaml", (), "bd478541951fc390"),
]


@pytest.mark.parametrize(("recipe", "overrides", "expected"), EARLIER_HASHES)
def test_run_identities_hash_as_before_the_move(recipe, overrides, expected, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # the recipes name their data relative to the checkout
    parsed = RecipeConfig(Path("experiments") / recipe, list(overrides))
    effective = _effective(parsed, parsed.composed, list(overrides), folds=parsed.has_folds)
    assert _digest([effective]) == expected


def test_another_protocol_is_another_run(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    recipe = Path("experiments") / "supervised" / "transformer_tvsum.yaml"
    digests = set()
    for overrides in ([], ["--protocol.budget=0.2"], ["--protocol.preset=pglsum"]):
        parsed = RecipeConfig(recipe, overrides)
        digests.add(_digest([_effective(parsed, parsed.composed, overrides)]))
    assert len(digests) == 3


def test_a_later_argument_changes_the_identity_only_when_it_is_set(monkeypatch) -> None:
    """ViSP's loss_scale came later: at its earlier behaviour ("mean") the pretraining hashes as
    before (pinned above); set to "paper" it is another run."""
    monkeypatch.chdir(ROOT)
    recipe = Path("experiments") / "visp" / "pretrain.yaml"
    digests = []
    for overrides in ([], ["--model.init_args.loss_scale=paper"]):
        parsed = RecipeConfig(recipe, overrides)
        digests.append(_digest([_effective(parsed, parsed.composed, overrides, folds=False)]))
    assert digests[0] == "bd478541951fc390" and digests[1] != digests[0]
