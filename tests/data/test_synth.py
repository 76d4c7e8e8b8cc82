"""The synthetic BraTS-like generator: layout, labels, determinism, loadability."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("nilearn")

from bvae_viewer.data.synth import MANIFEST_NAME, SynthError, make_demo_case, synthesize, writer
from bvae_viewer.data.synth import anatomy as anatomy_module
from bvae_viewer.data.synth.dataset import healthy_cases
from bvae_viewer.data.synth.deform import MassEffect

LABELS = {0, 1, 2, 4}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, cases=3, seed=7, workers=1, healthy_fraction=0.34)
    return out


def _case_arrays(root: Path, case: str) -> tuple[nib.Nifti1Image, nib.Nifti1Image]:
    folder = root / case
    return nib.load(folder / f"{case}_t1ce.nii.gz"), nib.load(folder / f"{case}_seg.nii.gz")


def _tree_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_layout_and_manifest(small_run: Path) -> None:
    manifest = json.loads((small_run / MANIFEST_NAME).read_text())
    ids = [c["id"] for c in manifest["cases"]]
    assert ids == ["SYN_00000", "SYN_00001", "SYN_00002"]
    assert manifest["seed"] == 7 and manifest["n_cases"] == 3
    assert sum(not c["has_tumour"] for c in manifest["cases"]) == 1
    for case in ids:
        assert sorted(p.name for p in (small_run / case).iterdir()) == [
            f"{case}_graders.nii.gz",
            f"{case}_seg.nii.gz",
            f"{case}_t1ce.nii.gz",
        ]
    assert not list(small_run.glob(".*")), "temporary files were left behind"


def test_images_and_labels(small_run: Path) -> None:
    manifest = json.loads((small_run / MANIFEST_NAME).read_text())
    for record in manifest["cases"]:
        image, seg = _case_arrays(small_run, record["id"])
        assert image.shape == seg.shape == (240, 240, 155)
        assert image.get_data_dtype() == np.int16 and seg.get_data_dtype() == np.uint8
        assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
        pixels, labels = np.asarray(image.dataobj), np.asarray(seg.dataobj)
        assert set(np.unique(labels).tolist()) <= LABELS
        brain = pixels > 0
        # Skull-stripped: a brain-sized foreground, zero elsewhere, scanner-like units.
        assert 1.0e6 < brain.sum() < 2.2e6
        assert 200 < np.median(pixels[brain]) < 4000
        tumour = labels > 0
        if record["has_tumour"]:
            assert tumour.sum() > 50
            assert brain[tumour].all(), "tumour voxels outside the brain"
            assert record["tumour"]["volume_ml"]["whole"] == pytest.approx(tumour.sum() / 1000)
        else:
            assert not tumour.any() and record["tumour"] is None


def test_enhancing_rim_is_bright_and_necrosis_dark(small_run: Path) -> None:
    manifest = json.loads((small_run / MANIFEST_NAME).read_text())
    checked = 0
    for record in manifest["cases"]:
        if not record["has_tumour"] or record["tumour"]["type"] == "nonenhancing":
            continue
        image, seg = _case_arrays(small_run, record["id"])
        pixels, labels = np.asarray(image.dataobj).astype(float), np.asarray(seg.dataobj)
        normal = np.median(pixels[(pixels > 0) & (labels == 0)])
        if (labels == 4).sum() > 100:
            assert np.median(pixels[labels == 4]) > 1.15 * normal
            checked += 1
        # Label 1 is also the non-enhancing core of a solid tumour (as in BraTS), and a core
        # under ~1 ml is mostly the 2 mm partial-volume transition: neither need be dark.
        if record["tumour"]["type"] == "ring" and (labels == 1).sum() > 1000:
            assert np.median(pixels[labels == 1]) < 0.8 * normal
    assert checked > 0


def test_grader_masks_are_stored_beside_the_seg(small_run: Path) -> None:
    from bvae_viewer.data.brats import find_cases
    from bvae_viewer.data.graders import load_graders

    manifest = json.loads((small_run / MANIFEST_NAME).read_text())
    assert manifest["graders"]["n"] == 4
    for case, record in zip(find_cases(small_run), manifest["cases"], strict=True):
        graders = nib.load(small_run / case.case_id / f"{case.case_id}_graders.nii.gz")
        assert graders.shape == (240, 240, 155, 4) and graders.get_data_dtype() == np.uint8
        loaded = load_graders(case)
        assert loaded.source == "stored"
        seg = load_labels(case.seg) > 0
        if not record["has_tumour"]:
            assert not loaded.masks.any()
            continue
        for mask in loaded.masks.astype(bool):
            assert 2 * (mask & seg).sum() / (mask.sum() + seg.sum()) > 0.7


def load_labels(path: Path) -> np.ndarray:
    from bvae_viewer.io import load_volume

    return np.rint(load_volume(path).data)


def test_demo_ring_tumour_has_a_dark_necrotic_core_and_bright_rim() -> None:
    from bvae_viewer import paths

    demo = paths.demo_case()
    image = np.asarray(nib.load(demo).dataobj).astype(float)
    labels = np.asarray(nib.load(demo.with_name("demo_seg.nii.gz")).dataobj)
    normal = np.median(image[(image > 0) & (labels == 0)])
    assert (labels == 1).sum() > 100 and (labels == 4).sum() > 100
    assert np.median(image[labels == 1]) < 0.8 * normal
    assert np.median(image[labels == 4]) > 1.15 * normal


@pytest.mark.slow
def test_same_seed_same_bytes_even_in_parallel(small_run: Path, tmp_path: Path) -> None:
    synthesize(tmp_path, cases=3, seed=7, workers=2, healthy_fraction=0.34)
    assert _tree_bytes(tmp_path) == _tree_bytes(small_run)


def test_different_seed_different_data(small_run: Path, tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    synthesize(tmp_path, cases=1, seed=8, workers=1, healthy_fraction=0.0,
               progress=lambda done, total: progress.append((done, total)))
    assert progress == [(1, 1)]
    name = "SYN_00000/SYN_00000_t1ce.nii.gz"
    assert (tmp_path / name).read_bytes() != (small_run / name).read_bytes()


def test_rerun_replaces_older_cases(tmp_path: Path) -> None:
    stale = tmp_path / "SYN_00005"
    stale.mkdir()
    (stale / "SYN_00005_t1ce.nii.gz").write_bytes(b"old")
    synthesize(tmp_path, cases=1, seed=3, workers=1, healthy_fraction=1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SYN_00000", MANIFEST_NAME]


def test_interrupted_write_leaves_no_case(tmp_path: Path, monkeypatch) -> None:
    calls = {"n": 0}
    real = writer.nifti_gz_bytes

    def fail_on_second(data, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(data, *args)

    monkeypatch.setattr(writer, "nifti_gz_bytes", fail_on_second)
    with pytest.raises(OSError):
        synthesize(tmp_path, cases=1, seed=3, workers=1)
    assert not (tmp_path / "SYN_00000").exists()
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_loads_through_the_project_reader(small_run: Path) -> None:
    from bvae_viewer.data.brats import find_cases, load_case
    from bvae_viewer.io import load_volume

    image, _ = _case_arrays(small_run, "SYN_00000")
    volume = load_volume(small_run / "SYN_00000" / "SYN_00000_t1ce.nii.gz")
    # Stored LPS-wise like BraTS; the reader turns it into RAS.
    np.testing.assert_array_equal(volume.data, np.asarray(image.dataobj)[::-1, ::-1, :])
    cases = find_cases(small_run)
    assert [c.case_id for c in cases] == ["SYN_00000", "SYN_00001", "SYN_00002"]
    manifest = json.loads((small_run / MANIFEST_NAME).read_text())
    for case, record in zip(cases, manifest["cases"], strict=True):
        labelled = load_case(case)
        assert labelled.labels.any() == record["has_tumour"]
        assert labelled.stack.has_brain.sum() > 100


def test_demo_case(tmp_path: Path) -> None:
    path = make_demo_case(tmp_path)
    assert path == tmp_path / "demo_t1ce.nii.gz"
    image, seg = nib.load(path), nib.load(tmp_path / "demo_seg.nii.gz")
    assert image.get_data_dtype() == np.int16
    labels = np.asarray(seg.dataobj)
    assert set(np.unique(labels).tolist()) == LABELS
    assert 10_000 < (labels > 0).sum() < 200_000  # a few cm, clearly visible
    assert path.stat().st_size < 5_000_000


def test_healthy_fraction_is_exact() -> None:
    flags = healthy_cases(seed=1, cases=50, healthy_fraction=0.2)
    assert flags.sum() == 10
    assert not np.array_equal(flags, healthy_cases(seed=2, cases=50, healthy_fraction=0.2))


def test_mass_effect_never_folds_tissue() -> None:
    mass = MassEffect(np.zeros(3), radius=12.0, strength=0.5, decay=10.0)
    r = np.linspace(0, 80, 2000)
    source = r - mass.push(r)
    assert np.all(np.diff(source) > 0) and source[0] >= 0
    assert mass.push(np.array([mass.reach()]))[0] <= 0.051


def test_missing_nilearn_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "nilearn", None)
    with pytest.raises(SynthError, match="nilearn"):
        anatomy_module._load_nilearn()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SynthError):
        synthesize(tmp_path, cases=0, seed=1)
    with pytest.raises(SynthError):
        synthesize(tmp_path, cases=2, seed=1, healthy_fraction=1.5)
