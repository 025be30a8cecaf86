"""Plan files: one file per plan in the plans folder (`[plans] dir`, default plans/ beside
config.toml), each a `[plan]` and its `[[tasks]]` numbered as printed in its appendix.

`read_plans(folder, ids)` reads every `*.toml` directly in the folder (not in archive/ or
other sub-folders, not hidden files) in name order and checks each against the agencies of
config.toml (`ids`). Problems name the plan file, its line and key. Nothing here builds the
model: `reminder.config.load` does, from the `PlanSource`s returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reminder.config import schema
from reminder.config.crosscheck import check_tasks, duplicates
from reminder.config.locate import line_of
from reminder.config.problems import Collector, ConfigError, Problem
from reminder.config.shape import build
from reminder.config.tomlfile import parse_toml, read_text
from reminder.model import Recurrence

ARCHIVE = "archive"  # plans/archive/: archived plans, not loaded (their records stay)


@dataclass(frozen=True, slots=True)
class PlanSource:
    """A plan file that passed its checks: its tables, each task's recurrence by number."""

    file: Path
    plan: schema.Plan
    id: str
    tasks: tuple[schema.PlanTask, ...]
    recurrences: dict[str, Recurrence]
    out: Collector  # its lines, for warnings about its keys


def plan_files(folder: Path) -> list[Path]:
    """The plan files of the folder, in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if p.is_file() and not p.name.startswith("."))


def read_plans(
    folder: Path, ids: set[str], taken: dict[str, str], errors: list[Problem]
) -> list[PlanSource]:
    """Every plan file of `folder`, checked. `taken` holds plan ids already used (by the
    inline [plan]) → where; problems go to `errors` (a file with errors is left out)."""
    found: list[PlanSource] = []
    where: dict[str, str] = dict(taken)
    for file in plan_files(folder):
        source = read_plan(file, ids, errors)
        if source is None:
            continue
        if source.id in where:
            line = line_of(("plan", "id"), source.out.lines)
            errors.append(
                Problem(
                    file,
                    line,
                    "plan.id",
                    f"duplicate plan id {source.id!r} (also in {where[source.id]}): "
                    "give each plan its own id",
                )
            )
            continue
        where[source.id] = str(file)
        found.append(source)
    return found


def read_plan(file: Path, ids: set[str], errors: list[Problem]) -> PlanSource | None:
    """One plan file, checked; None (with its problems in `errors`) if it cannot be used.

    A file that checked before, byte for byte, against the same agency ids and the same
    checking code is taken from the cache folder (reminder.cachedir): 50 plan files cost
    0.25 s to parse and check, 10 ms to unpickle."""
    try:
        raw = file.read_bytes()
    except OSError:
        raw = b""
    key = _cache_key(file, raw, ids)
    cached = _cached(key)
    if cached is not None:
        return cached
    try:
        text = read_text(file)
        data = parse_toml(file, text)
    except ConfigError as exc:
        errors.extend(exc.problems)
        return None
    out = Collector(file, text, data)
    pf = build(schema.PlanFile, data, out)
    if pf is not None and pf.plan.id is None:
        out.error(("plan",), 'required key "id" is missing: the plan\'s id, e.g. "kh-45-2026"')
    if pf is None or out.errors:
        errors.extend(out.errors)
        return None
    numbers = [t.number for t in pf.tasks]
    duplicates(out, ("tasks", "number"), numbers, "task number")
    recurrences = check_tasks(pf.tasks, numbers, ids, out)
    if out.errors:
        errors.extend(out.errors)
        return None
    assert pf.plan.id is not None
    source = PlanSource(file, pf.plan, pf.plan.id, tuple(pf.tasks), recurrences, out)
    _store(key, source)
    return source


_CHECKERS = ("schema.py", "shape.py", "crosscheck.py", "plans.py", "problems.py")


def _cache_key(file: Path, raw: bytes, ids: set[str]) -> str:
    """The file's path and bytes, the agency ids, the checking code's files (their mtimes)."""
    import hashlib

    here = Path(__file__).parent
    code = [str((here / name).stat().st_mtime_ns) for name in _CHECKERS]
    code.append(str((here.parent / "timing.py").stat().st_mtime_ns))
    h = hashlib.sha256(raw)
    h.update("\0".join([str(file), *sorted(ids), *code]).encode())
    return h.hexdigest()[:40]


def _cached(key: str) -> PlanSource | None:
    import pickle

    from reminder.cachedir import cache_dir

    try:
        found = pickle.loads((cache_dir() / "plans" / f"{key}.pickle").read_bytes())
    except Exception:  # missing, unreadable, or from another Python: check the file again
        return None
    return found if isinstance(found, PlanSource) else None


def _store(key: str, source: PlanSource) -> None:
    import os
    import pickle

    from reminder.cachedir import cache_dir

    folder = cache_dir() / "plans"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_bytes(pickle.dumps(source, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(folder / f"{key}.pickle")
    except OSError:
        pass  # a cache that cannot be written only makes the next start slower
