"""One display state observed by every panel (FSLeyes style): panels never call each other."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRectF, Signal

OVERLAY_KINDS = ("none", "error", "pixel_score")
LAYOUTS = ("grid", "three")  # the six maps of a slice; three orthogonal views


@dataclass(frozen=True)
class Ruler:
    """A measured line: two grid points (position, row, col) in one plane's section."""

    plane: str  # "axial", "coronal" or "sagittal" (gui.planes)
    start: tuple[float, float, float]
    end: tuple[float, float, float]


class ViewState(QObject):
    """Slice, zoom/pan, window/level, crosshair, orientation and overlay, shared by all panels.

    The 3D cursor is (slice, row, col) of the crosshair: every view, axial, coronal or
    sagittal, observes it (cursor_changed) and moves it (set_cursor), never another view.
    Setters emit only on a real change, so observers may write back without loops.
    """

    slice_changed = Signal(int)
    view_changed = Signal(object)  # QRectF in image pixels, or None for "fit"
    window_changed = Signal(float, float)  # display levels (low, high) of the images
    crosshair_changed = Signal(object)  # (row, col) in image pixels, or None
    orientation_changed = Signal(bool)  # True: radiological
    overlay_changed = Signal(str, float)  # kind, opacity
    cursor_changed = Signal(object)  # (slice, row, col), or None without a crosshair
    layout_changed = Signal(str)  # one of LAYOUTS
    ruler_tool_changed = Signal(bool)  # left-drag measures instead of panning
    ruler_changed = Signal(object)  # Ruler, or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.n_slices = 0
        self.slice = 0
        self.view_rect: QRectF | None = None
        self.window: tuple[float, float] = (0.0, 1.0)
        self.crosshair: tuple[int, int] | None = None
        self.radiological = True
        self.overlay = "none"
        self.overlay_opacity = 0.5
        self.layout = LAYOUTS[0]
        self.ruler_tool = False
        self.ruler: Ruler | None = None
        self._quiet_cursor = False  # set_cursor announces the cursor once, not per part

    def reset(self, n_slices: int, start: int) -> None:
        """A new volume: clamp to its slices, forget the zoom and crosshair."""
        self.n_slices = n_slices
        self.crosshair = None
        self.crosshair_changed.emit(None)
        self.set_ruler(None)  # a line measured on another case means nothing here
        self.view_rect = None
        self.view_changed.emit(None)
        self.slice = -1
        self.set_slice(start)

    def set_slice(self, index: int) -> None:
        if self.n_slices == 0:
            return
        index = max(0, min(self.n_slices - 1, int(index)))
        if index != self.slice:
            self.slice = index
            self.slice_changed.emit(index)
            self._announce_cursor()

    def step_slice(self, delta: int) -> None:
        self.set_slice(self.slice + delta)

    def set_view(self, rect: QRectF | None) -> None:
        if rect is None or rect != self.view_rect:
            self.view_rect = QRectF(rect) if rect is not None else None
            self.view_changed.emit(self.view_rect)

    def set_window(self, low: float, high: float) -> None:
        if high <= low:
            high = low + 1e-3
        if (low, high) != self.window:
            self.window = (float(low), float(high))
            self.window_changed.emit(*self.window)

    def drag_window(self, dx: float, dy: float) -> None:
        """Mouse drag as in the common viewers: right widens the window, up raises the level."""
        low, high = self.window
        width = max(1e-3, (high - low) * (1.0 + dx))
        centre = (low + high) / 2 + dy
        self.set_window(centre - width / 2, centre + width / 2)

    def set_crosshair(self, point: tuple[int, int] | None) -> None:
        """The crosshair on the axial slice; None clears it, and with it the ruler and its
        tool (Esc clears what the reader marked)."""
        if point is None:
            self.set_ruler(None)
            self.set_ruler_tool(False)
        if point != self.crosshair:
            self.crosshair = point
            self.crosshair_changed.emit(point)
            self._announce_cursor()

    # --- the 3D cursor ------------------------------------------------------------------
    @property
    def cursor(self) -> tuple[int, int, int] | None:
        """(slice, row, col) of the crosshair, or None while there is none."""
        if self.crosshair is None or self.n_slices == 0:
            return None
        return (self.slice, *self.crosshair)

    def set_cursor(self, position: int, row: int, col: int) -> None:
        """Move the 3D cursor: the axial slice and the crosshair together, announced once."""
        before = self.cursor
        self._quiet_cursor = True
        try:
            self.set_slice(position)
            self.set_crosshair((int(row), int(col)))
        finally:
            self._quiet_cursor = False
        if self.cursor != before:
            self.cursor_changed.emit(self.cursor)

    def _announce_cursor(self) -> None:
        if not self._quiet_cursor:
            self.cursor_changed.emit(self.cursor)

    # --- layout and ruler ---------------------------------------------------------------
    def set_layout(self, layout: str) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}")
        if layout != self.layout:
            self.layout = layout
            self.layout_changed.emit(layout)

    def toggle_layout(self) -> None:
        self.set_layout(LAYOUTS[(LAYOUTS.index(self.layout) + 1) % len(LAYOUTS)])

    def set_ruler_tool(self, on: bool) -> None:
        if bool(on) != self.ruler_tool:
            self.ruler_tool = bool(on)
            self.ruler_tool_changed.emit(self.ruler_tool)

    def toggle_ruler(self) -> None:
        """The ruler command: on with nothing measured yet; again, off and cleared."""
        if self.ruler_tool:
            self.set_ruler(None)
        self.set_ruler_tool(not self.ruler_tool)

    def set_ruler(self, ruler: Ruler | None) -> None:
        if ruler != self.ruler:
            self.ruler = ruler
            self.ruler_changed.emit(ruler)

    def set_radiological(self, radiological: bool) -> None:
        if radiological != self.radiological:
            self.radiological = bool(radiological)
            self.orientation_changed.emit(self.radiological)

    def set_overlay(self, kind: str, opacity: float | None = None) -> None:
        if kind not in OVERLAY_KINDS:
            raise ValueError(f"unknown overlay {kind!r}")
        opacity = self.overlay_opacity if opacity is None else max(0.0, min(1.0, opacity))
        if (kind, opacity) != (self.overlay, self.overlay_opacity):
            self.overlay, self.overlay_opacity = kind, opacity
            self.overlay_changed.emit(kind, opacity)
