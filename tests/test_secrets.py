"""reminder.secrets: credential > environment > file, newline handling, errors without values."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reminder import logs
from reminder.secrets import SecretError, read_secret

ENV = "REMINDER_TEST_SMTP_PASSWORD"
CREDENTIAL = "smtp_password"


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No credential directory or variable from the host, and an empty redaction registry."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(logs, "_secrets", set())
    yield


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A credentials directory (exported as CREDENTIALS_DIRECTORY) and a secret file path."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    secret_file = tmp_path / "smtp_password"
    return {"credential": creds / CREDENTIAL, "file": secret_file}


def read(file: Path | None) -> str | None:
    """read_secret with this test module's names."""
    return read_secret(env=ENV, file=file, credential=CREDENTIAL)


def test_credential_wins_over_env_and_file(
    sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With all three present, the systemd credential is used."""
    sources["credential"].write_text("from-credential\n")
    monkeypatch.setenv(ENV, "from-env")
    sources["file"].write_text("from-file\n")
    assert read(sources["file"]) == "from-credential"


def test_env_wins_over_file(sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a credential file, the environment variable beats the secret file."""
    monkeypatch.setenv(ENV, "from-env")
    sources["file"].write_text("from-file\n")
    assert read(sources["file"]) == "from-env"


def test_file_is_the_last_resort(sources: dict[str, Path]) -> None:
    """Without a credential or variable, the secret file is read."""
    sources["file"].write_text("from-file\n")
    assert read(sources["file"]) == "from-file"


def test_empty_credential_falls_through(
    sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty credential (the unit's SetCredential= default) counts as absent."""
    sources["credential"].write_text("")
    monkeypatch.setenv(ENV, "from-env")
    assert read(None) == "from-env"


def test_nothing_configured_gives_none() -> None:
    """No credential directory, an unset variable and no file: None, no error."""
    assert read_secret(env=ENV, file=None, credential=CREDENTIAL) is None
    assert read_secret(env=None, file=None, credential=None) is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("mật-khẩu\n", "mật-khẩu"),
        ("mật-khẩu\r\n", "mật-khẩu"),
        ("mật-khẩu\n\n", "mật-khẩu\n"),
        ("  spaced  \n", "  spaced  "),
        ("no-newline", "no-newline"),
    ],
)
def test_one_trailing_newline_is_stripped(
    sources: dict[str, Path], content: str, expected: str
) -> None:
    """Exactly one trailing newline (LF or CRLF) is removed; other whitespace is kept."""
    sources["credential"].write_text(content, encoding="utf-8", newline="")
    sources["file"].write_text(content, encoding="utf-8", newline="")
    assert read(None) == expected
    os.unlink(sources["credential"])
    assert read(sources["file"]) == expected


def test_unreadable_file_raises_secret_error_without_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret file that cannot be read gives SecretError naming the file and the reason."""
    secret_file = tmp_path / "smtp_password"
    secret_file.write_text("hunter2\n")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # Patched rather than chmod 000: the tests may run as root, who reads any file.
    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(SecretError) as caught:
        read(secret_file)
    assert str(caught.value) == f"cannot read secret file {secret_file}: Permission denied"
    assert caught.value.__cause__ is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a mode-000 file")
def test_mode_000_file_raises_secret_error(tmp_path: Path) -> None:
    """A real mode-000 secret file gives SecretError "…: Permission denied" (non-root only)."""
    secret_file = tmp_path / "smtp_password"
    secret_file.write_text("hunter2\n")
    secret_file.chmod(0)
    with pytest.raises(SecretError, match="Permission denied"):
        read(secret_file)


def test_missing_file_raises_secret_error(tmp_path: Path) -> None:
    """A configured secret file that does not exist is an error naming the path."""
    missing = tmp_path / "nope"
    with pytest.raises(SecretError, match=f"cannot read secret file {missing}: No such file"):
        read(missing)


def test_non_utf8_file_error_does_not_quote_the_bytes(tmp_path: Path) -> None:
    """A secret file that is not UTF-8 gives SecretError with no byte of it, and no cause."""
    secret_file = tmp_path / "smtp_password"
    secret_file.write_bytes(b"hunter\xff2")
    with pytest.raises(SecretError) as caught:
        read(secret_file)
    assert str(caught.value) == f"cannot read secret file {secret_file}: not UTF-8 text"
    assert caught.value.__cause__ is None and caught.value.__context__ is not None
    assert "hunter" not in str(caught.value) and "xff" not in str(caught.value)


def test_unreadable_credential_raises_secret_error(
    sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A credential that exists but cannot be read is an error, not a silent fall-through."""
    sources["credential"].mkdir()  # a directory where the file should be: EISDIR
    monkeypatch.setenv(ENV, "from-env")
    with pytest.raises(
        SecretError, match=f"cannot read systemd credential {sources['credential']}"
    ):
        read(None)


def test_file_readable_by_others_is_warned_about(
    sources: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A secret file with group/other permissions logs a warning telling ops to chmod 600."""
    sources["file"].write_text("from-file\n")
    sources["file"].chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="reminder.secrets"):
        assert read(sources["file"]) == "from-file"
    assert "mode 0644" in caplog.text and "chmod 600" in caplog.text
    assert "from-file" not in caplog.text


@pytest.mark.parametrize("source", ["credential", "env", "file"])
def test_value_is_registered_for_redaction(
    sources: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
) -> None:
    """Whichever source it came from, the secret is then written as *** in the logs."""
    value = f"token-{source}-Đ"
    if source == "env":
        monkeypatch.setenv(ENV, value)
    else:
        sources[source].write_text(value + "\n")
        sources[source].chmod(0o600)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in logs.NOISY_LOGGERS}
    try:
        logs.setup_logging("INFO", journal=True)
        assert read(sources["file"]) == value
        logging.getLogger("reminder.test").info("got %s", value)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)
    assert capsys.readouterr().err == "<6>reminder.test: got ***\n"


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize("name", ["../etc/shadow", ".", ".."])
def test_bad_credential_name_is_refused(name: str) -> None:
    """A credential name that is not a plain file name is a programming error (ValueError)."""
    with pytest.raises(ValueError, match="credential name"):
        read_secret(env=None, file=None, credential=name)
