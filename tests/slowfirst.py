"""The slowest tests first, so that the parallel workers finish together.

pytest-xdist (`--dist load --maxschedchunk 1` in pyproject.toml) hands each worker the next
test in collection order whenever it runs low. With a 90-second daemon test left for the
end, one worker would run it while the others sit idle; started first, it runs alongside
hundreds of quick tests (longest-first scheduling).

How long a test takes is what it took in the last runs: the controller keeps the seconds
per test id in .pytest_cache under DURATIONS and hands the workers one copy (so that they
all sort alike, even if another run rewrites the cache meanwhile). A test never timed yet
is guessed from its timeout mark (the long daemon and HA tests have one). Tests expected to
take SLOW seconds or more go to the front, slowest first; the others keep their order.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

DURATIONS = "reminder/durations"
SLOW = 3.0  # seconds


def expected(item: pytest.Item, known: Mapping[str, float]) -> float:
    """The seconds `item` took last time, or a quarter of its timeout mark, or 0."""
    if item.nodeid in known:
        return float(known[item.nodeid])
    mark = item.get_closest_marker("timeout")
    return float(mark.args[0]) / 4 if mark is not None and mark.args else 0.0


def slowest_first(items: list[pytest.Item], known: Mapping[str, float]) -> None:
    """Reorder `items` in place: the slow ones first (slowest first), then the rest as they were."""
    guess = {item.nodeid: expected(item, known) for item in items}
    slow = sorted((i for i in items if guess[i.nodeid] >= SLOW), key=lambda i: -guess[i.nodeid])
    rest = [i for i in items if guess[i.nodeid] < SLOW]
    items[:] = slow + rest


class Timings:
    """The seconds each test took in this session (setup + call + teardown)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration

    def save(self, cache: pytest.Cache) -> None:
        """Merge into the cache's durations (tests not run this time keep theirs)."""
        if not self.seconds:
            return
        known = dict(cache.get(DURATIONS, {}))
        known.update({k: round(v, 2) for k, v in self.seconds.items()})
        cache.set(DURATIONS, known)
