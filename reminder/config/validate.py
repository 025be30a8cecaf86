"""Turn pydantic's validation errors into Problems with key paths, lines and expectations."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from reminder.config.problems import Collector
from reminder.config.schema import Config


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
    msg = str(err["msg"]).removeprefix("Value error, ")
    if "(got " in msg:
        return msg
    return f"{msg} (got {_short(err.get('input'))})"


def _short(value: object) -> str:
    text = repr(value)
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
