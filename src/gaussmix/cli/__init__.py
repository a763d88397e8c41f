"""The command line, the HTML report, plots and the progress bar."""

from .main import main

__all__ = ["main"]
