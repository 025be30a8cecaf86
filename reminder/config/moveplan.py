"""Moving a plan inline in config.toml ([plan] and [[tasks]], the shape before plans/) into a
plan file, keeping the comments (tomlkit): `[plan]` gains its `id`; each task's `id` becomes
its `former_id` (so its ledger records, completion records and calendar UIDs stay its own)
and its number becomes text. `reminder plans --move-inline` uses it.
"""

from __future__ import annotations

from typing import Any


def split_inline(config_text: str, plan_id: str) -> tuple[str, str]:
    """(config.toml without its [plan] and [[tasks]], the plan file's text). KeyError if the
    text has no inline [plan] or no [[tasks]]."""
    import tomlkit

    doc = tomlkit.parse(config_text)
    plan, tasks = doc["plan"], doc["tasks"]
    out = tomlkit.document()
    out.add(
        tomlkit.comment(
            f"The plan {plan_id}: moved out of config.toml (docs/config.md, Plan files)."
        )
    )
    table = tomlkit.table()
    table.add("id", plan_id)
    _copy(plan, table, {"id"})
    out.add("plan", table)
    moved = tomlkit.aot()
    for task in tasks:
        new = tomlkit.table()
        for key, item in task.value.body:
            name = key.key if key is not None else None
            if name == "id":
                continue
            if name == "number":
                new.add("number", str(item))
                new.add("former_id", str(task["id"]))
            elif name is None:
                new.add(item)
            else:
                new.add(name, item)
        moved.append(new)
    out.add("tasks", moved)
    del doc["plan"]
    del doc["tasks"]
    return tomlkit.dumps(doc), tomlkit.dumps(out)


def _copy(source: Any, target: Any, skip: set[str]) -> None:
    for key, item in source.value.body:
        if key is None:
            target.add(item)
        elif key.key not in skip:
            target.add(key.key, item)
