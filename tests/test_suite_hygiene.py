"""The suite's own hygiene (tests/conftest.py): what one test leaves behind in the process
does not break or litter a later test run in the same worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import PATIENCE, patient

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
