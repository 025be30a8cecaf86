"""systemd/reminder.service: `systemd-analyze verify` is silent, sandboxing exposure ≤ 2.0,
and the settings the daemon and docs/install.md rely on are there.

systemd is not PID 1 on the test host, so the unit is checked offline only; how it behaves
under a real service manager is tested on a VM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reminder.secrets import read_secret

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "reminder.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
# Outside CI a machine without systemd-analyze skips; in CI (.ci/run installs it) it fails.
needs_systemd_analyze = pytest.mark.skipif(
    not os.access(SYSTEMD_ANALYZE, os.X_OK)
    and os.environ.get("CI", "").lower() not in ("1", "true", "yes"),
    reason="systemd-analyze not installed (Debian package `systemd`): unit not checked",
)
MAX_EXPOSURE = 2.0
# Lines of `verify` output that are about *another* unit file on this host (a dependency
# such as network-online.target or a unit it pulls in), e.g.
#   /lib/systemd/system/foo.service:12: Unknown key 'X' in section [Service], ignoring.
# They say nothing about reminder.service, so they are dropped; any other line fails the test.
OTHER_UNIT_FILE_LINE = re.compile(
    r"^(?P<path>/\S+\.(?:service|socket|target|mount|automount|swap|path|timer|slice|scope))"
    r"(?::\d+)?:\s"
)


def unit_lines(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment in a unit file, duplicates kept, in order."""
    section, out = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(key: str, section: str = "Service") -> list[str]:
    """Every value assigned to ``key`` in ``section`` of the shipped unit."""
    return [v for s, k, v in unit_lines(UNIT.read_text("utf-8")) if s == section and k == key]


def verifiable_copy(tmp_path: Path, extra_service_lines: str = "") -> Path:
    """The unit copied to tmp_path with ExecStart's program replaced by this Python.

    `systemd-analyze verify` fails when the ExecStart= binary does not exist, and
    /opt/reminder/.venv/bin/reminder exists only on an installed server, so the copy runs
    sys.executable with the same arguments. Nothing else is changed (other than optional
    lines appended to [Service], for the self-test of the output check).
    """
    text = UNIT.read_text("utf-8")
    text, count = re.subn(
        r"^ExecStart=/opt/reminder/\.venv/bin/reminder ",
        f"ExecStart={sys.executable} ",
        text,
        flags=re.MULTILINE,
    )
    assert count == 1, "ExecStart= no longer starts with /opt/reminder/.venv/bin/reminder"
    if extra_service_lines:
        text = text.replace("[Service]\n", f"[Service]\n{extra_service_lines}", 1)
    copy = tmp_path / "reminder.service"
    copy.write_text(text, "utf-8")
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    """Run systemd-analyze without pager or colours."""
    env = {**os.environ, "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args], capture_output=True, text=True, env=env, timeout=60
    )


def split_output(output: str, unit_name: str) -> tuple[list[str], list[str]]:
    """(lines about our unit or about nothing in particular, lines about other unit files)."""
    problems, other_units = [], []
    for line in output.splitlines():
        if not line.strip():
            continue
        match = OTHER_UNIT_FILE_LINE.match(line)
        if match and Path(match["path"]).name != unit_name:
            other_units.append(line)
        else:
            problems.append(line)
    return problems, other_units


def verify_problems(unit: Path) -> tuple[list[str], list[str], int]:
    """`systemd-analyze verify` output split as split_output() does, and its exit code."""
    result = analyze("verify", str(unit))
    problems, other_units = split_output(result.stdout + result.stderr, unit.name)
    return problems, other_units, result.returncode


def test_only_lines_about_other_unit_files_are_set_aside() -> None:
    """The verify filter drops lines naming another unit file, and keeps everything else."""
    output = textwrap.dedent(
        """\
        /lib/systemd/system/foo.service:12: Unknown key 'X' in section [Service], ignoring.
        /etc/systemd/system/bar.target: Failed to load configuration: No such file
        /tmp/t/reminder.service:40: Unknown key 'RestartSecs' in section [Service], ignoring.
        reminder.service: Command /opt/x is not executable: No such file or directory
        Failed to prepare filename /etc/reminder/missing: No such file or directory
        """
    )
    problems, other_units = split_output(output, "reminder.service")
    assert other_units == output.splitlines()[:2]
    assert problems == output.splitlines()[2:]


@needs_systemd_analyze
def test_verify_prints_nothing(tmp_path: Path) -> None:
    """`systemd-analyze verify` prints nothing about reminder.service (it exits 0 on warnings)."""
    problems, other_units, returncode = verify_problems(verifiable_copy(tmp_path))
    assert problems == [], "\n".join(problems)
    assert returncode == 0
    if other_units:  # shown with -rA, so a reader sees what was set aside
        print("ignored lines about other unit files on this host:", *other_units, sep="\n")


