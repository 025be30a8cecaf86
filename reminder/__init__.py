"""Nhắc hạn: deadline reminders for the tasks of a Vietnamese provincial plan."""

from __future__ import annotations


def version() -> str:
    """The installed package's version. It names the git commit it was built from, e.g.
    `0.1.1.dev80+g1c8829a1a` (pyproject.toml: [tool.hatch.version] source = "vcs").

    The build writes it to `reminder/_version.py` (also in an editable install: uv rebuilds
    when the commit changes); without that file, the installed metadata is asked."""
    try:
        from reminder._version import __version__ as built
    except ImportError:
        pass
    else:
        return str(built)
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("reminder")
    except PackageNotFoundError:
        return "unknown (not installed)"


def __getattr__(name: str) -> str:
    """`reminder.__version__`, read on first use: the lookup costs a few ms per command."""
    if name == "__version__":
        return version()
    raise AttributeError(f"module 'reminder' has no attribute {name!r}")
