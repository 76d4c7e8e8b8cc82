"""`bvae-viewer analyze INPUT --out DIR --report FILE [--include-identifiers]`."""

import json

import pytest

from bvae_viewer.analysis.model_info import read_model_info
from bvae_viewer.io import load_volume
from bvae_viewer.review.identity import case_fingerprint
from bvae_viewer.review.store import ReviewStore
from tests.cli.test_cli import assert_one_clear_line, run_cli
from tests.review.dicomkit import HEADER, IDENTIFIERS, flagging_model, write_named_series
from tests.review.pdftext import HAVE_PDFTOTEXT, NO_PDFTOTEXT, pdf_text
from tests.volumes import brain_phantom, write_nifti


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return flagging_model(tmp_path_factory.mktemp("flagging-model"))


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return write_named_series(tmp_path_factory.mktemp("dicom") / "PID-88123_Zyxwort")


@pytest.fixture
def nifti(tmp_path):
    image, _ = brain_phantom(shape=(48, 56, 16))
    return write_nifti(tmp_path / "case.nii.gz", image)


def analyze_with_report(series, out, model, report, *extra):
    """`analyze` on the CPU with 2 samples and a report: what every report test runs."""
    return run_cli("analyze", series, "--out", out, "--model", model, "--device", "cpu",
                   "--samples", "2", "--report", report, *extra)


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        ("out/report.docx", ".pdf, .html, .csv or .json"),
        ("out/slices.csv", "the analysis writes that file"),
        ("a-folder.pdf", "it is a folder"),
    ],  # the other refusals: tests/review/test_report.py
)
def test_a_bad_report_path_is_refused_before_the_model_runs(
    tmp_path, nifti, untrained_model, report, expected
):
    (tmp_path / "a-folder.pdf").mkdir()
    (tmp_path / "a-file").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_cli(
        "analyze",
        nifti,
        "--out",
        tmp_path / "out",
        "--model",
        untrained_model,
        "--report",
        tmp_path / report,
    )
    line = assert_one_clear_line(proc)
    assert expected in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no out/


def test_include_identifiers_needs_a_report(tmp_path, nifti, untrained_model):
    proc = run_cli(
        "analyze",
        nifti,
        "--out",
        tmp_path / "out",
        "--model",
        untrained_model,
        "--include-identifiers",
    )
    assert "--report" in assert_one_clear_line(proc)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not HAVE_PDFTOTEXT, reason=NO_PDFTOTEXT)
def test_pdf_report_of_a_dicom_series_with_the_reviewers_decisions(tmp_path, series, model):
    # A decision made earlier in the window, on this case under this model.
    case = case_fingerprint(load_volume(series))
    with ReviewStore.open_default() as store:
        session = store.open_session(case, read_model_info(model).sha256)
        session.record(5, "abnormal", "flagged", note="enhancing rim", reviewer="Dr. Reader")
    out = tmp_path / "out"
    proc = analyze_with_report(series, out, model, out / "report.pdf")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["case.json", "report.pdf", "slices.csv"]
    text = " ".join(pdf_text(out / "report.pdf").split())
    for needed in (
        "Research use only. Not a medical device.",
        "FLAGGED",
        "untrained-flagging",
        "Dr. Reader",
        "enhancing rim",
        "Reconstruction",
        "Total",
        "Page 1 of",
    ):
        assert needed in text, needed
    assert not [v for v in IDENTIFIERS if v.lower() in text.lower()]
    assert "zyxwort" not in proc.stdout.lower()
    # Page one: the case's call, its findings, the sign-off; named by fingerprint, not
    # "[removed]"; the numbers in the appendix.
    first = " ".join(pdf_text(out / "report.pdf", 1).split())
    for needed in (
        f"Case case-{case[:8]}",
        "Conclusion Flagged: 1 finding;",
        "Findings (1)",
        "Reviewer's sign-off Not signed off",
        "Slice decisions recorded: 1 (1 abnormal)",
    ):
        assert needed in first, needed
    assert "[removed]" not in text and "Appendix: the numbers" not in first


def test_json_report_with_identifiers_when_asked(tmp_path, series, model):
    out = tmp_path / "out"
    report = tmp_path / "reports" / "case.json"  # a folder that does not exist yet
    proc = analyze_with_report(series, out, model, report, "--include-identifiers")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(report.read_text())
    assert doc["patient"]["patient_id"] == HEADER["PatientID"]
    assert doc["decision"] == "flagged" and doc["thresholds"]["score"] == 0.0
    assert doc["slices"] and all(s["model_decision"] == "flagged" for s in doc["slices"])
    assert all(s["maps_in_report"] for s in doc["slices"])
    assert doc["model"]["sha256"] == read_model_info(model).sha256
    # The one finding spans the series' own slices (12 of them, counted from 1), in mm.
    (finding,) = doc["findings"]
    first, last = finding["input_slices"]
    assert 1 <= first <= last <= 12
    assert finding["extent_mm"][2] > 0 and len(finding["centre_mm"]) == 3
    assert {s["input_slice"] for s in doc["slices"]} <= set(range(1, 13))
    assert doc["volume"]["shape"] == [64, 64, 12] and doc["volume"]["brain_ml"] > 0
