"""Floating-point facts the E-step relies on, shared by the NumPy path and the compiled kernels."""

from __future__ import annotations

import numpy as np

__all__ = ["log_responsibility_floor"]


def log_responsibility_floor(dtype) -> float:
    """Log-responsibilities (relative to the row's largest) below this are set to zero: the exponential
    of anything lower is subnormal in ``dtype`` (e^-700 in float64, e^-79 in float32), and arithmetic on
    subnormal floats is ~100x slower on x86 while contributing nothing next to the row's largest (1)."""
    return float(np.log(np.finfo(dtype).tiny)) + 8.0
