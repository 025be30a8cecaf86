"""The exit codes of every `reminder` command (sysexits), and the error that carries one.

One table for every subcommand (docs/exitcodes.md prints it):

    0   ok
    1   `doctor`: a check FAILed
    64  bad usage: a wrong or missing argument, an ambiguous name
    65  bad data on the command line: an unknown task, agency, plan, key; a date out of range
    66  an input file given on the command line that does not exist or cannot be read
    69  a service unavailable: the ledger cannot be opened, a message given up
    70  an internal error (a bug: run with --log-level DEBUG)
    73  an output file that cannot be written
    75  a temporary failure: try again later
    77  no permission: another user's state folder
    78  bad configuration: config.toml, a plan file or a template
"""

from __future__ import annotations

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_CANTCREAT = 73
EX_TEMPFAIL = 75
EX_NOPERM = 77
EX_CONFIG = 78


class UsageError(Exception):
    """A mistake on the command line; exit 64 (or `code`) with one line."""

    def __init__(self, message: str, code: int = EX_USAGE):
        super().__init__(message)
        self.code = code
