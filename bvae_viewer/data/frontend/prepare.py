"""prepare_input: the one entry of the front end. Input volume -> the model's view of it.

Steps (each timed and recorded): reorientation (done by the loader: every Volume is RAS),
N4 bias-field correction, affine registration of the skull-on template to the input,
deformable registration (demons; for the brain mask only, the model's view stays affine),
brain extraction (the template's mask carried back, its rim trimmed of dark voxels),
resampling of the brain onto the model's 240x240x155 grid. Thick slices are resampled like
any other (linear between slice centres: no detail is invented) and the notes say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import numpy as np
from scipy import ndimage

from bvae_viewer.data.frontend.bias import correct_bias
from bvae_viewer.data.frontend.deform import deform
from bvae_viewer.data.frontend.detect import prepared_reason
from bvae_viewer.data.frontend.extract import carry_mask, implausible, trim_rim
from bvae_viewer.data.frontend.itk_bridge import from_sitk, to_sitk, transform_to_ras
from bvae_viewer.data.frontend.record import (
    THICK_SLICE_MM,
    FrontendTransform,
    PreparedInput,
    PreprocessMode,
    StepRecord,
)
from bvae_viewer.data.frontend.register import affine_register
from bvae_viewer.data.frontend.space import MODEL_AFFINE, MODEL_SHAPE, model_voxel_to_mni
from bvae_viewer.data.frontend.template import load_template
from bvae_viewer.data.preprocess import brain_mask_3d
from bvae_viewer.io.volume import Volume

T = TypeVar("T")


def _timed(steps: list[StepRecord], name: str, work: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = work()
    steps.append(StepRecord(name, time.perf_counter() - start))
    return result


def _detail(steps: list[StepRecord], detail: str) -> None:
    steps[-1] = replace(steps[-1], detail=detail)


def thick_slice_note(volume: Volume) -> str | None:
    slice_mm = float(volume.spacing[2])
    if slice_mm <= THICK_SLICE_MM:
        return None
    return (
        f"Axial slices are {slice_mm:.1f} mm thick; the model was trained on 1 mm slices, "
        "so it sees this scan interpolated between slices and small lesions may be missed."
    )


def _skipped(volume: Volume, detail: str) -> PreparedInput:
    eye = np.eye(4)
    transform = FrontendTransform(eye, volume.affine, volume.shape, volume.shape)
    notes = tuple(n for n in (thick_slice_note(volume),) if n)
    step = StepRecord("front end skipped", 0.0, detail)
    mask = brain_mask_3d(np.asarray(volume.data, dtype=np.float32))
    return PreparedInput(volume, volume, mask, transform, False, (step,), None, notes)


_default_mode = PreprocessMode.AUTO


def set_default_mode(mode: PreprocessMode | str) -> None:
    """The mode of calls that name none (the window's --preprocess)."""
    global _default_mode
    _default_mode = PreprocessMode(mode)


def prepare_input(volume: Volume, mode: PreprocessMode | str | None = None) -> PreparedInput:
    """The model's view of volume: prepared (stripped, in model space) unless it already is
    (auto) or the caller says never. Raises TemplateMissingError on a broken install."""
    mode = PreprocessMode(mode or _default_mode)
    if mode is PreprocessMode.NEVER:
        return _skipped(volume, "--preprocess never")
    if mode is PreprocessMode.AUTO:
        reason = prepared_reason(volume)
        if reason is None:
            return _skipped(volume, "already skull-stripped: analysed as given")
    return run_front_end(volume)


def run_front_end(volume: Volume) -> PreparedInput:
    steps: list[StepRecord] = []
    orientation = volume.metadata.original_orientation or "?"
    steps.append(StepRecord("reorientation", 0.0, f"{orientation} -> RAS (by the loader)"))
    image = to_sitk(np.asarray(volume.data, dtype=np.float32), volume.affine)
    corrected = _timed(steps, "N4 bias-field correction", lambda: correct_bias(image))
    template = load_template()
    to_template = _timed(
        steps,
        "affine registration",
        lambda: affine_register(corrected, template.head, template.brain),
    )
    input_to_mni = transform_to_ras(to_template)  # input RAS mm -> MNI mm
    _detail(steps, f"scale {abs(np.linalg.det(input_to_mni[:3, :3])) ** (1 / 3):.2f} to MNI")
    # The deformation only shapes the mask: the model's space is an affine placement of MNI
    # (space.py), so the resampling and the way back stay affine and exact to invert.
    deformation = _timed(
        steps,
        "deformable registration",
        lambda: deform(corrected, template.head, template.brain, to_template),
    )
    _detail(steps, deformation.detail)
    corrected_data = from_sitk(corrected)  # the trim reads it, the resampling masks it
    mask = _timed(steps, "brain extraction", lambda: trim_rim(
        carry_mask(corrected, template.brain, deformation.transform),
        corrected_data, volume.spacing,
    ))
    ml = float(mask.sum()) * float(np.prod(volume.spacing)) / 1000.0
    _detail(steps, f"{ml:,.0f} ml, rim trimmed of dark voxels")
    review = implausible(mask, volume.spacing)
    model_to_input = (
        np.linalg.inv(volume.affine) @ np.linalg.inv(input_to_mni) @ model_voxel_to_mni()
    )
    brain = corrected_data * mask
    data = _timed(steps, "resampling to the model's grid", lambda: ndimage.affine_transform(
        brain.astype(np.float32), model_to_input, output_shape=MODEL_SHAPE, order=1,
        mode="constant", cval=0.0,
    ))
    _detail(steps, f"{volume.shape} at {_mm(volume.spacing)} -> {MODEL_SHAPE} at 1 mm")
    prepared = Volume(
        data=np.maximum(data, 0.0).astype(np.float32),
        spacing=(1.0, 1.0, 1.0),
        affine=MODEL_AFFINE.copy(),
        metadata=replace(volume.metadata, notes=(*volume.metadata.notes, "preprocessed")),
        source=volume.source,
        identity=volume.identity,
    )
    transform = FrontendTransform(model_to_input, volume.affine, volume.shape, MODEL_SHAPE)
    notes = tuple(n for n in (thick_slice_note(volume),) if n)
    return PreparedInput(prepared, volume, mask, transform, True, tuple(steps), review, notes)


def _mm(spacing: tuple[float, float, float]) -> str:
    return "x".join(f"{s:.2g}" for s in spacing) + " mm"



