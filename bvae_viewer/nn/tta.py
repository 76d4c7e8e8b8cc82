"""Test-time augmentation views shared by every method that uses them (VAE, Reverse
Distillation): the same kinds of change the training augmentation makes (flips, +-5 %
intensity), plus shifts of about 1 mm, all exactly invertible on a zero background."""

from __future__ import annotations

import torch

View = tuple[bool, float, tuple[int, int]]  # (left-right flip, intensity scale, pixel shift)


def tta_views(n: int, size: int) -> list[View]:
    """The first ``n`` views at ``size`` px; the first is the identity."""
    s = max(1, size // 32)
    views = [
        (False, 1.0, (0, 0)),
        (True, 1.0, (0, 0)),
        (False, 0.95, (0, 0)),
        (False, 1.05, (0, 0)),
        (False, 1.0, (s, 0)),
        (False, 1.0, (0, s)),
        (True, 1.0, (-s, 0)),
        (True, 1.0, (0, -s)),
    ]
    if not 1 <= n <= len(views):
        raise ValueError(f"Test-time augmentation has 1 to {len(views)} views, not {n}.")
    return views[:n]


def augment(x: torch.Tensor, view: View) -> torch.Tensor:
    """The view of a batch of slices (B, 1, S, S)."""
    flip, scale, shift = view
    x = x.flip(-1) if flip else x
    x = torch.roll(x, shifts=shift, dims=(-2, -1)) if shift != (0, 0) else x
    return (x * scale).clamp(0.0, 1.0) if scale != 1.0 else x


def unaugment_grid(m: torch.Tensor, view: View) -> torch.Tensor:
    """A view's map back on the input grid (shift and flip undone; intensity left alone)."""
    flip, _, shift = view
    if shift != (0, 0):
        m = torch.roll(m, shifts=(-shift[0], -shift[1]), dims=(-2, -1))
    return m.flip(-1) if flip else m
