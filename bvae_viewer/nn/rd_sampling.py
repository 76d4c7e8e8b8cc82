"""Reverse Distillation's uncertainty: sets of anomaly maps per slice (one pass, deep
ensemble, MC dropout on the bottleneck embedding, test-time views) and their summary (mean
map, per-pixel variance). The networks are in nn.reverse_distillation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from bvae_viewer.nn.reverse_distillation import Student, Teacher, anomaly_map
from bvae_viewer.nn.tta import View, augment
from bvae_viewer.nn.tta import unaugment_grid as unaugment_map


@torch.inference_mode()
def single_maps(teacher: Teacher, student: Student, x: torch.Tensor) -> torch.Tensor:
    """One deterministic pass (dropout off): K = 1."""
    feats = teacher(x)
    return anomaly_map(feats, student(feats, dropout=False), x.shape[-1]).unsqueeze(1)


@torch.inference_mode()
def ensemble_sample_maps(
    teacher: Teacher, students: Sequence[Student], x: torch.Tensor
) -> torch.Tensor:
    """One pass per member, dropout off; the teacher runs once."""
    feats = teacher(x)
    return torch.stack(
        [anomaly_map(feats, s(feats, dropout=False), x.shape[-1]) for s in students], dim=1
    )


@torch.inference_mode()
def mc_dropout_sample_maps(
    teacher: Teacher, student: Student, x: torch.Tensor, samples: int, seed: int | Sequence[int]
) -> torch.Tensor:
    """K dropout masks on the bottleneck embedding, batched; masks fixed by ``seed``: one
    seed for the batch, or one per slice (the app's engine: a slice's masks then do not
    depend on the batch it came in).

    The teacher and the bottleneck's fusion run once per slice; the K embeddings with
    different masks go through the decoder as one batch of B*K.
    """
    b, size = x.shape[0], x.shape[-1]
    feats = teacher(x)
    z = student.bottleneck.embed(feats)
    p = student.bottleneck.p
    zk = z.unsqueeze(1).expand(b, samples, *z.shape[1:])
    if p > 0:
        if not isinstance(seed, Sequence):
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
            draws = torch.rand(zk.shape, generator=gen)
        else:
            draws = torch.stack(
                [torch.rand(zk.shape[1:], generator=torch.Generator().manual_seed(int(s)))
                 for s in seed]
            )  # fmt: skip
        keep = (draws >= p).to(z.device, z.dtype)
        zk = zk * keep / (1.0 - p)
    out = student.decoder(zk.reshape(b * samples, *z.shape[1:]))
    rep = [f.repeat_interleave(samples, dim=0) for f in feats]
    return anomaly_map(rep, out, size).view(b, samples, size, size)


@torch.inference_mode()
def tta_sample_maps(
    teacher: Teacher, student: Student, x: torch.Tensor, views: Sequence[View]
) -> torch.Tensor:
    """Every view as one batch through teacher and student; maps mapped back."""
    b, size = x.shape[0], x.shape[-1]
    xs = torch.cat([augment(x, v) for v in views])
    maps = single_maps(teacher, student, xs)[:, 0].view(len(views), b, size, size)
    return torch.stack([unaugment_map(maps[i], v) for i, v in enumerate(views)], dim=1)


def summarise_samples(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, S, S) maps -> the anomaly map (their mean) and the uncertainty (variance)."""
    mean = samples.mean(dim=1)
    var = ((samples - mean.unsqueeze(1)) ** 2).mean(dim=1)
    return mean, var
