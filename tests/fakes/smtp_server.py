"""A real SMTP server for tests: aiosmtpd's threaded Controller on 127.0.0.1.

It captures every message (envelope and parsed email), and can be told to use STARTTLS or
implicit TLS with a throwaway trustme CA, to require AUTH for one user, to refuse chosen
recipients with 550 or answer 451 for others, and to stop and start again on the same port
(the server going away mid-batch). It runs in its own thread, so async tests, sync tests and
tests that drive another process can all use it: `host`, `port` and `ca_pem` say how to reach
and trust it.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fakes import patient

Security = Literal["plain", "starttls", "tls"]


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes  # as it came over the wire (after DATA, dot-unstuffed)
    message: EmailMessage  # parsed with email.policy.default: headers come back decoded
    peer: tuple[str, int]  # the client's address: one value per connection


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, server: FakeSMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        fake = self.server
        if address.lower() in fake.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.lower() in fake.tempfail:
            return f"451 4.3.0 <{address}>: Temporary local problem, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        # Parse with LF line ends, as a mailbox would store it (8bit bodies keep CRLF otherwise).
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.server._lock:
            self.server.messages.append(
                Received(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    raw,
                    parsed,
                    tuple(session.peer[:2]),
                )
            )
        return "250 2.0.0 OK: queued"


class FakeSMTPServer:
    """An SMTP server on 127.0.0.1 that records what it receives.

    security: "plain", "starttls" (STARTTLS offered and required) or "tls" (implicit TLS).
    auth: (user, password) to require AUTH for exactly that pair; other pairs get 535.
    refuse / tempfail: recipients answered 550 / 451 at RCPT (sets, editable at any time).
    smtputf8: advertise SMTPUTF8 (off by default, like many real servers).
    Use as a context manager, or call start() and close().
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        security: Security = "plain",
        auth: tuple[str, str] | None = None,
        refuse: set[str] | None = None,
        tempfail: set[str] | None = None,
        smtputf8: bool = False,
        port: int | None = None,
    ) -> None:
        self.security = security
        self.auth = auth
        self.refuse = {a.lower() for a in refuse or ()}
        self.tempfail = {a.lower() for a in tempfail or ()}
        self.smtputf8 = smtputf8
        self.port = port or free_port(self.host)
        self.messages: list[Received] = []
        self.logins: list[tuple[str, bool]] = []  # (user, accepted); never the password
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="fake-smtp-"))
        self.ca_pem: Path | None = None
        self._server_ctx: ssl.SSLContext | None = None
        if security != "plain":
            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            self._server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(self._server_ctx)
            self.ca_pem = self._dir / "ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_pem))

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeSMTPServer:
        """Listen (again) on the same port."""
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": "fake-smtp.test",  # no getfqdn() / DNS
            "enable_SMTPUTF8": self.smtputf8,
            "ready_timeout": patient(5.0),
        }
        if self.security == "starttls":
            kwargs.update(tls_context=self._server_ctx, require_starttls=True)
        elif self.security == "tls":
            kwargs.update(ssl_context=self._server_ctx, auth_require_tls=False)
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
            if self.security == "plain":
                kwargs.update(auth_require_tls=False)
        controller = Controller(_Handler(self), **kwargs)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection (the server went away)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def close(self) -> None:
        """Stop and remove the certificate files."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> FakeSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._controller is not None

    # -- behaviour --------------------------------------------------------------------------

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.auth is None:
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = (user, password) == self.auth
        with self._lock:
            self.logins.append((user, ok))
        # handled=False: let aiosmtpd answer 535; handled=True would send no reply at all.
        return AuthResult(success=ok, handled=False)

    def received_for(self, address: str) -> list[Received]:
        """The messages whose envelope included `address`."""
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]
