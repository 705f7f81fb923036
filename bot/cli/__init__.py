"""The `supportbot` command: `main` in `bot.cli.main`, one module per heavier subcommand."""

from bot.cli.main import cli, main

__all__ = ["cli", "main"]
