"""DeSumNetModule: the paper's optimiser, cross-dataset initialisation, checkpoints, data checks."""

from __future__ import annotations

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.desumnet import DeSumNetModule, load_desumnet
from vsumlab.models.loading import load_summarizer

from .helpers import save_checkpoint, tiny_module


def test_paper_sgd_defaults():
    module = DeSumNetModule(num_classes=10, width=0.0625)
    config = module.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    assert isinstance(optimizer, torch.optim.SGD) and len(optimizer.param_groups) == 1
    group = optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.003, 0.9, 0.005)
    assert (scheduler.step_size, scheduler.gamma) == (4, 0.1)  # /10 every 4 epochs
    assert config["lr_scheduler"]["interval"] == "epoch"
    assert module.hparams.dropout == 0.5 and module.categories == [str(i) for i in range(10)]


def test_cross_dataset_pretraining_replaces_fc8(tmp_path):
    torch.manual_seed(0)
    action = tiny_module(class_names=["jump", "run", "swim", "ski"])
    ckpt = save_checkpoint(action, tmp_path / "ucf.ckpt")
    target = tiny_module(class_names=["a", "b", "c"], pretrained=str(ckpt))
    fresh_fc8 = target.model.fc8.weight.detach().clone()
    loaded = target.load_pretrained(ckpt)
    assert "model.features.0.weight" in loaded and "model.fc7.weight" in loaded
    assert not any(name.startswith("model.fc8") for name in loaded)
    torch.testing.assert_close(target.model.fc6.weight, action.model.fc6.weight)
    torch.testing.assert_close(target.model.fc8.weight, fresh_fc8)
    groups = target.configure_optimizers()["optimizer"].param_groups
    by_lr = {g["lr"]: sum(p.numel() for p in g["params"]) for g in groups}
    fc8_size = sum(p.numel() for p in target.model.fc8.parameters())
    # the paper's fine-tuning: new fc8 at 0.003, every pretrained layer at 0.0003
    assert by_lr == {0.003: fc8_size, 0.0003: sum(p.numel() for p in target.parameters()) - fc8_size}


def test_optimizer_and_scheduler_chosen_in_yaml_keep_the_pretrained_lr(tmp_path):
    torch.manual_seed(0)
    ckpt = save_checkpoint(tiny_module(class_names=["jump", "run"]), tmp_path / "ucf.ckpt")
    target = tiny_module(
        class_names=["a", "b", "c"], pretrained=str(ckpt),
        optimizer={"class_path": "torch.optim.AdamW", "init_args": {"lr": 0.02}},
        lr_scheduler={"class_path": "torch.optim.lr_scheduler.CosineAnnealingLR",
                      "init_args": {"T_max": 5}},
    )  # fmt: skip
    target.load_pretrained(ckpt)
    config = target.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    assert type(optimizer) is torch.optim.AdamW
    assert type(scheduler) is torch.optim.lr_scheduler.CosineAnnealingLR and scheduler.T_max == 5
    by_lr = {g["lr"]: sum(p.numel() for p in g["params"]) for g in optimizer.param_groups}
    fc8_size = sum(p.numel() for p in target.model.fc8.parameters())
    # new fc8 at the chosen optimizer's lr, the loaded layers still at pretrained_lr
    assert by_lr == {0.02: fc8_size, 0.0003: sum(p.numel() for p in target.parameters()) - fc8_size}
    assert target.hparams.optimizer == {"class_path": "torch.optim.AdamW", "init_args": {"lr": 0.02}}


def test_adaptation_keeps_fc8_of_the_same_categories(tmp_path):
    torch.manual_seed(0)
    finetuned = tiny_module()
    ckpt = save_checkpoint(finetuned, tmp_path / "ft.ckpt")
    adapted = tiny_module(pretrained=str(ckpt))
    assert "model.fc8.weight" in adapted.load_pretrained(ckpt)
    torch.testing.assert_close(adapted.model.fc8.weight, finetuned.model.fc8.weight)
    groups = adapted.configure_optimizers()["optimizer"].param_groups
    assert [g["lr"] for g in groups] == [0.0003]


