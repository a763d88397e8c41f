"""Floating-point facts shared by the estimators, the NumPy path and the compiled kernels.

The dtype rule (scikit-learn's for ``GaussianMixture``): float32 data give a float32 model, whose fitted
array attributes (``weights_``, ``means_``, ``covariances_``, ...) and outputs (``predict_proba``,
``score_samples``, ``sample``, ``transform``, ...) are float32; any other data (float64, integers) give
float64. Inside, nothing changes: statistics are accumulated in float64, parameters are estimated in float64
and only the values handed to the user are rounded (:func:`fitted`). A float32 model predicts from its
float32 attributes widened back to float64 (:func:`as_float64`). An output is float32 only when both the
model and the data it is computed on are float32 (:func:`output_dtype`): float64 data on a float32 model,
or float32 data on a float64 model, give float64, as scikit-learn's arithmetic does.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_float64", "data_dtype", "fitted", "log_responsibility_floor", "output_dtype"]

FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)


def log_responsibility_floor(dtype) -> float:
    """Log-responsibilities (relative to the row's largest) below this are set to zero: the exponential
    of anything lower is subnormal in ``dtype`` (e^-700 in float64, e^-79 in float32), and arithmetic on
    subnormal floats is ~100x slower on x86 while contributing nothing next to the row's largest (1)."""
    return float(np.log(np.finfo(dtype).tiny)) + 8.0


def data_dtype(dtype) -> np.dtype:
    """The model dtype that data of ``dtype`` give: float32 stays float32, everything else is float64."""
    return FLOAT32 if np.dtype(dtype) == FLOAT32 else FLOAT64


def output_dtype(*dtypes) -> np.dtype:
    """The dtype of an output computed from values of these dtypes (the model's and the data's): float32
    when all are float32, else float64."""
    return FLOAT32 if all(np.dtype(dtype) == FLOAT32 for dtype in dtypes) else FLOAT64


def fitted(value, dtype):
    """``value`` as a fitted attribute or output of a model of ``dtype``: floating arrays and NumPy scalars
    (and those in a tuple) are cast, anything else (labels, Python floats) is returned as it is. A no-op for
    float64."""
    if isinstance(value, tuple):
        return tuple(fitted(item, dtype) for item in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype, copy=False)
    if isinstance(value, np.floating):
        return np.dtype(dtype).type(value)
    return value


def as_float64(value):
    """A fitted attribute (or a tuple of them) widened to float64 for computing with; float64 arrays and
    scalars are returned as they are (no copy)."""
    if isinstance(value, tuple):
        return tuple(as_float64(item) for item in value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value) if isinstance(value, np.floating) and not isinstance(value, np.float64) else value
    return np.asarray(value, dtype=np.float64)
