"""A real Orthanc (Debian's orthanc + orthanc-dicomweb) on 127.0.0.1, for the PACS tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Orthanc:
    http_url: str  # Orthanc's own REST API and explorer

    @property
    def dicomweb_url(self) -> str:
        return f"{self.http_url}/dicom-web"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_url() -> str:
    """An address where nothing listens: a PACS that is down."""
    return f"http://127.0.0.1:{_free_port()}/dicom-web"


def _config(folder: Path, http_port: int, dicom_port: int, extra: dict) -> Path:
    config = {
        "Name": "bvae-viewer-tests",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "StableAge": 1,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        **extra,
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/dicom-web/studies", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers (with authentication on, by asking for it)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Orthanc did not answer at {url} in {START_TIMEOUT_S} s")


@contextmanager
def running_orthanc(folder: Path, **extra) -> Iterator[Orthanc]:
    """Start Orthanc with its storage in folder; stop it afterwards. Skips the test where the
    orthanc packages are not installed (scripts/system-deps.sh installs them)."""
    binary = shutil.which("Orthanc") or ("/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists()
                                         else None)
    if binary is None or not DICOMWEB_PLUGIN.exists():
        pytest.skip("Orthanc with its DICOMweb plugin is not installed "
                    "(apt-get install orthanc orthanc-dicomweb)")
    folder.mkdir(parents=True, exist_ok=True)
    http_port = _free_port()
    config = _config(folder, http_port, _free_port(), extra)
    log = (folder / "orthanc.log").open("w")
    process = subprocess.Popen([binary, str(config)], cwd=folder, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{http_port}"
    try:
        _wait_until_up(url, process)
        yield Orthanc(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def orthanc_json(orthanc: Orthanc, path: str):
    """GET from Orthanc's own REST API (not DICOMweb): what its explorer would list."""
    with urllib.request.urlopen(f"{orthanc.http_url}{path}", timeout=10) as answer:
        return json.load(answer)
