"""Run the sheetnet command line from a checkout: ``python cli.py demo``."""

from sheetnet.cli import main

if __name__ == "__main__":
    main()
