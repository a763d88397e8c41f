"""Input validation shared by the estimators: every check runs before any work starts."""

from __future__ import annotations

import numbers
import os
from typing import Callable, Optional

import numpy as np
from sklearn.utils.validation import validate_data

# Training data and sample weights are validated where any input becomes an engine (gaussmix.engines,
# check_input / as_engine); the names stay importable from here for the estimators.
from .engines import ENGINES
from .engines._input import check_fit_data, check_in_memory, check_sample_weight
from .families.missing import MISSING_POLICIES

__all__ = ["SHARED_SETTINGS", "check_fit_data", "check_predict_data", "check_sample_weight", "check_int",
           "check_n_jobs", "check_nonnegative_float", "check_positive_float",
           "check_shared_settings"]


def check_predict_data(estimator, X, allow_nan: bool = False, accept_sparse: bool = False) -> np.ndarray:
    """Validate data for a fitted estimator: same number of features as at fit time, finite (or NaN
    with ``allow_nan``; never infinite); sparse as CSR with ``accept_sparse``."""
    check_in_memory(estimator, X)
    X = validate_data(estimator, X, dtype=[np.float64, np.float32], reset=False,
                      accept_sparse="csr" if accept_sparse else False,
                      ensure_all_finite="allow-nan" if allow_nan else True)
    if allow_nan and np.isinf(X).any():
        raise ValueError("Input X contains infinity; only NaN marks a missing value")
    return X


def check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonnegative_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


def check_n_jobs(value) -> None:
    """None or a non-zero integer (scikit-learn's convention: negative counts back from all cores)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {value!r}")


def check_positive_float(name: str, value) -> float:
    if check_nonnegative_float(name, value) <= 0:
        raise ValueError(f"{name} must be strictly positive, got {value!r}")
    return float(value)


def _one_of(name: str, allowed: tuple) -> Callable[[object], None]:
    def check(value) -> None:
        if value not in allowed:
            raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return check


def _check_callback(value) -> None:
    if value is not None and not callable(value):
        raise ValueError(f"callback must be callable or None, got {value!r}")


def _check_checkpoint(value) -> None:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"checkpoint must be a file path or None, got {value!r}")


SHARED_SETTINGS: dict[str, Callable[[object], object]] = {
    "n_components": lambda value: check_int("n_components", value, 1),
    "tol": lambda value: check_nonnegative_float("tol", value),
    "reg_covar": lambda value: check_nonnegative_float("reg_covar", value),
    "max_iter": lambda value: check_int("max_iter", value, 0),
    "n_init": lambda value: check_int("n_init", value, 1),
    "verbose": lambda value: check_int("verbose", value, 0),
    "verbose_interval": lambda value: check_int("verbose_interval", value, 1),
    "chunk_size": lambda value: None if value is None else check_int("chunk_size", value, 1),
    "n_jobs": check_n_jobs,
    "callback": _check_callback,
    "checkpoint": _check_checkpoint,
    "engine": _one_of("engine", ENGINES),
    "missing": _one_of("missing", MISSING_POLICIES),
}
"""The settings the estimators share, each with its one rule (scikit-learn's names): an estimator validates those
of its constructor parameters that appear here with :func:`check_shared_settings`, and only its own beyond them."""


def check_shared_settings(estimator, init_methods: Optional[tuple] = None, *, own: tuple = ()) -> None:
    """Validate, at fit time, every constructor parameter of ``estimator`` that is a shared setting
    (:data:`SHARED_SETTINGS`, in that order), and ``init_params`` against ``init_methods`` where given.
    ``own`` names settings the estimator defines differently and checks itself (KMeans' ``n_init='auto'``).

    Raises
    ------
    ValueError
        Naming the first invalid setting and what it must be.
    """
    params = estimator.get_params(deep=False)
    for name, check in SHARED_SETTINGS.items():
        if name in params and name not in own:
            check(params[name])
    if init_methods is not None and params.get("init_params") not in init_methods:
        raise ValueError(f"init_params must be one of {list(init_methods)}, got {params.get('init_params')!r}")



NEAR_CONSTANT = 1e-14
"""A feature whose variance is at most this fraction of the largest feature variance counts as constant (its
values differ in the last digits only)."""

SWAMPING_FRACTION = 1e-3
"""``reg_covar`` above this fraction of a feature's variance is reported (:class:`~gaussmix.exceptions.ScaleWarning`):
it adds that much variance to every component along the feature, enough to blur clusters together."""


def check_data_scale(variance: np.ndarray, reg_covar: float, feature_names=None) -> None:
    """Refuse data whose second moments overflow, and warn where the absolute ``reg_covar`` swamps a feature.

    Parameters
    ----------
    variance : ndarray of shape (n_features,)
        The data's (weighted) variance of each feature.
    reg_covar : float
        The absolute regularisation added to every covariance's diagonal.
    feature_names : array of str, optional
        For the messages.

    Raises
    ------
    DataError
        When a variance is not finite: values near 1e154 or beyond square to more than double precision holds.
    """
    from .exceptions import DataError, ScaleWarning

    def name(j):
        return repr(str(feature_names[j])) if feature_names is not None else str(j)

    overflowed = np.flatnonzero(~np.isfinite(variance))
    if overflowed.size:
        raise DataError(f"the data are too large for double precision: the squares of feature {name(overflowed[0])}"
                        " overflow (values near 1e154 or beyond); divide the data by a power of ten first")
    import warnings

    near_constant = variance <= NEAR_CONSTANT * max(float(variance.max(initial=0.0)), np.finfo(float).tiny)
    constant = np.flatnonzero(near_constant)
    if constant.size and constant.size < variance.size:
        listed = ", ".join(name(j) for j in constant[:5]) + (" ..." if constant.size > 5 else "")
        warnings.warn(f"feature{'s' if constant.size > 1 else ''} {listed} {'are' if constant.size > 1 else 'is'} "
                      "constant (or nearly): every component's variance there is reg_covar alone, so the "
                      "log-likelihood, BIC and AIC depend on reg_covar rather than on the data; leave "
                      f"{'them' if constant.size > 1 else 'it'} out (the command line's --drop)", ScaleWarning,
                      stacklevel=4)
    positive = np.flatnonzero(~near_constant)
    if reg_covar > 0 and positive.size:
        smallest = positive[np.argmin(variance[positive])]
        if reg_covar > SWAMPING_FRACTION * variance[smallest]:
            warnings.warn(
                f"reg_covar={reg_covar:g} is {reg_covar / variance[smallest]:.3g} times the variance of feature "
                f"{name(smallest)} ({variance[smallest]:.3g}): the regularisation, an absolute variance, will blur the "
                f"clusters along it. Rescale the data (e.g. standardise it), or give reg_covar on the data's scale, "
                f"e.g. reg_covar={1e-6 * variance[smallest]:.3g} (1e-6 times that variance).", ScaleWarning,
                stacklevel=4)