def test_pretrained_errors(tmp_path):
    other = save_checkpoint(tiny_module(width=0.125), tmp_path / "wide.ckpt")
    with pytest.raises(ConfigError, match="has no weights fitting this network"):
        tiny_module().load_pretrained(other)
    with pytest.raises(ConfigError, match="checkpoint not found"):
        tiny_module().load_pretrained(tmp_path / "missing.ckpt")


def test_checkpoint_round_trip_through_the_generic_loader(tmp_path):
    torch.manual_seed(0)
    module = tiny_module(clip_stride=2)
    ckpt = save_checkpoint(module, tmp_path / "m.ckpt")
    for loaded in (load_desumnet(ckpt), load_summarizer(ckpt)):
        assert isinstance(loaded, DeSumNetModule) and not loaded.training
        assert loaded.categories == ["cat0", "cat1", "cat2"]
        assert loaded.spec.frame_stride == 2 and loaded.spec.resize == (36, 48)
        torch.testing.assert_close(loaded.model.fc8.weight, module.model.fc8.weight)
    assert load_desumnet(ckpt).input_kind == "video"


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint not found"):
        load_desumnet(tmp_path / "none.ckpt")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="junk.ckpt: not a readable checkpoint"):
        load_desumnet(junk)


def test_class_count_comes_from_the_data_when_not_given():
    module = DeSumNetModule(width=0.0625, crop=32)
    with pytest.raises(ConfigError, match="the network is not built yet"):
        module.categories  # noqa: B018
    with pytest.raises(ConfigError, match="set model num_classes or class_names"):
        module.setup("fit")  # no data module to name the categories either
    module._adopt_data(_FakeData())
    module.setup("validate")
    assert module.model.fc8.out_features == 3 and module.categories == ["cat0", "cat1", "cat2"]


class _FakeData:
    """What setup reads from a WebVideoDataModule."""

    def __init__(self, clip_len=16, crop=32, categories=("cat0", "cat1", "cat2")) -> None:
        from types import SimpleNamespace

        from vsumlab.data.webvideos import ClipSpec

        self.spec = ClipSpec(clip_len=clip_len, frame_stride=3, resize=(40, 50))
        self.hparams = SimpleNamespace(crop=crop)
        self._categories = list(categories)

    def _split(self):
        return {"categories": self._categories}


def test_adopts_the_data_cutting_and_checks_the_network():
    module = tiny_module(class_names=None, num_classes=3)
    module._adopt_data(_FakeData())
    assert module.categories == ["cat0", "cat1", "cat2"]
    assert module.spec.frame_stride == 3 and module.spec.resize == (40, 50)
    with pytest.raises(ConfigError, match="the data gives clip_len=16, crop=40"):
        tiny_module()._adopt_data(_FakeData(crop=40))
    with pytest.raises(ConfigError, match="has 2 categories"):
        tiny_module(class_names=None, num_classes=3)._adopt_data(_FakeData(categories=("a", "b")))
    with pytest.raises(ConfigError, match="differ from the data's"):
        tiny_module(class_names=["x", "y", "z"])._adopt_data(_FakeData())


def test_video_accuracy_merges_clips_split_across_processes():
    # DDP hands a video's clips to different processes; the merged mean must equal the whole
    from vsumlab.models.desumnet import merge_video_prob_sums, video_prob_sums

    probs = {0: [torch.tensor([0.9, 0.1]), torch.tensor([0.2, 0.8]), torch.tensor([0.3, 0.7])],
             1: [torch.tensor([0.6, 0.4])]}
    labels = {0: 1, 1: 0}
    whole = merge_video_prob_sums([video_prob_sums(probs, labels)])
    rank0 = video_prob_sums({0: probs[0][:1], 1: probs[1]}, labels)
    rank1 = video_prob_sums({0: probs[0][1:]}, labels)
    split = merge_video_prob_sums([rank0, rank1])
    assert whole.keys() == split.keys() == {0, 1}
    for video in whole:
        assert torch.allclose(whole[video][0], split[video][0])
        assert whole[video][1] == split[video][1] == labels[video]
    # rank 0 alone would call video 0 class 0 (0.9 vs 0.1); merged, class 1 wins (1.6 vs 1.4)
    assert int(rank0[0][0].argmax()) == 0 and int(split[0][0].argmax()) == 1
