"""Validation of chunked sources (files, datasets, dask arrays) for the estimators.

In-memory arrays keep their validation in ``_validation.py``; a chunked source is checked here from its
metadata and first chunk (each later chunk is checked by the engine as it is read), without loading it.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_sample_weight
from .engines import Dataset, is_chunked_source, make_engine, open_source
from .engines.dask import is_dask_array
from .exceptions import DataError

__all__ = ["check_fit_source", "check_predict_source", "n_rows"]


def _shape(source) -> tuple[int, int]:
    if isinstance(source, Dataset):
        return source.n_samples, source.n_features
    return int(source.shape[0]), int(source.shape[1]) if source.ndim == 2 else -1


def check_fit_source(estimator, X, sample_weight, *, min_samples: int, what: str, n_components: int,
                     engine: str, chunk_size, n_jobs, allow_missing: bool = False):
    """Open and validate a chunked training source; set ``n_features_in_``; return its engine.

    With ``allow_missing`` the engine reads NaN (nulls, empty CSV fields) as missing values.

    Raises
    ------
    DataError
        Too few rows, or a problem with the source (see :func:`gaussmix.open_dataset`).
    ValueError
        Bad ``sample_weight`` (wrong length, negative, too few positive entries).
    """
    source = open_source(X)
    if is_dask_array(source) and any(np.isnan(size) for size in source.shape):
        source = source.compute_chunk_sizes()
    n_samples, n_features = _shape(source)
    if n_features < 1:
        raise DataError(f"Expected 2-D data (rows, features), got shape {source.shape}")
    if n_samples < min_samples:
        raise DataError(f"Expected n_samples >= {what} (at least {min_samples} samples), got n_samples={n_samples}")
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, n_samples)
        if np.count_nonzero(sample_weight) < n_components:
            raise ValueError(f"{what}={n_components} needs at least that many samples with positive "
                             f"sample_weight, got {np.count_nonzero(sample_weight)}")
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return make_engine(source, sample_weight, engine=engine, chunk_size=chunk_size, n_jobs=n_jobs,
                       n_components=n_components, allow_missing=allow_missing)


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
    return np.asarray(X).shape[0]
