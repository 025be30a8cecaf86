"""reminder.logs: journald vs terminal format, idempotence, secret redaction, UTF-8 stderr."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reminder import logs

SECRET = "123456:AAF-bí-mật_token"
# 2026-03-31 01:00:02 UTC is 08:00:02 in Vietnam (UTC+7, no daylight saving).
CREATED = dt.datetime(2026, 3, 31, 1, 0, 2, tzinfo=dt.UTC).timestamp()


@pytest.fixture(autouse=True)
def isolated_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give each test a clean root logger and secret registry, and restore them afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in logs.NOISY_LOGGERS}
    monkeypatch.setattr(logs, "_secrets", set())
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    yield
    for handler in root.handlers[:]:
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)
    for name, level in noisy.items():
        logging.getLogger(name).setLevel(level)


class Stderr:
    """What the test wrote to stderr (pytest's capsys, read without consuming it)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.seen = ""

    def getvalue(self) -> str:
        self.seen += self.capsys.readouterr().err
        return self.seen


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Stderr:
    """The captured sys.stderr that setup_logging (called inside the test) writes to."""
    return Stderr(capsys)


def emit(level: int, msg: str, *args: object, name: str = "reminder.test") -> None:
    """Log through the root logger's handlers with a fixed creation time."""
    record = logging.LogRecord(name, level, __file__, 1, msg, args or None, None)
    record.created = CREATED
    logging.getLogger(name).handle(record)


@pytest.fixture
def host_tz_utc() -> Iterator[None]:
    """The process's local time zone set to UTC (TZ=UTC + tzset), restored afterwards."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.usefixtures("host_tz_utc")
def test_terminal_format_is_vietnam_time_whatever_the_host_zone(stderr: Stderr) -> None:
    """Outside journald a line is "YYYY-MM-DD HH:MM:SS+07:00 LEVEL logger: message" under TZ=UTC."""
    assert time.localtime(CREATED).tm_hour == 1  # the host really is on UTC here
    logs.setup_logging("INFO")
    emit(logging.INFO, "đã gửi %s", "nv01/ke-hoach")
    logging.getLogger("reminder.now").warning("bây giờ")
    first, second = stderr.getvalue().splitlines()
    assert first == "2026-03-31 08:00:02+07:00 INFO reminder.test: đã gửi nv01/ke-hoach"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+07:00 WARNING reminder\.now: bây giờ", second
    )


def test_journal_format_has_priority_prefix_and_no_timestamp(stderr: Stderr) -> None:
    """With journal=True each line starts with <7>/<6>/<4>/<3>/<2> and carries no timestamp."""
    logs.setup_logging("DEBUG", journal=True)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        emit(level, "sự kiện")
    assert stderr.getvalue().splitlines() == [
        "<7>reminder.test: sự kiện",
        "<6>reminder.test: sự kiện",
        "<4>reminder.test: sự kiện",
        "<3>reminder.test: sự kiện",
        "<2>reminder.test: sự kiện",
    ]


def test_journal_is_detected_from_journal_stream(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """JOURNAL_STREAM naming stderr's device:inode selects the journal format; another doesn't."""
    with open(tmp_path / "stderr.txt", "w+", encoding="utf-8") as fake_stderr:
        monkeypatch.setattr(sys, "stderr", fake_stderr)
        st = os.fstat(fake_stderr.fileno())

        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        logs.setup_logging("INFO")
        emit(logging.WARNING, "journal")

        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino + 1}")  # inherited
        logs.setup_logging("INFO")
        emit(logging.WARNING, "terminal")

        fake_stderr.flush()
    journal_line, terminal_line = (tmp_path / "stderr.txt").read_text("utf-8").splitlines()
    assert journal_line == "<4>reminder.test: journal"
    assert terminal_line == "2026-03-31 08:00:02+07:00 WARNING reminder.test: terminal"


def test_setup_logging_twice_keeps_one_handler(stderr: Stderr) -> None:
    """A second setup_logging() replaces the first handler: one line per event, new level."""
    logs.setup_logging("INFO", journal=True)
    logs.setup_logging("WARNING", journal=True)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logs._ReminderHandler)]
    assert len(ours) == 1
    emit(logging.WARNING, "một lần")
    logging.getLogger("reminder.test").info("hidden at WARNING")
    assert stderr.getvalue() == "<4>reminder.test: một lần\n"


def test_noisy_libraries_are_quiet_unless_debug(stderr: Stderr) -> None:
    """httpx and apscheduler.executors INFO chatter is dropped at INFO and shown at DEBUG."""
    logs.setup_logging("INFO", journal=True)
    logging.getLogger("apscheduler.executors.default").info("Running job")
    logging.getLogger("httpx").info("HTTP Request: POST")
    logging.getLogger("httpx").warning("kept")
    assert stderr.getvalue() == "<4>httpx: kept\n"

    logs.setup_logging("DEBUG", journal=True)
    logging.getLogger("apscheduler.executors.default").info("Running job")
    assert stderr.getvalue().endswith("<6>apscheduler.executors.default: Running job\n")


def test_registered_secret_is_redacted_from_message_args_and_traceback(
    stderr: Stderr,
) -> None:
    """A registered secret becomes *** whether it is in the message, an argument or a traceback."""
    logs.setup_logging("INFO", journal=True)
    logs.register_secret(SECRET)
    log = logging.getLogger("reminder.test")
    log.info("token=%s", SECRET)
    log.info(f"https://api.telegram.org/bot{SECRET}/sendMessage")
    log.info("settings %r", {"token": SECRET})
    try:
        raise RuntimeError(f"bad token {SECRET}")
    except RuntimeError:
        log.exception("send failed")
    output = stderr.getvalue()
    assert SECRET not in output
    assert "<6>reminder.test: token=***" in output
    assert "<6>reminder.test: https://api.telegram.org/bot***/sendMessage" in output
    assert "<6>reminder.test: settings {'token': '***'}" in output
    assert "<3>RuntimeError: bad token ***" in output


def test_empty_secret_is_not_registered(stderr: Stderr) -> None:
    """register_secret("") is ignored rather than redacting every position of every line."""
    logs.setup_logging("INFO", journal=True)
    logs.register_secret("")
    emit(logging.INFO, "bình thường")
    assert stderr.getvalue() == "<6>reminder.test: bình thường\n"


def test_message_stays_on_one_line(stderr: Stderr) -> None:
    """CR/LF inside a message are escaped, so a title cannot forge a second log line."""
    logs.setup_logging("INFO", journal=True)
    emit(logging.INFO, "tiêu đề %s", "dòng 1\n<3>giả mạo\r\nx")
    assert stderr.getvalue() == "<6>reminder.test: tiêu đề dòng 1\\n<3>giả mạo\\nx\n"


def test_message_is_normalised_to_nfc(stderr: Stderr) -> None:
    """A decomposed Vietnamese message (NFD) is written in composed form (NFC)."""
    logs.setup_logging("INFO", journal=True)
    emit(logging.INFO, "Nha\u0306\u0301c ha\u0323n")  # "Nhắc hạn" as NFD
    assert stderr.getvalue() == "<6>reminder.test: Nhắc hạn\n"


def test_stderr_is_reconfigured_to_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ASCII stderr (C locale under systemd) is switched to UTF-8, not left to crash."""
    raw = io.BytesIO()
    ascii_stderr = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    monkeypatch.setattr(sys, "stderr", ascii_stderr)
    logs.setup_logging("INFO", journal=True)
    emit(logging.INFO, "Sở Nội vụ")
    ascii_stderr.flush()
    assert raw.getvalue().decode("utf-8") == "<6>reminder.test: Sở Nội vụ\n"


def test_unknown_level_is_refused() -> None:
    """setup_logging("LOUD") raises ValueError naming the accepted levels."""
    with pytest.raises(ValueError, match="DEBUG, INFO, WARNING or ERROR"):
        logs.setup_logging("LOUD")
