"""The window against a real Orthanc: settings tested from the dialog, the worklist searched,
a study opened (pulled and analysed), results sent on command; a PACS that is down and a
study that is not a brain MR, each said in the window, which keeps working."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from bvae_viewer import paths
from bvae_viewer.gui.pacs_menu import NOT_FROM_PACS, open_settings, open_worklist, send_results
from bvae_viewer.pacs.connection import PacsSettings, open_client
from bvae_viewer.pacs.worklist import list_series
from tests.pacs.orthanc import free_url, running_orthanc
from tests.pacs.series import chest_ct_series, phantom_series, study
from tests.review.dicomkit import flagging_model

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture(scope="module")
def studies(orthanc):
    client = open_client(PacsSettings(url=orthanc.dicomweb_url))
    brain = study(PatientName="Window^Wendy", PatientID="GUI-1", StudyDate="20240301")
    chest = study(PatientName="Window^Carl", PatientID="GUI-2", StudyDate="20240302",
                  StudyDescription="CT CHEST")
    client.store_instances(phantom_series(brain, slices=20))
    client.store_instances(chest_ct_series(chest))
    return brain, chest


@pytest.fixture(scope="module")
def second_brain(orthanc):
    fields = study(PatientName="Window^Walt", PatientID="GUI-3", StudyDate="20240303")
    open_client(PacsSettings(url=orthanc.dicomweb_url)).store_instances(
        phantom_series(fields, slices=16))
    return fields


def _test_connection(qtbot, dialog, url: str) -> str:
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)  # the last test is over
    dialog.url.setText(url)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result.text() not in ("", "Testing..."), timeout=20_000)
    dialog.task.wait()
    text = dialog.result.text()
    dialog.result.setText("")
    return text


def test_settings_dialog_tests_the_connection_and_saves(qtbot, window, orthanc):
    dialog = open_settings(window)
    assert "cannot be reached" in _test_connection(qtbot, dialog, free_url())
    assert "is not a DICOMweb address" in _test_connection(qtbot, dialog, "pacs.local")
    assert _test_connection(qtbot, dialog, orthanc.dicomweb_url).startswith("Connected to")
    dialog.save()
    saved = json.loads((paths.config_dir() / "pacs.json").read_text())
    assert saved["url"] == orthanc.dicomweb_url and saved["verify_tls"] is True
    assert "password" not in json.dumps(saved).lower()


def _finished(qtbot, dialog) -> None:
    """Until the dialog's task has ended and its answer is shown (buttons enabled again)."""
    qtbot.waitUntil(lambda: not dialog._busy() and dialog.search_button.isEnabled(),
                    timeout=20_000)


def _search(qtbot, dialog, patient: str = "") -> None:
    dialog.patient.setText(patient)
    dialog.search()
    _finished(qtbot, dialog)


def _select(dialog, study_uid: str) -> None:
    dialog.table.clearSelection()
    dialog.table.selectRow([r.study_uid for r in dialog.rows].index(study_uid))


def test_worklist_open_analyse_and_send(qtbot, make_window, orthanc, studies, tmp_path):
    window = make_window(flagging_model(tmp_path / "model"))
    brain, chest = studies
    window.pacs_connection = None  # loaded from the saved settings on first use
    from bvae_viewer.pacs.connection import save_settings

    save_settings(PacsSettings(url=orthanc.dicomweb_url), paths.config_dir())
    dialog = open_worklist(window)
    _finished(qtbot, dialog)
    assert len(dialog.rows) >= 2
    _search(qtbot, dialog, "wendy")
    assert [r.patient_id for r in dialog.rows] == ["GUI-1"]
    assert dialog.table.item(0, 2).text() == "2024-03-01"

    _search(qtbot, dialog, "window")
    _select(dialog, chest["StudyInstanceUID"])
    dialog.open_selected()
    _finished(qtbot, dialog)
    assert "no brain MR series" in dialog.status.text() and window.doc.case is None

    _select(dialog, brain["StudyInstanceUID"])
    with qtbot.waitSignal(window.analysis.done, timeout=TIMEOUT_MS):
        dialog.open_selected()
    assert window.doc.case is not None and window.doc.case_result is not None
    dialog.close()

    task = send_results(window, confirm=False)
    qtbot.waitUntil(task.isFinished, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "Stored" in window.statusBar().currentMessage()
                    or window.last_error is not None, timeout=5_000)
    assert window.last_error is None, window.last_error
    assert "Stored SEG and SR" in window.statusBar().currentMessage()
    client = open_client(PacsSettings(url=orthanc.dicomweb_url))
    kinds = {s.modality for s in list_series(client, brain["StudyInstanceUID"])}
    assert kinds == {"MR", "SEG", "SR"}


