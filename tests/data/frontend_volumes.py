"""Heads for the front end's tests, built in code from the shipped Colin27 template."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from bvae_viewer.data.frontend.space import apply
from bvae_viewer.io.volume import Volume, VolumeMetadata
from bvae_viewer.paths import resources_dir


def _template(name: str) -> tuple[np.ndarray, np.ndarray]:
    image = nib.as_closest_canonical(nib.load(resources_dir() / "frontend" / name))
    return np.asarray(image.dataobj, dtype=np.float32), image.affine


def rotation_z(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return m


def moved_head(
    world: np.ndarray,
    spacing: tuple[float, float, float],
    shape: tuple[int, int, int],
    bias: bool = False,
) -> tuple[Volume, np.ndarray]:
    """Colin27 with skull moved by ``world`` (template RAS mm -> scanner RAS mm) and sampled
    on a grid of ``spacing`` and ``shape`` centred on the moved head; also its brain mask."""
    head, affine = _template("colin27_head_2mm.nii.gz")
    brain, _ = _template("colin27_brain_2mm.nii.gz")
    centre = apply(world, apply(affine, (np.asarray(head.shape) - 1) / 2))
    grid = np.diag([*spacing, 1.0])
    grid[:3, 3] = centre - grid[:3, :3] @ ((np.asarray(shape) - 1) / 2)
    to_template = np.linalg.inv(affine) @ np.linalg.inv(world) @ grid
    data = ndimage.affine_transform(head, to_template, output_shape=shape, order=1)
    mask = ndimage.affine_transform(brain / 255.0, to_template, output_shape=shape, order=1)
    if bias:  # a smooth multiplicative field, as a surface coil gives
        x = np.linspace(-1, 1, shape[0])[:, None, None]
        data = data * (1.0 + 0.35 * x)
    volume = Volume(
        data=data.astype(np.float32), spacing=spacing, affine=grid,
        metadata=VolumeMetadata(format="test", original_orientation="RAS"), source=Path("head"),
    )
    return volume, mask >= 0.5


def warped_head(
    amplitude_mm: float, spacing: tuple[float, float, float], shape: tuple[int, int, int]
) -> tuple[Volume, np.ndarray]:
    """moved_head (unmoved) bent by a smooth displacement of up to amplitude_mm along each
    axis, one wave over 100 mm: a misfit no affine undoes. Also its bent brain mask."""
    volume, mask = moved_head(np.eye(4), spacing, shape)
    voxels = np.indices(shape, dtype=np.float64)
    mm = voxels * np.asarray(spacing)[:, None, None, None]
    wave = amplitude_mm * np.sin(2 * np.pi * mm / 100.0)
    # Each axis is displaced by the wave along the next one.
    shift = np.stack([wave[1], wave[2], wave[0]]) / np.asarray(spacing)[:, None, None, None]
    where = voxels + shift
    data = ndimage.map_coordinates(volume.data, where, order=1)
    bent = ndimage.map_coordinates(mask.astype(np.float32), where, order=1) >= 0.5
    return replace(volume, data=data.astype(np.float32)), bent
