"""Every sentence a clinician may read about a volume that cannot be opened.

Kept in one module so the wording stays consistent: each function returns one sentence
that names the file (or folder), says what is wrong in plain words and, where it helps,
what to do next.
"""

from __future__ import annotations

from pathlib import Path

SUPPORTED = "NIfTI (.nii, .nii.gz), MetaImage (.mha, .mhd), NRRD (.nrrd, .nhdr) or a DICOM series"


def _q(path: Path | str) -> str:
    return f"'{path}'"


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


# --- missing, empty, unreadable -----------------------------------------------------------


def not_found(path: Path) -> str:
    return f"The file or folder {_q(path)} does not exist; check the path and try again."


def empty_file(path: Path) -> str:
    return f"The file {_q(path)} is empty (0 bytes), so there is no image to open."


def unknown_format(path: Path) -> str:
    return f"{_q(path)} is not an image format this viewer can open; expected {SUPPORTED}."


def unreadable_header(path: Path) -> str:
    return (
        f"The file {_q(path)} does not start with a valid image header; "
        "it is either not a medical image or it is damaged."
    )


def unsupported_voxels(path: Path, kind: str) -> str:
    return f"The file {_q(path)} stores {kind} values, not a single grey-scale intensity per voxel."


def reader_failed(path: Path) -> str:
    return (
        f"The image data in {_q(path)} could not be read; "
        "the file is probably damaged or incompletely copied."
    )


# --- damaged data -------------------------------------------------------------------------


def truncated(path: Path, expected: int, available: int) -> str:
    return (
        f"The file {_q(path)} is incomplete: its header calls for {_mb(expected)} "
        f"but only {_mb(available)} are there; it was probably cut short while copying."
    )


def truncated_header(path: Path) -> str:
    return f"The file {_q(path)} ends before its header is complete; it was probably cut short."


def truncated_gzip(path: Path) -> str:
    return (
        f"The compressed file {_q(path)} ends early and cannot be fully unpacked; "
        "it was probably cut short while copying."
    )


def bad_checksum(path: Path) -> str:
    return (
        f"The compressed file {_q(path)} is damaged: its contents fail the built-in checksum, "
        "so the voxel values cannot be trusted."
    )


# --- geometry -----------------------------------------------------------------------------


def bad_voxel_size(path: Path, sizes: tuple[float, ...]) -> str:
    shown = " x ".join(f"{s:g}" for s in sizes)
    return (
        f"The file {_q(path)} gives an impossible voxel size ({shown} mm); "
        "voxel sizes must be positive numbers."
    )


def bad_affine(path: Path, problem: str) -> str:
    return (
        f"The position and orientation stored in {_q(path)} are unusable ({problem}), "
        "so left, right, front and back cannot be determined."
    )


def dicom_missing_geometry(path: Path, tag: str) -> str:
    return (
        f"The DICOM series in {_q(path)} lacks {tag}, "
        "which is needed to stack its slices in the right order."
    )


# --- voxel values -------------------------------------------------------------------------


def non_finite(path: Path, count: int) -> str:
    return (
        f"The image {_q(path)} contains {count:,} voxel(s) with no valid value "
        "(NaN or infinity); it cannot be analysed."
    )


# --- dimensions and size ------------------------------------------------------------------


def two_dimensional(path: Path) -> str:
    return (
        f"{_q(path)} holds a single 2D image, not a 3D volume; "
        "open the whole series (its folder) or a 3D file instead."
    )


def several_volumes(path: Path, count: int) -> str:
    return (
        f"The file {_q(path)} holds {count} volumes (a time series or several channels); "
        "this viewer needs a single 3D scan."
    )


def too_small(path: Path, shape: tuple[int, ...], minimum: int) -> str:
    shown = " x ".join(str(s) for s in shape)
    return (
        f"The volume in {_q(path)} is too small ({shown} voxels); "
        f"each direction needs at least {minimum} voxels."
    )


def too_large(path: Path, shape: tuple[int, ...], max_axis: int, max_voxels: int) -> str:
    shown = " x ".join(str(s) for s in shape)
    return (
        f"The volume in {_q(path)} is implausibly large ({shown} voxels); the limit is "
        f"{max_axis} voxels per direction and {max_voxels:,} voxels in all."
    )


# --- DICOM folders and series -------------------------------------------------------------


def no_dicom(path: Path) -> str:
    return (
        f"The folder {_q(path)} contains no DICOM images (sub-folders are not searched); "
        "choose the folder that holds the slice files of one series."
    )


def series_not_found(path: Path, uid: str, available: int) -> str:
    return (
        f"The folder {_q(path)} has no series with identifier {uid} "
        f"(it holds {available} other series)."
    )


def mixed_series(path: Path, what: str) -> str:
    return (
        f"The DICOM series in {_q(path)} mixes slices with different {what}, "
        "so they do not form one volume."
    )


def several_multiframe(path: Path, count: int) -> str:
    return (
        f"The DICOM series in {_q(path)} is split over {count} multi-frame files; "
        "open one of the files directly."
    )


def slice_gap(path: Path, missing: int, after_mm: float, step_mm: float) -> str:
    return (
        f"The DICOM series in {_q(path)} is missing {missing} slice(s) after position "
        f"{after_mm:.2f} mm (slices are otherwise {step_mm:.2f} mm apart); "
        "re-export the complete series."
    )


def duplicate_slice(path: Path, position_mm: float) -> str:
    return (
        f"The DICOM series in {_q(path)} has two slices at the same position "
        f"({position_mm:.2f} mm); "
        "it may hold several echoes or repeats, which must be exported as separate series."
    )


def varying_spacing(path: Path, low_mm: float, high_mm: float) -> str:
    return (
        f"The slices of the DICOM series in {_q(path)} are unevenly spaced "
        f"({low_mm:.2f} to {high_mm:.2f} mm apart), "
        "so they cannot be stacked into a regular volume."
    )


# --- notes (not errors) -------------------------------------------------------------------


def note_series_choice(count: int, description: str, n_slices: int) -> str:
    name = f"'{description}'" if description else "an unnamed series"
    return f"{count} series in folder; loaded {name} ({n_slices} slices)"


def note_squeezed(shape: tuple[int, ...]) -> str:
    return f"stored as {len(shape)}D {shape} with a single volume; used as 3D"


def note_no_orientation() -> str:
    return "the file stores no orientation; left and right follow the NIfTI default (unverified)"
