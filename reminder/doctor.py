"""`reminder doctor`: what `check` cannot see — the world outside the configuration file.

One `Finding` per check, each OK, WARN or FAIL:

- templates     the template folder is found and every template compiles and renders;
- ledger        the SQLite ledger (and its folder) can be written by the folder's owner, the
                user the service runs as; no file in it belongs to someone else. PostgreSQL:
                the login is accepted and may write the ledger's tables;
- outbox        the same for the outbox folder, when a channel writes there;
- email         SMTP answers, TLS verifies, the login is accepted: EHLO + STARTTLS or TLS +
                AUTH, then QUIT; no message is sent;
- telegram      the bot token is valid (getMe), and each configured chat is reachable (getChat);
- zalo          with transport "bot": the Zalo bot token is valid (getMe; Zalo has no getChat);
- contacts      no placeholder addresses (.example, the sample chat ids) with a real transport;
- clock         the host clock is synchronised (timedatectl, else the kernel's adjtimex).

Nothing here writes: the ledger is looked at with stat(), never opened for writing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reminder.channels.base import ChannelError
from reminder.config import Settings
from reminder.render import Renderer
from reminder.statedir import sqlite_path

__all__ = ["FAIL", "OK", "WARN", "Finding", "diagnose", "placeholder_contacts"]

OK, WARN, FAIL = "OK", "WARN", "FAIL"
# RFC 2606 / 6761 names that never reach anyone, and the shipped config's sample chat ids.
PLACEHOLDER_DOMAIN = re.compile(
    r"(^|\.)(example|test|invalid|localhost|example\.(com|net|org))$", re.IGNORECASE
)
SAMPLE_CHAT = re.compile(r"^-1001000000\d{3}$")
COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite's files beside the ledger


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result; `line` is what the command prints."""

    level: str  # OK | WARN | FAIL
    check: str
    detail: str

    @property
    def line(self) -> str:
        return f"{self.level:<4} {self.check}: {self.detail}"


async def diagnose(settings: Settings, *, euid: int) -> list[Finding]:
    """Every check, in a fixed order. `euid` is the user running the command."""
    network = await asyncio.gather(_email(settings), _telegram(settings), _zalo(settings))
    return [
        _templates(settings),
        *_ledger(settings, euid),
        *_outbox(settings, euid),
        network[0],
        *network[1],
        *network[2],
        _contacts(settings),
        _clock(),
    ]


# -- files -----------------------------------------------------------------------------------


def _templates(settings: Settings) -> Finding:
    renderer = Renderer(settings.catalog, settings.templates_dir)
    problems = renderer.check()
    if problems:
        more = f" (and {len(problems) - 1} more: reminder check)" if len(problems) > 1 else ""
        return Finding(FAIL, "templates", problems[0] + more)
    return Finding(OK, "templates", f"{renderer.template_dir}: all templates compile and render")


def _ledger(settings: Settings, euid: int) -> list[Finding]:
    path = sqlite_path(settings.database_url)
    if path is None:
        return [_database_server(settings)]
    folder = path.parent
    if not folder.is_dir():
        return [
            Finding(
                WARN,
                "ledger",
                f"folder {folder} does not exist yet (systemd creates /var/lib/reminder at the "
                "service's first start; elsewhere create it)",
            )
        ]
    files = [path, *(path.with_name(path.name + c) for c in COMPANIONS)]
    owner = folder.stat().st_uid  # the service's user: systemd gives it its state folder
    return [_writable("ledger", folder, [f for f in files if f.exists()], euid, owner)]


def _database_server(settings: Settings) -> Finding:
    """PostgreSQL: log in, and when the tables exist, may this user write them? Reads only."""
    import sqlalchemy as sa

    from reminder.ledger import Ledger, LedgerError, unavailable

    try:
        ledger = Ledger(
            settings.database_url, lease=settings.lease, password=settings.database_password
        )
    except LedgerError as exc:
        return Finding(FAIL, "ledger", str(exc))
    try:
        with ledger.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if "delivery" not in tables:
                return Finding(
                    OK, "ledger", f"{ledger.url}: login accepted; no tables yet (made at start)"
                )
            each = ("SELECT", "INSERT", "UPDATE", "DELETE")  # several in one call: any of them
            query = "SELECT " + " AND ".join(
                f"has_table_privilege('delivery', '{p}')" for p in each
            )
            writable = bool(conn.execute(sa.text(query)).scalar())
    except Exception as exc:
        why = unavailable(exc) or f"{type(exc).__name__}: {exc}".splitlines()[0]
        return Finding(FAIL, "ledger", f"{ledger.url}: {why}")
    finally:
        ledger.close()
    if not writable:
        return Finding(FAIL, "ledger", f"{ledger.url}: this login may not write table delivery")
    return Finding(OK, "ledger", f"{ledger.url}: login accepted; the tables can be written")


