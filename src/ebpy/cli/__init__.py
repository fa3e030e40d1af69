"""The command line: entry points only. Nothing imports this package."""
