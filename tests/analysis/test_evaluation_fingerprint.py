"""The resume check's name for the data: the same data anywhere, other data refused."""

import json
import shutil

import pytest

from bvae_viewer.analysis.evaluation.fingerprint import data_fingerprint
from bvae_viewer.analysis.evaluation.store import ResultStore, ResumeError
from tests.analysis.test_evaluation_report import _records


def _folder(root, manifest=None):
    for case in ("A_001", "A_002"):
        (root / case).mkdir(parents=True)
        (root / case / f"{case}_t1ce.nii.gz").write_bytes(case.encode() * 100)
    if manifest is not None:
        (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_a_copied_folder_is_the_same_data_and_a_changed_file_is_not(tmp_path):
    first = _folder(tmp_path / "here")
    moved = shutil.copytree(first, tmp_path / "elsewhere" / "there")
    (moved / ".DS_Store").write_bytes(b"a viewer's file")  # not data
    assert data_fingerprint(first) == data_fingerprint(moved)
    # The run's own output inside the data folder is not data either.
    (moved / "eval" / "rows").mkdir(parents=True)
    (moved / "eval" / "metrics.json").write_text("{}")
    assert data_fingerprint(moved, outside=moved / "eval") == data_fingerprint(first)
    assert data_fingerprint(moved) != data_fingerprint(first)
    shutil.rmtree(moved / "eval")
    assert data_fingerprint(first).startswith("files:")
    (moved / "A_002" / "A_002_t1ce.nii.gz").write_bytes(b"another subject")
    assert data_fingerprint(first) != data_fingerprint(moved)
    (moved / "A_002" / "A_002_t1ce.nii.gz").rename(moved / "A_002" / "A_002_t2.nii.gz")
    assert data_fingerprint(first) != data_fingerprint(moved)


def test_generated_data_is_named_by_its_recipe(tmp_path):
    recipe = {"generator": "bvae_viewer.data.synth", "seed": 11, "cases": [{"id": "A_001"}]}
    first = _folder(tmp_path / "a", recipe)
    again = _folder(tmp_path / "b", recipe)  # regenerated: same recipe, bytes may differ
    (again / "A_001" / "A_001_t1ce.nii.gz").write_bytes(b"last bits differ")
    assert data_fingerprint(first) == data_fingerprint(again)
    assert data_fingerprint(first).startswith("manifest:")
    other = _folder(tmp_path / "c", recipe | {"seed": 12})
    assert data_fingerprint(first) != data_fingerprint(other)
    # A manifest that is not the generator's names nothing: the files do.
    foreign = _folder(tmp_path / "d", {"generator": "someone else's"})
    assert data_fingerprint(foreign).startswith("files:")


def test_resume_compares_the_data_not_where_it_lies(tmp_path):
    header = {"seed": 0, "preset": {"name": "quick"}, "data": {"statement": "synthetic"}}
    signature = {"seed": 0, "data": "files:aaaa", "cases": ["a", "b"]}
    rows, _ = _records()
    ResultStore(tmp_path, header, signature).add("paper", rows)
    assert ResultStore(tmp_path, header, signature, resume=True).reuse("paper")
    with pytest.raises(ResumeError, match="another set of images; run with its settings"):
        ResultStore(tmp_path, header, {**signature, "data": "files:bbbb"}, resume=True)
    # A run saved before the data had a name (it kept the folder's path) resumes on the
    # keys both hold.
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    metrics["signature"] = {"seed": 0, "root": "/old/path", "cases": ["a", "b"]}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    assert ResultStore(tmp_path, header, signature, resume=True).reuse("paper")
    with pytest.raises(ResumeError, match="another set of cases"):
        ResultStore(tmp_path, header, {**signature, "cases": ["a"]}, resume=True)
