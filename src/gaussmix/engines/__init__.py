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

:func:`as_engine` turns any training input into an engine, validating ``X`` and ``sample_weight`` once;
:func:`make_engine` makes one from validated input, picking it from what ``X`` is (``engine='auto'``) or as
told. Every engine satisfies :class:`Engine`, the interface the rest of the library relies on.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import DataError
from ._input import (CheckedInput, check_input, check_sample_weight, data_kind, is_chunked_source,
                     is_iterable_of_chunks, open_source)
from ._protocol import Engine
from .dask import DaskEngine, is_dask_array
from .memory import InMemoryEngine, auto_chunk_size, resolve_chunk_size, resolve_n_jobs
from .ooc import ArrayDataset, Dataset, OutOfCoreEngine, open_dataset
from .sparse import SparseEngine, is_sparse

__all__ = ["ENGINES", "INIT_SAMPLE_SIZE", "CheckedInput", "DaskEngine", "Dataset", "Engine", "InMemoryEngine",
           "OutOfCoreEngine", "SparseEngine", "as_engine", "auto_chunk_size", "check_input", "check_sample_weight",
           "checked_engine", "data_kind", "engine_kind", "initialisation_engine", "is_chunked_source", "is_iterable_of_chunks",
           "is_sparse", "make_engine", "open_dataset", "open_source", "resolve_chunk_size", "resolve_n_jobs"]

ENGINES = ("auto", "memory", "ooc", "dask")

INIT_SAMPLE_SIZE = 100_000
"""Rows drawn (uniformly, without replacement) to initialise a fit on out-of-core or Dask data."""

_AUTO = {"array": "memory", "sparse": "memory", "dask": "dask", "source": "ooc"}


def engine_kind(X, engine: str = "auto") -> str:
    """The engine for ``X``: 'memory', 'ooc' or 'dask' (``engine='auto'`` decides from :func:`data_kind`)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    return _AUTO[data_kind(X)] if engine == "auto" else engine


def as_engine(X, sample_weight=None, *, engine: str = "auto", chunk_size: int | None = None,
              n_jobs: int | None = None, n_components: int = 1, offset: np.ndarray | None = None,
              allow_missing: bool = False, accept_sparse: bool = True, estimator=None, what: str = "n_components",
              min_positive: int | None = None, check_shape=None) -> Engine:
    """Any training input as an engine: ``X`` and ``sample_weight`` validated once, then the engine made.

    Parameters
    ----------
    X : array-like, sparse matrix, path, Dataset, list or re-iterable of 2-D arrays, or dask array
        What it is decides the engine (:func:`data_kind`; ``engine`` may override it).
    sample_weight : array-like of shape (n_samples,), optional
    engine : {'auto', 'memory', 'ooc', 'dask'}
    chunk_size, n_jobs, n_components, offset, allow_missing
        As for :func:`make_engine`.
    accept_sparse : bool, default=True
        Whether a SciPy sparse matrix is accepted (on a :class:`SparseEngine`).
    estimator, what, min_positive, check_shape
        As for :func:`~gaussmix.engines._input.check_input`: the estimator whose ``n_features_in_`` is set,
        the names and bounds in messages, and the estimator's own checks of the data's shape.

    Returns
    -------
    Engine
        Made after every check has passed (making it reads a source's first chunk, or computes on Dask).
    """
    return checked_engine(X, sample_weight, engine=engine, chunk_size=chunk_size, n_jobs=n_jobs,
                          n_components=n_components, offset=offset, allow_missing=allow_missing,
                          accept_sparse=accept_sparse, estimator=estimator, what=what, min_positive=min_positive,
                          check_shape=check_shape)[1]


def checked_engine(X, sample_weight=None, *, engine: str = "auto", chunk_size: int | None = None,
                   n_jobs: int | None = None, n_components: int = 1, offset: np.ndarray | None = None,
                   allow_missing: bool = False, accept_sparse: bool = True, estimator=None, what: str = "n_components",
                   min_positive: int | None = None, check_shape=None) -> tuple[CheckedInput, Engine]:
    """:func:`as_engine`, also returning what the checks produced (:class:`CheckedInput`: the validated array and
    weights, and what kind of input it was), for estimators that keep the in-memory array."""
    checked = check_input(X, sample_weight, estimator=estimator, n_components=n_components, what=what,
                          min_positive=min_positive, allow_missing=allow_missing, accept_sparse=accept_sparse,
                          check_shape=check_shape)
    return checked, make_engine(checked.data, checked.sample_weight, engine=engine, chunk_size=chunk_size,
                                n_jobs=n_jobs, n_components=n_components, offset=offset, allow_missing=allow_missing)


def make_engine(X, sample_weight=None, *, engine: str = "auto", chunk_size: int | None = None,
                n_jobs: int | None = None, n_components: int = 1, offset: np.ndarray | None = None,
                allow_missing: bool = False):
    """The engine that visits ``X`` in chunks.

    Parameters
    ----------
    X : ndarray, Dataset, path, list or re-iterable of 2-D arrays, or dask array
        Already validated (:func:`as_engine` validates and then calls this; predictions validate with
        ``check_predict_data``/``check_predict_source`` first).
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
    if data_kind(X) == "sparse":
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
