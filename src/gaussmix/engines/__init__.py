"""Engines decide where the rows live and how per-chunk results are combined; nothing else does.

=============  ===============================================  ==========================================
engine         data                                             a pass
=============  ===============================================  ==========================================
``memory``     an array in RAM                                  chunks on a thread pool, added in order
``ooc``        a :class:`~gaussmix.engines.ooc.Dataset`: .npy,   chunks streamed from the source, added in
               Parquet, CSV, a re-iterable of arrays            order
``dask``       a ``dask.array``                                 a task per block on the workers, added in
                                                                a tree
(sparse)       a SciPy CSR matrix in RAM (k-means only)         as ``memory``, chunks never centred
=============  ===============================================  ==========================================

:func:`make_engine` picks the engine from the type of ``X`` (``engine='auto'``) or as told.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from ..exceptions import DataError
from .dask import DaskEngine, is_dask_array
from .memory import InMemoryEngine, auto_chunk_size, resolve_chunk_size, resolve_n_jobs
from .ooc import ArrayDataset, Dataset, OutOfCoreEngine, open_dataset
from .sparse import SparseEngine, is_sparse

__all__ = ["ENGINES", "INIT_SAMPLE_SIZE", "DaskEngine", "Dataset", "InMemoryEngine", "OutOfCoreEngine",
           "auto_chunk_size", "engine_kind", "initialisation_engine", "is_chunked_source", "is_iterable_of_chunks",
           "make_engine",
           "open_dataset", "open_source", "resolve_chunk_size", "resolve_n_jobs", "SparseEngine", "is_sparse"]

ENGINES = ("auto", "memory", "ooc", "dask")

INIT_SAMPLE_SIZE = 100_000
"""Rows drawn (uniformly, without replacement) to initialise a fit on out-of-core or Dask data."""


def is_iterable_of_chunks(X) -> bool:
    """Whether ``X`` iterates but is not array-like, so that it can only be a sequence of chunks.

    Array-likes (NumPy, pandas, pyarrow, sparse matrices and anything with ``__array__`` or ``shape``),
    strings, bytes, mappings, lists and tuples are not: they keep scikit-learn's validation (a list or
    tuple of 2-D arrays is recognised by :func:`is_chunked_source`). Iterators and generators are; opening
    them fails with a message saying why (EM reads the data once per iteration).
    """
    if isinstance(X, (str, bytes, bytearray, memoryview, Mapping, list, tuple, np.ndarray)):
        return False
    if any(hasattr(X, name) for name in ("__array__", "__array_interface__", "__array_struct__", "shape")):
        return False
    return hasattr(X, "__iter__")


def is_chunked_source(X) -> bool:
    """Whether ``X`` is data that the memory engine does not hold: a path, a Dataset, a dask array, a
    list/tuple of 2-D arrays, or any other re-iterable of arrays (see :func:`is_iterable_of_chunks`)."""
    if isinstance(X, (Dataset, str, os.PathLike)) or is_dask_array(X) or is_iterable_of_chunks(X):
        return True
    return (isinstance(X, (list, tuple)) and len(X) > 0
            and all(isinstance(item, np.ndarray) and item.ndim == 2 for item in X))


def engine_kind(X, engine: str = "auto") -> str:
    """The engine for ``X``: 'memory', 'ooc' or 'dask' (``engine='auto'`` decides from the type of ``X``)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if engine != "auto":
        return engine
    if is_dask_array(X):
        return "dask"
    return "ooc" if is_chunked_source(X) else "memory"


def open_source(X):
    """A chunked source opened once (paths and iterables become a Dataset); arrays are returned as they are."""
    if is_dask_array(X) or isinstance(X, np.ndarray) or not is_chunked_source(X):
        return X
    return open_dataset(X)


def make_engine(X, sample_weight=None, *, engine: str = "auto", chunk_size: int | None = None,
                n_jobs: int | None = None, n_components: int = 1, offset: np.ndarray | None = None,
                allow_missing: bool = False):
    """The engine that visits ``X`` in chunks.

    Parameters
    ----------
    X : ndarray, Dataset, path, list or re-iterable of 2-D arrays, or dask array
        In-memory arrays must already be validated (the estimators do it).
    sample_weight : ndarray of shape (n_samples,), optional
        Validated weights.
    engine : {'auto', 'memory', 'ooc', 'dask'}
        'auto' picks from the type of ``X``; otherwise the data are converted (a source read into memory,
        an array wrapped as a source or as a dask array with ``chunk_size`` rows per block).
    chunk_size, n_jobs, n_components, offset
        As for :class:`InMemoryEngine` (``offset``: None for the mean of the first chunk).
    allow_missing : bool, default=False
        NaN in a source or dask array is a missing value (``missing='em'``), not an error; in-memory
        arrays are validated by the estimators.

    A SciPy sparse matrix gets a :class:`~gaussmix.engines.sparse.SparseEngine`, which never centres
    (``offset`` is ignored: its offset is zero, and callers go through ``engine.offset``/``engine.centred``).
    """
    if is_sparse(X):
        if engine not in ("auto", "memory"):
            raise DataError(f"engine={engine!r} cannot read a sparse matrix; use engine='memory' (or 'auto')")
        return SparseEngine(X, sample_weight, chunk_size=chunk_size, n_jobs=n_jobs, n_components=n_components)
    kind = engine_kind(X, engine)
    X = open_source(X)
    options = dict(offset=offset, chunk_size=chunk_size, n_jobs=n_jobs, n_components=n_components)
    checked = dict(options, allow_missing=allow_missing)
    if kind == "dask":
        if not is_dask_array(X):
            import dask.array as da

            array = X.to_numpy(allow_missing) if isinstance(X, Dataset) else X
            rows = resolve_chunk_size(chunk_size, array.shape[0], array.shape[1], n_components,
                                      resolve_n_jobs(n_jobs))
            X = da.from_array(array, chunks=(rows, -1))
        return DaskEngine(X, sample_weight, **checked)
    if is_dask_array(X):
        raise DataError(f"engine={engine!r} cannot read a dask array; use engine='dask' (or 'auto')")
    if kind == "ooc":
        return OutOfCoreEngine(X if isinstance(X, Dataset) else ArrayDataset(X), sample_weight, **checked)
    return InMemoryEngine(X.to_numpy(allow_missing) if isinstance(X, Dataset) else X, sample_weight, **options)


def initialisation_engine(engine, random_state, max_rows: int | None = None):
    """The engine an initialisation (k-means++, k-means, random rows) runs on.

    An in-memory engine is used as it is. Out-of-core and Dask engines give an in-memory engine over
    ``max_rows`` (default :data:`INIT_SAMPLE_SIZE`) rows drawn uniformly without replacement (with their weights, and the same offset and
    chunk size), read in one pass: the initialisation never loads the whole data.
    """
    if engine.in_memory:
        return engine
    max_rows = INIT_SAMPLE_SIZE if max_rows is None else max_rows
    n_samples = engine.n_samples
    if n_samples <= max_rows:
        indices = np.arange(n_samples)
    else:
        indices = np.sort(random_state.choice(n_samples, size=max_rows, replace=False))
    return InMemoryEngine(engine.raw_rows(indices), engine.raw_weights(indices), offset=engine.offset, chunk_size=engine.chunk_size,
                          n_jobs=engine.n_jobs)