def _outbox(settings: Settings, euid: int) -> list[Finding]:
    if "outbox" not in (settings.email_transport, settings.telegram_transport):
        return []
    folder = settings.outbox.directory
    parent = _nearest_folder(folder)
    if parent is None:
        return [Finding(FAIL, "outbox", f"{folder}: no existing folder above it")]
    # The service's user: the owner of the ledger's folder if that is a file, else of the
    # folder the outbox lives in.
    ledger = sqlite_path(settings.database_url)
    home = ledger.parent if ledger is not None and ledger.parent.is_dir() else parent
    owner = home.stat().st_uid
    if not folder.is_dir():
        if parent != folder.absolute().parent:
            return [Finding(WARN, "outbox", f"{folder} does not exist yet, nor its folder")]
        found = _writable("outbox", parent, [], euid, owner)
        if found.level != OK:
            return [found]
        return [Finding(OK, "outbox", f"{folder} will be created in {parent} ({found.detail})")]
    return [_writable("outbox", folder, sorted(folder.iterdir()), euid, owner)]


def _nearest_folder(path: Path) -> Path | None:
    for parent in path.absolute().parents:
        if parent.is_dir():
            return parent
    return None


def _writable(check: str, folder: Path, files: list[Path], euid: int, owner: int) -> Finding:
    """`folder` and `files` belong to `owner` (the service's user) and can be written by it;
    run as that user, a file is really created and removed in the folder."""
    for path in [folder, *files]:
        st = path.stat()
        if st.st_uid != owner:
            return Finding(
                FAIL,
                check,
                f"{path} belongs to uid {st.st_uid}, the service's folder to uid {owner}: the "
                f"service cannot write it (as root: chown -R {owner} {path})",
            )
        if not st.st_mode & stat.S_IWUSR:
            return Finding(FAIL, check, f"{path} is read-only for its owner uid {owner}")
    if euid != owner:
        return Finding(
            OK,
            check,
            f"{folder} and its files belong to uid {owner} (the service) and are writable",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Finding(FAIL, check, f"cannot create a file in {folder}: {exc.strerror}")
    return Finding(OK, check, f"{folder}: writable (a test file was created and removed)")


# -- network ---------------------------------------------------------------------------------


async def _email(settings: Settings) -> Finding:
    if settings.email_transport != "smtp" or settings.smtp is None:
        return _not_sending("email", settings.email_transport, settings)
    from reminder.channels.email import EmailChannel

    s = settings.smtp
    channel = EmailChannel(s)
    try:
        await channel.open()  # EHLO, STARTTLS or TLS (certificate verified), AUTH
    except ChannelError as exc:
        return Finding(FAIL, "email", str(exc))
    finally:
        await channel.close()
    how = {"starttls": "STARTTLS", "tls": "TLS"}.get(s.security, "no TLS")
    login = f"login accepted for {s.username}" if s.username else "no login configured"
    return Finding(OK, "email", f"SMTP {s.host}:{s.port} answered, {how}, {login}")


def _not_sending(check: str, transport: str, settings: Settings) -> Finding:
    if transport == "off":
        return Finding(WARN, check, "the channel is off: nothing is sent this way")
    return Finding(
        WARN,
        check,
        f'transport "{transport}": messages are written to {settings.outbox.directory}, not sent',
    )


async def _telegram(settings: Settings) -> list[Finding]:
    if settings.telegram_transport != "bot" or settings.telegram is None:
        return [_not_sending("telegram", settings.telegram_transport, settings)]
    from reminder.channels.telegram import probe

    chats = _chats(settings)
    try:
        me, answers = await probe(settings.telegram, list(chats))
    except ChannelError as exc:
        return [Finding(FAIL, "telegram", str(exc))]
    found = [Finding(OK, "telegram", f"bot token accepted: {me}")]
    for chat, agencies in chats.items():
        answer = answers[chat]
        if isinstance(answer, ChannelError):
            hint = "add the bot to the group; `reminder telegram-chats` lists the ids"
            found.append(
                Finding(FAIL, f"telegram chat {chat}", f"{answer} (for {agencies}; {hint})")
            )
        else:
            found.append(
                Finding(OK, f"telegram chat {chat}", f"reachable: {answer} (for {agencies})")
            )
    return found


async def _zalo(settings: Settings) -> list[Finding]:
    """With transport "bot": the token checked with getMe (sends nothing). Otherwise a line
    only when agencies name Zalo chats that are not being sent to."""
    z = settings.zalo
    if settings.zalo_transport != "bot" or z is None:
        named = any(a.zalo for a in settings.catalog.agencies.values())
        return [_not_sending("zalo", settings.zalo_transport, settings)] if named else []
    from reminder.channels.zalo_api import ZaloApiError, ZaloBotClient, ZaloUnreachable

    client = ZaloBotClient(z.token, z.base_url, z.timeout)
    try:
        me = await client.get_me()
    except ZaloApiError as exc:
        return [Finding(FAIL, "zalo", f"Zalo refused the bot token (getMe): {exc}")]
    except ZaloUnreachable as exc:
        return [Finding(FAIL, "zalo", f"Zalo Bot API unreachable (getMe): {exc}")]
    finally:
        await client.close()
    groups = "may join groups" if me.can_join_groups else "private chats only (no groups)"
    return [Finding(OK, "zalo", f"bot token accepted: {me.name} (id {me.id}; {groups})")]


def _chats(settings: Settings) -> dict[str, str]:
    """Each configured chat id → the agencies that use it."""
    users: dict[str, list[str]] = {}
    for agency in settings.catalog.agencies.values():
        for chat in agency.telegram:
            users.setdefault(chat, []).append(agency.id)
    return {chat: ", ".join(ids) for chat, ids in users.items()}


# -- contacts ----------------------------------------------------------------------------------


def placeholder_contacts(settings: Settings) -> tuple[list[str], list[str]]:
    """The placeholder e-mail addresses and Telegram chat ids still in the configuration."""
    emails: set[str] = set()
    chats: set[str] = set()
    for agency in settings.catalog.agencies.values():
        emails.update(a for a in agency.emails if _placeholder_email(a))
        chats.update(c for c in agency.telegram if SAMPLE_CHAT.match(c))
    return sorted(emails), sorted(chats)


def _placeholder_email(address: str) -> bool:
    domain = address.rpartition("@")[2].strip().rstrip(">").lower()
    return bool(PLACEHOLDER_DOMAIN.search(domain))


def _contacts(settings: Settings) -> Finding:
    emails, chats = placeholder_contacts(settings)
    real = []
    if settings.email_transport == "smtp" and emails:
        real.append(f"{len(emails)} e-mail address(es) like {_few(emails)}")
    if settings.telegram_transport == "bot" and chats:
        real.append(f"{len(chats)} sample chat id(s) {_few(chats)}")
    if real:
        return Finding(
            WARN,
            "contacts",
            "placeholders still in use with a real transport: "
            + "; ".join(real)
            + " (replace them in [[agencies]])",
        )
    if emails or chats:
        return Finding(OK, "contacts", "placeholders only on channels that are not sent yet")
    return Finding(OK, "contacts", "no placeholder addresses or chat ids")


def _few(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items[:3]) + (", …" if len(items) > 3 else "")


# -- clock -------------------------------------------------------------------------------------

TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised (STA_UNSYNC)


def _clock() -> Finding:
    synced = _timedatectl()
    source = "timedatectl"
    if synced is None:
        synced, source = _adjtimex(), "adjtimex"
    if synced is None:
        return Finding(WARN, "clock", "cannot tell whether the clock is synchronised")
    if synced:
        return Finding(OK, "clock", f"synchronised ({source})")
    return Finding(
        WARN,
        "clock",
        f"not synchronised ({source}): reminders go out by this clock; enable NTP "
        "(timedatectl set-ntp true, or chrony)",
    )


def _timedatectl() -> bool | None:
    """NTPSynchronized from systemd; None where systemd does not run (a container)."""
    exe = shutil.which("timedatectl")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    if done.returncode != 0 or value not in ("yes", "no"):
        return None
    return value == "yes"


def _adjtimex() -> bool | None:
    """The kernel's own view (Linux): adjtimex with no change returns TIME_ERROR when no NTP
    daemon keeps the clock synchronised."""
    name = ctypes.util.find_library("c")
    if name is None or not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex (208 bytes), modes = 0: read
        state = libc.adjtimex(timex)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return bool(state != TIME_ERROR)
