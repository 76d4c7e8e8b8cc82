"""Reverse Distillation (Deng & Li, CVPR 2022) with three kinds of uncertainty.

A frozen *teacher* encoder gives features at three scales (S/2, S/4, S/8). A trainable
*one-class bottleneck* (OCBE) fuses them into one compact embedding at S/16, and a *student
decoder* mirroring the teacher rebuilds the teacher's three feature maps from it. Trained
on normal slices only, the student learns to rebuild normal features; where the input is
abnormal the teacher's features are new to it and the two disagree. Anomaly map: the sum
over scales of 1 - cosine similarity of teacher and student features, upsampled to S.

The teacher: no ImageNet weights can be downloaded here, so a small CNN (conv blocks with
LeakyReLU, which keeps feature vectors from being exactly zero, where cosine is undefined)
is pretrained on the normal training slices with a *denoising-inpainting autoencoder*
objective: the input gets Gaussian noise and one square hole, a throw-away decoder restores
the clean slice (MSE). It is cheap (one short training), needs no labels, and makes the
features describe local anatomy from its context, which is what the student must predict.

Uncertainty, each a set of anomaly maps per slice whose per-pixel variance is the
uncertainty map (per slice: its brain mean):
- deep ensemble: students trained from different seeds on the same frozen teacher;
- MC dropout: dropout on the bottleneck embedding kept on at test time, K masks (the
  teacher and the bottleneck's fusion run once, only dropout and the decoder run K times);
- test-time augmentation: flipped / shifted / intensity-scaled views, maps mapped back.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Features = list[torch.Tensor]  # one (B, C, H, W) map per scale, finest first


@dataclass(frozen=True)
class RDConfig:
    """Sizes of the teacher, bottleneck and student; CI uses 32 px and width 8."""

    image_size: int = 128
    width: int = 16  # teacher channels at S/2; then 2x and 4x at S/4 and S/8
    dropout: float = 0.1  # on the bottleneck embedding (MC dropout)
    # Image score = mean of the top fraction of brain pixels of the map (see image_scores).
    top_fraction: float = 0.05
    # No GroupNorm in the teacher: normalising each slice's features removes the absolute
    # intensity that enhancing tumour shows on T1ce; measured on synthetic data at 32 px
    # (20 s per network): slice ROC AUC 0.19 with it, 0.92 without.
    teacher_norm: bool = False
    name: str = "reverse_distillation"

    def __post_init__(self) -> None:
        if self.image_size % 16:
            raise ValueError("Reverse Distillation needs an image size divisible by 16.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("The bottleneck dropout must be in [0, 1).")

    @property
    def channels(self) -> tuple[int, int, int]:
        return (self.width, 2 * self.width, 4 * self.width)


def _block(cin: int, cout: int, stride: int = 1, norm: bool = True) -> nn.Sequential:
    groups = math.gcd(4, cout)  # GroupNorm: no batch statistics, same in train and eval
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
        nn.GroupNorm(groups, cout) if norm else nn.Identity(),
        nn.LeakyReLU(0.1),
    )


class Teacher(nn.Module):
    """Three stride-2 stages; their outputs are the features the student must rebuild."""

    def __init__(self, config: RDConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        n = config.teacher_norm
        self.stages = nn.ModuleList(
            [
                nn.Sequential(_block(1, c1, 2, n), _block(c1, c1, 1, n)),
                nn.Sequential(_block(c1, c2, 2, n), _block(c2, c2, 1, n)),
                nn.Sequential(_block(c2, c3, 2, n), _block(c3, c3, 1, n)),
            ]
        )

    def forward(self, x: torch.Tensor) -> Features:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class PretextDecoder(nn.Module):
    """The denoising-inpainting head on the teacher's deepest features; discarded after."""

    def __init__(self, config: RDConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        self.net = nn.Sequential(
            nn.ConvTranspose2d(c3, c2, 2, stride=2),
            nn.LeakyReLU(0.1),
            nn.ConvTranspose2d(c2, c1, 2, stride=2),
            nn.LeakyReLU(0.1),
            nn.ConvTranspose2d(c1, c1, 2, stride=2),
            nn.LeakyReLU(0.1),
            nn.Conv2d(c1, 1, 3, padding=1),
        )

    def forward(self, deepest: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(deepest))


class Bottleneck(nn.Module):
    """One-class bottleneck embedding: the three scales brought to S/8, fused, then to S/16.

    Squeezing all scales through one low-resolution embedding is what keeps the student
    from passing anomalous teacher features straight through (the OCBE of the paper).
    """

    def __init__(self, config: RDConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        self.from1 = nn.Sequential(_block(c1, c2, 2), _block(c2, c3, 2))
        self.from2 = _block(c2, c3, 2)
        self.fuse = nn.Sequential(_block(3 * c3, c3), _block(c3, 2 * c3, 2), _block(2 * c3, 2 * c3))
        self.p = config.dropout

    def embed(self, feats: Features) -> torch.Tensor:
        f1, f2, f3 = feats
        return self.fuse(torch.cat([self.from1(f1), self.from2(f2), f3], dim=1))


class Decoder(nn.Module):
    """Mirror of the teacher: S/16 -> S/8 -> S/4 -> S/2, one output per teacher scale."""

    def __init__(self, config: RDConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        self.ups = nn.ModuleList(
            [
                nn.ConvTranspose2d(2 * c3, c3, 2, stride=2),
                nn.ConvTranspose2d(c3, c2, 2, stride=2),
                nn.ConvTranspose2d(c2, c1, 2, stride=2),
            ]
        )
        # The last conv of each stage has no activation: it predicts the teacher's feature
        # values themselves (negative ones included, from LeakyReLU).
        self.stages = nn.ModuleList(
            [nn.Sequential(_block(c, c), nn.Conv2d(c, c, 3, padding=1)) for c in (c3, c2, c1)]
        )

    def forward(self, z: torch.Tensor) -> Features:
        out = []
        x = z
        for up, stage in zip(self.ups, self.stages, strict=True):
            x = stage(F.leaky_relu(up(x), 0.1))
            out.append(x)
            x = F.leaky_relu(x, 0.1)
        return out[::-1]  # finest first, like the teacher


class Student(nn.Module):
    """The trainable part: bottleneck and decoder."""

    def __init__(self, config: RDConfig) -> None:
        super().__init__()
        self.config = config
        self.bottleneck = Bottleneck(config)
        self.decoder = Decoder(config)

    def forward(self, feats: Features, dropout: bool | None = None) -> Features:
        """``dropout``: None follows train/eval mode; True keeps it on (MC sampling)."""
        z = self.bottleneck.embed(feats)
        on = self.training if dropout is None else dropout
        return self.decoder(F.dropout(z, self.bottleneck.p, training=on and self.bottleneck.p > 0))


def cosine_distance_maps(teacher: Features, student: Features) -> list[torch.Tensor]:
    """1 - cosine similarity over channels, per pixel and scale: (B, H_s, W_s) each."""
    return [
        1.0 - F.cosine_similarity(t, s, dim=1, eps=1e-8)
        for t, s in zip(teacher, student, strict=True)
    ]


def distillation_loss(teacher: Features, student: Features) -> torch.Tensor:
    """Sum over scales of the mean per-pixel cosine distance."""
    return sum(d.mean() for d in cosine_distance_maps(teacher, student))


def anomaly_map(teacher: Features, student: Features, size: int) -> torch.Tensor:
    """(B, size, size): the scales' cosine distances upsampled (bilinear) and summed."""
    maps = cosine_distance_maps(teacher, student)
    up = [F.interpolate(m.unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False)
          for m in maps]  # fmt: skip
    return torch.stack(up).sum(dim=0)[:, 0]


def image_scores(maps: torch.Tensor, masks: torch.Tensor, fraction: float) -> torch.Tensor:
    """(B,) mean of the top ``fraction`` of each slice's brain pixels (at least 4 pixels).

    The maximum alone rests on one pixel (noisy at 32 px), while the brain mean dilutes a
    small tumour among hundreds of normal pixels; the top few per cent sit between the two.
    Background pixels are excluded: the brain edge is where features change most.
    """
    flat = torch.where(masks.bool(), maps, torch.full_like(maps, -math.inf)).flatten(1)
    n_brain = masks.flatten(1).sum(dim=1)
    k_each = (n_brain.float() * fraction).ceil().clamp(min=4).long()
    k_each = torch.minimum(k_each, n_brain.clamp(min=1))
    top = flat.topk(int(k_each.max()), dim=1).values
    keep = torch.arange(top.shape[1], device=top.device)[None, :] < k_each[:, None]
    top = torch.where(keep & torch.isfinite(top), top, torch.zeros_like(top))
    return top.sum(dim=1) / k_each.clamp(min=1)


@dataclass
class RDTrainOptions:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    patience: int = 6  # epochs without a better validation loss
    time_budget_s: float | None = None
    seed: int = 0
    device: str = "cpu"


@dataclass
class RDTrainResult:
    module: nn.Module  # best weights, eval mode, on the CPU, frozen
    epochs_run: int
    steps: int
    seconds: float
    stopped: str  # epochs | early stopping | time budget
    history: list[dict[str, float]] = field(default_factory=list)

    def meta(self) -> dict[str, Any]:
        return {
            "epochs_run": self.epochs_run,
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
            "stopped": self.stopped,
            "best_val_loss": min((h["val_loss"] for h in self.history), default=None),
        }


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)


def _fit(
    modules: nn.Module,
    trainable: Sequence[nn.Parameter],
    loss_fn: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    images: np.ndarray,
    val_images: np.ndarray,
    options: RDTrainOptions,
    keep: nn.Module,
) -> RDTrainResult:
    """Adam over random-flipped batches; keeps ``keep``'s weights of the best validation epoch."""
    device = torch.device(options.device)
    gen = torch.Generator().manual_seed(options.seed)
    x_all, x_val = _tensor(images), _tensor(val_images)
    opt = torch.optim.Adam(trainable, lr=options.lr)
    start, history, stopped, steps, epoch = time.perf_counter(), [], "epochs", 0, 0
    best, best_state, waited = math.inf, copy.deepcopy(keep.state_dict()), 0
    for epoch in range(1, options.epochs + 1):
        modules.train()
        order = torch.randperm(len(x_all), generator=gen)
        total, n = 0.0, 0
        for s in range(0, len(x_all), options.batch_size):
            xb = x_all[order[s : s + options.batch_size]]
            flip = (torch.rand(len(xb), generator=gen) < 0.5).view(-1, 1, 1, 1)
            xb = torch.where(flip, xb.flip(-1), xb).to(device)
            loss = loss_fn(xb, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
            total, n, steps = total + loss.item() * len(xb), n + len(xb), steps + 1
            budget = options.time_budget_s
            if budget and time.perf_counter() - start > budget:
                stopped = "time budget"
                break
        val = _evaluate(modules, loss_fn, x_val, options.batch_size, device, options.seed)
        history.append({"epoch": epoch, "loss": total / max(n, 1), "val_loss": val})
        if val < best:
            best, best_state, waited = val, copy.deepcopy(keep.state_dict()), 0
        else:
            waited += 1
        if stopped != "epochs":
            break
        if waited >= options.patience:
            stopped = "early stopping"
            break
    keep.load_state_dict(best_state)
    keep = keep.cpu().eval().requires_grad_(False)
    return RDTrainResult(keep, epoch, steps, time.perf_counter() - start, stopped, history)


@torch.no_grad()
def _evaluate(modules, loss_fn, x_val: torch.Tensor, batch: int, device, seed: int) -> float:
    modules.eval()
    gen = torch.Generator().manual_seed(seed + 1)  # the same corruptions every epoch
    total = 0.0
    for s in range(0, len(x_val), batch):
        xb = x_val[s : s + batch].to(device)
        total += float(loss_fn(xb, gen)) * len(xb)
    return total / max(len(x_val), 1)


def corrupt(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The pretext task's input: Gaussian noise (sigma 0.1) and one zeroed S/4 square."""
    b, _, s, _ = x.shape
    noisy = x + 0.1 * torch.randn(x.shape, generator=gen).to(x.device)
    side = max(2, s // 4)
    corners = torch.randint(0, s - side + 1, (b, 2), generator=gen)
    yy = torch.arange(s)[None, :, None]
    xx = torch.arange(s)[None, None, :]
    cy, cx = corners[:, 0, None, None], corners[:, 1, None, None]
    hole = (yy >= cy) & (yy < cy + side) & (xx >= cx) & (xx < cx + side)
    return torch.where(hole[:, None].to(x.device), torch.zeros_like(noisy), noisy)


def pretrain_teacher(
    config: RDConfig, images: np.ndarray, val_images: np.ndarray, options: RDTrainOptions
) -> RDTrainResult:
    """Denoising-inpainting autoencoder on normal slices; returns the frozen teacher."""
    torch.manual_seed(options.seed)
    device = torch.device(options.device)
    teacher, head = Teacher(config).to(device), PretextDecoder(config).to(device)
    both = nn.ModuleList([teacher, head])

    def loss_fn(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return F.mse_loss(head(teacher(corrupt(x, gen))[-1]), x)

    return _fit(both, list(both.parameters()), loss_fn, images, val_images, options, teacher)


def train_student(
    config: RDConfig,
    teacher: Teacher,
    images: np.ndarray,
    val_images: np.ndarray,
    options: RDTrainOptions,
) -> RDTrainResult:
    """Bottleneck and decoder learn to rebuild the frozen teacher's normal features."""
    torch.manual_seed(options.seed)  # members of an ensemble differ by this seed
    device = torch.device(options.device)
    teacher = teacher.to(device).eval().requires_grad_(False)
    student = Student(config).to(device)

    def loss_fn(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            feats = teacher(x)
        return distillation_loss(feats, student(feats))

    result = _fit(
        student, list(student.parameters()), loss_fn, images, val_images, options, student
    )
    teacher.cpu()
    return result


# Sampling: each returns (B, K, S, S) anomaly maps, the K samples of one method.


def parameters_m(*modules: nn.Module) -> float:
    return sum(p.numel() for m in modules for p in m.parameters()) / 1e6
