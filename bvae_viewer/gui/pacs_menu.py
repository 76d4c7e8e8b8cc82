"""The PACS menu: settings, worklist, and "Send results to PACS" (only on the reviewer's
command, after a confirmation that names the study and the PACS)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMessageBox

from bvae_viewer.gui.pacs_connection import connection_of, outbox
from bvae_viewer.gui.pacs_settings_dialog import PacsSettingsDialog
from bvae_viewer.gui.pacs_task import PacsTask
from bvae_viewer.gui.pacs_worklist import PacsWorklistDialog
from bvae_viewer.pacs.errors import PacsError
from bvae_viewer.pacs.pull import pull_record

MENU = "&PACS"
ACT_SETTINGS = "PACS &settings..."
ACT_WORKLIST = "&Worklist..."
ACT_SEND = "Send &results to PACS..."
ACT_RETRY = "Send &queued results"
NOTHING_QUEUED = "No results are waiting to be sent to this PACS."
SENDING = "Results are being sent to the PACS; wait until that has finished."
NOT_FROM_PACS = "The case on screen was not opened from a PACS, so it has no study to go back to."
NOT_FINISHED = "Wait until the analysis of the case on screen has finished."
OTHER_PACS = ("The case on screen came from {source}, not from the PACS in the settings "
              "({url}); its results go back only to where it came from.")


class _JoinOnClose(QObject):
    """Closing the window waits for a send or a pull still running (a QThread must not
    outlive its window); a pull is cancelled, a send finishes: it is queued either way."""

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Close:
            dialog = getattr(watched, "pacs_worklist", None)
            if dialog is not None and dialog.task is not None:
                dialog.task.cancel()
                dialog.task.wait()
            for name in ("pacs_send_task", "pacs_settings_task"):
                task = getattr(watched, name, None)
                if task is not None:
                    task.wait()
        return False


def add_pacs_menu(window) -> None:
    """The PACS menu in the window's menu bar (called once from gui/actions.py)."""
    window.pacs_close_filter = _JoinOnClose(window)
    window.installEventFilter(window.pacs_close_filter)
    bar = window.menuBar()
    menu = bar.addMenu(MENU)
    bar.insertMenu(bar.actions()[-2], menu)  # before Help
    menu.addAction(ACT_SETTINGS, lambda: open_settings(window))
    menu.addAction(ACT_WORKLIST, lambda: open_worklist(window))
    menu.addSeparator()
    menu.addAction(ACT_SEND, lambda: send_results(window))
    menu.addAction(ACT_RETRY, lambda: send_queued(window))


def open_settings(window) -> PacsSettingsDialog:
    dialog = PacsSettingsDialog(connection_of(window), window)
    # Its connection test is joined when the window closes, as the other PACS tasks are.
    dialog.task_started.connect(lambda task: setattr(window, "pacs_settings_task", task))
    dialog.open()
    return dialog


def open_worklist(window) -> PacsWorklistDialog:
    dialog = getattr(window, "pacs_worklist", None)
    if dialog is None:
        dialog = PacsWorklistDialog(connection_of(window), window)
        window.pacs_worklist = dialog
    dialog.show()
    dialog.raise_()
    if connection_of(window).configured and not dialog.rows:
        dialog.search()
    return dialog


def _sending(window) -> bool:
    """A send is running: say so rather than start a second one beside it."""
    task = getattr(window, "pacs_send_task", None)
    if task is not None and task.isRunning():
        window.statusBar().showMessage(SENDING)
        return True
    return False


def _case_source(window) -> tuple[Path, dict] | str:
    """The case on screen's folder and pull record, or why results cannot be sent."""
    case = window.doc.case
    if case is None or window.doc.case_result is None or window.doc.bundle is None:
        return NOT_FINISHED if case is not None else NOT_FROM_PACS
    folder = Path(case.source)
    record = pull_record(folder) if folder.is_dir() else None
    if record is None:
        return NOT_FROM_PACS
    url = connection_of(window).settings.url
    if record["url"].rstrip("/") != url.rstrip("/"):
        return OTHER_PACS.format(source=record["url"], url=url or "none")
    return folder, record


def send_results(window, confirm: bool = True) -> PacsTask | None:
    """Build the SEG and SR of the case on screen and store them in its study; a failure
    keeps them queued (and queued ones go along on the next send)."""
    if _sending(window):
        return None
    found = _case_source(window)
    if isinstance(found, str):
        window.show_error("Send results to PACS", found)
        return None
    folder, record = found
    if confirm:
        answer = QMessageBox.question(
            window, "Send results to PACS",
            "Store a Segmentation of the flagged region and a report (research use only) in "
            f"the study {record.get('study') or record['study_uid']} on {record['url']}?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
    bundle = window.doc.bundle
    device, samples = window.analysis.device, window.analysis.samples
    try:
        client = connection_of(window).client()
    except PacsError as exc:
        window.show_error("Send results to PACS", str(exc))
        return None

    def work(_progress, _cancel):
        from bvae_viewer.pacs.outbox import push
        from bvae_viewer.pipeline.pacs_run import analyse_series, results_for_pacs

        case = analyse_series(folder, bundle, device=device, samples=samples)
        objects = results_for_pacs(case, bundle)
        push(client, outbox(), record["study_uid"], objects)
        return [o.Modality for o in objects]

    task = PacsTask(work)
    task.succeeded.connect(lambda kinds: window.statusBar().showMessage(
        f"Stored {' and '.join(kinds)} in the study on the PACS."))
    task.failed.connect(lambda text: window.show_error("Send results to PACS", text))
    window.statusBar().showMessage("Sending results to the PACS...")
    window.pacs_send_task = task
    task.start()
    return task


def send_queued(window) -> PacsTask | None:
    """Send the results a failed push left in the outbox (on the reviewer's command)."""
    from bvae_viewer.pacs.outbox import pending, retry

    if _sending(window):
        return None
    connection = connection_of(window)
    waiting = pending(outbox(), connection.settings.url) if connection.configured else []
    if not waiting:
        window.statusBar().showMessage(NOTHING_QUEUED)
        return None
    try:
        client = connection.client()
    except PacsError as exc:
        window.show_error(ACT_RETRY.replace("&", ""), str(exc))
        return None
    task = PacsTask(lambda _p, _c: retry(client, outbox()))
    task.succeeded.connect(lambda sent: window.statusBar().showMessage(
        f"Sent {sent} queued result set(s) to the PACS."))
    task.failed.connect(lambda text: window.show_error(ACT_RETRY.replace("&", ""), text))
    window.pacs_send_task = task
    task.start()
    return task


__all__ = ["add_pacs_menu", "open_settings", "open_worklist", "send_queued", "send_results"]
