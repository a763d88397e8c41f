"""Training and prediction data of any kind, validated for the estimators: arrays and chunked sources.

:func:`fit_engine` is the one path from ``fit(X, sample_weight)`` to an engine, whatever ``X`` is: an
array is validated in memory (``_validation.py``); a chunked source (a path, a Dataset, a list of
arrays, a dask array) is checked here from its metadata and first chunk (each later chunk is checked by
the engine as it is read), without loading it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._validation import check_fit_data, check_sample_weight
from .engines import Dataset, is_chunked_source, make_engine, open_source
from .engines.dask import is_dask_array
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

    Parameters
    ----------
    estimator
        Receives ``n_features_in_`` (and ``feature_names_in_`` for an array with column names, as
        scikit-learn's ``validate_data`` sets them).
    X : array-like, path, Dataset, list of 2-D arrays or dask array
    sample_weight : array-like of shape (n_samples,) or None
    n_components : int
        The model's size: at least ``max(2, n_components)`` rows are required.
    what : str
        The parameter's name in messages ('n_components', 'n_clusters').
    min_positive : int, optional
        Samples with positive weight required (default ``n_components``).
    engine : {'auto', 'memory', 'ooc', 'dask'}
    chunk_size, n_jobs
        As for :func:`gaussmix.engines.make_engine`.
    allow_missing : bool
        The data may hold missing values: NaN in arrays, and also nulls and empty fields in files (the
        engine then reads them as NaN); otherwise any of them is a DataError.
    accept_sparse : bool
        A SciPy sparse matrix is accepted (as CSR, on a :class:`~gaussmix.engines.sparse.SparseEngine`);
        otherwise it is refused with scikit-learn's message.
    check_shape : callable, optional
        ``check_shape(n_samples, n_features)``: the estimator's own checks that need the data's shape
        (parameters given per feature, per row); called before the engine is made.

    Raises
    ------
    DataError
        Too few rows, wrong shape, non-numeric or non-finite data, or an unreadable source.
    ValueError
        Bad ``sample_weight``.
    """
    min_positive = n_components if min_positive is None else min_positive
    options = dict(engine=engine, chunk_size=chunk_size, n_jobs=n_jobs, n_components=n_components,
                   allow_missing=allow_missing)
    if is_chunked_source(X):
        return _source_training_data(estimator, X, sample_weight, what=what, min_positive=min_positive,
                                     check_shape=check_shape, **options)
    X = check_fit_data(estimator, X, min_samples=max(2, n_components), what=what, allow_nan=allow_missing,
                       accept_sparse=accept_sparse)
    weights = check_sample_weight(sample_weight, X.shape[0])
    _check_positive_weights(weights, what, n_components, min_positive)
    if check_shape is not None:
        check_shape(*X.shape)
    return TrainingData(make_engine(X, weights, **options), X, weights)


def _check_positive_weights(sample_weight: np.ndarray, what: str, n_components: int, min_positive: int) -> None:
    n_positive = int(np.count_nonzero(sample_weight))
    if n_positive < min_positive:
        needed = "that many" if min_positive == n_components else str(min_positive)
        raise ValueError(f"{what}={n_components} needs at least {needed} samples with positive sample_weight, "
                         f"got {n_positive}")


def _shape(source) -> tuple[int, int]:
    if isinstance(source, Dataset):
        return source.n_samples, source.n_features
    return int(source.shape[0]), int(source.shape[1]) if source.ndim == 2 else -1


def _source_training_data(estimator, X, sample_weight, *, what: str, min_positive: int, check_shape,
                          engine: str, chunk_size, n_jobs, n_components: int, allow_missing: bool) -> TrainingData:
    """:func:`fit_engine` for a chunked source: checked from its metadata, never loaded."""
    source = open_source(X)
    if is_dask_array(source) and any(np.isnan(size) for size in source.shape):
        source = source.compute_chunk_sizes()
    n_samples, n_features = _shape(source)
    if n_features < 1:
        raise DataError(f"Expected 2-D data (rows, features), got shape {source.shape}")
    min_samples = max(2, n_components)
    if n_samples < min_samples:
        raise DataError(f"Expected n_samples >= {what} (at least {min_samples} samples), got n_samples={n_samples}")
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, n_samples)
        _check_positive_weights(sample_weight, what, n_components, min_positive)
    if check_shape is not None:
        check_shape(n_samples, n_features)
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    source_engine = make_engine(source, sample_weight, engine=engine, chunk_size=chunk_size, n_jobs=n_jobs,
                                n_components=n_components, allow_missing=allow_missing)
    return TrainingData(source_engine, None, sample_weight)


def check_predict_source(estimator, X):
    """A chunked source opened for prediction, after checking its number of features against the fit."""
    source = open_source(X)
    n_features = _shape(source)[1]
    if n_features != estimator.n_features_in_:
        raise DataError(f"X has {n_features} features, but {type(estimator).__name__} is expecting "
                        f"{estimator.n_features_in_} features as input")
    return source


def n_rows(X) -> int:
    """Number of rows of an array-like or a chunked source."""
    if is_chunked_source(X):
        return _shape(open_source(X))[0]
    return X.shape[0] if hasattr(X, "shape") else np.asarray(X).shape[0]
