"""Rows are named by method, dataset, setting and split source, never by the recipe file name
(Cap2Sum, ViSP and CLIP-It all ran `finetune_tvsum`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.training.run_labels import (
    RunDescription,
    Undescribed,
    describe_run,
    method_label,
    pretrain_class,
    protocol_label,
    split_source,
)

ROOT = Path(__file__).resolve().parents[2]
SUMMARIZER = "vsumlab.models.summarizer.SummarizerModule"


def _model(class_path: str, **init) -> dict:
    return {"class_path": class_path, "init_args": init}


def test_methods_of_the_recipes_that_share_a_file_name() -> None:
    assert method_label(_model("vsumlab.models.cap2sum.Cap2SumModule", mode="supervised")) \
        == "Cap2Sum (sup.)"
    assert method_label(_model("vsumlab.models.cap2sum.Cap2SumModule", mode="weak_finetune")) \
        == "Cap2Sum (weak sup.)"
    assert method_label(_model("vsumlab.models.clipit.CLIPItModule", guide="captions")) == "CLIP-It"
    assert method_label(_model("vsumlab.models.clipit.CLIPItModule", guide="title")) \
        == "CLIP-It (title-guided)"
    assert method_label(_model(SUMMARIZER, summarizer="csta")) == "CSTA"
    assert method_label(_model(SUMMARIZER, summarizer="transformer")) == "Transformer"
    visp = "vsumlab.models.visp.ViSPPretrainModule"
    assert method_label(_model(SUMMARIZER, summarizer="csta"), visp) == "ViSP+CSTA"
    assert method_label(_model(SUMMARIZER, summarizer="csta", pretrained="x.ckpt")) \
        == "CSTA (pretrained)"
    assert method_label(None) is None


def test_the_pretraining_is_found_from_its_recipe_or_beside_its_checkpoint(tmp_path,
                                                                          monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert pretrain_class(recipe="experiments/visp/pretrain.yaml").endswith("ViSPPretrainModule")
    stage = tmp_path / "pretrain"
    (stage / "checkpoints").mkdir(parents=True)
    (stage / "result.json").write_text('{"recipe": "experiments/visp/pretrain.yaml"}')
    found = pretrain_class(checkpoint=stage / "checkpoints" / "last.ckpt")
    assert found is not None and found.endswith("ViSPPretrainModule")
    assert pretrain_class(checkpoint=tmp_path / "elsewhere" / "last.ckpt") is None


@pytest.mark.parametrize(("data", "expected"), [
    ({"setting": "canonical"}, "5 folds, split seed 3"),
    ({"setting": "augmented"}, "5 folds, split seed 3"),
    ({"setting": "transfer"}, "one split: all videos"),
    ({"setting": "zero_shot"}, "one split: all videos"),
    ({"setting": "canonical", "split_file": "splits/tvsum.json"}, "split file splits/tvsum.json"),
])
def test_split_sources(data, expected) -> None:
    assert split_source(data, 5, 3) == expected


def test_labels_tell_settings_and_split_sources_apart() -> None:
    model = {"model": _model(SUMMARIZER, summarizer="transformer")}
    labels = set()
    for data in ({"setting": "canonical"}, {"setting": "augmented"}, {"setting": "transfer"},
                 {"setting": "canonical", "split_file": "s.json"}):
        fold = {"data": {"dataset": "data/tvsum.h5", **data}, "seeds": {"split_seed": 0}}
        labels.add(describe_run(model, [fold], {"n_folds": 5}).label)
    assert labels == {"Transformer · tvsum · canonical · 5 folds, split seed 0",
                      "Transformer · tvsum · augmented · 5 folds, split seed 0",
                      "Transformer · tvsum · transfer · one split: all videos",
                      "Transformer · tvsum · canonical · split file s.json"}
    shared = {"data": {"dataset": "data/tvsum.h5", "setting": "canonical", "train_share": 0.05}}
    assert describe_run(model, [shared], {"n_folds": 5}).label.endswith("train share 0.05")


def test_description_round_trip_and_protocol_labels() -> None:
    fold = {"data": {"dataset": "data/summe.h5", "setting": "canonical"},
            "protocol": {"preset": "dsnet"}}
    description = describe_run({"model": _model(SUMMARIZER, summarizer="csta")}, [fold],
                               {"n_folds": 5})
    assert RunDescription.from_dict(description.to_dict()) == description
    assert description.group_title.startswith("summe · canonical · 5 folds, split seed 0 · "
                                              "protocol: preset dsnet")
    assert protocol_label(None) == "not recorded"
    assert protocol_label({}) == "vsumlab defaults"
    with pytest.raises(Undescribed, match="dataset is not recorded"):
        describe_run({}, [], {})
