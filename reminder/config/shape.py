"""Checking a parsed config.toml against its tables: types, ranges, unknown and missing keys.

Each table of the file is a `Table` subclass (in `reminder.config.schema`) whose annotated
attributes give the type, the default and the limits (`key(...)`), as a dataclass's would.
`build(Config, data, out)` walks the parsed TOML, reports every problem through the Collector
(a key path and one sentence) and returns the Config, or None when anything was wrong.

The checks are strict, as TOML is typed: "1" is not a number, 1 is not true, a date in quotes
is text; the one conversion is a whole number taken where a decimal is expected. The
sentences keep the wording that docs/config.md quotes ("Input should be greater than or equal
to 1 (got 0)").

Why not a validation library: this used pydantic, and building its models took 0.25 s of
every `reminder check` and `reminder upcoming` (issue 12); the file needs only the checks
below.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from typing import Any, Literal, TypeVar

from reminder.config.locate import Path as KeyPath
from reminder.config.problems import Collector

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """The bounds a value must keep, checked in this order after its type."""

    le: float | None = None
    ge: float | None = None
    gt: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    hint: str | None = None  # plain words for a pattern mismatch


@dataclass(frozen=True)
class Check:
    """A field's own check: returns '' when the value is right, else what is wrong.

    With `against`, the check also receives that earlier field's value (when it was valid).
    """

    call: Callable[..., str]
    against: str | None = None


@dataclass(frozen=True)
class Key:
    """How a table declares one of its keys: default (MISSING: required), limits, check."""

    default: Any
    alias: str | None
    limits: Limits
    each: Limits  # for each item of a list
    check: Check | None

    def value(self) -> Any:
        """The default, copied when it is a list (tables share nothing they could change)."""
        return list(self.default) if isinstance(self.default, list) else self.default


def key(
    default: Any = MISSING,
    *,
    alias: str | None = None,
    limits: Limits | None = None,
    each: Limits | None = None,
    check: Check | Callable[[Any], str] | None = None,
    **bounds: Any,
) -> Any:
    """A key of a table: its default (none: required), limits (or bounds), item limits, check."""
    if check is not None and not isinstance(check, Check):
        check = Check(check)
    return Key(default, alias, limits or Limits(**bounds), each or Limits(), check)


@typing.dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(key,))
class Table:
    """A table of config.toml: its keys are the annotated class attributes, read-only.

    Not a dataclass: making ~25 dataclasses (generated code) cost every command ~20 ms.
    """

    def __init__(self, **values: Any) -> None:
        for f in fields_of(type(self)):
            value = values.pop(f.name) if f.name in values else f.key.value()
            object.__setattr__(self, f.name, value)
        if values:
            raise TypeError(f"{type(self).__name__} has no key {', '.join(values)}")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields_of(type(self)))
        return f"{type(self).__name__}({inner})"


def build(cls: type[T], data: object, out: Collector) -> T | None:
    """`data` checked against the table `cls`; None when a problem was reported to `out`."""
    before = len(out.errors)
    value = _table(cls, data, (), out)
    return value if len(out.errors) == before else None


@dataclass(frozen=True)
class _Field:
    name: str
    kind: Any  # the type, Optional stripped
    key: Key

    @property
    def toml(self) -> str:
        """The key as written in the file."""
        return self.key.alias or self.name


_FIELDS: dict[type, tuple[_Field, ...]] = {}


def fields_of(cls: type) -> tuple[_Field, ...]:
    """The keys of a table, in declaration order (a base table's first)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = tuple(
            _Field(name, _optional_stripped(kind), _declared(cls, name))
            for name, kind in typing.get_type_hints(cls).items()
        )
    return _FIELDS[cls]


def _declared(cls: type, name: str) -> Key:
    value = getattr(cls, name, MISSING)
    return value if isinstance(value, Key) else Key(value, None, Limits(), Limits(), None)


def allowed_keys(cls: type) -> list[str]:
    """The keys a table takes, as written in the file."""
    return [f.toml for f in fields_of(cls)]


def _optional_stripped(kind: Any) -> Any:
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return kind


def _table(cls: type[T], data: object, path: KeyPath, out: Collector) -> T | None:
    if not isinstance(data, dict):
        out.error(
            path, _got(f"Input should be a valid dictionary or instance of {cls.__name__}", data)
        )
        return None
    values: dict[str, Any] = {}
    ok = True
    for f in fields_of(cls):
        if f.toml not in data:
            if f.key.default is MISSING:
                out.error((*path, f.toml), "required key is missing")
                ok = False
            continue
        good, value = _field(f, data[f.toml], (*path, f.toml), values, out)
        if good:
            values[f.name] = value
        ok = ok and good
    known = set(allowed_keys(cls))
    for name in data:
        if name not in known:
            out.error((*path, name), _unknown(cls, name))
            ok = False
    return cls(**values) if ok else None


