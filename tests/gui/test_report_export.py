"""File > Export report: the name and folder it proposes, and a window's report of a flagged
case carries its findings (the region maps of every flagged slice, not only the thumbnails)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from bvae_viewer.data.preprocess import InPlaneGrid, SliceStack
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.report_export import default_report_name
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.io.volume import PatientIdentity, VolumeMetadata
from bvae_viewer.pipeline.case import LoadedCase
from tests.gui.test_review_window import open_and_wait
from tests.review.dicomkit import flagging_model
from tests.review.reportkit import IDENTITY

FINGERPRINT = "0123abcd" * 8


def _doc(tmp_path: Path, name: str, identity: PatientIdentity) -> CaseDocument:
    images = np.zeros((3, 8, 8), np.float32)
    stack = SliceStack(images, images > 0, np.arange(3), np.zeros(3, np.float32),
                       InPlaneGrid(0, 1, 0, 1, (8, 8)), 1.0)
    doc = CaseDocument(tmp_path)
    doc.case = LoadedCase(Path(name), stack, FINGERPRINT, VolumeMetadata("dicom"), identity)
    return doc


def test_default_name_of_a_deidentified_case_is_readable(qapp, tmp_path):
    day = date(2026, 3, 4)
    named = _doc(tmp_path, "PID-88123_Zyxwort", IDENTITY)
    assert default_report_name(named, day) == "case-0123abcd_2026-03-04_report.pdf"
    plain = _doc(tmp_path, "BraTS20_Training_001_t1ce.nii.gz", PatientIdentity())
    assert default_report_name(plain, day) == "BraTS20_Training_001_t1ce_2026-03-04_report.pdf"


def _home_with_documents(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no user-dirs.dirs there
    return home / "Documents"


def test_report_folder_is_the_documents_folder_until_one_is_used(qapp, tmp_path, monkeypatch):
    documents = _home_with_documents(tmp_path, monkeypatch)
    settings = GuiSettings(tmp_path / "gui.ini")
    assert settings.report_folder() == str(documents)
    used = tmp_path / "reports"
    used.mkdir()
    settings.set_report_folder(used)
    assert GuiSettings(tmp_path / "gui.ini").report_folder() == str(used)  # kept on disk
    used.rmdir()  # a folder that went away: back to the documents folder
    assert settings.report_folder() == str(documents)


def test_window_export_proposes_documents_then_the_last_folder_and_lists_findings(
    qtbot, make_window, volume_path, tmp_path, monkeypatch
):
    documents = _home_with_documents(tmp_path, monkeypatch)
    window = make_window(flagging_model(tmp_path / "model"))
    open_and_wait(qtbot, window, volume_path)

    window.reports.export_report()
    dialog = window.reports.export_dialog
    assert dialog.path() == documents / f"phantom_t1ce_{date.today().isoformat()}_report.pdf"
    out = tmp_path / "handed-on"
    out.mkdir()
    dialog.path_edit.setText(str(out / "case.json"))
    with qtbot.waitSignal(window.reports.report_done, timeout=60_000) as blocker:
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert blocker.args == [str(out / "case.json"), ""]

    report = json.loads((out / "case.json").read_text())
    flagged = [i for i, d in enumerate(window.doc.decisions) if d.value == "flagged"]
    assert flagged and report["findings"], "the flagging model flags every brain slice"
    first, last = report["findings"][0]["input_slices"]
    assert (first, last) == (flagged[0] + 1, flagged[-1] + 1)  # one run, 1-based
    assert report["volume"]["shape"] == [64, 72, 40]

    window.reports.export_report()  # the next export proposes the folder just used
    assert window.reports.export_dialog.path().parent == out
    window.reports.export_dialog.reject()
