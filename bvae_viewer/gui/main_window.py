"""The review window: six linked maps, slice navigation, profile, and the analysis worker."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMessageBox,
)

from bvae_viewer import paths
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.gui import strings
from bvae_viewer.gui.actions import build_controls
from bvae_viewer.gui.batch_controller import BatchController
from bvae_viewer.gui.case_triage import triage_results
from bvae_viewer.gui.review_controller import ReviewController
from bvae_viewer.gui.screenshot import finish_screenshot
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.gui.window_layout import LAYOUT_VERSION, WindowLayout
from bvae_viewer.gui.worker import AnalysisWorker, LoadedCase, RunSummary

NAV_KEYS = {
    Qt.Key.Key_Up: 1,
    Qt.Key.Key_Right: 1,
    Qt.Key.Key_Down: -1,
    Qt.Key.Key_Left: -1,
    Qt.Key.Key_PageUp: 10,
    Qt.Key.Key_PageDown: -10,
}
PROFILE_REFRESH_MS = 150  # redraw the profile at most this often while results stream in


class MainWindow(WindowLayout):
    """Opens volumes, runs the analysis in a worker thread, shows the current slice."""

    analysis_done = Signal(object)  # RunSummary of the current run
    case_loaded = Signal(object)  # LoadedCase: a new volume is on screen
    model_ready = Signal(object)  # Bundle: the model of the current run, policy set
    triage_changed = Signal()  # self.decisions changed (new slices, thresholds, case check)

    def __init__(
        self,
        model_dir: Path | None = None,
        settings: GuiSettings | None = None,
        device: str = "auto",
        samples: int = 5,
    ) -> None:
        super().__init__()  # the widgets and docks, and self.state that they observe
        self.model_dir = Path(model_dir) if model_dir is not None else paths.model_dir()
        self.settings = settings or GuiSettings()
        self.device, self.samples = device, samples
        self.bundle = None
        self.policy: TriagePolicy | None = None
        self.worker: AnalysisWorker | None = None
        self._workers: list[AnalysisWorker] = []  # running or finishing; joined on close
        self.case: LoadedCase | None = None
        self.results: list = []  # SliceResult or None, by position
        self.decisions: list[Decision | None] = []
        self.case_result = None  # CaseResult, once every slice of the case is analysed
        self.auto_levels: tuple[float, float] | None = None  # the volume's automatic W/L
        self.device_name = ""  # where the results on screen were computed (reports say it)
        self.from_cache = False  # they were read from the result cache: no model ran
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.screenshot_path: Path | None = None
        self.exit_code = 0

        self.setWindowTitle(strings.APP_TITLE)
        self.setAcceptDrops(True)
        self.state.set_radiological(self.settings.radiological())
        self.state.set_overlay(*self.settings.overlay())
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.controls = build_controls(self)
        self.review = ReviewController(self)  # queue left, thresholds right
        self.batch = BatchController(self)  # a folder of cases: the Cases tab of the queue
        self._wire_state()
        self._profile_timer = QTimer(self, singleShot=True, interval=PROFILE_REFRESH_MS)
        self._profile_timer.timeout.connect(self._refresh_profile)
        self._fill_recent_menu()
        self.controls.add_dock_toggles(self.dock_widgets())
        self.fit_docks()
        if (geometry := self.settings.geometry()) is not None:
            self.restoreGeometry(geometry)
        if (window_state := self.settings.window_state()) is not None:
            self.restoreState(window_state, LAYOUT_VERSION)
        self.statusBar().showMessage(strings.STATUS_READY)

    def _wire_state(self) -> None:
        s = self.state
        s.slice_changed.connect(self._show_current)
        s.crosshair_changed.connect(self._show_pixel)
        s.orientation_changed.connect(self.settings.set_radiological)
        s.overlay_changed.connect(self.settings.set_overlay)
        self.slider.valueChanged.connect(s.set_slice)

    # --- opening ------------------------------------------------------------------------------
    def choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, strings.OPEN_TITLE, self.settings.last_folder(), strings.OPEN_FILTER
        )
        if name:
            self.open_path(Path(name))

    def choose_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(
            self, strings.OPEN_DICOM_TITLE, self.settings.last_folder()
        )
        if name:
            self.open_path(Path(name))

    def choose_batch_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(
            self, strings.OPEN_BATCH_TITLE, self.settings.last_folder()
        )
        if name:
            self.open_batch(Path(name))

    def open_batch(self, folder: Path) -> bool:
        """Open a folder of cases as a batch: the case queue fills as the model runs."""
        return self.batch.open_folder(Path(folder))

    def open_demo(self) -> None:
        demo = paths.demo_case()
        if not demo.exists():
            self.show_error(strings.ERROR_TITLE, strings.ERROR_NO_DEMO.format(path=demo))
            return
        self.open_path(demo)

    def open_path(self, path: Path, remember: bool = True) -> None:
        """Start loading and analysing a file or DICOM folder; any previous run is cancelled.

        remember=False: not a recent file (a case opened from a batch's queue).
        """
        path = Path(path)
        self._retire_worker()
        self.batch.window_run_starting()
        if remember:
            self.settings.add_recent(path)
            self.settings.set_last_folder(path if path.is_dir() else path.parent)
            self._fill_recent_menu()
        worker = AnalysisWorker(path, self.model_dir, self.bundle, self.device, self.samples)
        worker.stage.connect(self._on_stage)
        worker.loaded.connect(self._on_loaded)
        worker.model_ready.connect(self._on_model)
        worker.slice_done.connect(self._on_slice)
        worker.progress.connect(self._on_progress)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        worker.finished.connect(self._reap)
        self.worker = worker
        self._workers.append(worker)
        self.timing_label.setText("")  # the last run's timings do not describe this one
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        worker.start()

    def cancel_analysis(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)

    def _retire_worker(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker = None

    def _reap(self) -> None:
        self._workers = [w for w in self._workers if not w.isFinished()]

    def _fill_recent_menu(self) -> None:
        menu = self.controls.recent_menu if hasattr(self, "controls") else None
        if menu is None:
            return
        menu.clear()
        recent = self.settings.recent_files()
        if not recent:
            menu.addAction(strings.ACT_RECENT_EMPTY).setEnabled(False)
        for path in recent:
            menu.addAction(str(path)).triggered.connect(lambda _=False, p=path: self.open_path(p))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        local = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not local:
            self.show_error(strings.ERROR_TITLE, strings.ERROR_DROP)
            return
        event.acceptProposedAction()
        self.open_path(Path(local[0]))

    # --- worker signals (ignored when they come from a cancelled, replaced run) ---------------
    def _current(self) -> bool:
        return self.sender() is self.worker and self.worker is not None

    def _on_stage(self, text: str) -> None:
        if self._current():
            self.statusBar().showMessage(text)

    def _on_loaded(self, case: LoadedCase) -> None:
        if self._current():
            self._show_loaded(case)

    def _show_loaded(self, case: LoadedCase) -> None:
        self.case = case
        n = len(case.stack)
        self.results = [None] * n
        self.decisions = [None] * n
        self.case_result = None
        self.setWindowTitle(strings.WINDOW_TITLE_FILE.format(name=case.source.name))
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.blockSignals(False)
        self.slider.setEnabled(n > 0)
        self.localizer.set_stack(case.stack)
        self.state.reset(n, case.start)
        self.auto_window()
        self._show_current(self.state.slice)
        self.state.set_view(None)
        self.case_loaded.emit(case)
        self._refresh_profile()

    def _on_model(self, bundle, device_label: str, from_cache: bool) -> None:
        if self._current():
            self.adopt_model(bundle, device_label, from_cache)

    def adopt_model(self, bundle, device_label: str, from_cache: bool = False) -> None:
        """The model of what is on screen: calibrated thresholds, map levels, status bar.

        from_cache: the results were read from the result cache, computed on device_label;
        the status bar says so, so that no one takes them for a run on this machine now.

        A case of the open batch keeps the thresholds in force (the batch is sorted by them);
        any other volume starts from the model's calibrated ones.
        """
        same_model = self.bundle is not None and self.bundle.info.sha256 == bundle.info.sha256
        keep = same_model and self.policy is not None and self.batch.holds(self.case)
        self.bundle = bundle
        cal = bundle.info.calibration
        if not keep:
            self.policy = TriagePolicy.from_calibration(cal)
        self.grid.set_map_levels(cal.map_levels)
        self.profile.set_thresholds(*self.thresholds())
        self.device_name, self.from_cache = device_label, from_cache
        where = strings.DEVICE_FROM_CACHE.format(device=device_label) if from_cache else None
        self.device_label.setText(strings.STATUS_DEVICE.format(device=where or device_label))
        self.model_label.setText(
            strings.STATUS_MODEL_ID.format(name=bundle.info.name, hash=bundle.info.short_hash)
        )
        self.model_ready.emit(bundle)

    def _on_slice(self, result) -> None:
        if self._current():
            self._take_slice(result)

    def _take_slice(self, result) -> None:
        if not 0 <= result.position < len(self.results):
            return
        self.results[result.position] = result
        if self.policy is not None:
            self.decisions[result.position] = self.policy.decide_slice(result.scores)
        if result.position == self.state.slice:
            self._show_current(result.position)
        if not self._profile_timer.isActive():
            self._profile_timer.start()

    def _on_progress(self, done: int, total: int) -> None:
        if self._current():
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.statusBar().showMessage(strings.STATUS_ANALYSING.format(done=done, total=total))

    def _on_failed(self, title: str, message: str) -> None:
        if self._current():
            self.show_error(title, message)

    def _on_done(self, summary: RunSummary) -> None:
        if self._current():
            self._finish(summary)

    def show_analysed(
        self,
        case: LoadedCase,
        results,
        bundle,
        device_label: str,
        timings=None,
        from_cache: bool = False,
    ) -> None:
        """Show a case whose every slice was analysed elsewhere (in a batch): no model run."""
        self._retire_worker()
        self._show_loaded(case)
        self.adopt_model(bundle, device_label, from_cache)
        for result in results:
            self._take_slice(result)
        summary = RunSummary(
            analysed=len(results), timings=dict(timings or {}), from_cache=from_cache
        )
        self._finish(summary)

    def _finish(self, summary: RunSummary) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._retriage()  # with every slice in: the case call and the out-of-distribution check
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
            counts = {d: sum(1 for x in self.decisions if x == d) for d in Decision}
            done = strings.STATUS_DONE_CACHED if summary.from_cache else strings.STATUS_DONE
            self.statusBar().showMessage(
                done.format(
                    flagged=counts[Decision.FLAGGED],
                    review=counts[Decision.REVIEW],
                    normal=counts[Decision.NORMAL],
                )
            )
        self.analysis_done.emit(summary)
        if self.screenshot_path is not None:
            finish_screenshot(self, summary)

    # --- display ------------------------------------------------------------------------------
    def _show_current(self, index: int) -> None:
        if self.case is None or not 0 <= index < len(self.results):
            return
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        last = len(self.results) - 1
        self.slice_label.setText(strings.SLICE_LABEL.format(index=index, last=last))
        result = self.results[index]
        maps = result.maps if result is not None else None
        self.grid.show_slice(self.case.stack.images[index], maps)
        self.refresh_slice_info()

    def refresh_slice_info(self) -> None:
        """Scores, decisions and thresholds of the slice on screen, as text."""
        index = self.state.slice
        if self.case is None or not 0 <= index < len(self.results):
            return
        result = self.results[index]
        self.info.show_slice(
            index,
            result.scores if result is not None else None,
            self.decisions[index],
            self.thresholds(),
            self.review.record_at(index),
        )

    def thresholds(self) -> tuple[float, float]:
        """The score and uncertainty thresholds in force (inf: none)."""
        if self.policy is None:
            return float("inf"), float("inf")
        return self.policy.score_threshold, self.policy.uncertainty_threshold

    def set_thresholds(self, score: float, uncertainty: float) -> None:
        """New thresholds re-sort the slices at once; the model is not run again."""
        if self.policy is None or (score, uncertainty) == self.thresholds():
            return
        self.policy = replace(self.policy, score_threshold=score, uncertainty_threshold=uncertainty)
        self.profile.set_thresholds(score, uncertainty)
        self._retriage()

    def _retriage(self) -> None:
        if self.case is not None and self.policy is not None and self.bundle is not None:
            triage = triage_results(
                self.case.stack, self.results, self.bundle.info.calibration, self.policy
            )
            self.decisions, self.case_result = triage.decisions, triage.case
        self._refresh_profile()
        self.refresh_slice_info()

    def _refresh_profile(self) -> None:
        scores = [r.scores if r is not None else None for r in self.results]
        self.profile.set_profile(len(self.results), scores, self.decisions)
        self.triage_changed.emit()

    def _show_pixel(self, point) -> None:
        if point is None:
            return
        values = self.grid.values_at(*point)
        text = ", ".join(
            f"{strings.PANEL_TITLES[k].split(' (')[0]} {v:.3g}" for k, v in values.items()
        )
        self.statusBar().showMessage(
            strings.PIXEL_VALUES.format(row=point[0], col=point[1], values=text)
        )

    def auto_window(self) -> None:
        """Window from the whole volume's brain pixels, so every slice uses the same one."""
        if self.case is None:
            self.state.set_window(0.0, 1.0)
            return
        brain = self.case.stack.images[self.case.stack.masks]
        high = float(np.percentile(brain, 99.5)) if brain.size else 1.0
        self.auto_levels = (0.0, max(high, 0.05))
        self.state.set_window(*self.auto_levels)

    def window_preset_name(self) -> str:
        """The preset the current window/level is, or the word for a hand-set one."""
        low, high = self.state.window
        if self.auto_levels is not None and np.allclose((low, high), self.auto_levels):
            return next(iter(strings.WL_PRESETS))
        for name, levels in strings.WL_PRESETS.items():
            if levels is not None and np.allclose((low, high), levels):
                return name
        return strings.WL_CUSTOM

    def apply_preset(self, name: str) -> None:
        if name not in strings.WL_PRESETS:  # "Custom": whatever the mouse set, kept
            return
        levels = strings.WL_PRESETS[name]
        if levels is None:
            self.auto_window()
        else:
            self.state.set_window(*levels)

    def jump_to_top_score(self) -> None:
        """Go to the analysed slice with the highest anomaly score."""
        best, best_score = None, -np.inf
        for i, r in enumerate(self.results):
            if r is not None and not r.scores.empty and r.scores.anomaly_score > best_score:
                best, best_score = i, r.scores.anomaly_score
        if best is not None:
            self.state.set_slice(best)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in NAV_KEYS:
            self.state.step_slice(NAV_KEYS[key])
        elif key == Qt.Key.Key_Home:
            self.state.set_slice(0)
        elif key == Qt.Key.Key_End:
            self.state.set_slice(self.state.n_slices - 1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # --- errors, dialogs, screenshots ---------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """One clear sentence in a dialog; the window stays usable."""
        self.last_error = message
        self.statusBar().showMessage(message)
        if self.screenshot_path is not None:
            # No one to read a dialog: say it on stderr and end with a failure code.
            print(message, file=sys.stderr)
            self.exit_code = 1
            QTimer.singleShot(0, lambda: QApplication.instance().exit(1))
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("error_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_box = box

    # --- closing ------------------------------------------------------------------------------
    def shutdown_workers(self) -> None:
        """Cancel every run and wait for its thread: nothing keeps running after the window."""
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            worker.wait()
        self._workers.clear()
        self.worker = None
        self.batch.shutdown()
        self.review.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown_workers()
        self.settings.set_geometry(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        super().closeEvent(event)
