"""The Telegram bot (python-telegram-bot)."""
