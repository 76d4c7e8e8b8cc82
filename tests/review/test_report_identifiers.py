"""End to end: a DICOM series naming its patient -> load_volume -> the real pipeline (an
untrained real network) -> PDF, HTML, CSV and JSON reports. No identifier reaches a report
unless asked for, including through the folder's name and a reviewer's note."""

import json

import pytest

from bvae_viewer.analysis.case import write_case_outputs
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.pipeline.analyze import analyze_loaded
from bvae_viewer.pipeline.case import load_case
from bvae_viewer.pipeline.report import analysis_report_data
from bvae_viewer.review.store import ReviewStore
from tests.review.dicomkit import HEADER, IDENTIFIERS, flagging_model, write_named_series
from tests.review.pdftext import HAVE_PDFTOTEXT, pdf_bytes, pdf_text

pytest.importorskip("PySide6")
from bvae_viewer.gui.report_writer import write_report

FORMATS = ("pdf", "html", "csv", "json")


def _text(path):
    """What a search of the file would see: the PDF's text (and its raw, inflated bytes)."""
    if path.suffix == ".pdf":
        raw = pdf_bytes(path)
        text = raw.decode("latin-1") + raw.decode("utf-16-be", errors="ignore")
        return text + (pdf_text(path) if HAVE_PDFTOTEXT else "")
    return path.read_text(encoding="utf-8-sig")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    root = tmp_path_factory.mktemp("identifiers")
    # PACS exports often name the folder after the patient.
    series = write_named_series(root / "PID-88123_Zyxwort")
    loaded = load_case(series)
    assert loaded.identity.patient_id == HEADER["PatientID"]  # the header was read
    bundle = load_bundle(flagging_model(root / "model"))
    with ReviewStore(root / "reviews.sqlite") as store:
        session = store.open_session(loaded.fingerprint, bundle.info.sha256)
        session.record(6, "abnormal", "flagged", note="Zyxwort: compare with the 2023-09-05 scan")
        decisions, case_review = session.current(), None
    analysis = analyze_loaded(
        loaded, bundle, device="cpu", samples=2, keep_maps=True, decided=decisions.keys()
    )
    assert analysis.maps, "the report must carry thumbnails for the test to mean something"
    write_case_outputs(analysis.result, root / "out")
    return root, analysis_report_data(analysis, bundle.info, decisions, case_review)


@pytest.mark.parametrize("fmt", FORMATS)
def test_reports_leave_identifiers_out_unless_asked(analysed, fmt):
    root, data = analysed
    plain = root / f"plain.{fmt}"
    write_report(data, plain)
    text = _text(plain)
    leaked = [v for v in IDENTIFIERS if v.lower() in text.lower()]
    assert not leaked, f"{plain.name} contains {leaked}"
    assert "zyxwort" not in text.lower() and "2023-09-05" not in text
    if fmt == "pdf" and not HAVE_PDFTOTEXT:
        pytest.skip("without pdftotext the PDF's text cannot be read back to check the opposite")
    full = root / f"full.{fmt}"
    write_report(data, full, include_identifiers=True)
    text = _text(full)
    missing = [v for v in IDENTIFIERS if v not in text]
    assert not missing, f"{full.name} lacks {missing}: the check above could not have failed"


def test_the_analysis_outputs_carry_no_identifiers_either(analysed):
    root, _ = analysed
    for name in ("case.json", "slices.csv"):
        text = (root / "out" / name).read_text()
        assert not [v for v in IDENTIFIERS if v.lower() in text.lower()], name
    assert json.loads((root / "out" / "case.json").read_text())["source"] == "[removed]_[removed]"
