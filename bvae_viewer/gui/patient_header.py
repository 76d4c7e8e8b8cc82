"""Who and what is on screen: the patient and study strip above the views.

Patient name, ID, sex, birth date, study date and description, series description,
modality, slice thickness and voxel size from the input's header ("—" where the file does
not say), and one amber line when the input does not look like the contrast the model was
trained on (analysis.contrast). Shown in the window only: nothing here is written anywhere.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from bvae_viewer.analysis.contrast import ContrastCheck
from bvae_viewer.gui import strings
from bvae_viewer.pipeline.case import LoadedCase

UNKNOWN = "—"
KEY_COLOUR = "#9e9e9e"
WARNING_COLOUR = "#ffb74d"
SEPARATOR = "&nbsp;&nbsp;&nbsp; "  # items wrap between each other
NO_WRAP_CHARS = 32  # a longer value (a long series description) may wrap inside


def person_name(value: str) -> str:
    """A DICOM person name (Family^Given^Middle^Prefix^Suffix) as people write it."""
    parts = [p.strip() for p in value.split("^")]
    family, given = [*parts, "", ""][:2]
    rest = " ".join(p for p in parts[2:] if p)
    if family and (given or rest):
        return f"{family}, {' '.join(p for p in (given, rest) if p)}"
    return family or given or rest


def dicom_date(value: str) -> str:
    """YYYYMMDD as YYYY-MM-DD (other spellings as they are)."""
    digits = re.sub(r"\D", "", value)
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}" if len(digits) == 8 else value.strip()


def _mm(value: float) -> str:
    return f"{value:.3g} mm" if value > 0 else UNKNOWN


def header_fields(case: LoadedCase) -> list[tuple[str, str]]:
    """(label, value) pairs of the header strip, "—" where the input does not say."""
    who, meta = case.identity, case.metadata
    thickness = meta.slice_thickness
    if thickness <= 0 and meta.format != "dicom" and len(case.spacing) == 3:
        thickness = case.spacing[2]  # a file format's own: the distance between slices
    study = " ".join(t for t in (dicom_date(who.study_date), meta.study_description) if t)
    voxel = " × ".join(f"{s:.3g}" for s in case.spacing) + " mm" if case.spacing else UNKNOWN
    fields = [
        (strings.HEADER_PATIENT, person_name(who.patient_name)),
        (strings.HEADER_ID, who.patient_id.strip()),
        (strings.HEADER_SEX, meta.patient_sex.strip()),
        (strings.HEADER_BORN, dicom_date(who.birth_date)),
        (strings.HEADER_STUDY, study),
        (strings.HEADER_SERIES, meta.series_description.strip()),
        (strings.HEADER_MODALITY, meta.modality.strip()),
        (strings.HEADER_THICKNESS, _mm(thickness)),
        (strings.HEADER_VOXEL, voxel),
    ]
    if meta.format != "dicom":
        fields.append((strings.HEADER_FILE, case.source.name))
    return [(label, value or UNKNOWN) for label, value in fields]


def _glued(text: str) -> str:
    return html.escape(text).replace(" ", "&nbsp;")


def item_html(label: str, value: str) -> str:
    """"Label value" as one item: a line wraps between items, never inside a short one."""
    shown = _glued(value) if len(value) <= NO_WRAP_CHARS else html.escape(value)
    return f"<span style='color:{KEY_COLOUR}'>{_glued(label)}</span>&nbsp;<b>{shown}</b>"


def header_html(fields: list[tuple[str, str]]) -> str:
    return SEPARATOR.join(item_html(label, value) for label, value in fields)


class PatientHeader(QFrame):
    """The strip above the views: the patient, the study and series, and any warning."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("patient_header")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.fields_label = QLabel()
        self.warning_label = QLabel()
        for label in (self.fields_label, self.warning_label):
            label.setWordWrap(True)  # a narrow window wraps the strip; nothing is cut
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_label.setStyleSheet(f"color:{WARNING_COLOUR}")
        self.warning_label.setObjectName("contrast_warning")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(1)
        layout.addWidget(self.fields_label)
        layout.addWidget(self.warning_label)
        self.fields: list[tuple[str, str]] = []
        self.clear()

    def clear(self) -> None:
        self.fields = []
        self.fields_label.setText(f"<span style='color:{KEY_COLOUR}'>{strings.HEADER_NONE}</span>")
        self.warning_label.setVisible(False)

    def show_case(self, case: LoadedCase, contrast: ContrastCheck) -> None:
        self.fields = header_fields(case)
        self.fields_label.setText(header_html(self.fields))
        self.warning_label.setText(f"⚠ {html.escape(contrast.warning)}")
        self.warning_label.setVisible(bool(contrast.warning))

    def value(self, label: str) -> str:
        """The value shown under a label (for tests)."""
        return dict(self.fields).get(label, "")
