"""Temp configs for tests: the shipped config.toml and its plans/ folder, copied and edited
as text (the office part is config.toml; the seed plan's tasks are plans/ke-hoach.toml)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config.toml"
SHIPPED_PLANS = SHIPPED_CONFIG.parent / "plans"
SHIPPED_PLAN = SHIPPED_PLANS / "ke-hoach.toml"
# The shipped config.toml as it was before its plan moved into plans/ (December 2026): [plan]
# and [[tasks]] inline, ids nv01…nv11. That shape keeps working; tests of it and of the move
# (`reminder plans --move-inline`, a ledger written by that main) start from this file.
INLINE_CONFIG = Path(__file__).resolve().parent / "data" / "config-inline.toml"


def copy_shipped(folder: Path, name: str = "config.toml") -> Path:
    """Copy the shipped config.toml into `folder` (as `name`) with its plans/ beside it."""
    path = folder / name
    shutil.copyfile(SHIPPED_CONFIG, path)
    copy_plans(folder)
    return path


def copy_plans(folder: Path, plan_text: str | None = None) -> Path:
    """Copy the shipped plans/ into `folder` (the seed plan's text replaced by `plan_text`)."""
    plans = folder / "plans"
    shutil.copytree(SHIPPED_PLANS, plans, dirs_exist_ok=True)
    if plan_text is not None:
        (plans / SHIPPED_PLAN.name).write_text(plan_text, encoding="utf-8")
    return plans


def shipped_variant(folder: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the shipped config and plans in `folder`, each (old, new) replaced exactly once
    in whichever of config.toml and plans/ke-hoach.toml holds it."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    plan = SHIPPED_PLAN.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) + plan.count(old) == 1, old
        if old in text:
            text = text.replace(old, new)
        else:
            plan = plan.replace(old, new)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    copy_plans(folder, plan)
    return path


def _sub(text: str, pattern: str, repl: str) -> str:
    """`re.sub` that must match exactly once (a shipped-config edit that misses is a bug)."""
    new, n = re.subn(pattern, lambda _m: repl, text, count=1, flags=re.MULTILINE)
    if n != 1:
        raise AssertionError(f"config edit did not apply: {pattern!r}")
    return new


def write_config(
    folder: Path,
    *,
    smtp: tuple[str, int] | None = None,
    security: str = "plain",
    username: str | None = None,
    ca_file: Path | None = None,
    email: str | None = None,
    telegram_url: str | None = None,
    telegram: str | None = None,
    max_attempts: int | None = None,
    retry: tuple[int, int] = (1, 4),
    titles: dict[str, str] | None = None,
    database: str | None = None,
    followups: bool = False,
    inline: bool = False,
) -> Path:
    """Copy the shipped config into `folder` (ledger and outbox land there too) and edit it.

    smtp=(host, port): email transport "smtp" with `security`, `username` (None: no AUTH) and
    `ca_file`; telegram_url: transport "bot" at that base URL. `email` / `telegram` force a
    transport ("outbox", "off") otherwise. Retries wait retry[0] s, doubling, capped at retry[1]
    s (default 1 s and 4 s); max_attempts None: no limit (retried while useful).
    titles: task id → new title (TOML basic-string escaped here).
    database: the ledger URL (no password in it); default a SQLite file in `folder`.
    followups: keep [escalation] and [summary] on (off by default: the tests that count
    messages are about reminders; tests/test_followup.py covers the follow-ups).
    inline: start from INLINE_CONFIG (the plan inside config.toml, no plans/ folder).
    """
    text = (INLINE_CONFIG if inline else SHIPPED_CONFIG).read_text(encoding="utf-8")
    url = database or f"sqlite:///{folder / 'ledger.db'}"
    text = _sub(text, r'^url = "sqlite:///reminder\.db"$', f'url = "{url}"')
    text = _sub(text, r'^dir = "outbox".*$', f'dir = "{folder / "outbox"}"')
    if max_attempts is not None:
        text = _sub(text, r"^\[delivery\]$", f"[delivery]\nmax_attempts = {max_attempts}")
    text = _sub(text, r"^retry_initial_seconds = \d+", f"retry_initial_seconds = {retry[0]}")
    text = _sub(text, r"^retry_max_seconds = \d+", f"retry_max_seconds = {retry[1]}")
    if smtp is not None:
        host, port = smtp
        text = _sub(text, r'(?<=\[channels\.email\]\n)transport = "outbox"', 'transport = "smtp"')
        text = _sub(text, r'^host = "mail\.tinh\.example"$', f'host = "{host}"')
        text = _sub(text, r"^port = 587$", f"port = {port}")
        text = _sub(text, r'^security = "starttls".*$', f'security = "{security}"')
        user = f'username = "{username}"' if username else "# no AUTH"
        text = _sub(text, r'^username = "nhachan@tinh\.example"$', user)
        text = _sub(
            text,
            r'(?<=reply_to = "vanthu@tinh\.example"\n)timeout_seconds = 30$',
            "timeout_seconds = 3",
        )
        if ca_file is not None:
            text = _sub(text, r"^# ca_file = .*$", f'ca_file = "{ca_file}"')
    elif email is not None:
        text = _sub(
            text, r'(?<=\[channels\.email\]\n)transport = "outbox"', f'transport = "{email}"'
        )
    if telegram_url is not None:
        text = _sub(text, r'(?<=\[channels\.telegram\]\n)transport = "outbox"', 'transport = "bot"')
        text = _sub(
            text,
            r'^token_env = "REMINDER_TELEGRAM_TOKEN"\ntimeout_seconds = 30$',
            f'token_env = "REMINDER_TELEGRAM_TOKEN"\nbase_url = "{telegram_url}"\ntimeout_seconds = 3',
        )
    elif telegram is not None:
        text = _sub(
            text, r'(?<=\[channels\.telegram\]\n)transport = "outbox"', f'transport = "{telegram}"'
        )
    plan = SHIPPED_PLAN.read_text(encoding="utf-8")
    for task_id, title in (titles or {}).items():
        escaped = title.replace("\\", "\\\\").replace('"', '\\"')
        task = (
            rf'^id = "{task_id}"\nnumber = \d+\n'
            if inline
            else rf'^number = "\d+"\nformer_id = "{task_id}"\n'
        )
        where = text if inline else plan
        head = re.search(task, where, flags=re.MULTILINE)
        assert head is not None, f"no task {task_id} in the shipped plan"
        rest = _sub(where[head.end() :], r'^title = ".*"$', f'title = "{escaped}"')
        if inline:
            text = text[: head.end()] + rest
        else:
            plan = plan[: head.end()] + rest
    if not followups:
        text = without_followups(text)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    if not inline:
        copy_plans(folder, plan)
    return path


def without_followups(text: str) -> str:
    """The config text with [escalation] and [summary] turned off (`enabled = false`)."""
    for table in ("escalation", "summary"):
        text = _sub(text, rf"(?<=^\[{table}\]\n)enabled = true$", "enabled = false")
    return text


class FullDisk:
    """Makes a Ledger's SQLite database full while `on`: at each write transaction the
    connection's `PRAGMA max_page_count` is set to the pages it has (SQLite then answers
    "database or disk is full" to any write needing a new page), and lifted again when off.
    Writes that fit in existing pages still succeed, as on a real full disk."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.on = False
        self.refused = 0  # write transactions begun while full
        event.listen(engine, "begin", self._begin)

    def _begin(self, conn: Any) -> None:
        if self.on:
            self.refused += 1
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        else:
            conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")


def run_without_database_stack(config: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """`reminder --config CONFIG COMMAND…` in a new process that must exit 0 having imported
    none of sqlalchemy, sqlmodel, alembic."""
    probe = (
        "import sys, runpy; sys.argv = ['reminder', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('reminder', run_name='__main__')\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--config", str(config), *command],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=config.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr, done.stderr[-300:]
    return done
