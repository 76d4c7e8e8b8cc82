"""The window's PACS connection: saved settings and the secret for this session."""

from __future__ import annotations

from dataclasses import dataclass

from bvae_viewer import paths
from bvae_viewer.pacs.connection import (
    PacsSettings,
    load_secret,
    load_settings,
    open_client,
    save_settings,
    store_secret,
)
from bvae_viewer.pacs.outbox import outbox_folder


@dataclass
class PacsConnection:
    """Settings from config_dir()/pacs.json; the password or token from the keyring, or
    held in memory for this session where the system has no keyring."""

    settings: PacsSettings
    secret: str = ""

    @classmethod
    def load(cls) -> PacsConnection:
        settings = load_settings(paths.config_dir())
        return cls(settings, load_secret(settings) if settings.url else "")

    @property
    def configured(self) -> bool:
        return bool(self.settings.url)

    def update(self, settings: PacsSettings, secret: str) -> bool:
        """Save the settings; True if the secret went to the system keyring."""
        settings = settings.checked()
        save_settings(settings, paths.config_dir())
        self.settings, self.secret = settings, secret
        return bool(secret) and store_secret(settings, secret)

    def client(self):
        return open_client(self.settings, self.secret)


def outbox():
    return outbox_folder(paths.data_dir())


def connection_of(window) -> PacsConnection:
    """The window's connection, loaded on first use (kept on the window)."""
    conn = getattr(window, "pacs_connection", None)
    if conn is None:
        conn = PacsConnection.load()
        window.pacs_connection = conn
    return conn
