"""Smooth random fields built from separable Gaussian bases.

A field is sum_abc W[a, b, c] Bx[i, a] By[j, b] Bz[k, c]: three small tensor contractions,
much cheaper than zooming a coarse random grid up to full resolution, and it can be
evaluated on any box of any grid (the same weights give the same field everywhere).
"""

from __future__ import annotations

import numpy as np


def basis(coords: np.ndarray, centres: np.ndarray, width: float) -> np.ndarray:
    """Gaussian bumps at ``centres`` sampled at ``coords``: (n, k), rows of unit L2 norm.

    Unit rows give a field of unit variance everywhere for weights ~ N(0, 1).
    """
    d = (np.asarray(coords, dtype=np.float64)[:, None] - centres[None, :]) / width
    b = np.exp(-0.5 * d * d)
    return (b / np.sqrt((b * b).sum(axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def centres_for(lo: float, hi: float, spacing: float) -> np.ndarray:
    """Bump centres covering [lo, hi] with one spare on each side."""
    n = max(2, int(np.ceil((hi - lo) / spacing)) + 3)
    mid = (lo + hi) / 2
    return mid + (np.arange(n) - (n - 1) / 2) * spacing


class SmoothField:
    """A random smooth field in world units (mm), unit variance, on any axis-aligned box."""

    def __init__(
        self,
        rng: np.random.Generator,
        lo: tuple[float, float, float],
        hi: tuple[float, float, float],
        spacing: float,
        channels: int = 1,
    ) -> None:
        self.spacing = float(spacing)
        self.centres = [centres_for(a, b, spacing) for a, b in zip(lo, hi, strict=True)]
        shape = (channels, *(len(c) for c in self.centres))
        self.weights = rng.standard_normal(shape).astype(np.float32)

    def on_axes(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The field on the grid x (X,) by y (Y,) by z (Z,): (channels, X, Y, Z) float32."""
        bx, by, bz = (
            basis(axis, c, self.spacing) for axis, c in zip((x, y, z), self.centres, strict=True)
        )
        out = np.tensordot(self.weights, bz, axes=([3], [1]))  # (C, a, b, Z)
        out = np.tensordot(out, by, axes=([2], [1]))  # (C, a, Z, Y)
        out = np.tensordot(out, bx, axes=([1], [1]))  # (C, Z, Y, X)
        return np.ascontiguousarray(out.transpose(0, 3, 2, 1))


def smoothstep(u: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, smooth in between (for soft region edges)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)
