"""`python -m bot` runs the `articlebot` command line."""

from bot.cli import main

main()
