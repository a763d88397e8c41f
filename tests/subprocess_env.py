"""The environment for tests that run gaussmix in a child process.

The child must import the code under test, wherever the test runs from: ``PYTHONPATH=src`` is relative and
a child started in a temporary folder would otherwise import whatever gaussmix is installed. One BLAS thread:
on a busy 2-core machine OpenBLAS worker threads make the many tiny fits 10-50x slower (results are the same).
"""

import os
from pathlib import Path

import gaussmix

SOURCE = str(Path(gaussmix.__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")])),
       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def r_json(script: str, timeout: int = 120):
    """Run an R script that prints one JSON value and return it parsed; skip the calling test where R or a package
    it loads is missing (R is an optional peer: every R comparison skips cleanly without it)."""
    import json
    import shutil
    import subprocess

    import pytest

    if shutil.which("Rscript") is None:
        pytest.skip("needs R (Rscript)")
    result = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.skip(f"R is not usable for this comparison: {result.stderr[-300:]}")
    return json.loads(result.stdout)
