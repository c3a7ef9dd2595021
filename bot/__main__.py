"""`python -m bot` runs the `articlebot` command line."""

from bot.cli.main import main

main()
