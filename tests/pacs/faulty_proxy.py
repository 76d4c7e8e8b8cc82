"""A TCP proxy in front of the real Orthanc that misbehaves on request: a network that
drops connections, stalls, or cuts a series transfer half way (the PACS itself is real)."""

from __future__ import annotations

import re
import socket
import threading
from contextlib import suppress

PASS, REFUSE, STALL, CUT_SERIES = "pass", "refuse", "stall", "cut-series"
# WADO-RS of a whole series: .../studies/UID/series/UID, nothing after it.
_SERIES_GET = re.compile(rb"GET [^ ]*/studies/[0-9.]+/series/[0-9.]+ HTTP")


class FaultyProxy:
    """Listens on 127.0.0.1:port and forwards to target_port in the current mode."""

    def __init__(self, target_port: int, cut_after_bytes: int = 40_000) -> None:
        self.target_port = target_port
        self.cut_after = cut_after_bytes
        self.mode = PASS
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/dicom-web") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self.mode == REFUSE:
                client.close()
            elif self.mode == STALL:
                continue  # keep it open, never answer
            else:
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(("127.0.0.1", self.target_port))
        self._sockets.append(server)
        series_request = threading.Event()
        threading.Thread(
            target=self._pipe, args=(client, server, series_request, False), daemon=True
        ).start()
        self._pipe(server, client, series_request, True)

    def _pipe(self, source, sink, series_request: threading.Event, answers: bool) -> None:
        sent = 0
        with suppress(OSError):
            while chunk := source.recv(65536):
                if not answers and _SERIES_GET.search(chunk):
                    series_request.set()
                if answers and self.mode == CUT_SERIES and series_request.is_set():
                    if sent + len(chunk) > self.cut_after:
                        sink.sendall(chunk[: max(0, self.cut_after - sent)])
                        break
                    sent += len(chunk)
                sink.sendall(chunk)
        for s in (source, sink):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                s.close()

    def close(self) -> None:
        self._closing.set()
        with suppress(OSError):
            self._server.close()
        for s in self._sockets:
            with suppress(OSError):
                s.close()
