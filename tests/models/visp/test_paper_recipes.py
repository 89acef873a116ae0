"""ViSP's published setup (experiments/visp/*_paper.yaml): each value the paper fixes, pinned.
Building the published CSTA needs ImageNet GoogLeNet weights: a stand-in file made here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import googlenet

from vsumlab.errors import ConfigError
from vsumlab.models.visp import ViSPPretrainModule
from vsumlab.training.recipes import compose_recipe

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


def test_pretraining_as_the_paper_says():
    recipe = compose_recipe(EXPERIMENTS / "visp" / "pretrain_paper.yaml")
    # appendix: "Pretraining for 200 epochs with a batch size of 32"
    assert recipe["trainer"]["max_epochs"] == 200
    assert recipe["data"]["init_args"]["batch_size"] == 32
    init = recipe["model"]["init_args"]
    assert recipe["model"]["class_path"] == "vsumlab.models.visp.ViSPPretrainModule"
    # Table 1's default variant (in braces): concrete relaxation, gating, no hard negative
    assert (init["reparameterization"], init["gradient_flow"], init["hard_negative"]) == (
        "concrete", "gating", False)
    # eq. 3: inner product; eq. 3 / section 3.4: sums, the scale of Table 1's beta ranges
    assert (init["similarity"], init["nce_temperature"], init["loss_scale"]) == ("dot", 1.0, "paper")
    assert 0.05 < init["temperature"] < 5  # Table 1: lambda in (0.05, 5)
    assert 0.01 <= init["beta_size"] <= 1000 and 0.01 <= init["beta_binary"] <= 100
    # the summarizer is CSTA as published ("The configurations for the summarizer ... remain
    # entirely the same as their original resources"), its ImageNet trunk required
    paper = compose_recipe(EXPERIMENTS / "_base" / "model_csta_paper.yaml")["model"]["init_args"]
    assert init["summarizer_args"] == paper["summarizer_args"]
    assert init["summarizer_args"]["trunk_weights"] == "imagenet"
    assert (init["lr"], init["weight_decay"]) == (paper["lr"], paper["weight_decay"])


@pytest.mark.parametrize("dataset", ["tvsum", "summe"])
def test_fine_tuning_is_cstas_original_training_scored_as_its_code(dataset):
    # "The fine-tuning of the pretrained CSTA is exactly the same as its original training
    # process" (visp.txt 4.1): the csta_*_paper recipe, scored with CSTA's protocol preset
    recipe = compose_recipe(EXPERIMENTS / "visp" / f"finetune_{dataset}_paper.yaml")
    csta = compose_recipe(EXPERIMENTS / "supervised" / f"csta_{dataset}_paper.yaml")
    assert recipe["protocol"] == {"preset": "csta"} and "protocol" not in csta
    assert recipe["model"]["init_args"]["pretrained"] is None
    recipe["model"]["init_args"].pop("pretrained")
    csta["model"]["init_args"].pop("pretrained", None)
    assert recipe["model"] == csta["model"] and recipe["trainer"] == csta["trainer"]
    assert recipe["data"] == csta["data"]
    assert recipe["trainer"]["max_epochs"] == 100 and recipe["data"]["init_args"]["batch_size"] == 1


@pytest.mark.parametrize("recipe", ["visp/pretrain_paper.yaml", "visp/pretrain_fsa_paper.yaml",
                                    "visp/finetune_tvsum_paper.yaml",
                                    "supervised/csta_summe_paper.yaml"])
def test_paper_recipes_never_start_from_a_random_trunk(recipe, hub):
    from lightning.pytorch.cli import instantiate_class

    model = compose_recipe(EXPERIMENTS / recipe)["model"]
    with pytest.raises(ConfigError) as info:
        instantiate_class((), model)
    message = str(info.value)
    assert "\n" not in message and "trunk_weights='imagenet' needs GoogLeNet ImageNet" in message
    assert str(hub) in message


def test_paper_pretraining_loads_the_imagenet_trunk(hub):
    # a stand-in file in torchvision's layout where the ImageNet weights are looked up
    torch.manual_seed(3)
    stand_in = googlenet(weights=None, aux_logits=True, init_weights=False).state_dict()
    hub.parent.mkdir(parents=True)
    torch.save(stand_in, hub)
    init = compose_recipe(EXPERIMENTS / "visp" / "pretrain_paper.yaml")["model"]["init_args"]
    module = ViSPPretrainModule(**init)
    for net in (module.summarizer, module.encoder.net):  # summarizer and video encoder
        assert net.trunk_weights_used == str(hub)
        torch.testing.assert_close(net.trunk.body[0].conv.weight, stand_in["conv1.conv.weight"])