def test_send_refuses_a_case_not_from_a_pacs(window):
    assert send_results(window, confirm=False) is None
    assert window.last_error == NOT_FROM_PACS


def test_worklist_says_when_the_pacs_is_down_and_the_window_keeps_working(qtbot, window):
    from bvae_viewer.pacs.connection import save_settings

    save_settings(PacsSettings(url=free_url(), timeout_s=2), paths.config_dir())
    dialog = open_worklist(window)
    _finished(qtbot, dialog)
    assert "cannot be reached" in dialog.status.text() and dialog.rows == []
    assert dialog.search_button.isEnabled()  # search again = retry
    dialog.close()
    assert window.isVisible() and window.last_error is None  # no dialog over the window


def test_selection_opens_as_a_batch_without_the_non_brain_study(
    qtbot, window, orthanc, studies, second_brain
):
    from bvae_viewer.pacs.connection import save_settings

    brain, chest = studies
    save_settings(PacsSettings(url=orthanc.dicomweb_url), paths.config_dir())
    dialog = open_worklist(window)
    _finished(qtbot, dialog)
    _search(qtbot, dialog, "window")
    dialog.table.clearSelection()
    dialog.table.setSelectionMode(dialog.table.SelectionMode.MultiSelection)
    for uid in (brain["StudyInstanceUID"], chest["StudyInstanceUID"],
                second_brain["StudyInstanceUID"]):
        dialog.table.selectRow([r.study_uid for r in dialog.rows].index(uid))
    assert len(dialog.selected_studies()) == 3
    with qtbot.waitSignal(window.batch.batch_done, timeout=TIMEOUT_MS) as done:
        dialog.open_batch()
    assert "1 not opened" in dialog.status.text() and "no brain MR" in dialog.status.text()
    summary = done.args[0]
    assert (summary.total, summary.analysed, summary.failed) == (2, 2, 0), summary
    dialog.close()


def test_queued_results_go_on_the_reviewers_command(qtbot, window, orthanc):
    from bvae_viewer.gui.pacs_connection import outbox
    from bvae_viewer.gui.pacs_menu import NOTHING_QUEUED, send_queued
    from bvae_viewer.pacs.connection import save_settings
    from bvae_viewer.pacs.outbox import enqueue, pending
    from bvae_viewer.pacs.results import build_report
    from tests.pacs.test_results import SUMMARY

    save_settings(PacsSettings(url=orthanc.dicomweb_url), paths.config_dir())
    assert send_queued(window) is None
    assert window.statusBar().currentMessage() == NOTHING_QUEUED
    fields = study(PatientID="GUI-Q")
    source = phantom_series(fields, slices=8)
    client = open_client(PacsSettings(url=orthanc.dicomweb_url))
    client.store_instances(source)
    # What a push that failed earlier left behind (the PACS was down then).
    enqueue(outbox(), orthanc.dicomweb_url, fields["StudyInstanceUID"],
            [build_report(source, SUMMARY)])
    task = send_queued(window)
    qtbot.waitUntil(task.isFinished, timeout=30_000)
    qtbot.waitUntil(lambda: "Sent 1 queued" in window.statusBar().currentMessage(),
                    timeout=5_000)
    assert pending(outbox()) == []
    assert {s.modality for s in list_series(client, fields["StudyInstanceUID"])} == {"MR", "SR"}


def test_cancel_stops_the_pull_and_keeps_nothing(qtbot, window, orthanc, studies):
    from bvae_viewer.gui.pacs_worklist import series_folder
    from bvae_viewer.pacs.connection import save_settings

    brain, _ = studies
    save_settings(PacsSettings(url=orthanc.dicomweb_url), paths.config_dir())
    dialog = open_worklist(window)
    _finished(qtbot, dialog)
    _select(dialog, brain["StudyInstanceUID"])
    dialog.open_selected()
    assert dialog.progress.isVisibleTo(dialog) and dialog.cancel_button.isVisibleTo(dialog)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # before any image
    _finished(qtbot, dialog)
    assert dialog.status.text() == "The transfer was cancelled; nothing was kept."
    assert not dialog.progress.isVisibleTo(dialog) and window.doc.case is None
    pulled = series_folder("x").parent
    assert not pulled.exists() or list(pulled.iterdir()) == []
    dialog.close()
