"""The suite's own hygiene (tests/conftest.py): what one test leaves behind in the process
does not break or litter a later test run in the same worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import PATIENCE, patient
from slowfirst import slowest_first

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


def test_logging_set_up_by_one_test_prints_no_logging_error_in_a_later_one(
    pytester: pytest.Pytester,
) -> None:
    """A test that sets up the daemon's logging (as `reminder run` in-process does) on its
    captured stderr, then a later test that logs: no "--- Logging error ---" traceback."""
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_two="""
        import logging

        from reminder.logs import setup_logging


        def test_sets_up_logging(capsys):
            setup_logging("INFO")
            logging.getLogger("reminder.x").info("to this test's captured stderr")
            assert "captured" in capsys.readouterr().err


        def test_logs_later():
            logging.getLogger("mail.log").warning("a server thread, in a later test")
        """
    )
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    output = result.stdout.str() + result.stderr.str()
    assert "Logging error" not in output and "closed file" not in output


@pytest.mark.timeout(10)
def test_a_timeout_mark_is_multiplied_by_the_patience(request: pytest.FixtureRequest) -> None:
    """A test's own timeout mark bounds a hung test, not a loaded machine: x PATIENCE."""
    mark = request.node.get_closest_marker("timeout")
    assert PATIENCE >= 2 and mark is not None and mark.args[0] == patient(10)


class _Item:
    """What slowfirst reads of a pytest item: its id and its timeout mark."""

    def __init__(self, nodeid: str, timeout: float | None = None) -> None:
        self.nodeid = nodeid
        self.mark = pytest.mark.timeout(timeout).mark if timeout is not None else None

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self.mark if name == "timeout" else None


def test_the_slowest_tests_are_handed_out_first() -> None:
    """Tests that took SLOW seconds or more last time, or carry a long timeout mark, come
    first, slowest first; the others keep their order."""
    items: list[Any] = [
        _Item("a::quick"),
        _Item("a::slow", timeout=40),  # never timed: a quarter of its mark, 10 s
        _Item("b::quick"),
        _Item("b::slowest"),
        _Item("c::timed_quick", timeout=40),
        _Item("c::quick"),
    ]
    known = {"b::slowest": 60.0, "c::timed_quick": 0.5, "a::quick": 0.1}
    slowest_first(items, known)
    assert [i.nodeid for i in items] == [
        "b::slowest",
        "a::slow",
        "a::quick",
        "b::quick",
        "c::timed_quick",
        "c::quick",
    ]


def test_python_processes_of_the_suite_share_one_bytecode_cache(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under PYTHONDONTWRITEBYTECODE, a Python subprocess of a test writes its bytecode in
    .pytest_cache (for the next one to read), never beside the sources."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_child="""
        import os
        import subprocess
        import sys
        from pathlib import Path


        def test_a_child_writes_its_bytecode_in_the_cache(tmp_path):
            (tmp_path / "mod_x.py").write_text("X = 1\\n")
            subprocess.run([sys.executable, "-c", "import mod_x"], cwd=tmp_path, check=True)
            prefix = Path(os.environ["PYTHONPYCACHEPREFIX"])
            assert prefix.parent.parent.name == ".pytest_cache"
            assert len(list(prefix.rglob("mod_x.*.pyc"))) == 1
            assert not (tmp_path / "__pycache__").exists()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
