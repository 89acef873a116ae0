"""Run identities hash the class paths DataModules had before they moved into vsumlab.data, so
results folders written before the move resume instead of being refused."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from vsumlab.training.cv import _digest
from vsumlab.training.earlier_class_paths import EARLIER_CLASS_PATHS, with_earlier_class_paths
from vsumlab.training.recipes import compose_recipe

ROOT = Path(__file__).resolve().parents[2]


def _resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("current", sorted(EARLIER_CLASS_PATHS))
def test_current_paths_name_the_classes_and_differ_from_the_earlier(current):
    assert isinstance(_resolve(current), type)
    assert EARLIER_CLASS_PATHS[current] != current


def test_moved_paths_are_replaced_anywhere_in_a_configuration():
    config = {"data": {"class_path": "vsumlab.data.standard_h5.SummarizationDataModule",
                       "init_args": {"dataset": "standard_h5.h5"}},
              "overrides": ("--data=vsumlab.data.captions.datamodule.CaptionDataModule", 3)}
    assert with_earlier_class_paths(config) == {
        "data": {"class_path": "vsumlab.data.datamodules.SummarizationDataModule",
                 "init_args": {"dataset": "standard_h5.h5"}},
        "overrides": ("--data=vsumlab.data.captions.CaptionDataModule", 3),
    }


def test_a_recipe_hashes_as_it_did_with_the_earlier_class_path():
    composed = compose_recipe(ROOT / "experiments" / "visp" / "pretrain.yaml")
    current = composed["data"]["class_path"]
    assert current in EARLIER_CLASS_PATHS
    earlier = {**composed, "data": {**composed["data"], "class_path": EARLIER_CLASS_PATHS[current]}}
    assert _digest([composed, []]) == _digest([earlier, []])
    other = {**composed, "data": {**composed["data"], "class_path": "mypkg.MyDataModule"}}
    assert _digest([composed, []]) != _digest([other, []])
