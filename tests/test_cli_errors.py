"""Mistakes ops can make outside config.toml: one line, the right exit code, no traceback.

- a ledger that cannot be opened (issue 11 item 6): exit 69 with the path and the operating
  system's reason, from `run --once`, `history`, `done` and the daemon. Permission denied is
  produced by running as `nobody`; a read-only file system and a full disk by mounting a
  tmpfs in a private mount namespace (`unshare -m`), so those tests need root.
- `send-test` with an address config.toml would refuse (item 7): exit 65, nothing sent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_config

from reminder.cli import main
from reminder.exitcodes import EX_DATAERR, EX_UNAVAILABLE

NOW = "2026-12-01T08:00:00+07:00"
COMMANDS = [
    ("run", "--once", "--now", NOW),
    ("history",),
    ("done", "1", "2026"),
]


def with_ledger(folder: Path, db: Path) -> Path:
    """The shipped config in `folder`, its ledger at `db`."""
    cfg = write_config(folder)
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace(str(folder / "ledger.db"), str(db)), encoding="utf-8")
    return cfg


def assert_one_line(err: str, *parts: str) -> None:
    """stderr is one line holding `parts`, with no SQLAlchemy text, URL or escaped newline."""
    assert len(err.strip().splitlines()) == 1, err
    for part in parts:
        assert part in err, err
    for leak in ("sqlalchemy", "sqlite3.", "sqlite:///", "Background on this error", "\\n"):
        assert leak not in err, err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_ledger_in_a_missing_directory(
    tmp_path: Path, command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """A ledger path whose folder does not exist: exit 69, naming the path and the folder."""
    db = tmp_path / "khong-co" / "ledger.db"
    code = main(["--config", str(with_ledger(tmp_path, db)), *command])
    err = capsys.readouterr().err
    assert code == EX_UNAVAILABLE, err
    assert_one_line(err, f"cannot open the ledger {db}: no such directory {db.parent}")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_ledger_path_is_a_directory(
    tmp_path: Path, command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """A ledger path that is a folder: exit 69, "Is a directory"."""
    db = tmp_path / "ledger.db"
    db.mkdir()
    code = main(["--config", str(with_ledger(tmp_path, db)), *command])
    err = capsys.readouterr().err
    assert code == EX_UNAVAILABLE, err
    assert_one_line(err, f"cannot open the ledger {db}: Is a directory")


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=60, check=False, **kwargs
    )  # type: ignore[call-overload]


def _can_drop_dac() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


@pytest.mark.skipif(not _can_drop_dac(), reason="needs root and setpriv")
def test_ledger_permission_denied(tmp_path: Path) -> None:
    """A ledger folder the process may not write: exit 69 "Permission denied".

    The folder is r-x even for its owner (root) and the command runs as root without
    CAP_DAC_OVERRIDE, so the kernel applies the file modes as for any other user.
    """
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    db = locked / "ledger.db"
    cfg = with_ledger(tmp_path, db)
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    proc = _run([*drop, sys.executable, "-m", "reminder", "--config", str(cfg), "history"])
    assert proc.returncode == EX_UNAVAILABLE, proc.stderr
    assert_one_line(
        proc.stderr, f"reminder history: cannot open the ledger {db}: Permission denied"
    )


def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(not _can_unshare(), reason="needs root and unshare -m")


def _in_private_mount(mount: str, then: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `then` after `mount` in a private mount namespace (nothing leaks to the host)."""
    script = f'{mount} && exec "$@"'
    return _run(["unshare", "-m", "sh", "-c", script, "sh", *then])


@needs_mounts
def test_ledger_on_a_read_only_file_system(tmp_path: Path) -> None:
    """The ledger's folder is mounted read-only: `run --once` exits 69 "Read-only file system"."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "ledger.db"
    cfg = with_ledger(tmp_path, db)
    proc = _in_private_mount(
        f"mount -t tmpfs -o ro,size=1m tmpfs {folder}",
        [sys.executable, "-m", "reminder", "--config", str(cfg), "run", "--once", "--now", NOW],
    )
    assert proc.returncode == EX_UNAVAILABLE, proc.stderr
    assert_one_line(proc.stderr, f"cannot open the ledger {db}: Read-only file system")


@needs_mounts
def test_ledger_on_a_full_disk(tmp_path: Path) -> None:
    """The ledger's file system is full: `history` exits 69 "No space left on device"."""
    folder = tmp_path / "full"
    folder.mkdir()
    db = folder / "ledger.db"
    cfg = with_ledger(tmp_path, db)
    fill = f"dd if=/dev/zero of={folder}/fill bs=4k 2>/dev/null; true"
    proc = _in_private_mount(
        f"mount -t tmpfs -o size=256k tmpfs {folder} && {fill}",
        [sys.executable, "-m", "reminder", "--config", str(cfg), "history"],
    )
    assert proc.returncode == EX_UNAVAILABLE, proc.stderr
    assert_one_line(proc.stderr, f"cannot open the ledger {db}: No space left on device")


def test_daemon_exits_69_when_the_ledger_cannot_be_opened(tmp_path: Path) -> None:
    """`run` (the daemon) with an unopenable ledger: exit 69, one log line with path and reason."""
    db = tmp_path / "khong-co" / "ledger.db"
    cfg = with_ledger(tmp_path, db)
    proc = _run([sys.executable, "-m", "reminder", "--config", str(cfg), "run", "--now", NOW])
    assert proc.returncode == EX_UNAVAILABLE, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, proc.stderr
    assert_one_line(errors[0], f"cannot open the ledger {db}: no such directory {db.parent}")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("channel", "address"),
    [
        ("email", "not-an-address"),
        ("email", "vanthu@tinh.example\r\nBcc: x@y.example"),
        ("telegram", "nhom-van-thu"),
    ],
)
def test_send_test_refuses_an_address_config_would_refuse(
    tmp_path: Path, channel: str, address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`send-test` validates the address like config.toml does: exit 65, nothing written."""
    cfg = write_config(tmp_path)
    code = main(["--config", str(cfg), "send-test", channel, address])
    err = capsys.readouterr().err
    assert code == EX_DATAERR, err
    assert err.startswith("reminder send-test: "), err
    assert "expected" in err or "control character" in err, err
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())
