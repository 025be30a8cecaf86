"""Secrets (the SMTP password, the Telegram bot token): where they are read from.

A secret is looked for, in this order:

1. the systemd credential ``$CREDENTIALS_DIRECTORY/<credential>`` (``LoadCredential=`` in
   the unit: systemd copies a root-only file into a private, read-only place);
2. the environment variable ``env``;
3. the file ``file``.

An empty value counts as absent at every step (the shipped unit declares an empty
``SetCredential=`` default so that a credential file ops have not created does not stop the
service from starting). One trailing newline, as editors leave it, is removed; anything
else is kept as it is.

A secret never comes from a value in config.toml, never appears in an error message, and
is registered with ``reminder.logs.register_secret`` so that it is redacted from the logs
should it ever reach them.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from reminder.logs import register_secret

__all__ = ["SecretError", "read_secret"]

log = logging.getLogger(__name__)


class SecretError(Exception):
    """A secret was configured but cannot be read. The message names where, never the value."""


def _strip_newline(value: str) -> str:
    """Remove one trailing newline (LF or CRLF)."""
    if value.endswith("\r\n"):
        return value[:-2]
    if value.endswith("\n"):
        return value[:-1]
    return value


def _read_file(path: Path, what: str, *, missing_ok: bool = False) -> str:
    """The text of a secret file, or SecretError naming the file and the OS reason.

    With ``missing_ok`` a file that does not exist reads as "".
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise SecretError(f"cannot read {what} {path}: No such file or directory") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretError(f"cannot read {what} {path}: {reason}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # `from None`: the decode error would quote bytes of the secret.
        raise SecretError(f"cannot read {what} {path}: not UTF-8 text") from None


def _warn_if_shared(path: Path) -> None:
    """Log a warning when a secret file can be read by other users than its owner."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "secret file %s has mode %04o: other users can read it; run chmod 600 %s",
            path,
            stat.S_IMODE(mode),
            path,
        )


def _from_credential(credential: str) -> str | None:
    directory = os.environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        return None
    if not credential or "/" in credential or credential in (".", ".."):
        raise ValueError(f"invalid systemd credential name {credential!r}")
    path = Path(directory, credential)
    return _strip_newline(_read_file(path, "systemd credential", missing_ok=True))


def _from_env(env: str) -> str | None:
    return _strip_newline(os.environ.get(env, ""))


def _from_file(file: str | Path) -> str:
    path = Path(file)
    value = _strip_newline(_read_file(path, "secret file"))
    _warn_if_shared(path)
    return value


def read_secret(*, env: str | None, file: str | Path | None, credential: str | None) -> str | None:
    """The secret from the systemd credential, else the variable ``env``, else ``file``.

    None when no source is configured or every configured source is empty (a missing
    credential or unset variable counts as empty). A configured ``file`` that cannot be read
    (missing, no permission, not UTF-8) raises SecretError, as does an unreadable credential.
    """
    value: str | None = None
    if credential:
        value = _from_credential(credential)
    if not value and env:
        value = _from_env(env)
    if not value and file is not None and str(file):
        value = _from_file(file)
    if not value:
        return None
    register_secret(value)
    return value
