"""A stand-in for systemd's notification socket, for tests.

``FakeNotifySocket`` binds an AF_UNIX datagram socket (a short file path in a fresh
temporary folder, or a Linux abstract name) and collects every datagram on a background
thread. Point ``NOTIFY_SOCKET`` at ``.path`` (in ``os.environ``, or in a child process's
``env=``) and read what arrived::

    with FakeNotifySocket() as sock:
        proc = subprocess.Popen([...], env={**os.environ, **sock.env()})
        sock.wait_for("READY=1", timeout=10)
        proc.send_signal(signal.SIGHUP)
        sock.wait_for("READY=1", timeout=10, count=2)   # ready again after the reload
        assert any(m.startswith("RELOADING=1") for m in sock.messages())
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from types import TracebackType

from fakes import patient

__all__ = ["FakeNotifySocket"]


class FakeNotifySocket:
    """A bound datagram socket that records what a process sends to ``NOTIFY_SOCKET``."""

    def __init__(self, *, abstract: bool = False) -> None:
        """Bind now: a path socket in a new temporary folder, or an abstract socket."""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._dir: str | None = None
        if abstract:
            name = f"reminder-test-{uuid.uuid4().hex}"
            self._sock.bind("\0" + name)
            self.path = "@" + name
        else:
            # Not pytest's tmp_path: a socket path must stay under 108 bytes.
            self._dir = tempfile.mkdtemp(prefix="sdnotify-")
            self.path = os.path.join(self._dir, "notify.sock")
            self._sock.bind(self.path)
        self._sock.settimeout(0.05)
        self._messages: list[str] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="fake-notify", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self._messages.append(data.decode("utf-8", errors="replace"))
                self._cond.notify_all()

    def env(self) -> dict[str, str]:
        """The environment entry that points a process at this socket."""
        return {"NOTIFY_SOCKET": self.path}

    def messages(self) -> list[str]:
        """Every datagram received so far, decoded, oldest first ("READY=1\\nSTATUS=…")."""
        with self._cond:
            return list(self._messages)

    def lines(self) -> list[str]:
        """Every KEY=VALUE line received so far, across datagrams, oldest first."""
        return [line for message in self.messages() for line in message.split("\n")]

    def clear(self) -> None:
        """Forget what was received so far."""
        with self._cond:
            self._messages.clear()

    def wait_for(self, text: str, timeout: float = 5.0, *, count: int = 1) -> str:
        """Wait until ``count`` datagrams contain ``text``; return the ``count``-th of them.

        Raises TimeoutError, listing what did arrive, if that takes longer than ``timeout``.
        """
        deadline = time.monotonic() + patient(timeout)
        with self._cond:
            while True:
                hits = [m for m in self._messages if text in m]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{text!r} x{count} not received within {patient(timeout):g}s at {self.path}; "
                        f"received: {self._messages!r}"
                    )
                self._cond.wait(left)

    def close(self) -> None:
        """Stop receiving, close the socket and remove its folder."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> FakeNotifySocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
