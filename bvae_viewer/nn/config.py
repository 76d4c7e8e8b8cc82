"""ModelConfig: the network's shape and the switches the ablations need, JSON-able."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """Everything that decides the network's architecture (stored in model.json).

    Layer positions are 1-based: ``enc_attention=(2, 4)`` puts attention after encoder
    convs 2 and 4; ``dec_attention=(1, 3)`` after decoder transposed convs 1 and 3.
    """

    name: str = "paper"
    image_size: int = 128
    latent_dim: int = 256
    channels: tuple[int, ...] = (32, 64, 128, 256)  # encoder convs; the decoder mirrors them
    # Channels of the last transposed conv (full resolution); 0 = channels[0] as in the paper.
    decoder_out_channels: int = 0
    heads: int = 8
    attention: bool = True
    enc_attention: tuple[int, ...] = (2, 4)
    dec_attention: tuple[int, ...] = (1, 3)
    # Keys and values average-pooled to kv_pool x kv_pool tokens; 0 = full attention (paper).
    kv_pool: int = 0
    # Per-pixel log sigma_x^2 head. Off: one learned global log-variance for every pixel.
    aleatoric: bool = True
    # Plain autoencoder: z = mu, no sampling, no KL term.
    deterministic: bool = False
    dropout: float = 0.0  # > 0 enables MC dropout, before the central decoder convs
    # Decoder blocks nearest the bottleneck that get dropout. Bayesian SegNet (Kendall et al.
    # 2017) found dropout on the central units best and on every layer worst; at 64 px with
    # dropout 0.1 before all four decoder convs the network had not learnt in 308 epochs
    # (validation skill never held 0.2), with the central two it did (EVALUATION.md part 7).
    dropout_blocks: int = 2
    logvar_clamp: float = 20.0  # log-variances clamped to [-clamp, clamp]
    # Lowest per-pixel log sigma_x^2 (None: -logvar_clamp, as in the paper). A floor near the
    # image noise keeps the learned-variance NLL from weighting a pixel by up to e^20, which
    # blew training up within a few steps on the CPU.
    pixel_logvar_min: float | None = None
    # Mean head: sigmoid keeps x_hat in [0, 1] like the input, so background is easy.
    sigmoid_mean: bool = True
    channels_last: bool = True  # memory layout: decides the speed of convs on CPU

    def __post_init__(self) -> None:
        # JSON round trips hand lists back: keep the dataclass hashable and comparable.
        for name in ("channels", "enc_attention", "dec_attention"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        n = len(self.channels)
        if self.image_size % (2**n):
            raise ValueError(f"image_size {self.image_size} is not divisible by 2**{n}.")
        for pos in (*self.enc_attention, *self.dec_attention):
            if not 1 <= pos <= n:
                raise ValueError(f"attention position {pos} is outside 1..{n}.")

    @property
    def bottleneck_size(self) -> int:
        """Side of the smallest feature map (8 for 128 px and four stride-2 convs)."""
        return self.image_size // 2 ** len(self.channels)

    @property
    def last_channels(self) -> int:
        return self.decoder_out_channels or self.channels[0]

    @classmethod
    def paper(cls) -> ModelConfig:
        """The published architecture: full attention at 32x32/8x8 (encoder), 16x16/64x64."""
        return cls()

    @classmethod
    def fast(cls) -> ModelConfig:
        """Same encoder, latent and heads; attention pooled and kept at <= 32x32.

        Keys/values are pooled to 8x8 tokens; the second decoder attention moves from 64x64
        to 32x32 (after transposed conv 2); the full-resolution transposed conv has 16
        channels instead of 32; the aleatoric log-variance has a floor of -9.
        """
        return cls(
            name="fast", kv_pool=8, dec_attention=(1, 2), decoder_out_channels=16,
            pixel_logvar_min=-9.0,  # sigma_x >= 0.011 of the intensity range
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        """Inverse of dataclasses.asdict; unknown keys are an error, missing ones default."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(unknown)}")
        return cls(**raw)
