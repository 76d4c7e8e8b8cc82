"""The review window: it puts the parts together and nothing more.

A CaseDocument (the case, its results, triage, model and records) beside ViewState (how it
is shown); services that write the document (analysis, review session, batch, model
choice, reports, opening); views that observe both (the maps, the queue, the thresholds);
commands that declare their keys (actions). No part imports this module.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QMessageBox

from bvae_viewer import paths
from bvae_viewer.gui import strings
from bvae_viewer.gui.actions import build_controls, show_about, show_shortcuts
from bvae_viewer.gui.analysis_service import AnalysisService
from bvae_viewer.gui.batch_review import BatchReview
from bvae_viewer.gui.batch_service import BatchService
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.frontend_view import MaskOutline
from bvae_viewer.gui.model_menu import ModelController
from bvae_viewer.gui.opening import Opener
from bvae_viewer.gui.pacs_menu import add_pacs_menu
from bvae_viewer.gui.report_export import ReportService
from bvae_viewer.gui.review_docks import ReviewDocks
from bvae_viewer.gui.review_session import ReviewSessionService
from bvae_viewer.gui.screenshot import UnattendedScreenshot, ask_screenshot_path, save_screenshot
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.gui.slice_display import SliceDisplay
from bvae_viewer.gui.window_layout import LAYOUT_VERSION, WindowLayout
from bvae_viewer.gui.worker import RunSummary
from bvae_viewer.review.store import default_reviewer

NAV_KEYS = {
    Qt.Key.Key_Up: 1,
    Qt.Key.Key_Right: 1,
    Qt.Key.Key_Down: -1,
    Qt.Key.Key_Left: -1,
    Qt.Key.Key_PageUp: 10,
    Qt.Key.Key_PageDown: -10,
}


class MainWindow(WindowLayout):
    """Assembles the review window from its document, services, views and commands."""

    def __init__(
        self,
        model_dir: Path | None = None,
        settings: GuiSettings | None = None,
        device: str = "auto",
        samples: int = 5,
    ) -> None:
        super().__init__()  # the widgets and docks, and self.state that they observe
        self.settings = settings or GuiSettings()
        self.doc = CaseDocument(paths.model_dir(), self)  # the Model menu decides the folder
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.unattended: UnattendedScreenshot | None = None  # `--screenshot PATH`
        self.setWindowTitle(strings.APP_TITLE)
        self.setAcceptDrops(True)
        self.state.set_radiological(self.settings.radiological())
        self.state.set_overlay(*self.settings.overlay())

        d, s = self.doc, self.settings
        self.display = SliceDisplay(self, d)
        self.analysis = AnalysisService(d, device, samples, self)
        self.session = ReviewSessionService(d, s.reviewer(default_reviewer()), self)
        self.models = ModelController(d, s, self, model_dir)
        self.review = ReviewDocks(self, d, self.session, s, self.models.describe)
        self.batch = BatchService(
            d,
            self.analysis,
            self.session,
            self.review,
            s,
            open_case=lambda path: self.opener.open_path(path, remember=False),
            unattended=lambda: self.unattended is not None,
        )
        self.batch_review = BatchReview(self.batch)
        self.opener = Opener(d, self.analysis, self.batch, self.models, s, self)
        self.reports = ReportService(
            d,
            s,
            self,
            running=self.analysis.running,
            radiological=lambda: self.state.radiological,
            before_writing=self.session.log_thresholds,
        )
        slots = self._command_slots()
        self.controls = build_controls(
            self, self.state, slots, self.display.apply_preset, self.display.window_preset_name
        )
        bar = self.menuBar()
        bar.insertMenu(bar.actions()[-1], self.models.menu)  # before Help
        add_pacs_menu(self)  # PACS: settings, worklist, send results (gui/pacs_menu.py)
        self.mask_outline = MaskOutline(self.grid.panels["original"], d, self.state)
        self.controls.actions["mask_outline"].setChecked(True)
        self.opener.recent_menu = self.controls.recent_menu
        self._wire()
        self.opener.fill_recent_menu()
        self.controls.add_dock_toggles(self.dock_widgets())
        self.fit_docks()
        if (geometry := s.geometry()) is not None:
            self.restoreGeometry(geometry)
        if (window_state := s.window_state()) is not None:
            self.restoreState(window_state, LAYOUT_VERSION)
        # A saved model that could not be used is said once, instead of the greeting.
        self.statusBar().showMessage(self.models.notice or strings.STATUS_READY)

    def _command_slots(self) -> dict:
        """What each command (actions.COMMANDS) does; A/N/D/J/K act on cases while the
        Cases tab of a batch is in front, else on the slices of the open case."""
        st, o, disp = self.state, self.opener, self.display

        def on_queue(slices, cases):
            return lambda: cases() if self.batch.active() else slices()

        def decide(value: str):
            return on_queue(
                lambda: self.review.decide(value), lambda: self.batch_review.decide(value)
            )

        return {
            "open": o.choose_file,
            "open_dicom": o.choose_folder,
            "open_batch": o.choose_batch_folder,
            "open_demo": o.open_demo,
            "screenshot": self.save_screenshot_as,
            "export": self.reports.export_report,
            "quit": self.close,
            "radiological": st.set_radiological,
            "auto_window": disp.auto_window,
            "reset_view": lambda: st.set_view(None),
            "clear_crosshair": self._escape,
            "mask_outline": lambda on: self.mask_outline.set_visible(on),
            "three_views": lambda on: st.set_layout("three" if on else "grid"),
            "ruler": lambda on: st.toggle_ruler() if on != st.ruler_tool else None,
            "abnormal": decide("abnormal"),
            "normal": decide("normal"),
            "defer": decide("defer"),
            "next": on_queue(lambda: self.review.step_item(1), lambda: self.batch_review.step(1)),
            "previous": on_queue(
                lambda: self.review.step_item(-1), lambda: self.batch_review.step(-1)
            ),
            "switch": self.review.switch_queue,
            "case_abnormal": lambda: self.review.decide_case("abnormal"),
            "case_normal": lambda: self.review.decide_case("normal"),
            "case_defer": lambda: self.review.decide_case("defer"),
            "case_clear": lambda: self.review.clear_case(),
            "run_abnormal": lambda: self.review.decide_run(),
            "undo": lambda: self.review.undo(),
            "clear_decision": on_queue(
                lambda: self.review.clear_slice(), lambda: self.review.clear_case()
            ),
            "analyse_again": o.analyse_again,
            "shortcuts": lambda: show_shortcuts(self),
            "about": lambda: show_about(self, self.model_label.text()),
        }

    def _wire(self) -> None:
        d, a, st, bar = self.doc, self.analysis, self.state, self.statusBar()
        st.orientation_changed.connect(self.settings.set_radiological)
        st.overlay_changed.connect(self.settings.set_overlay)
        d.model_shown.connect(self.controls.name_overlays)
        self.review.tabs.currentChanged.connect(
            lambda _i: self.controls.name_review_keys(self.batch.active())
        )
        self.cancel_button.clicked.connect(self._cancel)
        self.profile.thresholds_changed.connect(self.session.thresholds_edited)  # dragged
        a.started.connect(self._run_started)
        a.stage.connect(bar.showMessage)
        a.progress.connect(self._progress)
        a.done.connect(self._run_done)
        a.done.connect(self.review.open_on_peak)
        a.failed.connect(self.show_error)
        for service in (self.session, self.models, self.batch, self.opener, self.reports):
            service.error.connect(self.show_error)
        for service in (self.session, self.models, self.batch, self.reports):
            service.message.connect(bar.showMessage)

    # --- the run on screen, in the status bar ---------------------------------------------
    def _run_started(self, _source: Path) -> None:
        self.timing_label.setText("")  # the last run's timings do not describe this one
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)

    def _escape(self) -> None:
        """Esc: cancel the running analysis; with none running, clear the crosshair."""
        if self.analysis.running():
            self._cancel()
        else:
            self.state.set_crosshair(None)

    def _cancel(self) -> None:
        self.analysis.cancel()
        self.cancel_button.setEnabled(False)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.statusBar().showMessage(strings.STATUS_ANALYSING.format(done=done, total=total))

    def _run_done(self, summary: RunSummary) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        t = summary.timings
        load, prep = t.get("load", 0.0), t.get("preprocess", 0.0)
        if "inference" in t:
            self.timing_label.setText(
                strings.STATUS_TIMINGS.format(load=load, prep=prep, infer=t["inference"])
            )
        elif "cache_read" in t:
            self.timing_label.setText(
                strings.STATUS_TIMINGS_CACHED.format(load=load, prep=prep, read=t["cache_read"])
            )
        if summary.cancelled:
            self.statusBar().showMessage(strings.STATUS_CANCELLED)
        elif not summary.failed:
            counts = {k.value: v for k, v in self.doc.counts().items()}
            done = strings.STATUS_DONE_CACHED if summary.from_cache else strings.STATUS_DONE
            self.statusBar().showMessage(
                done.format(
                    flagged=counts["flagged"], review=counts["review"], normal=counts["normal"]
                )
            )
        if self.unattended is not None:
            self.unattended.run_done(summary)

    # --- errors, dialogs, screenshots ---------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """One clear sentence in a dialog; the window stays usable."""
        self.last_error = message
        self.statusBar().showMessage(message)
        if self.unattended is not None:
            # No one to read a dialog: say it on stderr and end with a failure code.
            print(message, file=sys.stderr)
            self.unattended.fail()
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("error_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_box = box

    def save_screenshot_as(self) -> None:
        """File > Save screenshot."""
        path = ask_screenshot_path(self, self.settings.last_folder())
        if path is None:
            return
        if save_screenshot(self, path):
            self.statusBar().showMessage(strings.SCREENSHOT_SAVED.format(path=path))
        else:
            self.show_error(strings.ERROR_TITLE, strings.ERROR_SCREENSHOT.format(path=path))

    def screenshot_when_done(self, path: Path) -> None:
        """`--screenshot PATH`: save a PNG once the run ends, then exit (exit_code)."""
        self.unattended = UnattendedScreenshot(self, path, self.display.jump_to_top_score)

    @property
    def exit_code(self) -> int:
        return self.unattended.exit_code if self.unattended is not None else 0

    # --- keys and drops -------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, st = event.key(), self.state
        if key in NAV_KEYS:
            st.step_slice(NAV_KEYS[key])
        elif key == Qt.Key.Key_Home:
            st.set_slice(0)
        elif key == Qt.Key.Key_End:
            st.set_slice(st.n_slices - 1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        local = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if local:
            event.acceptProposedAction()
        self.opener.open_dropped(local)

    # --- closing ------------------------------------------------------------------------------
    def shutdown_workers(self) -> None:
        """Cancel every run and wait for its thread: nothing keeps running after the window."""
        self.analysis.shutdown()
        self.batch.shutdown()
        self.reports.shutdown()
        self.session.shutdown()
        self.models.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown_workers()
        self.settings.set_geometry(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        super().closeEvent(event)
