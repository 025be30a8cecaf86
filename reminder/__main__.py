"""`python -m reminder` is the same as the `reminder` command."""

from reminder.cli import main

raise SystemExit(main())
