"""A task whose own text names a period that has ended ("giai đoạn 2021 – 2025").

Task 1 of the appendix is "Kế hoạch số 45/KH-UBND … giai đoạn 2021 – 2025", planned
"Hằng năm": without an end year the daemon would remind agencies of it in 2027 as if that
plan still ran. Whether a successor plan carries the task on is for ops to say, so `check`
warns, unless the task stops in time (`end_year`) or ops marked the reading as an
assumption (`assumed = true`, listed with the other assumptions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reminder.config.problems import Collector
from reminder.model import Task
from reminder.occurrences import occurrences

_DASH = r"\s*[-–—]\s*"
# "giai đoạn 2021 – 2025", "năm 2021 – 2025", "đến năm 2025" (any dash, any spacing, any case)
_PERIOD = re.compile(
    rf"(?:giai\s+đoạn|năm)\s+(?:19|20)\d\d{_DASH}((?:19|20)\d\d)|đến\s+năm\s+((?:19|20)\d\d)",
    re.IGNORECASE,
)
_LOOK_AHEAD_YEARS = 12  # beyond the longest interval (10 years): one occurrence is enough


@dataclass(frozen=True, slots=True)
class Period:
    """A period named in a text: the words as written and the year it ends."""

    words: str
    end: int


def named_period(text: str) -> Period | None:
    """The period the text names that ends last, or None."""
    found = [
        Period(" ".join(m.group(0).split()), int(m.group(1) or m.group(2)))
        for m in _PERIOD.finditer(text)
    ]
    return max(found, key=lambda p: p.end, default=None)


def warn_ended_periods(tasks: Sequence[Task], out: Collector) -> None:
    """Warn for each task whose title names a period ending before occurrences it plans."""
    for i, task in enumerate(tasks):
        period = named_period(task.title)
        if period is None or task.assumed or not task.enabled:
            continue
        after = date(period.end + 1, 1, 1)
        later = [
            o
            for o in occurrences(task, after, date(period.end + _LOOK_AHEAD_YEARS, 12, 31))
            if o.start >= after
        ]
        if later:
            out.warn(
                ("tasks", i, "title"),
                f"the title names a period that ended in {period.end} (“{period.words}”) but "
                f"the task plans occurrences after it ({later[0].label}, …): set "
                f"end_year = {period.end} if it ended then, or `assumed = true` (with a note) "
                "if a successor plan carries it on",
            )
