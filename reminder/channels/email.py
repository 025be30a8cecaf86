"""Email over SMTP (aiosmtplib): one connection per dispatch cycle, errors mapped to ChannelError.

`build_email` turns a rendered `Message` into an RFC 5322 message; the outbox uses it too, so
an `.eml` file is exactly what would have gone over the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import functools
import logging
import ssl
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email import headerregistry
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, formataddr, formatdate, make_msgid, parseaddr
from typing import Any

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender

from reminder.channels.base import ChannelError, Receipt
from reminder.model import Message, SmtpSettings

log = logging.getLogger(__name__)

# Headers build_email sets itself; message.headers may not replace these.
_RESERVED = frozenset({"mime-version", "content-type", "content-transfer-encoding"})


# Python 3.11's header folder can move the space between two words outside the RFC 2047
# encoded-words it splits a long header into, and decoders then drop it ("thực hiện" arrives
# as "thựchiện"). Non-ASCII unstructured and address headers are therefore encoded with
# email.header.Header, which keeps every space inside an encoded-word. ASCII headers, and
# SMTPUTF8 output (policy.utf8), keep the standard folding.


def _encode_words(text: str, name: str, policy: Policy) -> str:
    maxlen = policy.max_line_length or 78
    return Header(text, "utf-8", maxlinelen=maxlen, header_name=name).encode(linesep=policy.linesep)


class _Unstructured(headerregistry.UnstructuredHeader, headerregistry.BaseHeader):
    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if value.isascii() or getattr(policy, "utf8", False):
            return super().fold(policy=policy)
        return f"{self.name}: {_encode_words(value, self.name, policy)}{policy.linesep}"


class _UniqueUnstructured(_Unstructured):
    max_count = 1


class _Address(headerregistry.AddressHeader, headerregistry.BaseHeader):  # type: ignore[misc]
    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        named_group = any(g.display_name is not None for g in self.groups)
        if value.isascii() or named_group or getattr(policy, "utf8", False):
            return super().fold(policy=policy)
        items = []
        for a in self.addresses:
            if a.display_name and not a.display_name.isascii():
                words = _encode_words(a.display_name, self.name, policy)
                last = words.rsplit(policy.linesep, 1)[-1]
                fits = len(last) + len(a.addr_spec) + 3 <= (policy.max_line_length or 78)
                items.append(f"{words}{' ' if fits else policy.linesep + ' '}<{a.addr_spec}>")
            else:
                items.append(formataddr((a.display_name, a.addr_spec)))
        return f"{self.name}: {(',' + policy.linesep + ' ').join(items)}{policy.linesep}"


class _UniqueAddress(_Address):
    max_count = 1


class _FoldOnce:
    """First base of every header class of the registry below: keeps the header's folded
    form per (line length, line end, utf8). Folding (and RFC 2047-encoding a Vietnamese
    subject or name) is most of the cost of flattening a message, and header objects are
    immutable and shared between messages (From, Reply-To, the MIME headers, a digest's
    subject), so each is folded once per policy."""

    def fold(self, *, policy: Policy) -> str:
        key = (policy.max_line_length, policy.linesep, getattr(policy, "utf8", False))
        cache: dict[tuple[object, ...], str] = self.__dict__.setdefault("_folded", {})
        folded = cache.get(key)
        if folded is None:
            folded = cache[key] = super().fold(policy=policy)  # type: ignore[misc]
        return folded


class _ParseOnce(headerregistry.HeaderRegistry):
    """A HeaderRegistry that parses each (name, value) once.

    Parsing headers is most of the cost of building a message (`msg[name] = value` and
    set_content parse every value), and most values repeat from one message to the next
    (From, Reply-To, the MIME headers). Header objects are immutable, so they are shared;
    the cache is small because each one keeps its parse tree.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsed = functools.lru_cache(maxsize=256)(super().__call__)
        self._classes: dict[str, type[Any]] = {}

    def __getitem__(self, name: str) -> type[Any]:
        # The standard registry makes a new class at every call (~25 µs; a dozen calls a
        # message); one class per header name does the same.
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            cls = self.registry.get(key, self.default_class)
            made = type("_" + cls.__name__, (_FoldOnce, cls, self.base_class), {})
            self._classes[key] = made
        return made

    def map_to_type(self, name: str, cls: type[Any]) -> None:
        super().map_to_type(name, cls)
        self._classes.pop(name.lower(), None)

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            return self._parsed(name, value)
        return super().__call__(name, value)


_HEADERS = _ParseOnce(default_class=_Unstructured)
_HEADERS.map_to_type("subject", _UniqueUnstructured)
for _name in ("from", "to", "cc", "bcc", "reply-to"):
    _HEADERS.map_to_type(_name, _UniqueAddress)
