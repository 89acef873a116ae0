"""The CLIP-It recipes run through `vsumlab cv` (what the make targets call), on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsumlab.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
RECIPES = ROOT / "experiments" / "clipit"


@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory):
    out = tmp_path_factory.mktemp("clipit_sets")
    argv = ["clipit", "data", "--out", str(out), "--videos", "6", "--min-duration", "20",
            "--max-duration", "30"]
    assert main(argv) == 0  # what make clipit-data runs
    return out


def _overrides(sets: Path, tmp_path: Path) -> list[str]:
    captions = {
        "synthetic_summe_captioned": str(sets / "captioned_summe_captions.json"),
        "synthetic_tvsum_captioned": str(sets / "captioned_tvsum_captions.json"),
    }
    return [
        f"--data.init_args.dataset={sets / 'captioned_summe.h5'}",
        f"--data.init_args.extra_datasets=[{sets / 'captioned_tvsum.h5'}]",
        f"--model.init_args.captions={json.dumps(captions)}",
        f"--model.init_args.text_cache_dir={tmp_path / 'text'}",
        "--model.init_args.d_model=16", "--model.init_args.n_layers=1",
        "--trainer.max_epochs=1",
    ]  # fmt: skip


@pytest.mark.parametrize("setting", ["augmented", "transfer"])
def test_multi_dataset_settings_run_end_to_end(setting, tiny_sets, tmp_path, capsys):
    """Qualified keys, one caption file per dataset, the results table with references."""
    out = tmp_path / "run"
    code = main([
        "cv", "--config", str(RECIPES / f"synthetic_{setting}.yaml"), "--out", str(out),
        "--folds", "0", "--wandb-mode", "disabled", *_overrides(tiny_sets, tmp_path),
    ])  # fmt: skip
    assert code == 0
    rows = {row["name"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    assert {"random", "uniform", "human"} <= set(rows)
    model = rows[f"synthetic_{setting}"]
    assert 0.0 <= model["f1"] <= 100.0 and len(model["folds"]) == 1


def test_canonical_recipe_and_its_text_ablation_differ_only_in_the_switch():
    from vsumlab.training.recipes import compose_recipe

    canonical = compose_recipe(RECIPES / "synthetic_canonical.yaml")
    ablation = compose_recipe(RECIPES / "synthetic_ablation.yaml")
    assert canonical["model"]["init_args"].pop("use_text") is True
    assert ablation["model"]["init_args"].pop("use_text") is False
    assert canonical == ablation
    finetune = compose_recipe(RECIPES / "finetune_tvsum.yaml")["model"]["init_args"]
    assert finetune["guide"] == "captions" and finetune["text_dim"] == 512
    assert finetune["captioner"].endswith("cap2sum-pretrained.ckpt")  # make pretrain-cap2sum's
    assert finetune["caption_cache_dir"] == "data/generated/clipit/caption_cache"
    assert finetune["text_encoder"] == "ViT-B-16"  # CLIP ViT-B/16 unless CLIPIT_TEXT_* say otherwise
