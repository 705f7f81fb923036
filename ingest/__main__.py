"""`python -m ingest` is `supportbot ingest`: one command, whose defaults come from the one
`Settings` object (this entry point is the only place in `ingest` that reaches into `bot`)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
