"""Where the PACS is and how to reach it: settings (a JSON file), secrets (the keyring)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import requests
from dicomweb_client.api import DICOMwebClient

from bvae_viewer.pacs.errors import PacsError, PacsUnreachableError

log = logging.getLogger(__name__)

AUTH_KINDS = ("none", "basic", "bearer")
KEYRING_SERVICE = "bvae-viewer-pacs"
SETTINGS_FILE = "pacs.json"
RETRY_ATTEMPTS = 2


@dataclass(frozen=True)
class PacsSettings:
    """A DICOMweb endpoint; the password or token is never part of it (see keyring)."""

    url: str = ""
    auth: str = "none"  # one of AUTH_KINDS
    username: str = ""  # basic auth only
    verify_tls: bool = True
    timeout_s: float = 20.0

    def checked(self) -> PacsSettings:
        """These settings, or PacsError saying what is wrong with them."""
        parsed = urlparse(self.url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise PacsError(
                f"'{self.url}' is not a DICOMweb address (e.g. http://pacs:8042/dicom-web)."
            )
        if self.auth not in AUTH_KINDS:
            raise PacsError(f"Unknown authentication '{self.auth}': use {', '.join(AUTH_KINDS)}.")
        if self.auth == "basic" and not self.username:
            raise PacsError("Basic authentication needs a user name.")
        if not self.timeout_s > 0:
            raise PacsError("The time-out must be a positive number of seconds.")
        return replace(self, url=self.url.strip().rstrip("/"))

    @property
    def secret_key(self) -> str:
        """The keyring entry of this endpoint's password or token."""
        return f"{self.url}|{self.auth}|{self.username}"


def load_settings(folder: Path) -> PacsSettings:
    """The saved settings (defaults where there are none or the file is unreadable)."""
    path = folder / SETTINGS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in raw.items() if k in PacsSettings.__dataclass_fields__}
        return PacsSettings(**known)
    except FileNotFoundError:
        return PacsSettings()
    except (OSError, ValueError, TypeError) as exc:
        log.warning("PACS settings %s unreadable, using defaults: %s", path, exc)
        return PacsSettings()


def save_settings(settings: PacsSettings, folder: Path) -> None:
    """Write the settings (never a secret) atomically."""
    path = folder / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    tmp.replace(path)


def keyring_available() -> bool:
    """True where the system has a keyring a secret can be kept in."""
    import keyring
    from keyring.backends import fail

    try:
        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except Exception:  # a keyring backend that cannot even start
        return False


def load_secret(settings: PacsSettings) -> str:
    """The stored password or token ('' where none is stored or there is no keyring)."""
    if settings.auth == "none" or not keyring_available():
        return ""
    import keyring

    try:
        return keyring.get_password(KEYRING_SERVICE, settings.secret_key) or ""
    except Exception as exc:  # a locked or broken keyring: ask for the secret again
        log.warning("keyring unreadable: %s", exc)
        return ""


def store_secret(settings: PacsSettings, secret: str) -> bool:
    """Keep the secret in the system keyring; False where there is none (then it lasts only
    as long as the program holds it: it is never written to a file)."""
    if settings.auth == "none" or not keyring_available():
        return False
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, settings.secret_key, secret)
    except Exception as exc:  # a locked or broken keyring: the secret lasts this session
        log.warning("keyring refused the secret: %s", exc)
        return False
    return True


class _WildcardSession(requests.Session):
    """Sends QIDO-RS wildcards as '*', not '%2A': Orthanc 1.10's DICOMweb plugin does not
    decode it (a name search for '*doe*' found nothing); '*' is a legal query character
    (RFC 3986 sub-delims), so every server reads it the same."""

    def send(self, request, **kwargs):
        if request.url and "%2A" in request.url:
            request.url = request.url.replace("%2A", "*")
        return super().send(request, **kwargs)


def open_client(settings: PacsSettings, secret: str = "") -> DICOMwebClient:
    """A DICOMweb client for these settings (nothing is sent yet)."""
    settings = settings.checked()
    session = _WildcardSession()
    session.verify = settings.verify_tls
    headers = {}
    if settings.auth == "basic":
        session.auth = (settings.username, secret)
    elif settings.auth == "bearer":
        headers["Authorization"] = f"Bearer {secret}"
    client = DICOMwebClient(
        settings.url, session=session, headers=headers, timeout=settings.timeout_s
    )
    # dicomweb-client retries any failed request 5 times with exponential back-off by
    # default: half a minute before a PACS that is down is reported. One quick second try
    # covers a dropped connection; the user (or the outbox) retries the rest.
    client.set_http_retry_params(max_attempts=RETRY_ATTEMPTS, wait_exponential_multiplier=200)
    return client


@contextmanager
def talking_to(url: str, doing: str) -> Iterator[None]:
    """Turn what the network and the PACS can throw into one sentence (PacsUnreachableError)."""
    try:
        yield
    except requests.exceptions.Timeout:
        raise PacsUnreachableError(
            f"The PACS at {url} did not answer in time while {doing}; try again later."
        ) from None
    except requests.exceptions.SSLError:
        raise PacsUnreachableError(
            f"The PACS at {url} has a certificate this computer does not trust."
        ) from None
    except requests.exceptions.ConnectionError:
        raise PacsUnreachableError(
            f"The PACS at {url} cannot be reached (is it running, is the address right?)."
        ) from None
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        hint = " (check the user name and password)" if code in (401, 403) else ""
        raise PacsUnreachableError(
            f"The PACS at {url} refused {doing} with HTTP {code}{hint}."
        ) from None
    except requests.exceptions.RequestException as exc:
        raise PacsUnreachableError(f"Talking to the PACS at {url} failed: {exc}.") from None


def check_connection(client: DICOMwebClient) -> str:
    """Ask the PACS for one study; a one-line answer for the settings dialog."""
    with talking_to(client.base_url, "a test query"):
        client.search_for_studies(limit=1)
    return f"Connected to {client.base_url}."
