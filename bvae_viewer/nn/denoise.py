"""Denoising training (Kascenas et al., 2022, "Denoising autoencoders for unsupervised
anomaly detection in brain MRI"): the network sees its input corrupted with coarse noise and
is asked for the clean slice. Noise drawn at low resolution and upsampled is blob-like, the
size of a small lesion, so the model learns to replace such blobs with normal tissue rather
than copy them, which is what makes faint tumours stand out in the residual.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The paper's setting at 128 px: noise drawn on a 16x16 grid, standard deviation 0.2.
DEFAULT_RESOLUTION = 16


def coarse_noise(
    x: torch.Tensor,
    mask: torch.Tensor,
    std: float,
    generator: torch.Generator,
    resolution: int = DEFAULT_RESOLUTION,
) -> torch.Tensor:
    """x (B, 1, H, W) with coarse Gaussian noise added inside the brain mask, clamped to
    [0, 1]; the background stays exactly 0 (the decoder learns a black one)."""
    b, c, h, w = x.shape
    low = torch.randn((b, c, resolution, resolution), generator=generator) * std
    noise = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    noisy = x + noise.to(device=x.device, dtype=x.dtype) * mask.to(x.dtype)
    return noisy.clamp(0.0, 1.0)