@needs_systemd_analyze
def test_verify_check_catches_a_misspelt_key(tmp_path: Path) -> None:
    """The output check above is not blind: a misspelt key (exit status still 0) is caught."""
    unit = verifiable_copy(tmp_path, "RestartSecs=3\n")
    problems, _, returncode = verify_problems(unit)
    assert returncode == 0  # the quirk the check exists for
    assert any("Unknown key 'RestartSecs'" in line for line in problems), problems


@needs_systemd_analyze
def test_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    """`systemd-analyze security --offline=yes` rates the unit's exposure at 2.0 or below."""
    result = analyze("security", "--offline=yes", "--no-pager", str(verifiable_copy(tmp_path)))
    output = result.stdout + result.stderr
    match = re.search(r"Overall exposure level for reminder\.service: (\d+(?:\.\d+)?)", output)
    assert match, f"no exposure figure in:\n{output}"
    exposure = float(match[1])
    assert exposure <= MAX_EXPOSURE, output
    print(f"exposure {exposure}")


def test_unit_is_type_notify_with_sighup_reload() -> None:
    """Type=notify (not notify-reload: systemd 252), main-process notify, reload by SIGHUP."""
    assert values("Type") == ["notify"]
    assert values("NotifyAccess") == ["main"]
    assert values("ExecReload") == ["/bin/kill -HUP $MAINPID"]


def test_unit_runs_the_cli_with_the_config() -> None:
    """ExecStart runs `reminder --config /etc/reminder/config.toml run` from the venv."""
    assert values("ExecStart") == [
        "/opt/reminder/.venv/bin/reminder --config /etc/reminder/config.toml run"
    ]


def test_unit_restarts_on_failure_but_not_on_bad_config() -> None:
    """Restart=on-failure after 10 s, never for the exits a restart cannot fix (64 65 69 77 78)."""
    assert values("Restart") == ["on-failure"]
    assert values("RestartSec") == ["10s"]
    assert values("RestartPreventExitStatus") == ["64 65 69 77 78"]
    assert values("TimeoutStopSec") == ["60"]
    assert values("WatchdogSec") == ["120s"]


def test_unit_has_state_and_configuration_directories() -> None:
    """The ledger lives in StateDirectory=reminder (/var/lib/reminder), config in /etc/reminder."""
    assert values("StateDirectory") == ["reminder"]
    assert values("ConfigurationDirectory") == ["reminder"]
    assert values("DynamicUser") == ["yes"]


def test_unit_has_a_private_cache_directory() -> None:
    """The holiday and template caches go to CacheDirectory=reminder, private to the service."""
    assert values("CacheDirectory") == ["reminder"]
    assert values("CacheDirectoryMode") == ["0700"]


@pytest.mark.parametrize(
    "name",
    [
        "smtp_password",
        "telegram_token",
        "web_secret",
        "web_password",
        "zalo_token",
        "zalo_webhook_secret",
    ],
)
def test_unit_loads_credentials_with_a_harmless_default(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LoadCredential= for each secret, with a SetCredential= default that reads as "not set"."""
    assert f"{name}:/etc/reminder/{name}" in values("LoadCredential")
    defaults = [v for v in values("SetCredential") if v.startswith(f"{name}:")]
    assert len(defaults) == 1
    # systemd unescapes C escapes in the value ("\n" is a newline) and writes it as the file.
    literal = defaults[0].partition(":")[2]
    content = literal.encode("ascii").decode("unicode_escape")
    (tmp_path / name).write_text(content, "utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("REMINDER_TEST_UNSET", raising=False)
    assert read_secret(env="REMINDER_TEST_UNSET", file=None, credential=name) is None


def test_dependencies_run_without_writable_executable_memory(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes is safe: ssl, SQLite, pydantic, telegram… work without W+X.

    Approximated with the kernel's own switch, prctl(PR_SET_MDWE) (Linux 6.3+), which refuses
    the same mappings; skipped where the kernel lacks it.
    """
    script = tmp_path / "mdwe.py"
    script.write_text(
        textwrap.dedent(
            """
            import ctypes, mmap, sys
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
                sys.exit(77)
            try:
                mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
                sys.exit("a writable+executable mapping was allowed: the check is void")
            except OSError:
                pass
            import asyncio, ssl, sqlite3
            import aiosmtplib, alembic, apscheduler.schedulers.asyncio, holidays, httpx
            import jinja2, pydantic, sqlmodel, telegram.ext
            import reminder.logs, reminder.sdnotify, reminder.secrets
            ssl.create_default_context()
            sqlmodel.create_engine("sqlite://").connect().close()
            jinja2.Environment().from_string("{{ x | upper }}").render(x="đ")
            holidays.country_holidays("VN", years=2026)
            pydantic.TypeAdapter(int).validate_python("7")
            asyncio.run(asyncio.sleep(0))
            """
        ),
        "utf-8",
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr
