"""The training batches of all replicas, one step at a time.

Every replica keeps its own training loader (its fold's videos, shuffled by its own seed, see
:mod:`vsumlab.data.shuffling`); a step yields each replica's next batch, or None for a replica
whose loader is exhausted earlier in the epoch (it takes no optimizer step then). An epoch has
as many steps as the longest loader, or ``steps`` when set (under DDP: the longest loader of
any process, as every process must take as many steps). Lightning calls ``set_epoch`` on ``sampler`` at the start
of every epoch: it reaches every replica's sampler, so a resumed run shuffles as an
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


class _AllSamplers:
    """``set_epoch`` of every replica's sampler at once."""

    def __init__(self, loaders: Sequence[Any]) -> None:
        self.samplers = [getattr(loader, "sampler", None) for loader in loaders]

    def set_epoch(self, epoch: int) -> None:
        for sampler in self.samplers:
            set_epoch = getattr(sampler, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(epoch)


class ReplicaBatches:
    """Iterable over steps: a list with one batch (or None) per replica."""

    def __init__(self, loaders: Sequence[Any]) -> None:
        self.loaders = list(loaders)
        self.sampler = _AllSamplers(self.loaders)
        self.steps: int | None = None

    def __len__(self) -> int:
        own = max(len(loader) for loader in self.loaders)
        return own if self.steps is None else max(own, self.steps)

    def __iter__(self) -> Iterator[list[Any]]:
        iterators = [iter(loader) for loader in self.loaders]
        for _ in range(len(self)):
            yield [next(it, None) for it in iterators]
