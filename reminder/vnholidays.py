"""Vietnam's public holidays for a year, from the `holidays` package, kept in a small cache.

Asking the package costs ~0.2 s in every process: importing it imports the module of every
country it knows, and Vietnam's lunar dates are then computed. That is most of what
`reminder upcoming` spends, so the answer (holiday names and the government's swapped
working days, per year) is kept in one JSON file, `vn-holidays.json`, in the cache folder.
The answer depends only on the package's version, which keys the file: another version
(an upgrade) makes it stale, and the package is asked again. The ops' overlay
(`[calendar]` weekend, days_off, working_days) is applied by `WorkCalendar` on top of this
answer, so a config edit never needs a new cache.

The file lives in `reminder.cachedir.cache_dir()`. A cache that is missing, unreadable,
stale or malformed is ignored, and one that cannot be written is skipped: it only saves
time, it never changes an answer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
from datetime import date
from pathlib import Path

from reminder.cachedir import cache_dir

log = logging.getLogger(__name__)

CACHE_FILE = "vn-holidays.json"
_FORMAT = 1  # bump when the file's layout changes

Year = tuple[dict[date, str], frozenset[date]]  # holiday → names; swapped working days


def library_version() -> str | None:
    """The installed `holidays` version, read from its dist-info folder's name (importing
    the package, or importlib.metadata's scan of every distribution, costs more than the
    cache saves). None when it cannot be told: then no cache is used."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or spec.origin is None:
        return None
    site = Path(spec.origin).parent.parent
    found = [p.name for p in site.glob("holidays-*.dist-info")]
    if len(found) != 1:
        return None
    return found[0].removeprefix("holidays-").removesuffix(".dist-info")


class HolidayCache:
    """Years of Vietnam's holidays: from the cache file when it is current, else computed."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or cache_dir()) / CACHE_FILE
        self.version = library_version()
        self._years: dict[int, Year] | None = None

    def year(self, year: int) -> Year:
        """Holidays (date → Vietnamese names) and swapped working days of `year`."""
        if self._years is None:
            self._years = self._read()
        if year not in self._years:
            self._years[year] = compute(year)
            self._write()
        return self._years[year]

    def _key(self) -> dict[str, object]:
        return {"format": _FORMAT, "holidays": self.version, "country": "VN", "language": "vi"}

    def _read(self) -> dict[int, Year]:
        if self.version is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data["key"] != self._key():
                return {}
            return {
                int(y): (
                    {date.fromisoformat(d): str(n) for d, n in v["holidays"].items()},
                    frozenset(date.fromisoformat(d) for d in v["swapped"]),
                )
                for y, v in data["years"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # missing or malformed: ask the package

    def _write(self) -> None:
        if self.version is None or self._years is None:
            return
        years = {
            str(y): {
                "holidays": {d.isoformat(): n for d, n in sorted(names.items())},
                "swapped": sorted(d.isoformat() for d in swapped),
            }
            for y, (names, swapped) in sorted(self._years.items())
        }
        text = json.dumps({"key": self._key(), "years": years}, ensure_ascii=False, indent=1)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            import tempfile  # only when the cache is written: ~7 ms off every command

            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".vn-holidays-")
        except OSError as exc:
            log.debug("holiday cache %s not written: %s", self.path, exc)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)  # readers see the old file or the new one, never half
        except OSError as exc:
            log.debug("holiday cache %s not written: %s", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def compute(year: int) -> Year:
    """Ask the `holidays` package (Vietnamese names, ``language="vi"``)."""
    import holidays

    table = holidays.country_holidays("VN", years=year, language="vi")
    names = {d: ", ".join(n.split("; ")) for d, n in table.items()}
    return names, frozenset(table.weekend_workdays)
