"""The `articlebot` command line."""
