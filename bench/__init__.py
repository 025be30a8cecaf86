"""Benchmarks for `reminder`: figures, not pass/fail. Run `uv run --group bench python -m bench`.

Every server measured against is started here on 127.0.0.1 (an SMTP sink process, the fake
Telegram Bot API); every figure is reported next to a baseline measured in the same run.
See docs/performance.md for the results and what they mean.
"""

import sys

sys.dont_write_bytecode = True  # the bench writes nothing outside /tmp but bench/results/
