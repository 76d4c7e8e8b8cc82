"""What the front end did to a volume: its steps, and the transform back to the input."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from scipy import ndimage

from bvae_viewer.data.frontend.space import apply
from bvae_viewer.io.volume import Volume

# Thicker than this, axial slices are "thick": the model was trained on 1 mm slices.
THICK_SLICE_MM = 3.0


class PreprocessMode(StrEnum):
    """auto: run the front end unless the input is already stripped and in model space."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class StepRecord:
    """One preprocessing step: its name, its wall time and what it found (one line)."""

    name: str
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class FrontendTransform:
    """Model voxel (RAS order, 240x240x155) <-> the input's own voxels and scanner mm.

    ``model_to_input``: 4x4, model voxel index -> input voxel index (the input volume's
    canonical RAS voxel order, as the window shows it); ``input_affine``: input voxel ->
    scanner RAS mm. Identity when the front end was skipped (input and model grids agree).
    """

    model_to_input: np.ndarray
    input_affine: np.ndarray
    input_shape: tuple[int, int, int]
    model_shape: tuple[int, int, int]

    @property
    def input_to_model(self) -> np.ndarray:
        return np.linalg.inv(self.model_to_input)

    def input_mm_to_model_voxel(self, points_mm: np.ndarray) -> np.ndarray:
        """Scanner RAS mm of the input -> model voxel coordinates."""
        voxels = apply(np.linalg.inv(self.input_affine), points_mm)
        return apply(self.input_to_model, voxels)

    def model_voxel_to_input_mm(self, voxels: np.ndarray) -> np.ndarray:
        """Model voxel coordinates -> scanner RAS mm of the input."""
        return apply(self.input_affine @ self.model_to_input, voxels)

    def model_voxel_to_input_voxel(self, voxels: np.ndarray) -> np.ndarray:
        return apply(self.model_to_input, voxels)

    def to_input_grid(self, model_array: np.ndarray, order: int = 1) -> np.ndarray:
        """A model-space array (a map, a mask, labels with order=0) on the input's grid."""
        return ndimage.affine_transform(
            np.asarray(model_array, dtype=np.float32),
            self.input_to_model,
            output_shape=self.input_shape,
            order=order,
            mode="constant",
            cval=0.0,
        )

    def model_slices_of_input_slices(self, input_mask: np.ndarray) -> list[tuple[int, ...]]:
        """For every axial input slice, the model slices its masked voxels fall on.

        A slice is a slab as thick as its spacing: sampled across it, a 6.5 mm slice covers
        six or seven 1 mm model slices; a rotation spreads it over more.
        """
        across = np.linspace(-0.45, 0.45, 7)
        out: list[tuple[int, ...]] = []
        for k in range(self.input_shape[2]):
            ij = np.argwhere(input_mask[:, :, k])[::17]
            if ij.size == 0:
                out.append(())
                continue
            slab = [np.column_stack([ij, np.full(len(ij), k + d)]) for d in across]
            voxels = np.concatenate(slab)
            z = np.rint(apply(self.input_to_model, voxels)[:, 2]).astype(int)
            z = z[(z >= 0) & (z < self.model_shape[2])]
            out.append(tuple(int(v) for v in np.unique(z)))
        return out


@dataclass(frozen=True)
class PreparedInput:
    """The model's view of an input volume, and the way back.

    ``volume``: what the model analyses (in model space when the front end ran, else the
    input itself); ``input_mask``: the brain on the input's own grid; ``review_reason``: one
    sentence when the case must go to review whatever the model says (a failed or
    implausible brain extraction); ``notes``: sentences for the window (thick slices).
    """

    volume: Volume
    input_volume: Volume
    input_mask: np.ndarray
    transform: FrontendTransform
    ran: bool
    steps: tuple[StepRecord, ...] = ()
    review_reason: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def seconds(self) -> float:
        return float(sum(step.seconds for step in self.steps))

    @property
    def slice_mm(self) -> float:
        return float(self.input_volume.spacing[2])

    def summary(self) -> dict[str, object]:
        """JSON-ready: for case.json and the window's Slice details."""
        return {
            "ran": self.ran,
            "steps": [
                {"name": s.name, "seconds": round(s.seconds, 3), "detail": s.detail}
                for s in self.steps
            ],
            "seconds": round(self.seconds, 3),
            "input_slice_mm": round(self.slice_mm, 3),
            "review_reason": self.review_reason,
            "notes": list(self.notes),
        }
