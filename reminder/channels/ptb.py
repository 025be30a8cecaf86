"""python-telegram-bot, imported without its Telegram Passport support.

`import telegram` imports `cryptography`, when it is installed, for Telegram Passport
decryption and `Bot(private_key=…)` (telegram/_bot.py, telegram/_passport/credentials.py),
which reminder never uses. cryptography is installed only because pdfminer.six (the PDF
importer) needs it; loaded in the daemon it costs about 7 MB resident (its Rust extension and
OpenSSL bindings) for nothing. Importing this module imports `telegram` with cryptography
hidden, so PTB records it as absent (`CRYPTO_INSTALLED = False`: only the passport methods
would refuse). Nothing else is hidden, and only during that import, in its thread: cryptography stays
importable afterwards (pdfplumber in the same process works as before).

Import it before `telegram` (reminder/channels/telegram.py and telegram_poll.py do, above an
`# isort: split`). If `telegram` was already imported, it does nothing.
"""

from __future__ import annotations

import importlib
import sys
import threading
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

HIDDEN = "cryptography"


class _Hide(MetaPathFinder):
    """Answers "no such module" for cryptography and its submodules, to the thread that made
    it only (another thread importing cryptography meanwhile gets it as usual)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        hidden = fullname == HIDDEN or fullname.startswith(HIDDEN + ".")
        if hidden and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def import_without_passport() -> ModuleType:
    """`telegram`, imported with cryptography hidden unless it or cryptography is loaded."""
    if "telegram" in sys.modules or HIDDEN in sys.modules:
        return importlib.import_module("telegram")
    hide = _Hide()
    sys.meta_path.insert(0, hide)
    try:
        return importlib.import_module("telegram")
    finally:
        sys.meta_path.remove(hide)


import_without_passport()
