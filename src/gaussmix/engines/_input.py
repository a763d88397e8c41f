"""From whatever a user passes as ``X`` (and ``sample_weight``) to an engine, validated once.

The one place that decides what ``X`` is (:func:`data_kind`) and that checks training data and sample
weights before any work (:func:`check_input`); :func:`as_engine` is the two followed by
:func:`~gaussmix.engines.make_engine`. ``gaussmix._sources`` and ``gaussmix._validation`` keep their old
names as thin wrappers of what is here.

==========  ==================================================================  ===================
kind        what ``X`` is                                                       engine ('auto')
==========  ==================================================================  ===================
'array'     anything scikit-learn's ``check_array`` takes (ndarray, DataFrame)  in memory
'sparse'    a SciPy sparse matrix or array                                      sparse
'dask'      a ``dask.array.Array``                                              Dask
'source'    a path, a :class:`Dataset`, a list/tuple of 2-D ndarrays, or any    out of core
            other re-iterable of arrays (an iterator is refused: EM reads the
            data once per iteration)
==========  ==================================================================  ===================
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

import numpy as np

from ..exceptions import DataError
from .dask import is_dask_array
from .ooc import Dataset, open_dataset
from .sparse import is_sparse

__all__ = ["CheckedInput", "check_fit_data", "check_in_memory", "check_input", "check_positive_weights",
           "check_sample_weight", "data_kind", "is_chunked_source", "is_iterable_of_chunks", "open_source",
           "source_shape"]

KINDS = ("array", "sparse", "dask", "source")


def is_iterable_of_chunks(X) -> bool:
    """Whether ``X`` iterates but is not array-like, so that it can only be a sequence of chunks.

    Array-likes (NumPy, pandas, pyarrow, sparse matrices and anything with ``__array__`` or ``shape``),
    strings, bytes, mappings, lists and tuples are not: they keep scikit-learn's validation (a list or
    tuple of 2-D arrays is recognised by :func:`data_kind`). Iterators and generators are; opening
    them fails with a message saying why (EM reads the data once per iteration).
    """
    if isinstance(X, (str, bytes, bytearray, memoryview, Mapping, list, tuple, np.ndarray)):
        return False
    if any(hasattr(X, name) for name in ("__array__", "__array_interface__", "__array_struct__", "shape")):
        return False
    return hasattr(X, "__iter__")


def data_kind(X) -> str:
    """What ``X`` is: 'array', 'sparse', 'dask' or 'source' (see the module docstring's table)."""
    if is_sparse(X):
        return "sparse"
    if is_dask_array(X):
        return "dask"
    if isinstance(X, (Dataset, str, os.PathLike)) or is_iterable_of_chunks(X):
        return "source"
    if (isinstance(X, (list, tuple)) and len(X) > 0
            and all(isinstance(item, np.ndarray) and item.ndim == 2 for item in X)):
        return "source"
    return "array"


def is_chunked_source(X) -> bool:
    """Whether ``X`` is data that the memory engine does not hold: a source (path, Dataset, list or
    re-iterable of 2-D arrays) or a dask array."""
    return data_kind(X) in ("source", "dask")


def open_source(X):
    """A source opened once (paths and iterables become a :class:`Dataset`); anything else as it is."""
    return open_dataset(X) if data_kind(X) == "source" else X


def source_shape(source) -> tuple[int, int]:
    """``(n_samples, n_features)`` of an opened source or a dask array (n_features -1 when not 2-D)."""
    if isinstance(source, Dataset):
        return source.n_samples, source.n_features
    return int(source.shape[0]), int(source.shape[1]) if source.ndim == 2 else -1


# ------------------------------------------------------------------------------------- validation
def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray:
    """Weights as float64 (n_samples,): finite, non-negative, not all zero; ones when None."""
    if sample_weight is None:
        return np.ones(n_samples)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    try:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be an array of numbers") from None
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected ({n_samples},)"
        )
    if not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in sample_weight: weights must be non-negative")
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight")
    return sample_weight


def check_positive_weights(sample_weight: np.ndarray, what: str, n_components: int, min_positive: int) -> None:
    """A ValueError unless at least ``min_positive`` samples have positive weight."""
    n_positive = int(np.count_nonzero(sample_weight))
    if n_positive < min_positive:
        needed = "that many" if min_positive == n_components else str(min_positive)
        raise ValueError(f"{what}={n_components} needs at least {needed} samples with positive sample_weight, "
                         f"got {n_positive}")


def check_in_memory(estimator, X) -> None:
    """A DataError for a chunked source (a path, Dataset, dask array or iterable of chunks) where only an
    in-memory array will do; scikit-learn would report it as an obscure conversion failure."""
    if is_chunked_source(X):
        raise DataError(f"{type(estimator).__name__} needs an array in memory here, got a chunked data source "
                        f"({type(X).__name__}); load it first, e.g. gaussmix.open_dataset(X).to_numpy(), or use "
                        f"an estimator that reads chunked sources (GaussianMixture, KMeans)")


