"""The PDF report, written offscreen with Qt's own PDF writer (bvae_viewer.gui.report_writer)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from bvae_viewer.gui.report_writer import layout, write_report
from bvae_viewer.review.report import (
    RESEARCH_ONLY,
    ReportFormatError,
    ReportPathError,
    report_blocks,
)
from tests.review.pdftext import HAVE_PDFTOTEXT, NO_PDFTOTEXT, pdf_bytes, pdf_text
from tests.review.reportkit import IDENTITY, make_report_data, reviewed, shown

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
SLICE_ROW = re.compile(r"<tr><td align='right'>[^<]*</td><td align='right'>[^<]*</td><td><span")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not HAVE_PDFTOTEXT, reason=NO_PDFTOTEXT)
def test_pdf_report_reads_like_the_html_one(tmp_path):
    decisions, case = reviewed(tmp_path, note="enhancing rim")
    path = tmp_path / "report.pdf"
    write_report(make_report_data(decisions=decisions, case_review=case), path)
    assert path.read_bytes().startswith(b"%PDF")
    text = _one_line(pdf_text(path))
    for needed in (
        "Brain MRI anomaly triage report",
        _one_line(RESEARCH_ONLY),
        "FLAGGED",
        "test-model",
        "anomaly score > 0.02",
        "Dr. Reader",
        "enhancing rim",
        "Reconstruction",
        "Epistemic",
        "Page 1 of",
        f"Slice {shown(6)}",
    ):
        assert needed in text, needed


@pytest.mark.skipif(not HAVE_PDFTOTEXT, reason=NO_PDFTOTEXT)
def test_every_page_says_research_use_and_no_slice_is_split(tmp_path):
    data = make_report_data(n=40, score_threshold=0.0)  # 30 slices of maps: several pages
    path = tmp_path / "long.pdf"
    write_report(data, path)
    pages = int(_one_line(pdf_text(path, 1)).split("Page 1 of ")[1].split()[0])
    assert pages >= 5
    seen = []
    for page in range(1, pages + 1):
        text = pdf_text(path, page)
        assert "Research use only" in text and f"Page {page} of {pages}" in text
        # A slice's heading and its six captions are on the same page.
        headings = [
            line
            for line in text.splitlines()
            if line.strip().startswith("Slice ") and "model:" in line
        ]
        seen += [line.split()[1] for line in headings]
        assert text.count("Reconstruction") >= len(headings)
    assert len(seen) == 30 and len(set(seen)) == 30


def test_layout_never_splits_a_block_and_continues_tables(qapp):
    from PySide6.QtGui import QTextDocument

    data = make_report_data(n=60, score_threshold=0.0)
    blocks = report_blocks(data)

    made: dict[int, str] = {}

    def make(html: str) -> QTextDocument:
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setHtml(html)
        doc.setTextWidth(680)
        made[id(doc)] = html
        return doc

    body = 900.0
    pages = layout(blocks, make, body, 6.0)
    rows = 0
    for placements in pages:
        for p in placements:
            assert p.piece == 0 and p.y + p.doc.size().height() <= body + 1e-6
            rows += len(SLICE_ROW.findall(made[id(p.doc)]))
    table = next(b for b in blocks if b.rows)
    assert rows == len(table.rows) == 59
    assert len(pages) > 2


def test_unknown_suffix_or_bad_folder_writes_nothing(tmp_path):
    data = make_report_data()
    with pytest.raises(ReportFormatError, match=r"\.pdf, \.html, \.csv or \.json"):
        write_report(data, tmp_path / "report.docx")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ReportPathError):
        write_report(data, blocker / "report.pdf")
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_is_a_report_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ReportPathError):
            write_report(make_report_data(), folder / "report.pdf")
    finally:
        folder.chmod(0o700)
    assert os.listdir(folder) == []


def test_identifiers_are_only_in_a_pdf_that_asks_for_them(tmp_path):
    data = make_report_data(label="PID-88123.nii.gz")
    plain, full = tmp_path / "plain.pdf", tmp_path / "full.pdf"
    write_report(data, plain)
    write_report(data, full, include_identifiers=True)
    raw = pdf_bytes(plain)
    for value in vars(IDENTITY).values():
        for encoding in ("utf-8", "utf-16-be"):
            assert value.encode(encoding) not in raw, value
    if HAVE_PDFTOTEXT:
        text = pdf_text(plain)
        assert not [v for v in vars(IDENTITY).values() if v in text]
        text = pdf_text(full)
        assert all(v in text for v in vars(IDENTITY).values())


def test_a_process_without_qt_application_or_display_gets_one(tmp_path):
    """The command line case: no QGuiApplication yet, no display, QT_QPA_PLATFORM unset."""
    script = (
        "import sys\n"
        "from tests.review.reportkit import make_report_data\n"
        "from bvae_viewer.gui.report_writer import write_report\n"
        "write_report(make_report_data(), sys.argv[1])\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")
    }
    path = tmp_path / "r.pdf"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes().startswith(b"%PDF") and os.listdir(tmp_path) == ["r.pdf"]


def test_text_is_drawn_black_even_under_the_apps_dark_palette(qapp):
    """The window's dark palette gives light text; on paper it must still be black."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter, QTextDocument

    from bvae_viewer.gui.app import dark_palette
    from bvae_viewer.gui.report_writer import _draw_on_paper

    qapp.setPalette(dark_palette())
    doc = QTextDocument()
    doc.setPlainText("Flagged slices " * 20)
    doc.setTextWidth(300)
    image = QImage(300, 200, QImage.Format.Format_RGB32)
    image.fill(0xFFFFFF)
    painter = QPainter(image)
    _draw_on_paper(painter, doc, QRectF(0, 0, 300, 200))
    painter.end()
    darkest = min(image.pixelColor(x, y).lightness() for x in range(0, 300, 2)
                  for y in range(0, 60, 2))
    assert darkest < 60


@pytest.mark.skipif(not HAVE_PDFTOTEXT, reason=NO_PDFTOTEXT)
def test_pdf_page_one_is_what_a_radiologist_hands_on(tmp_path):
    decisions, case = reviewed(tmp_path, note="enhancing rim")
    path = tmp_path / "report.pdf"
    write_report(make_report_data(decisions=decisions, case_review=case), path)
    first, second = _one_line(pdf_text(path, 1)), _one_line(pdf_text(path, 2))
    for needed in (
        "Conclusion",
        "Flagged: 1 finding; 3 of 11 brain slices above the line",
        "Findings (1)",
        f"{shown(5)}–{shown(7)} (3 flagged)",  # input slices, counted from 1
        f"Finding 1: slice {shown(6)} (z -8 mm)",
        "Why slices are in review",
        "Reviewer's sign-off",
        "Signed off by Dr. Reader",
        "Research use only",
        "Page 1 of",
    ):
        assert needed in first, needed
    assert "6×8×6" in first.replace(" ", "")  # extent in mm (pdftotext may drop the spaces)
    assert "Reported slices" not in first and "Appendix" not in first
    assert second.split("Research use only – not a medical device", 1)[1].strip().startswith(
        "Appendix: the numbers")
