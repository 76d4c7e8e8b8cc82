"""Multi-head self-attention over the pixels of a feature map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpatialAttention(nn.Module):
    """Scaled dot-product attention, every pixel a token; residual with a learned gate.

    With ``kv_pool > 0`` the keys and values come from the feature map average-pooled to
    kv_pool x kv_pool: each query still gets its own output, at a fraction of the cost
    (the paper configuration uses kv_pool=0, full attention). The gate starts at zero so
    a fresh network begins as a plain conv net (as in SAGAN) and learns how much to attend.
    """

    def __init__(self, channels: int, heads: int, kv_pool: int = 0) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels do not split into {heads} heads.")
        self.heads = heads
        self.kv_pool = kv_pool
        self.query = nn.Linear(channels, channels)
        self.key_value = nn.Linear(channels, 2 * channels)
        self.out = nn.Linear(channels, channels)
        self.gate = nn.Parameter(torch.zeros(1))

    def _heads(self, tokens: torch.Tensor) -> torch.Tensor:
        b, n, c = tokens.shape
        return tokens.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        # permute+reshape is free when x is channels_last (its memory is already b, h, w, c).
        tokens = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        source = tokens
        if self.kv_pool and self.kv_pool < min(h, w):
            pooled = F.adaptive_avg_pool2d(x, self.kv_pool)
            source = pooled.permute(0, 2, 3, 1).reshape(b, -1, c)
        key, value = self.key_value(source).chunk(2, dim=-1)
        attended = F.scaled_dot_product_attention(
            self._heads(self.query(tokens)), self._heads(key), self._heads(value)
        )
        attended = self.out(attended.transpose(1, 2).reshape(b, h * w, c))
        # Back to (b, c, h, w) as a channels_last view of (b, h, w, c) memory.
        return x + self.gate * attended.view(b, h, w, c).permute(0, 3, 1, 2)
