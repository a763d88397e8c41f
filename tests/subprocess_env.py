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
