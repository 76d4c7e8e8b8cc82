"""Window geometry, last folder, recent files, the model and display choices, kept between
sessions."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from bvae_viewer.gui.view_state import OVERLAY_KINDS
from bvae_viewer.paths import config_dir

SCHEMA_VERSION = 1
MAX_RECENT = 8
MAX_RECENT_MODELS = 5


def _as_bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _as_float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def documents_folder() -> str:
    """The user's documents folder (where people look for what they saved), else home."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return folder if folder and Path(folder).is_dir() else str(Path.home())


class GuiSettings:
    """Typed access to an INI file under the user config folder; bad values fall back quietly."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "gui.ini"
        self._q = QSettings(str(self.path), QSettings.Format.IniFormat)
        if int(_as_float(self._q.value("schema_version"), 0)) > SCHEMA_VERSION:
            # Written by a newer release: start clean rather than misread it.
            self._q.clear()
        self._q.setValue("schema_version", SCHEMA_VERSION)

    def sync(self) -> None:
        self._q.sync()

    # window
    def geometry(self) -> QByteArray | None:
        value = self._q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, geometry: QByteArray, state: QByteArray) -> None:
        self._q.setValue("window/geometry", geometry)
        self._q.setValue("window/state", state)

    def window_state(self) -> QByteArray | None:
        value = self._q.value("window/state")
        return value if isinstance(value, QByteArray) else None

    # files
    def last_folder(self) -> str:
        folder = str(self._q.value("files/last_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def set_last_folder(self, folder: Path) -> None:
        self._q.setValue("files/last_folder", str(folder))

    def _paths(self, key: str) -> list[Path]:
        """A stored list of paths, newest first (QSettings hands one item back as a str)."""
        raw = self._q.value(key, [])
        items = [raw] if isinstance(raw, str) else list(raw or [])
        return [Path(p) for p in items if p]

    def _push_path(self, key: str, path: Path, limit: int) -> None:
        """Put ``path`` first in a stored list, once, keeping at most ``limit``."""
        path = Path(path).resolve()
        items = [p for p in self._paths(key) if p != path]
        self._q.setValue(key, [str(p) for p in [path, *items][:limit]])

    def recent_files(self) -> list[Path]:
        return self._paths("files/recent")

    def add_recent(self, path: Path) -> None:
        self._push_path("files/recent", path, MAX_RECENT)

    # model: None is the bundled one
    def model_folder(self) -> Path | None:
        """The model folder chosen last (None: the bundled model); it may have vanished."""
        folder = str(self._q.value("model/folder", "") or "")
        return Path(folder) if folder else None

    def set_model_folder(self, folder: Path | None) -> None:
        self._q.setValue("model/folder", str(Path(folder).resolve()) if folder else "")

    def recent_models(self) -> list[Path]:
        """Model folders used before, newest first (the bundled model is never listed)."""
        return self._paths("model/recent")

    def add_recent_model(self, folder: Path) -> None:
        self._push_path("model/recent", folder, MAX_RECENT_MODELS)

    # display
    def radiological(self) -> bool:
        return _as_bool(self._q.value("display/radiological"), True)

    def set_radiological(self, value: bool) -> None:
        self._q.setValue("display/radiological", bool(value))

    def overlay(self) -> tuple[str, float]:
        kind = str(self._q.value("display/overlay", "none") or "none")
        kind = kind if kind in OVERLAY_KINDS else "none"
        opacity = _as_float(self._q.value("display/overlay_opacity"), 0.5)
        return kind, min(1.0, max(0.0, opacity))

    def set_overlay(self, kind: str, opacity: float) -> None:
        self._q.setValue("display/overlay", kind)
        self._q.setValue("display/overlay_opacity", float(opacity))

    # review
    def reviewer(self, default: str) -> str:
        return str(self._q.value("review/reviewer", "") or "").strip() or default

    def set_reviewer(self, name: str) -> None:
        self._q.setValue("review/reviewer", name)

    def queue_filter(self, allowed: tuple[str, ...]) -> str:
        kind = str(self._q.value("review/queue_filter", "") or "")
        return kind if kind in allowed else allowed[0]

    def set_queue_filter(self, kind: str) -> None:
        self._q.setValue("review/queue_filter", kind)

    def case_filter(self, allowed: tuple[str, ...]) -> str:
        """The case queue's filter (a batch); the first allowed one by default."""
        kind = str(self._q.value("review/case_filter", "") or "")
        return kind if kind in allowed else allowed[0]

    def set_case_filter(self, kind: str) -> None:
        self._q.setValue("review/case_filter", kind)

    # reports: their own folder, never by default the folder of the scan (or of the install)
    def report_folder(self) -> str:
        """The folder a report was last saved to, else the user's documents folder."""
        folder = str(self._q.value("files/report_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else documents_folder()

    def set_report_folder(self, folder: Path) -> None:
        self._q.setValue("files/report_folder", str(folder))