_POLICY = email.policy.default.clone(header_factory=_HEADERS)


def _one_line(value: str) -> str:
    """NFC, with line breaks (header injection) folded into single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def build_email(
    message: Message, sender: str, reply_to: str | None, now: datetime | None = None
) -> EmailMessage:
    """The email for `message`: UTF-8, multipart/alternative when it has an HTML part.

    Subject, From and To are RFC 2047-encoded when flattened (SMTPUTF8 is not assumed).
    Text is NFC-normalised. Date is `now` (timezone-aware) or the current time. Message-ID is
    `message.message_id` (one is made up if it is missing). `message.headers` are added last
    and replace a header of the same name, except the MIME structure headers.
    Built with email.policy.default; flatten it with email.policy.SMTP (CRLF), as aiosmtplib
    and the outbox do. Raises ValueError for a naive `now` or a header that cannot be set.
    """
    if now is not None and now.utcoffset() is None:
        raise ValueError("build_email needs a timezone-aware `now`")
    msg = EmailMessage(policy=_POLICY)  # flatten with email.policy.SMTP
    msg["Subject"] = _one_line(message.subject)
    msg["From"] = _one_line(sender)
    msg["To"] = _one_line(message.address)
    msg["Date"] = format_datetime(now) if now is not None else formatdate(localtime=True)
    msg["Message-ID"] = _message_id(message.message_id, sender)
    if reply_to:
        msg["Reply-To"] = _one_line(reply_to)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office loops
    for name, value in message.headers.items():
        if name.lower() in _RESERVED:
            raise ValueError(f"header {name!r} is set by build_email")
        del msg[name]
        msg[name] = _one_line(value)

    msg.set_content(unicodedata.normalize("NFC", message.text), charset="utf-8")
    if message.html:
        msg.add_alternative(unicodedata.normalize("NFC", message.html), subtype="html")
        for part in msg.iter_parts():
            del part["MIME-Version"]  # add_alternative copies it into the parts
    return msg


def flatten(msg: EmailMessage) -> bytes:
    """The bytes of `msg` as they go on the wire: what aiosmtplib's send_message writes
    after DATA (CRLF line ends, RFC 2047 headers; the bodies are base64) and the outbox's
    `.eml` holds."""
    return msg.as_bytes(policy=email.policy.SMTP)


@dataclass(frozen=True, slots=True)
class _Ready:
    """A message's envelope and bytes as aiosmtplib's send_message makes them for a server
    with 8BITMIME and ASCII addresses: flatten() is send_message's flattening then."""

    sender: str
    recipients: list[str]
    data: bytes

    @classmethod
    def of(cls, msg: EmailMessage) -> _Ready | None:
        """None when the addresses need SMTPUTF8 (send_message flattens differently)."""
        sender, recipients = extract_sender(msg), extract_recipients(msg)
        if sender is None or not recipients:
            return None
        if not (sender + "".join(recipients)).isascii() or msg["Bcc"] is not None:
            return None
        return cls(sender, recipients, flatten(msg))


def _message_id(message_id: str | None, sender: str) -> str:
    if not message_id:
        domain = parseaddr(sender)[1].rpartition("@")[2] or None
        return make_msgid(domain=domain)
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _is_permanent_code(code: int) -> bool:
    return 500 <= code <= 599


