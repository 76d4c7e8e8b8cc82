"""The review window: six linked maps, slice navigation, profile, and the analysis worker."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QMessageBox,
)

from bvae_viewer import paths
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.triage import Decision, TriagePolicy
from bvae_viewer.gui import strings
from bvae_viewer.gui.actions import build_controls
from bvae_viewer.gui.batch_controller import BatchController
from bvae_viewer.gui.case_triage import triage_results
from bvae_viewer.gui.map_names import method_of
from bvae_viewer.gui.model_menu import ModelController
from bvae_viewer.gui.review_controller import ReviewController
from bvae_viewer.gui.screenshot import finish_screenshot
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.gui.window_display import DisplayMixin
from bvae_viewer.gui.window_layout import LAYOUT_VERSION, WindowLayout
from bvae_viewer.gui.window_opening import OpeningMixin
from bvae_viewer.gui.worker import AnalysisWorker, RunSummary
from bvae_viewer.pipeline.case import LoadedCase

PROFILE_REFRESH_MS = 150  # redraw the profile at most this often while results stream in


class MainWindow(OpeningMixin, DisplayMixin, WindowLayout):
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
        self.model_dir = paths.model_dir()  # the ModelController below decides (--model, saved)
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
        self.models = ModelController(self, model_dir)  # the Model menu; sets self.model_dir
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
        # A saved model that could not be used is said once, instead of the greeting.
        self.statusBar().showMessage(self.models.notice or strings.STATUS_READY)

    def _wire_state(self) -> None:
        s = self.state
        s.slice_changed.connect(self._show_current)
        s.crosshair_changed.connect(self._show_pixel)
        s.orientation_changed.connect(self.settings.set_radiological)
        s.overlay_changed.connect(self.settings.set_overlay)
        self.slider.valueChanged.connect(s.set_slice)

    # --- opening ------------------------------------------------------------------------------
    def open_batch(self, folder: Path) -> bool:
        """Open a folder of cases as a batch: the case queue fills as the model runs.

        While a model folder is being checked the batch waits for it (True: it will open)."""
        if self.models.defer(lambda: self.batch.open_folder(Path(folder))):
            return True
        return self.batch.open_folder(Path(folder))

    def open_path(self, path: Path, remember: bool = True) -> None:
        """Start loading and analysing a file or DICOM folder; any previous run is cancelled.

        remember=False: not a recent file (a case opened from a batch's queue).
        """
        path = Path(path)
        # A model being checked (chosen in the menu, or the saved one at start-up) decides
        # which model analyses this case: wait for it rather than run the one about to go.
        if self.models.defer(lambda: self.open_path(path, remember)):
            return
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
        self.show_model(bundle.info)
        self.model_ready.emit(bundle)

    def show_model(self, info: ModelInfo) -> None:
        """Name the maps after the model's method; the status bar says which model runs."""
        self.grid.name_panels(info.method)
        self.info.name_rows(info)
        self.controls.name_overlays(info)
        self.model_label.setText(
            strings.STATUS_MODEL_ID.format(
                method=method_of(info).display_name, name=info.name, hash=info.short_hash
            )
        )
        self.model_label.setToolTip(strings.MODEL_FOLDER_TIP.format(folder=self.model_dir))
        self.refresh_slice_info()

    def use_model(self, folder: Path, bundle) -> None:
        """From now on every run (a case, a batch) uses this loaded model (Model menu)."""
        if self.bundle is None or self.bundle.info.sha256 != bundle.info.sha256:
            # The old model's thresholds must not carry over (adopt_model keeps a batch's
            # policy for the same model): the next case starts from the new calibration.
            self.policy = None
        self.model_dir, self.bundle = Path(folder), bundle
        self.show_model(bundle.info)

    def reanalyse(self) -> None:
        """After a model switch: the batch and the case on screen again, with the new model
        (the result cache answers for a case this model has analysed before)."""
        running = self.worker is not None and self.worker.isRunning()
        # A volume still loading is the one the reader asked for last, not the one shown.
        source = self.worker.source if running else None
        if source is None and self.case is not None:
            source = self.case.source
        if self.batch.reopen(source):
            return  # the batch shows the case on screen again, if it is one of its cases
        if source is not None:
            self.open_path(source, remember=False)

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
        self.models.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown_workers()
        self.settings.set_geometry(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        super().closeEvent(event)
