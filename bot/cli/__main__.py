"""`python -m bot.cli`: the `supportbot` command, also where the script is not installed."""

import sys

from bot.cli.main import main

sys.exit(main())
