"""Training order as a function of (seed, epoch) only: equal for equal seeds whatever the
global generator did, another order every epoch, and the data module's loader uses it."""

from __future__ import annotations

import torch

from vsumlab.data.shuffling import EpochShuffle


def test_order_depends_on_seed_and_epoch_only() -> None:
    items = list(range(20))
    a, b = EpochShuffle(items, seed=3), EpochShuffle(items, seed=3)
    torch.rand(100)  # global draws in between change nothing
    assert list(a) == list(b) and sorted(a) == items
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(EpochShuffle(items, seed=4)) != list(EpochShuffle(items, seed=3))


def test_the_data_module_shuffles_with_the_runs_seed(small_tvsum_h5) -> None:
    from lightning.fabric.utilities.seed import seed_everything

    from vsumlab.data.standard_h5 import SummarizationDataModule

    def order() -> list[str]:
        seed_everything(7)
        data = SummarizationDataModule(str(small_tvsum_h5), n_folds=2, batch_size=2)
        torch.rand(50)  # what building a model draws
        return [k for batch in data.train_dataloader() for k in batch["keys"]]

    assert order() == order()
