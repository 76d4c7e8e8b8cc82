"""Format-independent refusals, and the clinician-facing wording of every error."""

from __future__ import annotations

import gzip
import inspect
import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import bvae_viewer.io as io_api
from bvae_viewer.io import (
    EmptyFileError,
    NotAnImageError,
    VolumeError,
    VolumeNotFoundError,
    load_volume,
    messages,
)
from tests.io.helpers import slice_positions, write_series


def test_missing_file_and_folder(tmp_path):
    for missing in (tmp_path / "nope.nii.gz", tmp_path / "no_such_folder"):
        with pytest.raises(VolumeNotFoundError, match="does not exist") as error:
            load_volume(missing)
        assert str(missing) in str(error.value)
        assert error.value.path == missing


@pytest.mark.parametrize("name", ["empty.nii.gz", "empty.nii", "empty.mha", "empty.dcm", "empty"])
def test_empty_files(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty"):
        load_volume(tmp_path / name)


@pytest.mark.parametrize("name", ["noise.nii", "noise.nii.gz", "noise.png", "noise", "noise.dcm"])
def test_garbage_bytes(tmp_path, name):
    (tmp_path / name).write_bytes(np.random.default_rng(0).bytes(2048))
    with pytest.raises(NotAnImageError) as error:
        load_volume(tmp_path / name)
    assert name in str(error.value)


def test_gzip_of_garbage(tmp_path):
    (tmp_path / "noise.nii.gz").write_bytes(gzip.compress(np.random.default_rng(0).bytes(2048)))
    with pytest.raises(NotAnImageError, match="valid image header"):
        load_volume(tmp_path / "noise.nii.gz")


def test_text_file_is_not_an_image(tmp_path):
    (tmp_path / "report.txt").write_text("Findings: none.\n")
    with pytest.raises(NotAnImageError, match="not an image format"):
        load_volume(tmp_path / "report.txt")


def test_files_without_telling_names_are_recognised(tmp_path):
    data = np.zeros((10, 11, 12), np.float32)
    data[1, 2, 3] = 7.0
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / "scan.nii.gz"))
    shutil.copy(tmp_path / "scan.nii.gz", tmp_path / "scan_copy")
    assert load_volume(tmp_path / "scan_copy").data[1, 2, 3] == 7.0

    write_series(tmp_path / "dicom", slice_positions(10, 2.0))
    for path in (tmp_path / "dicom").iterdir():
        path.rename(path.with_suffix(""))  # many archives drop the .dcm suffix
    assert load_volume(tmp_path / "dicom" / "IM0002").shape[2] == 10
    assert load_volume(tmp_path / "dicom").shape[2] == 10


def test_identity_is_empty_outside_dicom(tmp_path):
    nib.save(nib.Nifti1Image(np.ones((9, 9, 9), np.float32), np.eye(4)), str(tmp_path / "a.nii"))
    assert load_volume(tmp_path / "a.nii").identity.is_empty()


def test_every_error_class_is_exported_and_a_volume_error():
    exported = [getattr(io_api, name) for name in io_api.__all__]
    errors = [obj for obj in exported if inspect.isclass(obj) and issubclass(obj, Exception)]
    assert len(errors) >= 15
    assert all(issubclass(error, VolumeError) for error in errors)


_SAMPLES = {"path": Path("/data/Jane/scan one.nii.gz"), "uid": "1.2.840.99", "kind": "colour"}


def _error_sentences():
    for name, function in inspect.getmembers(messages, inspect.isfunction):
        if name.startswith(("_", "note_")):
            continue
        params = inspect.signature(function).parameters
        args = {p: _SAMPLES.get(p, 3) for p in params}
        if "sizes" in params or "shape" in params:
            args[next(p for p in params if p in ("sizes", "shape"))] = (1, 0, 2)
        if "what" in params or "tag" in params or "problem" in params:
            args[next(p for p in params if p in ("what", "tag", "problem"))] = "something"
        yield name, function(**args)


@pytest.mark.parametrize(("name", "sentence"), list(_error_sentences()))
def test_each_message_is_one_sentence_naming_the_file(name, sentence):
    path = str(_SAMPLES["path"])
    assert path in sentence, name
    rest = sentence.replace(path, "PATH")
    assert rest[0].isupper() or rest.startswith("'PATH'"), name
    assert rest.endswith("."), name
    assert len(re.findall(r"[.!?](\s|$)", rest)) == 1, name
