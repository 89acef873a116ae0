"""The vmap probe: built-in summarizers pass, a data-dependent network is refused with the
reason, and probing leaves the module and the random number generators as they were."""

from __future__ import annotations

import torch
from torch import nn

from vsumlab.models.summarizer import SummarizerModule
from vsumlab.training.replicas.probe import vmap_refusal


class ItemNet(nn.Module):
    def __init__(self, input_dim: int) -> None:
        super().__init__()
        self.score = nn.Linear(input_dim, 1)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        longest = int(mask.sum(1).max())  # a tensor's value in Python: vmap cannot batch it
        return self.score(features).squeeze(-1).masked_fill(~mask, 0.0) * (longest > 0)


def _batch() -> dict:
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    return {"features": torch.randn(2, 6, 8), "mask": mask, "gtscore": torch.rand(2, 6),
            "n_steps": mask.sum(1), "keys": ["a", "b"]}


def test_built_in_summarizers_vectorize() -> None:
    for name, args in (("transformer", {"d_model": 16, "n_heads": 2, "n_layers": 1}),
                       ("csta", {"embed_dim": 16})):
        module = SummarizerModule(summarizer=name, summarizer_args=args, input_dim=8)
        assert vmap_refusal(module, _batch()) is None, name


def test_a_data_dependent_network_is_refused_and_nothing_changes() -> None:
    module = SummarizerModule(summarizer=f"{__name__}.ItemNet", summarizer_args=None,
                              input_dim=8)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    batch = _batch()
    state = torch.get_rng_state()
    reason = vmap_refusal(module, batch)
    assert reason is not None and reason.startswith("vmap refuses its training loss")
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())
    assert all(p.grad is None for p in module.parameters())