def check_fit_data(estimator, X, *, min_samples: int, what: str = "n_components",
                   allow_nan: bool = False, accept_sparse: bool = False) -> np.ndarray:
    """Validate in-memory training data: 2-D, numeric, finite, float32/float64, at least ``min_samples`` rows.

    With ``allow_nan`` NaN (a missing value) passes; infinity never does. With ``accept_sparse`` a SciPy
    sparse matrix passes as CSR (other estimators name the problem: sparse data are refused). Sets the
    estimator's ``n_features_in_`` (and ``feature_names_in_``) as scikit-learn's ``validate_data`` does;
    without an estimator, ``check_array`` validates alone.
    """
    from sklearn.utils import check_array
    from sklearn.utils.validation import validate_data

    options = dict(dtype=[np.float64, np.float32], ensure_min_samples=1,
                   accept_sparse="csr" if accept_sparse else False,
                   ensure_all_finite="allow-nan" if allow_nan else True)
    if estimator is None:
        X = check_array(X, **options)
    else:
        check_in_memory(estimator, X)
        try:
            X = validate_data(estimator, X, **options)
        except ValueError as error:
            if not allow_nan and "NaN" in str(error) and "missing" in estimator.get_params():
                raise DataError("Input X contains NaN (missing values); pass missing='em' to fit with them (EM "
                                "over each row's observed features), or remove or impute them") from None
            raise
    if allow_nan and np.isinf(X).any():
        raise ValueError("Input X contains infinity; only NaN marks a missing value")
    if X.shape[0] < min_samples:
        raise DataError(
            f"Expected n_samples >= {what} (at least {min_samples} samples), got n_samples={X.shape[0]}"
        )
    return X


class CheckedInput(NamedTuple):
    """What :func:`check_input` returns.

    Attributes
    ----------
    data : ndarray, sparse matrix, Dataset or dask array
        The validated array (in memory), or the opened source / dask array (never loaded).
    sample_weight : ndarray of shape (n_samples,) or None
        Validated weights: ones for in-memory data without weights, None for a source without.
    kind : str
        :func:`data_kind` of the input.
    """

    data: Any
    sample_weight: np.ndarray | None
    kind: str


def check_input(X, sample_weight=None, *, estimator=None, n_components: int = 1, what: str = "n_components",
                min_positive: int | None = None, allow_missing: bool = False, accept_sparse: bool = False,
                check_shape: Callable[[int, int], None] | None = None) -> CheckedInput:
    """Validate training data of any kind and its weights, once, before any work.

    Arrays are validated in memory (scikit-learn's rules, :func:`check_fit_data`); a source or dask
    array from its metadata (each chunk is checked by its engine as it is read), without loading it.

    Parameters
    ----------
    X : array-like, sparse matrix, path, Dataset, list of 2-D arrays or dask array
    sample_weight : array-like of shape (n_samples,) or None
    estimator : estimator, optional
        Receives ``n_features_in_`` (and ``feature_names_in_`` for an array with column names).
    n_components : int
        The model's size: at least ``max(2, n_components)`` rows are required.
    what : str
        The parameter's name in messages ('n_components', 'n_clusters').
    min_positive : int, optional
        Samples with positive weight required (default ``n_components``).
    allow_missing : bool
        NaN (and nulls, empty fields in files) are missing values rather than errors.
    accept_sparse : bool
        A SciPy sparse matrix is accepted (as CSR); otherwise refused with scikit-learn's message.
    check_shape : callable, optional
        ``check_shape(n_samples, n_features)``: the estimator's own checks that need the data's shape.

    Returns
    -------
    CheckedInput

    Raises
    ------
    DataError
        Too few rows, wrong shape, non-numeric or non-finite data, or an unreadable source.
    ValueError
        Bad ``sample_weight``.
    """
    min_positive = n_components if min_positive is None else min_positive
    min_samples = max(2, n_components)
    kind = data_kind(X)
    if kind in ("array", "sparse"):
        X = check_fit_data(estimator, X, min_samples=min_samples, what=what, allow_nan=allow_missing,
                           accept_sparse=accept_sparse)
        n_samples, n_features = X.shape
        sample_weight = check_sample_weight(sample_weight, n_samples)
        check_positive_weights(sample_weight, what, n_components, min_positive)
    else:
        X = open_source(X)
        if is_dask_array(X) and any(np.isnan(size) for size in X.shape):
            X = X.compute_chunk_sizes()
        n_samples, n_features = source_shape(X)
        if n_features < 1:
            raise DataError(f"Expected 2-D data (rows, features), got shape {X.shape}")
        if n_samples < min_samples:
            raise DataError(f"Expected n_samples >= {what} (at least {min_samples} samples), "
                            f"got n_samples={n_samples}")
        if sample_weight is not None:  # None stays None: a source's weights are never materialised
            sample_weight = check_sample_weight(sample_weight, n_samples)
            check_positive_weights(sample_weight, what, n_components, min_positive)
    if check_shape is not None:
        check_shape(n_samples, n_features)
    if estimator is not None and kind not in ("array", "sparse"):
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return CheckedInput(X, sample_weight, kind)
