"""Shuffling of training videos that depends only on the run's seed and the epoch.

A DataLoader with ``shuffle=True`` and no generator draws each epoch's order from the global
torch generator, which model initialisation and dropout also draw from: the order then depends
on everything that ran before. :class:`EpochShuffle` draws epoch ``e``'s permutation from a
generator seeded with ``(seed, e)`` alone, so two runs of the same seed see the same videos in
the same order whatever else they do (what lets the vectorized replicas of `vsumlab cv` train on
exactly the batches of the sequential folds), and a resumed run needs no sampler state: Lightning
calls :meth:`set_epoch` at the start of every epoch, as for a DistributedSampler.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import numpy as np
import torch
from torch.utils.data import RandomSampler


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A torch generator seeded from (seed, epoch), well mixed (SeedSequence)."""
    state = np.random.SeedSequence([int(seed) % 2**63, int(epoch)]).generate_state(2, np.uint64)
    return torch.Generator().manual_seed(int(state[0] % np.uint64(2**63)))


class EpochShuffle(RandomSampler):
    """A random permutation per epoch, a function of ``(seed, epoch)`` only.

    A RandomSampler subclass, so Lightning treats the loader as shuffled (under DDP it puts its
    own seeded DistributedSampler in its place, as before).
    """

    def __init__(self, data_source: Sized, seed: int) -> None:
        super().__init__(data_source)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        order = torch.randperm(len(self.data_source), generator=epoch_generator(self.seed,
                                                                                self.epoch))
        return iter(order.tolist())
