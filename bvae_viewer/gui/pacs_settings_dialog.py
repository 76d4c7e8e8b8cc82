"""PACS settings: DICOMweb address, authentication, TLS; tested from the dialog."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from bvae_viewer.gui.pacs_connection import PacsConnection
from bvae_viewer.gui.pacs_task import PacsTask
from bvae_viewer.pacs.connection import (
    AUTH_KINDS,
    PacsSettings,
    check_connection,
    keyring_available,
    open_client,
)
from bvae_viewer.pacs.errors import PacsError

TITLE = "PACS settings"
NO_KEYRING = "This system has no keyring: the password is kept until the app closes."


class PacsSettingsDialog(QDialog):
    task_started = Signal(object)  # the PacsTask of a connection test

    def __init__(self, connection: PacsConnection, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setObjectName("pacs_settings_dialog")
        self.setMinimumWidth(520)
        self.connection = connection
        self.task: PacsTask | None = None
        s = connection.settings
        self.url = QLineEdit(s.url, placeholderText="http://pacs.example.org:8042/dicom-web")
        self.auth = QComboBox()
        self.auth.addItems(AUTH_KINDS)
        self.auth.setCurrentText(s.auth)
        self.user = QLineEdit(s.username)
        self.secret = QLineEdit(connection.secret, echoMode=QLineEdit.EchoMode.Password)
        self.verify = QCheckBox("Verify the server's TLS certificate")
        self.verify.setChecked(s.verify_tls)
        self.timeout = QDoubleSpinBox(minimum=1, maximum=600, suffix=" s", value=s.timeout_s)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.result = QLabel(wordWrap=True)
        self.result.setObjectName("pacs_test_result")
        form = QFormLayout()
        form.addRow("DICOMweb URL", self.url)
        form.addRow("Authentication", self.auth)
        form.addRow("User", self.user)
        form.addRow("Password or token", self.secret)
        form.addRow("", self.verify)
        form.addRow("Time-out", self.timeout)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result)
        if not keyring_available():
            layout.addWidget(QLabel(NO_KEYRING, wordWrap=True))
        layout.addWidget(buttons)
        self.auth.currentTextChanged.connect(self._enable_fields)
        self._enable_fields(self.auth.currentText())

    def _enable_fields(self, auth: str) -> None:
        self.user.setEnabled(auth == "basic")
        self.secret.setEnabled(auth != "none")

    def entered(self) -> PacsSettings:
        """The settings as entered, checked (PacsError says what is wrong)."""
        return PacsSettings(
            url=self.url.text(), auth=self.auth.currentText(), username=self.user.text(),
            verify_tls=self.verify.isChecked(), timeout_s=self.timeout.value(),
        ).checked()

    def test_connection(self) -> None:
        try:
            client = open_client(self.entered(), self.secret.text())
        except PacsError as exc:
            self._show(str(exc), ok=False)
            return
        self.test_button.setEnabled(False)
        self.result.setText("Testing...")
        self.task = PacsTask(lambda _progress, _cancel: check_connection(client))
        self.task.succeeded.connect(lambda text: self._show(text, ok=True))
        self.task.failed.connect(lambda text: self._show(text, ok=False))
        self.task.finished.connect(lambda: self.test_button.setEnabled(True))
        self.task.start()
        self.task_started.emit(self.task)

    def _show(self, text: str, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("" if ok else "color: #e06c5a;")

    def save(self) -> None:
        try:
            self.connection.update(self.entered(), self.secret.text())
        except PacsError as exc:
            self._show(str(exc), ok=False)
            return
        self.accept()

    def done(self, result: int) -> None:
        if self.task is not None:
            self.task.wait()  # a test takes at most the time-out
        super().done(result)
