"""Front ends of articlebot: the `articlebot` command line (and, later, the Telegram bot)."""
