"""The agent console's logins, reads and page rendering (its routes are `bot.routes.console`)."""
