"""Checks every summarizer component must pass (shared by the per-component test files)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def pad_batch(videos: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Zero-pad (T_i, D) videos into (B, T_max, D) features and a (B, T_max) bool mask."""
    length = max(v.shape[0] for v in videos)
    feats = torch.zeros(len(videos), length, videos[0].shape[1])
    mask = torch.zeros(len(videos), length, dtype=torch.bool)
    for i, video in enumerate(videos):
        feats[i, : video.shape[0]] = video
        mask[i, : video.shape[0]] = True
    return feats, mask


def assert_padding_invariant(model: nn.Module, dim: int, lengths=(7, 19, 12)) -> None:
    """A batch of videos of different lengths == each video alone (logits and encode)."""
    gen = torch.Generator().manual_seed(0)
    videos = [torch.randn(n, dim, generator=gen) for n in lengths]
    # Garbage in the padding must not matter either: fill it with large values.
    feats, mask = pad_batch(videos)
    feats = torch.where(mask[..., None], feats, torch.full_like(feats, 50.0))
    model.eval()
    with torch.no_grad():
        batched = model(feats, mask)
        batched_code = model.encode(feats, mask)
        for i, video in enumerate(videos):
            one = model(video[None], torch.ones(1, video.shape[0], dtype=torch.bool))[0]
            torch.testing.assert_close(batched[i, : video.shape[0]], one, atol=1e-5, rtol=1e-5)
            assert torch.all(batched[i, video.shape[0] :] == 0)
            code = model.encode(video[None], torch.ones(1, video.shape[0], dtype=torch.bool))[0]
            torch.testing.assert_close(batched_code[i], code, atol=1e-5, rtol=1e-5)


def assert_all_parameters_get_gradients(model: nn.Module, dim: int) -> None:
    feats, mask = pad_batch([torch.randn(n, dim) for n in (9, 5)])
    model.train()
    logits = model(feats, mask)
    (torch.sigmoid(logits)[mask] - 0.3).pow(2).mean().backward()
    missing = [
        name
        for name, p in model.named_parameters()
        if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0
    ]
    assert not missing, f"parameters without a gradient: {missing}"


def planted_problem(dim: int = 32, n_videos: int = 8, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Videos whose planted segments share a direction; target 1 there, 0 elsewhere."""
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(dim, generator=gen)
    direction = direction / direction.norm() * 3.0
    videos, targets = [], []
    for _ in range(n_videos):
        n = int(torch.randint(20, 41, (1,), generator=gen))
        x = torch.randn(n, dim, generator=gen)
        y = torch.zeros(n)
        for _ in range(2):
            start = int(torch.randint(0, n - 5, (1,), generator=gen))
            y[start : start + 5] = 1.0
        videos.append(x + y[:, None] * direction)
        targets.append(y)
    feats, mask = pad_batch(videos)
    target = torch.zeros(mask.shape)
    for i, y in enumerate(targets):
        target[i, : y.shape[0]] = y
    return feats, mask, target


def fit_planted(model: nn.Module, steps: int, lr: float) -> tuple[float, float]:
    """Overfit the planted problem with MSE on sigmoid scores; (final MSE, mean-predictor MSE)."""
    torch.manual_seed(0)
    feats, mask, target = planted_problem(dim=model.input_dim)
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        optim.zero_grad()
        loss = (torch.sigmoid(model(feats, mask))[mask] - target[mask]).pow(2).mean()
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        mse = (torch.sigmoid(model(feats, mask))[mask] - target[mask]).pow(2).mean().item()
    baseline = target[mask].var(unbiased=False).item()
    return mse, baseline
