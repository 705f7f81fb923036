"""`python -m bot.cli ...`: the `supportbot` command without the installed script (a checkout
on PYTHONPATH runs its own code)."""

import sys

from bot.cli.main import main

sys.exit(main())