def _unknown(cls: type, name: str) -> str:
    allowed = allowed_keys(cls)
    hint = difflib.get_close_matches(name, allowed, n=1)
    guess = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown key; expected one of: {', '.join(allowed)}{guess}"


def _field(
    f: _Field, value: object, path: KeyPath, earlier: dict[str, Any], out: Collector
) -> tuple[bool, Any]:
    good, value = _value(f.kind, f.key.limits, f.key.each, value, path, out)
    check = f.key.check
    if not good or check is None:
        return good, value
    if check.against is None:
        problem = check.call(value)
    elif check.against in earlier:
        problem = check.call(value, earlier[check.against])
    else:
        problem = ""
    if problem:
        out.error(path, problem if "(got " in problem else _got(problem, value))
    return not problem, value


def _value(
    kind: Any, limits: Limits, each: Limits, value: object, path: KeyPath, out: Collector
) -> tuple[bool, Any]:
    """(True, the value) when `value` is a `kind` within `limits`; else (False, None), reported."""
    if isinstance(kind, type) and issubclass(kind, Table):
        built = _table(kind, value, path, out)
        return built is not None, built
    if typing.get_origin(kind) is list:
        return _list(typing.get_args(kind)[0], limits, each, value, path, out)
    problem = _scalar_problem(kind, value) or _limits_problem(limits, value)
    if problem:
        out.error(path, problem)
        return False, None
    return True, value


def _list(
    item: Any, limits: Limits, each: Limits, value: object, path: KeyPath, out: Collector
) -> tuple[bool, Any]:
    if not isinstance(value, list):
        out.error(path, _got("Input should be a valid list", value))
        return False, None
    results = [_value(item, each, Limits(), v, (*path, i), out) for i, v in enumerate(value)]
    if not all(good for good, _ in results):
        return False, None
    problem = _length_problem("List", "item", limits, len(value), after=True)
    if problem:
        out.error(path, _got(problem, value))
        return False, None
    return True, [v for _, v in results]


_TYPES: dict[Any, tuple[Callable[[object], bool], str]] = {
    str: (lambda v: isinstance(v, str), "Input should be a valid string"),
    bool: (lambda v: isinstance(v, bool), "Input should be a valid boolean"),
    int: (
        lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Input should be a valid integer",
    ),
    float: (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "Input should be a valid number",
    ),
    dt.date: (
        lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime),
        "Input should be a valid date",
    ),
}


def _scalar_problem(kind: Any, value: object) -> str:
    """'' when `value` has the type `kind`, else what was expected."""
    if typing.get_origin(kind) is Literal:
        options = typing.get_args(kind)
        if value in options and isinstance(value, str):
            return ""
        return _got(f"Input should be {_alternatives(options)}", value)
    test, message = _TYPES[kind]
    if test(value):
        return ""
    if kind is dt.date and isinstance(value, str):
        message = "expected a date written without quotes, e.g. 2026-12-31"
    elif kind is str and isinstance(value, dt.time):
        message = 'expected a time in quotes, e.g. "08:00"'
    return _got(message, value)


def _alternatives(options: tuple[Any, ...]) -> str:
    quoted = [repr(o) for o in options]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _limits_problem(limits: Limits, value: Any) -> str:
    """'' when `value` keeps `limits`, else the first bound it breaks (NaN breaks them all)."""
    if isinstance(value, str):
        problem = _length_problem("String", "character", limits, len(value), after=False)
        if not problem and limits.pattern and not re.match(limits.pattern, value):
            problem = limits.hint or f"String should match pattern {limits.pattern!r}"
        return _got(problem, value) if problem else ""
    if limits.le is not None and not value <= limits.le:
        return _got(f"Input should be less than or equal to {limits.le}", value)
    if limits.ge is not None and not value >= limits.ge:
        return _got(f"Input should be greater than or equal to {limits.ge}", value)
    if limits.gt is not None and not value > limits.gt:
        return _got(f"Input should be greater than {limits.gt}", value)
    return ""


def _length_problem(what: str, unit: str, limits: Limits, n: int, *, after: bool) -> str:
    tail = f" after validation, not {n}" if after else ""
    for bound, word, broken in (
        (limits.min_length, "least", limits.min_length is not None and n < limits.min_length),
        (limits.max_length, "most", limits.max_length is not None and n > limits.max_length),
    ):
        if broken:
            plural = unit if bound == 1 else f"{unit}s"
            return f"{what} should have at {word} {bound} {plural}{tail}"
    return ""


def _got(message: str, value: object) -> str:
    """The message with the offending value as the TOML file wrote it."""
    text = value.isoformat() if isinstance(value, dt.date | dt.time) else repr(value)
    return f"{message} (got {text if len(text) <= 60 else text[:57] + '...'})"
