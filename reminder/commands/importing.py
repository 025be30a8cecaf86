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
    config_text = _config_text(target, required=bool(args.merge))
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
    if args.merge:
        code = _write_merged(target, result.toml)
    else:
        code = EX_OK
        if args.output:
            _write_new(Path(args.output), result.toml, target)
            print(f"written to {args.output}", file=sys.stderr)
        else:
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


def _write_new(path: Path, text: str, config: Path) -> None:
    if path.resolve() == config.resolve():
        raise UsageError(f"-o {path} is the configuration itself: use --merge instead")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


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
