"""One display state observed by every panel (FSLeyes style): panels never call each other."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Signal

OVERLAY_KINDS = ("none", "error", "pixel_score")


class ViewState(QObject):
    """Slice, zoom/pan, window/level, crosshair, orientation and overlay, shared by all panels.

    Setters emit only on a real change, so observers may write back without loops.
    """

    slice_changed = Signal(int)
    view_changed = Signal(object)  # QRectF in image pixels, or None for "fit"
    window_changed = Signal(float, float)  # display levels (low, high) of the images
    crosshair_changed = Signal(object)  # (row, col) in image pixels, or None
    orientation_changed = Signal(bool)  # True: radiological
    overlay_changed = Signal(str, float)  # kind, opacity

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

    def reset(self, n_slices: int, start: int) -> None:
        """A new volume: clamp to its slices, forget the zoom and crosshair."""
        self.n_slices = n_slices
        self.crosshair = None
        self.crosshair_changed.emit(None)
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
        if point != self.crosshair:
            self.crosshair = point
            self.crosshair_changed.emit(point)

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
