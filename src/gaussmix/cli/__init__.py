"""The command line (``main.py``, entry point ``gaussmix.cli.main:main``), the HTML report, plots and the progress bar."""
