"""Turn pydantic's validation errors into Problems with key paths, lines and expectations."""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from reminder.config.problems import Collector
from reminder.config.schema import ID_PATTERN, Config


def schema_problems(exc: ValidationError, out: Collector) -> None:
    """Report each pydantic error as one problem line."""
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], out.data)
        out.error(loc, _explain(err, loc, out.data))


def _clean_loc(loc: tuple[Any, ...], data: object) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags from a location, keeping real keys and indices."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            kept.append(part)
            node = node[part] if part < len(node) else None
        elif isinstance(part, str) and (isinstance(node, dict) or node is None):
            if isinstance(node, dict) and part not in node and ("[" in part or "-" in part):
                continue  # e.g. "function-after[...]" or "literal['a','b']"
            kept.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(kept)


def _explain(err: Any, loc: tuple[str | int, ...], data: object) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        name = str(loc[-1]) if loc else ""
        hint = difflib.get_close_matches(name, allowed, n=1)
        guess = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown key; expected one of: {', '.join(allowed)}{guess}"
    if kind == "missing":
        return "required key is missing"
    plain = _hint(kind, err.get("input"), err.get("ctx") or {})
    if plain:
        return f"{plain} (got {_short(err.get('input'))})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if "(got " in msg:
        return msg
    return f"{msg} (got {_short(err.get('input'))})"


def _hint(kind: str, value: object, ctx: dict[str, Any]) -> str | None:
    """Plain words for the mistakes ops make most: ids, quoted dates, unquoted times."""
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ID_PATTERN:
        return 'expected an id of lower-case letters a-z, digits, "-" or "_" (no spaces or accents), e.g. "so-noi-vu"'
    if kind == "date_type" and isinstance(value, str):
        return "expected a date written without quotes, e.g. 2026-12-31"
    if kind == "string_type" and isinstance(value, dt.time):
        return 'expected a time in quotes, e.g. "08:00"'
    return None


def _short(value: object) -> str:
    """The offending value as the TOML file wrote it (dates and times as 2026-12-31, 08:00:00)."""
    text = value.isoformat() if isinstance(value, dt.date | dt.time) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at `loc` accepts (aliases as written in TOML)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) or _by_alias(model, part)
        model = _model_in(field.annotation) if field else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _by_alias(model: type[BaseModel], alias: str) -> Any:
    for field in model.model_fields.values():
        if field.alias == alias:
            return field
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside Optional[...] / list[...] annotations, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None
