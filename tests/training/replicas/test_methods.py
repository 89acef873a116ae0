"""Which methods' fine-tuning recipes vectorize, as the real vmap probe finds: ViSP's (a CSTA
summarizer from pretrained weights) does; CLIP-It's does not yet, because its training loss looks
up each video's sentence embeddings and keyshot labels by the batch's video keys (strings, which
vmap cannot batch): `--replicas auto` then trains its folds sequentially, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.cli.main import main
from vsumlab.training.cv import CVOptions
from vsumlab.training.plan import RecipeConfig
from vsumlab.training.replicas.run import vectorization_refusal

REPO = Path(__file__).resolve().parents[3]
CSTA = '{"embed_dim": 16, "trunk_channels": 4, "trunk_layers": 2, "head_hidden": 16}'


def _refusal(recipe: Path, overrides: list[str], tmp_path: Path) -> str | None:
    options = CVOptions(recipe=recipe, out_dir=tmp_path / "out", overrides=overrides,
                        seeds=[0, 1], replicas="vectorized", wandb_mode="disabled")
    return vectorization_refusal(options, RecipeConfig(recipe, overrides), 0, 0, 2)


def test_visp_fine_tuning_vectorizes(small_tvsum_h5, tmp_path) -> None:
    recipe = REPO / "experiments" / "visp" / "finetune_tvsum.yaml"
    overrides = [f"--data.init_args.dataset={small_tvsum_h5}", "--data.init_args.n_folds=2",
                 "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={CSTA}",
                 "--trainer.accelerator=cpu", "--trainer.max_epochs=1"]
    assert _refusal(recipe, overrides, tmp_path) is None


@pytest.fixture(scope="module")
def captioned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clipit_sets")
    assert main(["clipit", "data", "--out", str(out), "--videos", "6", "--min-duration", "20",
                 "--max-duration", "30"]) == 0
    return out


def test_clipit_fine_tuning_is_refused_naming_its_key_lookups(captioned, tmp_path) -> None:
    recipe = REPO / "experiments" / "clipit" / "synthetic_canonical.yaml"
    overrides = [f"--data.init_args.dataset={captioned / 'captioned_summe.h5'}",
                 f"--model.init_args.captions={captioned / 'captioned_summe_captions.json'}",
                 f"--model.init_args.text_cache_dir={tmp_path / 'text'}",
                 "--data.init_args.n_folds=2", "--model.init_args.d_model=16",
                 "--model.init_args.n_layers=1", "--trainer.max_epochs=1"]
    assert _refusal(recipe, overrides, tmp_path) == (
        "CLIPItScorer: vmap refuses its training loss (KeyError: 'keys')")
