"""Training and prediction data of any kind, validated for the estimators: arrays and chunked sources.

:func:`fit_engine` is :func:`gaussmix.engines.as_engine` for the estimators: the same validation
(:func:`gaussmix.engines.check_input`, which decides what ``X`` is and checks it and ``sample_weight``
once), returning the validated array with the engine.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .engines import checked_engine
from .engines._input import is_chunked_source, open_source, source_shape
from .exceptions import DataError

__all__ = ["TrainingData", "check_predict_source", "fit_engine", "n_rows"]


class TrainingData(NamedTuple):
    """What :func:`fit_engine` returns.

    Attributes
    ----------
    engine
        The engine that visits the rows (in memory, out of core or on Dask).
    array : ndarray of shape (n_samples, n_features) or None
        The validated array for in-memory input; None for a chunked source (never loaded).
    sample_weight : ndarray of shape (n_samples,) or None
        Validated weights (ones for in-memory input without weights; None for a chunked source without).
    """

    engine: object
    array: np.ndarray | None
    sample_weight: np.ndarray | None


def fit_engine(estimator, X, sample_weight, *, n_components: int, what: str = "n_components",
               min_positive: int | None = None, engine: str = "auto", chunk_size=None, n_jobs=None,
               allow_missing: bool = False, accept_sparse: bool = False,
               check_shape: Callable[[int, int], None] | None = None) -> TrainingData:
    """Validate training data of any kind, set ``n_features_in_`` (and ``feature_names_in_``), make its engine.

    Every check runs before the engine is made (which, for a source, reads its first chunk; for Dask
    data, computes on the workers).

    Parameters are :func:`gaussmix.engines.as_engine`'s (with the estimator first, and sparse input refused unless
    ``accept_sparse``).

    Raises
    ------
    DataError
        Too few rows, wrong shape, non-numeric or non-finite data, or an unreadable source.
    ValueError
        Bad ``sample_weight``.
    """
    checked, engine = checked_engine(X, sample_weight, estimator=estimator, n_components=n_components, what=what,
                                     min_positive=min_positive, allow_missing=allow_missing,
                                     accept_sparse=accept_sparse, check_shape=check_shape, engine=engine,
                                     chunk_size=chunk_size, n_jobs=n_jobs)
    in_memory = checked.kind in ("array", "sparse")
    return TrainingData(engine, checked.data if in_memory else None, checked.sample_weight)


def check_predict_source(estimator, X):
    """A chunked source opened for prediction, after checking its number of features against the fit."""
    source = open_source(X)
    n_features = source_shape(source)[1]
    if n_features != estimator.n_features_in_:
        raise DataError(f"X has {n_features} features, but {type(estimator).__name__} is expecting "
                        f"{estimator.n_features_in_} features as input")
    return source


def n_rows(X) -> int:
    """Number of rows of an array-like or a chunked source."""
    if is_chunked_source(X):
        return source_shape(open_source(X))[0]
    return X.shape[0] if hasattr(X, "shape") else np.asarray(X).shape[0]
