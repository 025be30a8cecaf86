"""The service's user meeting a ledger or outbox in a folder of root's (issue 24 item 1).

With `[database] url` or `[outbox] dir` under a root-owned /etc/reminder, the service (its
own user, never root) cannot write there. It must say which path, give the exact fix (the
unit's StateDirectory=, or `chown` outside systemd), exit 69 as docs/install.md says, tell
`systemctl status` why (STATUS=), and the unit must not restart it every 10 s for it.
The daemon test runs it as `nobody` (setpriv), so it needs root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.notify_socket import FakeNotifySocket
from helpers import write_config

from reminder import statedir
from reminder.exitcodes import EX_NOPERM, EX_TEMPFAIL, EX_UNAVAILABLE

NOBODY = 65534
UNIT = Path(__file__).resolve().parents[1] / "systemd" / "reminder.service"


def test_the_service_user_is_told_the_path_and_the_fix_not_to_run_as_root() -> None:
    """Not root, the ledger in root's folder: 69's message names path, owner, setting, chown."""
    found = statedir.Foreign(Path("/etc/reminder"), 0, Path("/etc/reminder/ledger.db"))
    as_owner, why = statedir.explain(found, NOBODY, "sqlite:////etc/reminder/ledger.db")
    assert not as_owner
    assert why.startswith("cannot write the ledger /etc/reminder/ledger.db: /etc/reminder ")
    assert "belongs to root (uid 0)" in why and "runs as nobody (uid 65534)" in why
    assert '[database] url = "sqlite:////var/lib/reminder/ledger.db"' in why
    assert "StateDirectory=reminder" in why and "chown -R nobody /etc/reminder" in why
    assert "Run it as root" not in why and "\n" not in why


def test_the_outbox_fix_follows_the_state_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox in root's folder: the fix is `[outbox] dir` under $STATE_DIRECTORY."""
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/nhac-han")
    found = statedir.Foreign(Path("/etc/reminder"), 0, Path("/etc/reminder/outbox"))
    as_owner, why = statedir.explain(found, NOBODY, "sqlite:////var/lib/nhac-han/ledger.db")
    assert not as_owner
    assert why.startswith("cannot write the outbox /etc/reminder/outbox: ")
    assert '[outbox] dir = "/var/lib/nhac-han/outbox"' in why


def test_root_in_the_services_folder_is_still_told_to_run_as_its_user() -> None:
    """Root with the service's folder (or another user's): 77 and "run it as …", unchanged."""
    found = statedir.Foreign(Path("/var/lib/reminder"), NOBODY, Path("/var/lib/reminder/l.db"))
    as_owner, why = statedir.explain(found, 0, "sqlite:////var/lib/reminder/l.db")
    assert as_owner and "Run it as nobody (uid 65534)" in why
    assert statedir.explain(found, 1000, None)[0]


def test_the_unit_does_not_restart_what_a_restart_cannot_fix() -> None:
    """RestartPreventExitStatus= holds 64 65 69 77 78, and not 75 (PostgreSQL not up yet)."""
    lines = [ln for ln in UNIT.read_text("utf-8").splitlines() if ln.startswith("Restart")]
    prevent = next(ln for ln in lines if ln.startswith("RestartPreventExitStatus="))
    codes = set(prevent.partition("=")[2].split())
    assert codes == {"64", "65", "69", "77", "78"}
    assert str(EX_TEMPFAIL) not in codes and "Restart=on-failure" in lines


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A fresh folder `nobody` can read (tmp_path's parents are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="reminder-state-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)


@needs_root
@pytest.mark.parametrize("what", ["ledger", "outbox"])
def test_the_daemon_as_its_own_user_exits_69_with_the_fix(shared_folder: Path, what: str) -> None:
    """`run` as a non-root user, ledger or outbox under a root-owned folder: exit 69, one ERROR
    naming the path and the fix, and STATUS= saying it is not restarted."""
    etc = shared_folder / "etc"
    etc.mkdir(mode=0o755)
    state = shared_folder / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)
    config = write_config(etc)
    text = config.read_text(encoding="utf-8")
    if what == "outbox":  # the ledger where it belongs, the outbox in /etc
        text = text.replace(str(etc / "ledger.db"), str(state / "ledger.db"))
    config.write_text(text, encoding="utf-8")
    config.chmod(0o644)
    wanted = etc / ("ledger.db" if what == "ledger" else "outbox")
    with FakeNotifySocket(abstract=True) as notify:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")},
            **notify.env(),
            "REMINDER_CACHE_DIR": str(state / "cache"),
            "STATE_DIRECTORY": "/var/lib/reminder",
        }
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        done = subprocess.run(
            [*drop, sys.executable, "-m", "reminder", "--config", str(config), "run"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        notify.wait_for("STATUS=exit 69", timeout=5)
        status = [m for m in notify.messages() if m.startswith("STATUS=exit 69")]
    assert done.returncode == EX_UNAVAILABLE != EX_NOPERM, done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert f"cannot write the {what} {wanted}: {etc} belongs to root (uid 0)" in errors[0]
    setting = (
        '[database] url = "sqlite:////var/lib/reminder/ledger.db"'
        if what == "ledger"
        else '[outbox] dir = "/var/lib/reminder/outbox"'
    )
    assert setting in errors[0] and f"chown -R nobody {etc}" in errors[0]
    assert not re.search(r"run it as root", done.stderr, re.I)
    assert "Traceback" not in done.stderr
    assert status and f"cannot write {wanted}" in status[0] and "not restarted" in status[0]
    assert sorted(p.name for p in etc.iterdir()) == ["config.toml", "plans"]
