"""Where things live: bundled resources, and per-user state via platformdirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "bvae-viewer"
# Tests (and portable installs) point every state folder at one root with this variable.
STATE_ENV = "BVAE_VIEWER_STATE_DIR"


def install_root() -> Path:
    """Folder holding model/ and resources/: the PyInstaller bundle or the source checkout."""
    bundled = getattr(sys, "_MEIPASS", None)
    if bundled:
        return Path(bundled)
    return Path(__file__).resolve().parent.parent


def model_dir() -> Path:
    """The bundled model."""
    return install_root() / "model"


def resources_dir() -> Path:
    """Icons, style sheet, .desktop file and the demo case."""
    return install_root() / "resources"


def demo_case() -> Path:
    """The bundled demo volume (synthetic, with a tumour)."""
    return resources_dir() / "demo" / "demo_t1ce.nii.gz"


def _state_dir(kind: str) -> Path:
    root = os.environ.get(STATE_ENV)
    if root:
        path = Path(root) / kind
    else:
        path = Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Settings."""
    return _state_dir("config")


def data_dir() -> Path:
    """Review sessions (SQLite)."""
    return _state_dir("data")


def cache_dir() -> Path:
    """Per-volume result cache."""
    return _state_dir("cache")


def log_dir() -> Path:
    """Logs (rotating files, see bvae_viewer/logs.py)."""
    return _state_dir("log")
