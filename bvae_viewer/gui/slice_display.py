"""The window's furniture as a view of the CaseDocument and ViewState: the six maps, slider,
profile, the slice's numbers, the localizer, the patient header, the cursor's readout and the
status bar's model and device (the three orthogonal views: gui.ortho_feed)."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QObject

from bvae_viewer.analysis.contrast import check_contrast
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.review_reasons import slice_review_reason
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import strings
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.frontend_view import frontend_html
from bvae_viewer.gui.map_names import method_of
from bvae_viewer.gui.ortho_feed import OrthoFeed
from bvae_viewer.gui.planes import Plane
from bvae_viewer.gui.readout import readout_items
from bvae_viewer.gui.ruler import ruler_text
from bvae_viewer.gui.window_layout import WindowLayout
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.pipeline.model import Bundle


class SliceDisplay(QObject):
    """Shows what the document holds, where ViewState says; writes only ViewState."""

    def __init__(self, layout: WindowLayout, doc: CaseDocument) -> None:
        super().__init__(layout)
        self.w, self.doc, self.state = layout, doc, layout.state
        self.auto_levels: tuple[float, float] | None = None  # the volume's automatic W/L
        self.ortho = OrthoFeed(layout.ortho, doc, self)
        self.contrast = None  # analysis.contrast's check of the case on screen
        doc.case_loaded.connect(self._case_loaded)
        doc.slice_added.connect(self._slice_added)
        doc.model_ready.connect(self._model_ready)
        doc.model_shown.connect(self.show_model)
        doc.triage_changed.connect(self._triage_changed)
        doc.records_changed.connect(self.refresh_slice_info)
        s = self.state
        s.slice_changed.connect(self.show_current)
        s.cursor_changed.connect(lambda _c: self.refresh_readout())
        s.ruler_changed.connect(lambda _r: self.refresh_readout())
        layout.slider.valueChanged.connect(s.set_slice)

    # --- the document's changes ---------------------------------------------------------
    def _case_loaded(self, case: LoadedCase) -> None:
        w, n = self.w, len(case.stack)
        w.setWindowTitle(strings.WINDOW_TITLE_FILE.format(name=case.source.name))
        w.slider.blockSignals(True)
        w.slider.setRange(0, max(0, n - 1))
        w.slider.blockSignals(False)
        w.slider.setEnabled(n > 0)
        w.localizer.set_stack(case.stack)
        self._show_who(case)
        self.state.reset(n, case.start)
        self.auto_window()
        self.show_current(self.state.slice)
        self.state.set_view(None)

    def _show_who(self, case: LoadedCase) -> None:
        """The header strip, the input's contrast in the Original titles, the rulers' mm."""
        w = self.w
        self.contrast = check_contrast(case.metadata, case.source.name, case.stack)
        w.header.show_case(case, self.contrast)
        w.grid.set_input_contrast(self.contrast.label)
        self.ortho.set_image_title(w.grid.titles()["original"])
        size = int(case.stack.images.shape[-1]) if len(case.stack) else 0
        plane = Plane("axial", len(case.stack), size) if size else None
        w.grid.set_geometry(plane, case.geometry if plane else None)

    def _slice_added(self, position: int) -> None:
        if position == self.state.slice:
            self.show_current(position)
            self.refresh_readout()

    def _model_ready(self, bundle: Bundle) -> None:
        w, d = self.w, self.doc
        w.grid.set_map_levels(bundle.info.calibration.map_levels)
        w.profile.set_thresholds(*d.thresholds())
        where = strings.DEVICE_FROM_CACHE.format(device=d.device_name) if d.from_cache else None
        w.device_label.setText(strings.STATUS_DEVICE.format(device=where or d.device_name))

    def show_model(self, info: ModelInfo) -> None:
        """Name the maps after the model's method; the status bar says which model runs."""
        w = self.w
        w.grid.name_panels(info.method)
        self.ortho.set_image_title(w.grid.titles()["original"])
        w.info.name_rows(info)
        w.model_label.setText(
            strings.STATUS_MODEL_ID.format(
                method=method_of(info).display_name, name=info.name, hash=info.short_hash
            )
        )
        w.model_label.setToolTip(strings.MODEL_FOLDER_TIP.format(folder=self.doc.model_dir))
        self.refresh_slice_info()

    def _triage_changed(self) -> None:
        d = self.doc
        scores = [r.scores if r is not None else None for r in d.results]
        self.w.profile.set_thresholds(*d.thresholds())
        self.w.profile.set_profile(
            len(d.results), scores, d.decisions, [d.slice_number(p) for p in range(len(d.results))]
        )
        self.refresh_slice_info()

    # --- the slice on screen ------------------------------------------------------------
    def show_current(self, index: int) -> None:
        w, d = self.w, self.doc
        if d.case is None or not 0 <= index < len(d.results):
            return
        if w.slider.value() != index:
            w.slider.blockSignals(True)
            w.slider.setValue(index)
            w.slider.blockSignals(False)
        w.slice_label.setText(
            strings.SLICE_LABEL.format(index=d.slice_number(index), last=d.input_slice_count())
        )
        result = d.results[index]
        w.grid.show_slice(d.case.stack.images[index], result.maps if result else None)
        self.refresh_slice_info()

    def refresh_slice_info(self) -> None:
        """Scores, decisions and thresholds of the slice on screen, as text."""
        d, index = self.doc, self.state.slice
        if d.case is None or not 0 <= index < len(d.results):
            return
        result = d.results[index]
        self.w.info.show_slice(
            d.slice_number(index),
            result.scores if result is not None else None,
            d.decisions[index],
            d.thresholds(),
            d.record_at(index),
        )
        # Why the slice is in review, in the sentence the report uses, and the front end's
        # steps, timings and warnings (issue 17), below the slice's numbers.
        why = ""
        if result is not None and d.policy is not None and d.decisions[index] == Decision.REVIEW:
            reason = slice_review_reason(result.scores, d.policy) or case_reason(d)
            if reason:
                why = strings.REVIEW_REASON_HTML.format(reason=html.escape(reason))
        self.w.info.setText(self.w.info.text() + why + frontend_html(d.case.prepared))

    def refresh_readout(self) -> None:
        """The readout strip: input slice, scanner mm and values at the cursor; the ruler."""
        d, st, grid = self.doc, self.state, self.w.grid
        cursor = st.cursor
        if d.case is None or len(d.case.stack) == 0:
            self.w.readout.show_items([], "")
            return
        items = []
        if cursor is not None:
            items = readout_items(d.case, d.results, grid.spec, grid.titles(), cursor)
        ruler = ruler_text(d.case.geometry, st.ruler) if st.ruler is not None else ""
        self.w.readout.show_items(items, ruler)

    # --- window/level -------------------------------------------------------------------
    def auto_window(self) -> None:
        """Window from the whole volume's brain pixels, so every slice uses the same one."""
        case = self.doc.case
        if case is None:
            self.state.set_window(0.0, 1.0)
            return
        brain = case.stack.images[case.stack.masks]
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
        for i, r in enumerate(self.doc.results):
            if r is not None and not r.scores.empty and r.scores.anomaly_score > best_score:
                best, best_score = i, r.scores.anomaly_score
        if best is not None:
            self.state.set_slice(best)


def case_reason(doc: CaseDocument) -> str:
    """A slice sent to review because the whole case is (unlike the training data, an
    implausible brain extraction): the case's own reasons."""
    result = doc.case_result
    if result is None or result.case.decision != Decision.REVIEW or not result.case.reasons:
        return ""
    return "the whole case is in review: " + "; ".join(result.case.reasons)
