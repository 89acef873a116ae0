"""The paper's study parameters are recipe overrides that take effect: the fraction of training
videos (Table 1, 5/25/50/80% of all videos: ``--data.init_args.train_share=p/100``) and the CLIP prior on/off
in pretraining and fine-tuning (Table 2: ``--model.init_args.use_prior``). Each builds the real
recipe through the CLI and trains one step (fast_dev_run) with tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vsumlab.cli.lightning import expand_recipes, make_cli

RECIPES = Path(__file__).resolve().parents[3] / "experiments" / "cap2sum"
SUMMARIZER = '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.0}'
CAPTIONER = json.dumps(dict(d_model=16, n_heads=2, n_points=2, n_levels=2, enc_layers=1,
                            dec_layers=1, n_queries=4, ffn_dim=32, max_events=4, caption_hidden=16,
                            caption_word_dim=8, norm_groups=4, dropout=0.0, caption_attend=False))  # fmt: skip
CAPTIONS = {
    "v_a": {"duration": 40.0, "timestamps": [[4.0, 12.0], [20.0, 30.0]],
            "sentences": ["a man runs on a track", "the man jumps over a bar"]},
    "v_b": {"duration": 30.0, "timestamps": [[0, 10.0]], "sentences": ["a dog runs on grass"]},
}  # fmt: skip


def recipe_cli(recipe: str, tmp_path: Path, *overrides: str):
    """The recipe as `vsumlab fit --config RECIPE OVERRIDES` builds it, one-step trainer."""
    args = expand_recipes(
        ["--config", str(RECIPES / recipe), "--trainer.fast_dev_run=true",
         "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
         "--trainer.accelerator=cpu", f"--trainer.default_root_dir={tmp_path}",
         f"--model.init_args.summarizer_args={SUMMARIZER}", *overrides],
        tmp_path,
    )  # fmt: skip
    return make_cli(args, run=False, trainer_overrides={"logger": False})


def finetune_cli(recipe: str, dataset: Path, tmp_path: Path, *overrides: str):
    return recipe_cli(recipe, tmp_path, f"--data.init_args.dataset={dataset}",
                      "--model.init_args.input_dim=64", *overrides)  # fmt: skip


@pytest.fixture
def text_features(tmp_path: Path) -> Path:
    """(K, 64) stand-in CLIP text features: the prior reads them instead of a CLIP encoder."""
    path = tmp_path / "text.npy"
    np.save(path, np.eye(64, dtype=np.float32)[:8])
    return path


def test_share_of_all_videos_is_a_recipe_override(small_tvsum_h5, small_summe_h5, tmp_path):
    sizes = {}
    for percent in (5, 25, 50, 75):  # of ALL 12 videos (Table 1's "sup. p% videos")
        cli = finetune_cli("finetune_tvsum.yaml", small_tvsum_h5, tmp_path / str(percent),
                           f"--data.init_args.train_share={percent / 100}")  # fmt: skip
        keys = cli.datamodule.keys
        assert not (set(keys["train"]) | set(keys["val"])) & set(keys["test"])
        sizes[percent] = keys["train"]
        if percent == 5:
            cli.trainer.fit(cli.model, cli.datamodule)
            assert cli.trainer.state.finished and cli.trainer.global_step == 1
    assert [len(sizes[p]) for p in (5, 25, 50, 75)] == [1, 3, 6, 9]
    assert set(sizes[5]) <= set(sizes[25]) <= set(sizes[50])  # nested: more data, same videos
    # 80 % of the 8 SumMe-like videos: the whole 5-fold training split (6), nothing carved off
    cli = finetune_cli("finetune_summe.yaml", small_summe_h5, tmp_path / "80",
                       "--data.init_args.train_share=0.8")  # fmt: skip
    split = cli.datamodule.splits()[0]
    assert cli.datamodule.keys["train"] == split.train_keys and len(split.train_keys) == 6
    assert cli.datamodule.keys["val"] == []


@pytest.mark.parametrize("recipe", ["finetune_tvsum.yaml", "weak_finetune_tvsum.yaml"])
@pytest.mark.parametrize("use_prior", [True, False])
def test_clip_prior_switch_in_fine_tuning(small_tvsum_h5, tmp_path, text_features, recipe,
                                          use_prior):  # fmt: skip
    cli = finetune_cli(recipe, small_tvsum_h5, tmp_path,
                       f"--model.init_args.use_prior={str(use_prior).lower()}",
                       f"--model.init_args.prior.text_features={text_features}")  # fmt: skip
    assert cli.model.hparams.use_prior is use_prior
    assert cli.model.prior_options["text_features"] == str(text_features)
    assert cli.model.prior_options["tau"] == 0.4  # the recipe's other prior options stay
    cli.trainer.fit(cli.model, cli.datamodule)
    logged = cli.trainer.callback_metrics
    assert ("train/prior" in logged) is use_prior
    if recipe.startswith("weak"):
        assert "train/caption" in logged  # the caption loss of weak fine-tuning still runs


@pytest.mark.parametrize("use_prior", [True, False, "auto"])
def test_clip_prior_switch_in_pretraining(tmp_path, text_features, use_prior):
    captions = tmp_path / "captions.json"
    captions.write_text(json.dumps(CAPTIONS))
    np.save(text_features, np.eye(16, dtype=np.float32)[:8])
    cli = recipe_cli(
        "pretrain_small.yaml", tmp_path,
        f"--data.init_args.train_captions={captions}", f"--data.init_args.val_captions={captions}",
        f"--data.init_args.features={tmp_path / 'features.h5'}",
        "--data.init_args.min_word_count=1",
        "--data.init_args.synthetic.n_videos=null", "--data.init_args.synthetic.val_videos=null",
        "--data.init_args.synthetic.max_coverage=null", "--data.init_args.synthetic.draws=1",
        "--model.init_args.input_dim=16", f"--model.init_args.captioner={CAPTIONER}",
        f"--model.init_args.use_prior={str(use_prior).lower()}",
        f"--model.init_args.prior.text_features={text_features}",
    )  # fmt: skip
    assert cli.model.hparams.use_prior == use_prior and cli.model.mode == "pretrain"
    # the published recipe: the captioner alone first, then the summarizer against it
    assert cli.model.hparams.captioner_epochs == 3 and not cli.model.hparams.freeze_captioner
    # a null given for one key of a dict-valued argument arrives as the text 'None'
    assert cli.datamodule.synthetic["n_videos"] is None
    assert cli.datamodule.synthetic["max_duration"] == 150  # the recipe's other options stay
    cli.trainer.fit(cli.model, cli.datamodule)
    logged = cli.trainer.callback_metrics
    # auto: on, since CLIP text features are configured (one epoch: no captioner-only stage)
    assert ("train/prior" in logged) is (use_prior is not False)
    assert "train/caption" in logged and "val/caption_loss" in logged


def test_null_prior_options_from_the_command_line_are_none(small_tvsum_h5, tmp_path):
    cli = finetune_cli("finetune_tvsum.yaml", small_tvsum_h5, tmp_path,
                       "--model.init_args.prior.text_features=null",
                       "--model.init_args.prior.weights=null")  # fmt: skip
    assert cli.model.prior_options["text_features"] is None
    assert cli.model.prior_options["weights"] is None
