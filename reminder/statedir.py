"""Who owns the service's state folder, and whether this process may write into it.

The service writes only its ledger (a SQLite file with its -wal/-shm companions) and, when a
channel writes to the outbox, the outbox folder. A command run by hand as another user —
typically root — would create files there (a new ledger, `outbox/`, a .eml) that the service's
own user cannot write afterwards: every reminder would then fail with "Permission denied".
So commands that write there first ask `foreign_owner` and refuse with one line.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Foreign", "explain", "foreign_owner", "refusal", "sqlite_path", "written_paths"]

SERVICE_STATE = Path("/var/lib/reminder")  # the unit's StateDirectory=reminder


@dataclass(frozen=True, slots=True)
class Foreign:
    """`path` (what the command would write, or its nearest existing folder) belongs to `uid`;
    `wanted` is the ledger file or outbox folder that would be written there."""

    path: Path
    uid: int
    wanted: Path | None = field(default=None, compare=False)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite:///…` ledger URL; None for another database or `:memory:`."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return None
    return Path(database_url[len(prefix) :].split("?", 1)[0])


def written_paths(database_url: str | None, outbox: Path | None) -> list[Path]:
    """The paths a command writes: the SQLite ledger file (if SQLite) and the outbox folder."""
    paths = [sqlite_path(database_url)] if database_url else []
    return [p for p in [*paths, outbox] if p is not None]


def foreign_owner(paths: list[Path], euid: int) -> Foreign | None:
    """The first of `paths` that belongs to a user other than `euid`.

    A path that does not exist yet is judged by its nearest existing folder, where it would
    be created — unless that folder is a shared sticky one such as /tmp, where every user
    keeps their own files. A path this process cannot even look at is left to the command
    itself (it will fail with its own error)."""
    for path in paths:
        found = _nearest_existing(path)
        if found is None:
            continue
        where, st = found
        if where != path and st.st_mode & stat.S_ISVTX:
            continue
        if st.st_uid != euid:
            return Foreign(where, st.st_uid, path)
    return None


def _nearest_existing(path: Path) -> tuple[Path, os.stat_result] | None:
    where = path.absolute()
    while True:
        try:
            return where, where.stat()
        except FileNotFoundError:
            if where.parent == where:
                return None
            where = where.parent
        except OSError:
            return None


def refusal(found: Foreign, euid: int) -> str:
    """The one-line explanation for a command that refuses to write."""
    return (
        f"{found.path} belongs to {_user(found.uid)}, but this command runs as {_user(euid)}: "
        "files it created there could not be written by the service afterwards. Run it as "
        f"{_user(found.uid)} (on the server: reminder-as-service …, see docs/install.md)"
    )


def explain(found: Foreign, euid: int, database_url: str | None) -> tuple[bool, str]:
    """(True, the refusal) when this process could write there but must not: root, or a
    user other than the folder's owner, in the service's folder (exit 77, run it as the
    owner). (False, why and the fix) when a user who is not root meets a folder of root's
    (typically the service's ledger or outbox configured under /etc/reminder): no user
    change helps, the path or the folder's owner must change (exit 69)."""
    if euid == 0 or found.uid != 0:
        return True, refusal(found, euid)
    wanted = found.wanted or found.path
    ledger = sqlite_path(database_url) if database_url else None
    state = _state_directory()
    if ledger is not None and wanted == ledger:
        what, setting = "the ledger", f'[database] url = "sqlite:///{state / wanted.name}"'
    else:
        what, setting = "the outbox", f'[outbox] dir = "{state / "outbox"}"'
    name = _user(euid).split(" (", 1)[0]
    return False, (
        f"cannot write {what} {wanted}: {found.path} belongs to {_user(found.uid)} and this "
        f"process runs as {_user(euid)}. Keep it in the service's own folder, {state} "
        f"(StateDirectory=reminder in the unit): {setting} in the configuration; or, "
        f"outside systemd, give the folder to this user: chown -R {name} {found.path}"
    )


def _state_directory() -> Path:
    """The service's state folder: systemd's $STATE_DIRECTORY (StateDirectory=), else the
    unit's /var/lib/reminder."""
    given = os.environ.get("STATE_DIRECTORY", "").split(":", 1)[0]
    return Path(given) if given else SERVICE_STATE


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
