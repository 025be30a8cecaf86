"""`reminder import`: a plan's task appendix into config tasks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reminder.commands.common import (
    now_of,
    print_warnings,
)
from reminder.exitcodes import (
    EX_CANTCREAT,
    EX_CONFIG,
    EX_DATAERR,
    EX_NOINPUT,
    EX_OK,
    UsageError,
)

if TYPE_CHECKING:
    pass


def import_(args: argparse.Namespace) -> int:
    """Read a plan's task appendix into config tasks: a fragment, or a merged config."""
    import tomllib

    from reminder.importer import BadInput, import_appendix, read_wording
    from reminder.render import default_template_dir

    source = Path(args.file)
    if not source.is_file():
        why = "no such file" if not source.exists() else "not a file"
        raise UsageError(f"{source}: {why}; nothing written", EX_NOINPUT)
    target = Path(args.merge or args.config)
    if args.merge and args.output:
        raise UsageError("--merge writes its own file beside the config: leave -o out")
    if args.merge and args.plan_id:
        raise UsageError("--id writes a plan file into plans/: leave --merge out")
    config_text = _config_text(target, required=bool(args.merge))
    if args.merge:
        _merge_allowed(target, config_text, source)
    out_path = _output_path(args, target, config_text)
    if out_path is not None:  # an existing plan file: first see whether it is this appendix
        _may_write(out_path, source, target, args.force or bool(args.plan_id))
    try:
        result = import_appendix(
            source,
            wanted=args.source_format,
            config_text=config_text,
            config_name=target.name,
            year=now_of(args).year,
            wording=read_wording(default_template_dir() / "import.toml"),
            plan_title=args.plan_title,
            merge_into=bool(args.merge),
            plan_id=args.plan_id,
        )
    except BadInput as exc:
        raise UsageError(f"{source}: {exc}; nothing written", EX_DATAERR) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{target}: not valid TOML ({exc}); run `reminder check` on it first", EX_CONFIG
        ) from None
    if config_text is None:
        print(f"note: no {target}: every agency is proposed as new", file=sys.stderr)
    review = result.review
    print(f"{source}: {result.outcome.summary()}; {len(review)} to review", file=sys.stderr)
    for n, text in enumerate(review, start=1):
        print(f"  {n}. {text}", file=sys.stderr)
    if args.plan_id:
        _same_appendix(target, result.toml, args.plan_id, args.force)
        if out_path is not None:
            _may_write(out_path, source, target, args.force)
    if args.merge:
        code = _write_merged(target, result.toml)
    elif out_path is not None:
        _write_new(out_path, result.toml)
        print(f"written to {out_path}", file=sys.stderr)
        code = _check_plan_file(target, out_path) if _in_plans(target, out_path) else EX_OK
    else:
        code = EX_OK
        sys.stdout.write(result.toml)
    if code == EX_OK and review:
        print(
            f"{len(review)} point(s) to review, listed atop the file: exit {EX_DATAERR}",
            file=sys.stderr,
        )
        return EX_DATAERR
    return code


