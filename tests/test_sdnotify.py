"""reminder.sdnotify against a real AF_UNIX datagram socket (tests/fakes/notify_socket.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reminder import sdnotify
from tests.fakes.notify_socket import FakeNotifySocket


@pytest.fixture(params=["path", "abstract"])
def notify_socket(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeNotifySocket]:
    """A fake systemd socket (file path or abstract name) that NOTIFY_SOCKET points at."""
    with FakeNotifySocket(abstract=request.param == "abstract") as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", sock.path)
        yield sock


def test_notify_is_false_without_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """notify() returns False and sends nothing when NOTIFY_SOCKET is unset or empty."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert sdnotify.ready() is False


def test_notify_does_not_raise_on_a_missing_socket_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A NOTIFY_SOCKET path that does not exist gives False, not an exception."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "no-such-dir" / "notify.sock"))
    assert sdnotify.notify("READY=1") is False


def test_notify_does_not_raise_on_a_dead_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket file whose listener has gone away (connection refused) gives False."""
    folder = tempfile.mkdtemp(prefix="sdnotify-")  # short: a socket path must be < 108 bytes
    path = os.path.join(folder, "notify.sock")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
            listener.bind(path)  # closing it leaves the file behind, with nobody reading
        assert os.path.exists(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sdnotify.stopping() is False
    finally:
        shutil.rmtree(folder)


def test_notify_ignores_an_unsupported_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NOTIFY_SOCKET that is neither a path nor "@name" (e.g. vsock:…) gives False."""
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert sdnotify.notify("READY=1") is False


def test_ready_sends_ready_1(notify_socket: FakeNotifySocket) -> None:
    """ready() sends exactly "READY=1" over a path or an abstract socket."""
    assert sdnotify.ready() is True
    assert notify_socket.wait_for("READY=1", timeout=2) == "READY=1"


def test_ready_with_status_sends_one_datagram(notify_socket: FakeNotifySocket) -> None:
    """ready("…") sends READY=1 and STATUS=… together in one datagram, UTF-8 encoded."""
    assert sdnotify.ready("Đã nạp 11 nhiệm vụ") is True
    assert notify_socket.wait_for("READY=1", timeout=2) == "READY=1\nSTATUS=Đã nạp 11 nhiệm vụ"


def test_reloading_sends_monotonic_usec(notify_socket: FakeNotifySocket) -> None:
    """reloading() sends RELOADING=1 and MONOTONIC_USEC=<CLOCK_MONOTONIC now, in µs>."""
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading() is True
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = notify_socket.wait_for("RELOADING=1", timeout=2).split("\n")
    assert first == "RELOADING=1"
    key, value = second.split("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_stopping_sends_stopping_1(notify_socket: FakeNotifySocket) -> None:
    """stopping() sends exactly "STOPPING=1"."""
    assert sdnotify.stopping() is True
    assert notify_socket.wait_for("STOPPING=1", timeout=2) == "STOPPING=1"


def test_status_is_kept_on_one_line(notify_socket: FakeNotifySocket) -> None:
    """status() sends STATUS=<text>, with newlines in the text folded into spaces."""
    assert sdnotify.status("cấu hình lỗi:\nsmtp.port: quá lớn") is True
    assert notify_socket.wait_for("STATUS=", timeout=2) == "STATUS=cấu hình lỗi: smtp.port: quá lớn"


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("400000", None, 0.2),
        ("120000000", None, 60.0),
        ("400000", "self", 0.2),
        ("400000", "other", None),
        ("400000", "not-a-pid", None),
        (None, None, None),
        ("", None, None),
        ("abc", None, None),
        ("0", None, None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    """watchdog_interval() is WATCHDOG_USEC/2 in seconds, None if unset/invalid/another PID's."""
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            value = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}.get(value, value)
            monkeypatch.setenv(name, value)
    assert sdnotify.watchdog_interval() == expected


async def test_watchdog_loop_pings_until_cancelled(notify_socket: FakeNotifySocket) -> None:
    """watchdog_loop() sends WATCHDOG=1 repeatedly from the event loop and stops when cancelled."""
    task = asyncio.create_task(sdnotify.watchdog_loop(0.05))
    try:
        await asyncio.to_thread(notify_socket.wait_for, "WATCHDOG=1", 2.0, count=3)
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert set(notify_socket.messages()) == {"WATCHDOG=1"}
    count = len(notify_socket.messages())
    await asyncio.sleep(0.15)
    assert len(notify_socket.messages()) == count  # nothing more after cancellation


async def test_watchdog_loop_survives_a_dead_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """watchdog_loop() keeps running (does not crash the daemon) when systemd's socket is gone."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    task = asyncio.create_task(sdnotify.watchdog_loop(0.01))
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("interval", [0, -1.0])
async def test_watchdog_loop_rejects_a_non_positive_interval(interval: float) -> None:
    """watchdog_loop() refuses an interval ≤ 0 instead of spinning the event loop."""
    with pytest.raises(ValueError, match="positive"):
        await sdnotify.watchdog_loop(interval)
