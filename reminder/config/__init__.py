"""Reading config.toml into checked, typed settings (`load`), with one-line problems."""

from reminder.config.load import Settings, load
from reminder.config.problems import ConfigError, Problem

__all__ = ["ConfigError", "Problem", "Settings", "load"]
