"""`python -m ingest`: the editors' command, the same one `supportbot ingest` runs. Its
defaults come from `ingest.settings` (the bot's settings extend them); ingestion never imports
the bot."""

import sys

from ingest.cli import main

if __name__ == "__main__":
    sys.exit(main())
