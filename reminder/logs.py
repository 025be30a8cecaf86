"""Logging to stderr, one event a line, in the shape journald or a terminal wants.

Under systemd (stderr is the journal stream, or ``journal=True``) each line starts with the
syslog priority, ``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug (``<2>`` for
critical), and carries no timestamp: journald adds its own and files the line at that
priority (``journalctl -p warning``). Elsewhere a line reads::

    2026-03-31 08:00:02+07:00 INFO reminder.dispatch: sent nv01/ke-hoach to so-noi-vu

with the time in Asia/Ho_Chi_Minh whatever the server's own time zone is.

A message is kept on one line (a CR or LF inside it is written as ``\\n``), so a task title
cannot forge a log line; a traceback, when there is one, follows on continuation lines that
carry the same priority prefix under journald.

Secrets never belong in a log. As a second line of defence, every value passed to
``register_secret`` (``reminder.secrets`` registers what it reads) is replaced by ``***``
wherever it appears in a message, its arguments or a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import threading
import unicodedata
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["SecretRedactor", "register_secret", "setup_logging"]

REDACTED = "***"

# Libraries that log routine chatter at INFO: shown only when the level is DEBUG.
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "alembic", "aiosmtplib", "telegram")

try:
    LOCAL_TZ: dt.tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except ZoneInfoNotFoundError:  # no tz database on the host: Vietnam has kept UTC+7 since 1975
    LOCAL_TZ = dt.timezone(dt.timedelta(hours=7), "+07")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Redact ``value`` from every log record from now on (empty values are ignored)."""
    if not value:
        return
    with _secrets_lock:
        _secrets.add(value)
        _secrets.add(unicodedata.normalize("NFC", value))


def _registered() -> list[str]:
    """The registered secrets, longest first (so a secret containing another goes whole)."""
    with _secrets_lock:
        return sorted(_secrets, key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class SecretRedactor(logging.Filter):
    """Replaces registered secrets in a record's message, arguments and traceback by ***.

    The message is rendered (``msg % args``) and redacted as a whole, so a secret is caught
    however it arrives: in the format string, in an argument, or inside an argument's repr.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _registered()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it, but redact it
            record.msg = _redact(str(record.msg), secrets)
            if isinstance(record.args, tuple):
                record.args = tuple(
                    _redact(a, secrets) if isinstance(a, str) else a for a in record.args
                )
        else:
            record.msg = _redact(message, secrets)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = _redact(record.stack_info, secrets)
        return True


def _priority(levelno: int) -> int:
    """The syslog priority of a logging level (sd-daemon(3) prefixes)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class _OneLineFormatter(logging.Formatter):
    """The message on one line (NFC), then the traceback lines, if any."""

    def __init__(self, *, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\r\n", "\n")
        message = message.replace("\r", "\\r").replace("\n", "\\n")
        if self.journal:
            prefix = f"<{_priority(record.levelno)}>"
            head = f"{prefix}{record.name}: {message}"
        else:
            prefix = ""
            when = dt.datetime.fromtimestamp(record.created, LOCAL_TZ)
            stamp = when.isoformat(sep=" ", timespec="seconds")
            head = f"{stamp} {record.levelname} {record.name}: {message}"
        lines = [head]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            lines.extend(prefix + line for line in record.exc_text.splitlines())
        if record.stack_info:
            stack = self.formatStack(record.stack_info)
            lines.extend(prefix + line for line in stack.splitlines())
        return unicodedata.normalize("NFC", "\n".join(lines))


class _ReminderHandler(logging.StreamHandler[TextIO]):
    """The one handler ``setup_logging`` installs (recognised, and replaced, on a second call)."""


def _stderr_is_journal() -> bool:
    """True when stderr is connected to journald (``$JOURNAL_STREAM`` names it).

    systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected; a child whose
    stderr was redirected elsewhere inherits the variable, so it is checked against stderr
    when stderr is a real file descriptor.
    """
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):  # replaced by a non-file stream: trust it
        return True
    return expected == f"{st.st_dev}:{st.st_ino}"


def _utf8_stderr() -> None:
    """Make stderr write UTF-8 whatever the locale (C/POSIX under systemd is ASCII)."""
    reconfigure = getattr(sys.stderr, "reconfigure", None)
    if reconfigure is None:
        return
    with contextlib.suppress(ValueError, OSError, TypeError):
        reconfigure(encoding="utf-8", errors="backslashreplace")


def setup_logging(level: str = "INFO", *, journal: bool | None = None) -> None:
    """Send the process's logs to stderr at ``level`` (DEBUG, INFO, WARNING, ERROR).

    ``journal=None`` detects journald from ``$JOURNAL_STREAM``. Calling it again replaces
    the handler it installed before (new level or format), never adds a second one.
    """
    numeric = logging.getLevelName(level.strip().upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    if journal is None:
        journal = _stderr_is_journal()
    _utf8_stderr()

    handler = _ReminderHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter(journal=journal))
    handler.addFilter(SecretRedactor())

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ReminderHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)

    quiet = logging.NOTSET if numeric <= logging.DEBUG else logging.WARNING
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
