"""A volume read and preprocessed, before any inference: the one LoadedCase."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.acquired_view import AcquiredView, acquired_view
from bvae_viewer.analysis.geometry import SliceGeometry, identity_geometry
from bvae_viewer.data.frontend import PreparedInput, prepare_input
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume
from bvae_viewer.io import load_volume
from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata
from bvae_viewer.review.identity import case_fingerprint

Stage = Callable[[str], object]  # told each step as it starts: "load", "preprocess"


@dataclass(frozen=True)
class LoadedCase:
    """What every consumer needs of a volume before any slice is analysed. The voxels are
    not kept: the stack is what the model sees, and a batch holds many cases."""

    source: Path
    stack: SliceStack
    fingerprint: str  # content hash of the volume: the key of its review session and cache
    metadata: VolumeMetadata
    identity: PatientIdentity = field(default_factory=PatientIdentity)  # reports, on request
    shape: tuple[int, ...] = ()  # of the volume as read
    spacing: tuple[float, ...] = ()  # mm
    timings: dict[str, float] = field(default_factory=dict)  # load, preprocess (seconds)
    # The clinical front end's record (data.frontend): what ran, the brain mask on the
    # input's grid and the transform back to it; None for cases made before it existed.
    prepared: PreparedInput | None = None

    @property
    def start(self) -> int:
        """The slice shown (and analysed) first."""
        return start_slice(self.stack)

    @property
    def geometry(self) -> SliceGeometry:
        """Grid pixel -> model voxel -> input voxel -> scanner mm (analysis.geometry)."""
        size = int(self.stack.images.shape[-1]) if len(self.stack) else 128
        if self.prepared is None:  # a case from before the front end: its own grid, 1 mm
            spacing = self.spacing or (1.0, 1.0, 1.0)
            return identity_geometry(self.stack.grid, self.stack.slice_index,
                                     np.diag([*spacing, 1.0]), _shape3(self.shape), size)
        t = self.prepared.transform
        return SliceGeometry(self.stack.grid, np.asarray(self.stack.slice_index),
                             t.model_to_input, t.input_affine, tuple(t.input_shape), size)

    def acquired_view(self) -> AcquiredView | None:
        """The input as acquired (its own slices, skull and all) when the model saw it on
        another grid (the front end ran); None when the model's stack is the input's."""
        prepared = self.prepared
        if prepared is None or not prepared.ran or len(self.stack) == 0:
            return None
        volume = prepared.input_volume
        return acquired_view(
            volume.data, volume.spacing, self.geometry, self.stack.intensity_scale
        )

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(self.metadata.notes)


def _shape3(shape: tuple[int, ...]) -> tuple[int, int, int]:
    padded = (*shape, 1, 1, 1)
    return int(padded[0]), int(padded[1]), int(padded[2])


def start_slice(stack: SliceStack) -> int:
    """The slice with the largest brain section: the natural first view of a head."""
    if len(stack) == 0:
        return 0
    return int(np.argmax(stack.brain_fraction))


def outward_order(n: int, start: int) -> list[int]:
    """start, start+1, start-1, start+2, ...: the slice on screen is analysed first."""
    return sorted(range(n), key=lambda i: (abs(i - start), i < start))


def load_case(
    source: Path,
    stage: Stage | None = None,
    preprocess: str | None = None,
) -> LoadedCase:
    """Load, preprocess and fingerprint one file or DICOM folder (VolumeError on bad input).

    stage: told each step as it starts (the window's status bar). preprocess: the clinical
    front end's mode (auto, always, never; None: data.frontend's default), run between
    reading and preprocessing; the fingerprint is of the volume as read, so a case keeps its
    review session whatever the front end did.
    """
    say = stage or (lambda _text: None)
    source = Path(source)
    t0 = time.perf_counter()
    say("load")
    volume = load_volume(source)
    t1 = time.perf_counter()
    say("preprocess")
    prepared = prepare_input(volume, preprocess)
    stack = preprocess_volume(prepared.volume)
    t2 = time.perf_counter()
    return LoadedCase(
        source=source,
        stack=stack,
        fingerprint=case_fingerprint(volume),  # off the GUI thread: tens of MB of voxels
        metadata=volume.metadata,
        identity=volume.identity,
        shape=tuple(volume.shape),
        spacing=tuple(float(s) for s in volume.spacing),
        timings={"load": t1 - t0, "preprocess": t2 - t1},
        prepared=prepared,
    )
