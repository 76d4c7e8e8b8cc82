"""What the three orthogonal views show, from the CaseDocument: the input's stack and the
chosen map as volumes (slices not analysed yet stay blank), at the model's levels. When the
clinical front end ran, the views show the input as acquired (its own slices, skull and
all) and the map sampled onto them (analysis.acquired_view), not the model's resampled grid.

A view of the document (like SliceDisplay): it writes only the views, never ViewState.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QObject, QTimer

from bvae_viewer.analysis.display import Panel, map_levels, panel_image, panel_levels, panels
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.gui.acquired_plane import AcquiredPlane
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.ortho_views import OrthoViews
from bvae_viewer.gui.panels_grid import colormap
from bvae_viewer.gui.planes import PLANES, Plane
from bvae_viewer.pipeline.case import LoadedCase

DEFAULT_MAP = "error"  # the bottom row's first choice: where the model sees an anomaly
STREAM_REFRESH_MS = 200  # while results stream in, the map's sections are redrawn this often


class OrthoFeed(QObject):
    """Fills the three-view layout from the document as cases load and slices arrive."""

    def __init__(self, views: OrthoViews, doc: CaseDocument, parent: QObject | None = None):
        super().__init__(parent)
        self.views, self.doc = views, doc
        self.spec: tuple[Panel, ...] = panels(None)
        self.levels = map_levels({})
        self.map_key = DEFAULT_MAP
        self.map_volume: np.ndarray | None = None
        self.image_title = self._panel("original").title
        self.acquired = False  # the views show the input as acquired (the front end ran)
        self._redraw = QTimer(self, singleShot=True, interval=STREAM_REFRESH_MS)
        self._redraw.timeout.connect(self._redraw_maps)
        doc.case_loaded.connect(self._case_loaded)
        doc.slice_added.connect(self._slice_added)
        doc.model_shown.connect(self._model_shown)
        doc.model_ready.connect(lambda b: self.set_map_levels(b.info.calibration.map_levels))
        views.map_chosen.connect(self.choose_map)
        self._name_maps()

    def _panel(self, key: str) -> Panel:
        return next(p for p in self.spec if p.key == key)

    # --- the document's changes ---------------------------------------------------------
    def _case_loaded(self, case: LoadedCase) -> None:
        stack = case.stack
        n, size = len(stack), int(stack.images.shape[-1]) if len(stack) else 0
        if n == 0:
            for view in self.views.views():
                view.set_volume(None, None, None)
            return
        ratio = stack.slice_mm / stack.pixel_mm if stack.pixel_mm > 0 else 1.0
        geometry = case.geometry
        self.map_volume = np.full(stack.images.shape, np.nan, dtype=np.float32)
        acquired = case.acquired_view()
        self.acquired = acquired is not None
        self._name_maps()
        for name in PLANES:
            plane = Plane(name, n, size, ratio)
            if acquired is None:
                self.views.image_views[name].set_volume(stack.images, plane, geometry)
                self.views.map_views[name].set_volume(self.map_volume, plane, geometry)
                continue
            own = Plane(name, acquired.n, acquired.size, acquired.slice_ratio)
            image = AcquiredPlane(own, acquired, n, size)
            sampled = AcquiredPlane(own, acquired, n, size, samples_stack=True)
            self.views.image_views[name].set_volume(acquired.images, image, geometry)
            self.views.map_views[name].set_volume(self.map_volume, sampled, geometry)

    def _slice_added(self, position: int) -> None:
        if self._fill(position) and not self._redraw.isActive():
            self._redraw.start()

    def _fill(self, position: int) -> bool:
        volume, results = self.map_volume, self.doc.results
        if volume is None or not 0 <= position < len(results) or results[position] is None:
            return False
        volume[position] = panel_image(results[position].maps, self._panel(self.map_key))
        return True

    def _redraw_maps(self) -> None:
        for view in self.views.map_views.values():
            view.refresh(force=True)

    def _model_shown(self, info: ModelInfo) -> None:
        self.spec = panels(info.method)
        self._name_maps()
        self._style_maps()

    def set_map_levels(self, calibrated: Mapping[str, tuple[float, float]]) -> None:
        self.levels = map_levels(calibrated)
        self._style_maps()

    def set_image_title(self, title: str) -> None:
        """The input row's name (the Original panel's: "Original (FLAIR)")."""
        self.image_title = title
        self._name_maps()

    # --- the bottom row's map -----------------------------------------------------------
    def choose_map(self, key: str) -> None:
        """Show another map in the bottom row: its volume from the results so far."""
        if key not in {p.key for p in self.spec[1:]}:
            return
        self.map_key = key
        if self.map_volume is not None:
            self.map_volume[:] = np.nan
            for position in range(len(self.doc.results)):
                self._fill(position)
        self._name_maps()
        self._style_maps()
        self._redraw_maps()

    def _name_maps(self) -> None:
        choices = [(p.key, p.title) for p in self.spec[1:]]
        self.views.set_map_choices(choices, self.map_key)
        self.views.set_titles(self.image_title, self._panel(self.map_key).title, self.acquired)

    def _style_maps(self) -> None:
        panel = self._panel(self.map_key)
        for view in self.views.map_views.values():
            view.set_follows_window(panel.image)
            levels = self.views.state.window if panel.image else panel_levels(panel, self.levels)
            view.set_colormap(colormap(panel), levels)
