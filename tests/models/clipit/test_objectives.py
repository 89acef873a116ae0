"""CLIP-It's objectives pinned: L_sup = a*L_c + b*L_d + l*L_r and L_unsup = b*L_d + l*L_r +
length, each weight in its place, and L_r depending on the scores through the reconstruction."""

from __future__ import annotations

import json

import pytest
import torch

from vsumlab.data.standard_h5 import collate_videos, normalise_scores
from vsumlab.data.synthetic.caption_aligned import make_caption_aligned_dataset
from vsumlab.models.losses.clipit import diversity_loss, length_loss, weighted_bce

from .helpers import tiny_module


@pytest.fixture(scope="module")
def videos():
    dataset, captions = make_caption_aligned_dataset(
        "tvsum", seed=1, n_videos=3, feature_dim=24, min_duration=20, max_duration=30
    )
    keys = dataset.keys[:2]
    batch = collate_videos(
        [
            {
                "key": k,
                "features": torch.from_numpy(dataset[k].features),
                "gtscore": torch.from_numpy(normalise_scores(dataset[k].gtscore)),
            }
            for k in keys
        ]
    )
    texts = {k: captions[k]["sentences"] for k in keys}
    return dataset, keys, batch, json.loads(json.dumps(texts))


def _module(dataset, keys, texts, **kwargs):
    torch.manual_seed(0)
    module = tiny_module(24, pos_weight=2.0, **kwargs).eval()
    module.attach({k: dataset[k] for k in keys}, texts)
    return module


@torch.no_grad()
def _objective_and_shared_terms(module, batch):
    """(logits, masked scores, the module's loss and logs, L_d and L_r recomputed by hand)."""
    features, mask = batch["features"], batch["mask"]
    logits = module.batch_logits(batch)
    loss, logs = module.objective_loss(batch, logits)
    scores = torch.sigmoid(logits) * mask
    l_d = diversity_loss(features, scores, mask)
    l_r = module.reconstruction_term(features, scores, mask)
    return logits, scores, loss, logs, l_d, l_r


def test_supervised_objective_is_a_lc_plus_b_ld_plus_l_lr(videos):
    dataset, keys, batch, texts = videos
    module = _module(
        dataset, keys, texts, classification_weight=0.3, diversity_weight=0.5,
        reconstruction_weight=0.7,
    )  # fmt: skip
    logits, scores, loss, logs, l_d, l_r = _objective_and_shared_terms(module, batch)
    mask = batch["mask"]
    labels = module.labels(keys, batch["features"].shape[1])
    l_c = weighted_bce(logits, labels, mask, 2.0)
    assert min(l_c.item(), l_d.item(), l_r.item()) > 1e-3  # every term is present
    torch.testing.assert_close(logs["classification"], l_c)
    torch.testing.assert_close(logs["diversity"], l_d)
    torch.testing.assert_close(logs["reconstruction"], l_r)
    torch.testing.assert_close(loss, 0.3 * l_c + 0.5 * l_d + 0.7 * l_r)


def test_unsupervised_objective_is_b_ld_plus_l_lr_plus_length(videos):
    dataset, keys, batch, texts = videos
    module = _module(
        dataset, keys, texts, objective="unsupervised", diversity_weight=0.5,
        reconstruction_weight=0.7, length_weight=3.0, summary_rate=0.2,
    )  # fmt: skip
    _, scores, loss, logs, l_d, l_r = _objective_and_shared_terms(module, batch)
    l_len = length_loss(scores, batch["mask"], 0.2)
    assert set(logs) == {"diversity", "reconstruction", "length"}
    torch.testing.assert_close(loss, 0.5 * l_d + 0.7 * l_r + 3.0 * l_len)


def test_default_weights_are_one_for_a_b_l():
    module = tiny_module(24)
    hp = module.hparams
    assert (hp.classification_weight, hp.diversity_weight, hp.reconstruction_weight) == (1, 1, 1)
    assert hp.objective == "supervised"


class Identity(torch.nn.Module):
    def forward(self, weighted: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return weighted


def test_reconstruction_by_hand_with_an_identity_reconstructor(videos):
    """Rebuilt = its input S * LN(F), target LN(F): per step (s - 1)^2 * mean(LN(F)^2), and the
    mean of a layer-normalised vector's squares is 1: L_r = mean over valid steps (s - 1)^2."""
    dataset, keys, batch, texts = videos
    module = _module(dataset, keys, texts)
    module.reconstructor = Identity()
    features = batch["features"][:1, :3]
    mask = torch.tensor([[True, True, True]])
    scores = torch.tensor([[1.0, 0.5, 0.0]])
    value = module.reconstruction_term(features, scores, mask)
    assert value.item() == pytest.approx((0.0 + 0.25 + 1.0) / 3, rel=1e-3)
    padded = module.reconstruction_term(features, scores, torch.tensor([[True, True, False]]))
    assert padded.item() == pytest.approx(0.25 / 2, rel=1e-3)


def test_reconstruction_depends_on_the_scores(videos):
    """A reconstructor that ignored the scores would give a zero gradient and the same L_r for
    different scores; the module's does neither, at every valid step."""
    dataset, keys, batch, texts = videos
    module = _module(dataset, keys, texts)
    features, mask = batch["features"], batch["mask"]
    scores = torch.full(mask.shape, 0.5).requires_grad_(True)
    l_r = module.reconstruction_term(features, scores, mask)
    (grad,) = torch.autograd.grad(l_r, scores)
    assert (grad[mask].abs() > 0).all()
    assert grad[~mask].abs().sum() == 0  # padding never matters
    with torch.no_grad():
        other = module.reconstruction_term(features, torch.full(mask.shape, 0.9), mask)
    assert abs(other.item() - l_r.item()) > 1e-4
    # and through the objective: the scores' gradient carries L_r even with L_c and L_d off
    only_lr = _module(
        dataset, keys, texts, classification_weight=0.0, diversity_weight=0.0,
        reconstruction_weight=1.0,
    )  # fmt: skip
    logits = only_lr.batch_logits(batch).detach().requires_grad_(True)
    loss, _ = only_lr.objective_loss(batch, logits)
    (grad,) = torch.autograd.grad(loss, logits)
    assert grad[mask].abs().sum() > 0