def _config_text(path: Path, required: bool) -> str | None:
    """The config's text for matching agencies; None if it does not exist (and may not)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        if required:
            raise UsageError(f"{path}: no such file (create it, even empty)", EX_CONFIG) from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as UTF-8 text ({exc})", EX_CONFIG) from None


def _merge_allowed(config: Path, config_text: str | None, source: Path) -> None:
    """--merge appends tasks to the plan inline in CONFIG. A config whose plans are files in
    plans/ has none: merging would add a second plan inline, beside those files (with the
    default id "ke-hoach" of the shipped plan's file, at that); a new appendix there is a
    plan file of its own (`import --id`). UsageError then, before anything is written."""
    import tomllib

    try:
        data = tomllib.loads(config_text or "")
    except tomllib.TOMLDecodeError:
        return  # said below, with the reading's own message
    if "plan" in data or "tasks" in data:
        return  # today's shape: the tasks go on the inline plan
    folder = _plans_dir(config, config_text)
    files = sorted(p.stem for p in folder.glob("*.toml") if not p.name.startswith("."))
    if files:
        try:
            shown = folder.relative_to(Path.cwd())
        except ValueError:
            shown = folder
        raise UsageError(
            f"{config} keeps its plans as files in {shown}/ ({', '.join(files)}): --merge "
            f"adds tasks to a plan inside config.toml; import a new plan as a file of its own: "
            f"reminder import {source} --id <plan id> (e.g. --id kh-45-2026); nothing written"
        )


def _output_path(args: argparse.Namespace, config: Path, config_text: str | None) -> Path | None:
    """Where the import is written: -o, else plans/<id>.toml with --id, else nowhere (stdout)."""
    if args.plan_id:
        import re

        from reminder.config.schema import ID_PATTERN

        if not re.match(ID_PATTERN, args.plan_id) or len(args.plan_id) > 40:
            raise UsageError(
                f"--id {args.plan_id!r}: expected a plan id of a-z, 0-9, '-' or '_' "
                '(e.g. "kh-45-2026")'
            )
    if args.output:
        return Path(args.output)
    if args.plan_id:
        return _plans_dir(config, config_text) / f"{args.plan_id}.toml"
    return None


def _plans_dir(config: Path, config_text: str | None) -> Path:
    """The plans folder of the configuration ([plans] dir, default plans/ beside it)."""
    import tomllib

    folder = "plans"
    try:
        table = tomllib.loads(config_text or "").get("plans")
        if isinstance(table, dict) and isinstance(table.get("dir"), str):
            folder = table["dir"]
    except tomllib.TOMLDecodeError:
        pass
    return config.resolve().parent / folder


def _may_write(path: Path, source: Path, config: Path, force: bool) -> None:
    """Refuse (73) to write over the input or the configuration ever, or over any existing
    file without --force."""
    if path.exists() and path.resolve() == source.resolve():
        raise UsageError(f"{path} is the appendix being imported: nothing written", EX_CANTCREAT)
    if path.exists() and path.resolve() == config.resolve():
        raise UsageError(
            f"{path} is the configuration itself: nothing written (--merge writes a merged "
            "copy beside it)",
            EX_CANTCREAT,
        )
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists already: nothing written (--force replaces it)", EX_CANTCREAT
        )


def _same_appendix(config: Path, text: str, plan_id: str, force: bool) -> None:
    """Say when the imported appendix is a plan the office already runs (most task titles
    the same); refuse (73) to import it again under that plan's own id without --force."""
    import tomllib

    from reminder.config import ConfigError, load

    titles = {
        " ".join(str(t.get("title", "")).split()) for t in tomllib.loads(text).get("tasks", [])
    }
    try:
        catalog = load(config).catalog
    except ConfigError:
        return  # nothing to compare with: `check` says what is wrong with the config
    for pid, plan in catalog.plans.items():
        theirs = {" ".join(t.title.split()) for t in catalog.tasks if t.plan == pid}
        if not titles or len(titles & theirs) < 0.8 * max(len(titles), len(theirs)):
            continue
        where = plan.source or config
        if pid == plan_id and not force:
            raise UsageError(
                f"this appendix is already there: plan {pid} ({where}) has "
                f"{len(titles & theirs)} of its {len(titles)} tasks; nothing written "
                "(--id OTHER makes a second plan of it; --force replaces it)",
                EX_CANTCREAT,
            )
        print(
            f"note: this appendix is already plan {pid} ({where}): {plan_id} is a second plan "
            "of it, numbered as the appendix",
            file=sys.stderr,
        )
    taken = catalog.plans.get(plan_id)
    if taken is not None and taken.source is None:
        raise UsageError(
            f"--id {plan_id}: the plan inline in {config} has that id; choose another",
            EX_DATAERR,
        )


def _in_plans(config: Path, path: Path) -> bool:
    return path.resolve().parent == _plans_dir(config, _config_text(config, False)).resolve()


def _check_plan_file(config: Path, path: Path) -> int:
    """The configuration with the new plan file must check: else the file is set aside as
    <id>.toml.draft (not read, so a reload keeps the running plans) and 78 said."""
    from reminder.config import ConfigError, load

    try:
        settings = load(config)
    except ConfigError as exc:
        draft = path.with_name(path.name + ".draft")
        path.replace(draft)
        for problem in exc.problems:
            print(f"error: {problem}".replace(str(path), str(draft)), file=sys.stderr)
        print(
            f"{draft}: the plan does not check with {config} yet (not read until it does): "
            f"fix it, then rename it to {path.name}",
            file=sys.stderr,
        )
        return EX_CONFIG
    mine = path.resolve()
    cat = settings.catalog
    tasks = sum(1 for t in cat.tasks if (cat.plan_of(t).source or config).resolve() == mine)
    print(f"{path}: OK — {tasks} tasks; `reminder plans` lists it", file=sys.stderr)
    return EX_OK


def _write_new(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", EX_CANTCREAT) from None


def _write_merged(config: Path, text: str) -> int:
    """Write the merged config beside the original (never over it) and check it."""
    from reminder.config import ConfigError
    from reminder.render import load_checked

    out = _beside(config)
    with out.open("x", encoding="utf-8") as f:
        f.write(text)
    print(f"merged into a new file: {out} ({config} is unchanged)", file=sys.stderr)
    try:
        settings = load_checked(out)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            f"{out}: {len(exc.problems)} error(s) to fix before use (the lines marked "
            "'check:' say why)",
            file=sys.stderr,
        )
        return EX_CONFIG
    print_warnings(settings)
    cat = settings.catalog
    print(f"{out}: OK — {len(cat.tasks)} tasks; `reminder --config {out} upcoming` shows them")
    return EX_OK


def _beside(config: Path) -> Path:
    """config.imported.toml, or config.imported-2.toml … if that exists."""
    stem = config.name.removesuffix(".toml")
    candidate, n = config.with_name(f"{stem}.imported.toml"), 2
    while candidate.exists():
        candidate, n = config.with_name(f"{stem}.imported-{n}.toml"), n + 1
    return candidate