class EmailChannel:
    """Sends `Message`s over one SMTP connection, open until close() (the dispatcher closes
    it at the end of each cycle).

    Security from `settings.security`: "plain", "starttls" (required, not opportunistic) or
    "tls" (implicit). Certificates are always verified; `settings.ca_file` adds a CA to the
    system ones. A dropped connection is re-opened once per message.
    """

    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        if settings.security not in ("plain", "starttls", "tls"):
            raise ValueError(f"unknown SMTP security {settings.security!r}")
        self._settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self._where = f"{settings.host}:{settings.port}"

    def __repr__(self) -> str:
        return f"EmailChannel({self._where}, security={self._settings.security})"

    async def open(self) -> None:
        """Connect and log in (when a username is set)."""
        async with self._lock:
            await self._connect()

    async def send(self, message: Message) -> Receipt:
        """Send one message on the open connection (connecting first if needed)."""
        s = self._settings
        try:
            msg = build_email(message, s.sender, s.reply_to)
        except (ValueError, TypeError) as exc:
            raise ChannelError(
                f"email to {message.address}: cannot build the message: {exc}", permanent=True
            ) from None
        # Flattened before taking the connection, so that the server is not kept waiting
        # while a message is turned into bytes (the other sender does it meanwhile).
        ready = _Ready.of(msg)
        async with self._lock:
            errors, reply = await self._transmit(msg, ready, message.address)
        if errors:
            refused = "; ".join(f"{rcpt}: {r.code} {r.message}" for rcpt, r in errors.items())
            raise ChannelError(
                f"SMTP {self._where} refused recipient(s) {refused} (others accepted)",
                permanent=True,
            )
        log.debug("SMTP %s accepted %s for %s", self._where, msg["Message-ID"], message.address)
        return Receipt(note=f"SMTP {self._where}: {self._safe(reply)}")

    async def close(self) -> None:
        """QUIT and close. Never raises."""
        smtp, self._smtp = self._smtp, None
        self._lock = asyncio.Lock()  # the next batch may run in another event loop
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit(timeout=min(self._settings.timeout, 5.0))
        except Exception as exc:
            log.debug("SMTP %s: QUIT failed: %s", self._where, type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                smtp.close()

    # -- internals -------------------------------------------------------------------------

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        self._drop()
        s = self._settings
        if s.username and s.password is None:
            raise ChannelError(
                f"SMTP {self._where}: a username is set but no password", permanent=True
            )
        context = ssl.create_default_context()
        if s.ca_file is not None:
            try:
                context.load_verify_locations(cafile=str(s.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ChannelError(
                    f"SMTP {self._where}: cannot load CA file {s.ca_file}: {exc}", permanent=True
                ) from None
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username or None,
            password=s.password if s.username else None,
            local_hostname=s.local_hostname,
            timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            validate_certs=True,
            tls_context=context if s.security != "plain" else None,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError, TimeoutError) as exc:
            smtp.close()
            raise self._error(exc, "connecting") from None
        log.debug("SMTP %s connected (%s)", self._where, s.security)
        self._smtp = smtp
        return smtp

    async def _transmit(
        self, msg: EmailMessage, ready: _Ready | None, address: str
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        """send_message, reconnecting once if the server dropped the connection; `ready`'s
        bytes when the server takes 8BITMIME (what send_message would flatten then)."""
        doing = f"sending to {address}"
        for attempt in (1, 2):
            smtp = await self._connect()
            try:
                if ready is not None and smtp.supports_extension("8BITMIME"):
                    return await smtp.sendmail(
                        ready.sender, ready.recipients, ready.data, mail_options=["BODY=8BITMIME"]
                    )
                return await smtp.send_message(msg)
            except aiosmtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 1:
                    log.info("SMTP %s dropped the connection; reconnecting", self._where)
                    continue
                raise self._error(exc, doing) from None
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
                # A reply from the server: the connection is still usable (aiosmtplib sent RSET).
                raise self._error(exc, doing) from None
            except ValueError as exc:  # an address aiosmtplib will not put on the wire
                raise ChannelError(f"SMTP {self._where} {doing}: {exc}", permanent=True) from None
            except (aiosmtplib.SMTPException, ssl.SSLError, OSError, TimeoutError) as exc:
                self._drop()  # state unknown: start over on the next send
                raise self._error(exc, doing) from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        """Forget the current connection without talking to the server."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()

    def _safe(self, text: object) -> str:
        out = str(text)
        password = self._settings.password
        if password:
            out = out.replace(password, "***")
        return out

    def _error(self, exc: BaseException, doing: str) -> ChannelError:
        """Map an aiosmtplib / ssl / OS error to a ChannelError that names host:port."""
        where = f"SMTP {self._where}"
        permanent = False
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            text = f"{where} refused recipient(s) {detail}"
            permanent = bool(codes) and all(_is_permanent_code(c) for c in codes)
        elif isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            user = self._settings.username
            text = f"{where} refused the login for {user}: {exc.code} {exc.message}"
            # Not permanent, whatever the code: the password is ops' to fix, and giving up
            # would lose every reminder of the batch. Dispatch retries with backoff.
            permanent = False
        elif isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code > 0:
            text = f"{where} {doing}: {exc.code} {exc.message}"
            permanent = _is_permanent_code(exc.code)
        elif isinstance(exc, aiosmtplib.SMTPNotSupported):
            text = f"{where} {doing}: not supported by the server: {exc}"
            permanent = True
        elif isinstance(exc, ssl.SSLError):
            text = f"{where} {doing}: TLS error: {exc}"
        elif isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            text = f"{where} {doing}: timed out ({type(exc).__name__}: {exc})"
        elif isinstance(exc, aiosmtplib.SMTPException | OSError):
            text = f"{where} {doing}: {type(exc).__name__}: {exc}"
        else:
            text = f"{where} {doing}: {type(exc).__name__}"
        return ChannelError(self._safe(text), permanent=permanent)
