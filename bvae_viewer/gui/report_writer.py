"""Write a case report in the format its file name asks for; the PDF with Qt's own writer.

The report's HTML blocks (bvae_viewer.review.report) are laid out one QTextDocument each and
placed on A4 pages here, so a slice's maps are never split by a page break, and every page
carries the research-use line and its number.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPalette,
    QPdfWriter,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication

from bvae_viewer.review.report import (
    CSS,
    TITLE,
    Block,
    ReportData,
    ReportError,
    atomic_write,
    report_blocks,
    report_format,
    write_text_report,
)

RESOLUTION = 300  # dots per inch of the PDF's page coordinates
MARGINS_MM = QMarginsF(15.0, 10.0, 15.0, 10.0)  # left, top, right, bottom
HEADER_MM, FOOTER_MM = 9.0, 9.0  # bands inside the margins, outside the flowing text
GAP_MM = 1.6  # between two blocks
CSS_DPI = 96.0  # the report's HTML sizes are CSS pixels of 1/96 inch
_app: QApplication | None = None  # kept alive when we had to create it


def write_report(data: ReportData, path: Path, include_identifiers: bool = False) -> None:
    """Write a .pdf, .html/.htm, .csv or .json report, whole or not at all.

    Raises ReportFormatError (a ValueError) for any other suffix and ReportPathError when the
    file cannot be written; patient identifiers appear only with include_identifiers=True.
    """
    path = Path(path)
    if report_format(path) != "pdf":
        write_text_report(data, path, include_identifiers)
        return
    _ensure_gui_application()  # before any file exists: Qt aborts the process when it fails
    atomic_write(path, lambda tmp: _write_pdf(data, tmp, include_identifiers))


def _ensure_gui_application() -> None:
    """Text layout needs a QGuiApplication; a command-line caller has none, and often no
    display, so it gets the offscreen platform unless one was chosen explicitly. A
    QApplication, not a bare QGuiApplication: widgets created later in the process work."""
    global _app
    if QGuiApplication.instance() is None:
        if not os.environ.get("QT_QPA_PLATFORM"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        _app = QApplication(["bvae-viewer"])


def _document_dpi() -> float:
    """The resolution Qt lays text out at when no device is given (the screen's)."""
    screen = QGuiApplication.primaryScreen()
    return float(screen.logicalDotsPerInchY()) if screen is not None else CSS_DPI


@dataclass(frozen=True)
class _Placed:
    doc: QTextDocument
    y: float  # top on the page, document pixels below the header
    piece: int = 0  # which page-high part of a document taller than a page


class _Pages:
    """Places laid-out documents on pages, top to bottom."""

    def __init__(self, body: float, gap: float) -> None:
        self.body, self.gap = body, gap
        self.pages: list[list[_Placed]] = [[]]
        self.y = 0.0

    def new_page(self) -> None:
        self.pages.append([])
        self.y = 0.0

    def room(self) -> float:
        return self.body - self.y

    def place(self, doc: QTextDocument) -> None:
        height = doc.size().height()
        if height <= self.room():
            self.pages[-1].append(_Placed(doc, self.y))
            self.y += height + self.gap
            return
        # Taller than a page (a very long note, say): Qt breaks it between lines.
        if self.pages[-1]:
            self.new_page()
        doc.setPageSize(QSizeF(doc.textWidth(), self.body))
        for piece in range(doc.pageCount()):
            if piece:
                self.new_page()
            self.pages[-1].append(_Placed(doc, 0.0, piece))
        self.y = doc.size().height() - (doc.pageCount() - 1) * self.body + self.gap


def layout(
    blocks: list[Block], make: Callable[[str], QTextDocument], body: float, gap: float
) -> list[list[_Placed]]:
    """Blocks onto pages: a block that does not fit starts a new page, as does one that asks
    to (the appendix), a heading moves with the block after it, and a table fills the page
    and goes on, header repeated, on the next."""
    pages = _Pages(body, gap)

    def first_height(block: Block) -> float:
        html = block.part(block.rows[:1]) if block.rows else block.html
        return make(html).size().height()

    for i, block in enumerate(blocks):
        if block.new_page and pages.pages[-1]:
            pages.new_page()
        if block.rows:
            _place_rows(block, make, pages)
            continue
        doc = make(block.html)
        need = doc.size().height()
        if block.keep_with_next and i + 1 < len(blocks):
            need += gap + min(first_height(blocks[i + 1]), body)
        if pages.pages[-1] and need > pages.room():
            pages.new_page()
        pages.place(doc)
    return pages.pages


def _place_rows(block: Block, make: Callable[[str], QTextDocument], pages: _Pages) -> None:
    rows, first = block.rows, True
    while rows:
        # The most rows that fit in the room left (heights grow with the number of rows).
        low, high = 0, len(rows)
        while low < high:
            mid = (low + high + 1) // 2
            if make(block.part(rows[:mid], first)).size().height() <= pages.room():
                low = mid
            else:
                high = mid - 1
        if low == 0 and pages.pages[-1]:
            pages.new_page()
            continue
        count = max(low, 1)
        pages.place(make(block.part(rows[:count], first)))
        rows, first = rows[count:], False
        if rows:
            pages.new_page()


def _document(html: str, width: float, font: QFont) -> QTextDocument:
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet(CSS)
    doc.setHtml(html)
    doc.setTextWidth(width)
    return doc


def _write_pdf(data: ReportData, path: Path, include_identifiers: bool) -> None:
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            MARGINS_MM,
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(TITLE)  # never the patient's name: PDF metadata travels with the file
    writer.setCreator(f"bvae-viewer {data.app_version}")

    dpi = _document_dpi()
    scale = RESOLUTION / dpi  # device dots per document pixel
    mm = dpi / 25.4  # document pixels per millimetre
    area = writer.pageLayout().paintRectPixels(RESOLUTION)
    width, height = area.width() / scale, area.height() / scale
    body_top, body = HEADER_MM * mm, height - (HEADER_MM + FOOTER_MM) * mm
    font = QFont("DejaVu Sans")
    font.setPointSizeF(9.0)

    blocks = report_blocks(data, include_identifiers, px=dpi / CSS_DPI)
    pages = layout(blocks, lambda html: _document(html, width, font), body, GAP_MM * mm)

    painter = QPainter()
    if not painter.begin(writer):
        raise ReportError(f"Qt could not start a PDF at {path}.")
    try:
        painter.scale(scale, scale)
        for number, placements in enumerate(pages, start=1):
            if number > 1:
                writer.newPage()
            _frame(painter, data, width, height, mm, number, len(pages))
            for p in placements:
                clip = QRectF(0, p.piece * body, width, body)
                painter.save()
                painter.translate(0, body_top + p.y - p.piece * body)
                _draw_on_paper(painter, p.doc, clip)
                painter.restore()
    finally:
        if not painter.end():
            raise ReportError(f"Qt could not finish the PDF at {path}.")


def _draw_on_paper(painter: QPainter, doc: QTextDocument, clip: QRectF) -> None:
    """Draw a document in black: drawContents() would use the app's (dark) palette."""
    context = QAbstractTextDocumentLayout.PaintContext()
    context.palette.setColor(QPalette.ColorRole.Text, Qt.GlobalColor.black)
    context.clip = clip
    painter.setClipRect(clip)
    doc.documentLayout().draw(painter, context)


def _frame(
    painter: QPainter,
    data: ReportData,
    width: float,
    height: float,
    mm: float,
    page: int,
    pages: int,
) -> None:
    """Header and footer of one page: what this is, that it is research use only, where."""
    painter.save()
    font = QFont("DejaVu Sans")
    font.setPixelSize(max(1, round(2.6 * mm)))
    painter.setFont(font)
    grey, red = QColor("#555555"), QColor("#a00000")
    line_y = 6.0 * mm
    painter.setPen(grey)
    painter.drawText(
        QRectF(0, 0, width, line_y),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        f"bvae-viewer · {TITLE}",
    )
    painter.setPen(red)
    painter.drawText(
        QRectF(0, 0, width, line_y),
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        "Research use only – not a medical device",
    )
    painter.setPen(QPen(grey, 0.6))
    painter.drawLine(QPointF(0, line_y), QPointF(width, line_y))
    foot_y = height - 6.0 * mm
    painter.drawLine(QPointF(0, foot_y), QPointF(width, foot_y))
    painter.setPen(grey)
    band = QRectF(0, foot_y, width, 6.0 * mm)
    painter.drawText(
        band,
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        f"Image fingerprint {data.case_hash[:16]} · created {data.created_at}",
    )
    painter.drawText(
        band, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"Page {page} of {pages}"
    )
    painter.restore()
