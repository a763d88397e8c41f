"""Out-of-core data: sources read in row blocks (.npy, Parquet, CSV, iterables) and the engine that streams them.

A :class:`Dataset` knows one thing: how to hand over its rows, in order, as float blocks, without ever
holding more than a block. :class:`OutOfCoreEngine` re-cuts those blocks into chunks of exactly
``chunk_size`` rows, so the chunks, the offset (the mean of the first chunk) and the order in which
chunk statistics are added are those of :class:`~gaussmix.engines.memory.InMemoryEngine` on the same rows:
the fits agree to rounding (in practice bit for bit).

Every source validates what it can before any work (the file exists, the columns exist and are numeric,
the first block is finite) and every block as it is read: a :class:`~gaussmix.exceptions.DataError`
names the file, the column and the rows. Reads with ``allow_missing=True`` (for ``missing='em'``) pass
NaN, a Parquet null and an empty or ``NA`` CSV field as missing values (NaN) and reject only infinity
and rows with every feature missing (:mod:`gaussmix.engines._values`).
"""

from __future__ import annotations

import mmap
import os
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from .._floating import data_dtype
from ..exceptions import DataError
from ._passes import ChunkPasses, centre, lowest_rows
from ._values import check_values
from .memory import first_chunk_offset, resolve_chunk_size, resolve_n_jobs

__all__ = ["Dataset", "NpyDataset", "ParquetDataset", "CsvDataset", "IterableDataset", "ArrayDataset",
           "OutOfCoreEngine", "open_dataset"]

T = TypeVar("T")

READ_BLOCK_ROWS = 65536
"""Rows a streaming reader (Parquet, CSV) hands over at a time; bounded memory, independent of chunks."""

TAKE_ROWS = 8192
"""Scattered rows a random-access source reads under one map (at most this many pages stay resident)."""

Columns = Sequence[str | int] | None


class Dataset:
    """Rows of numeric data read in blocks, in a fixed order; never all in memory.

    Subclasses implement :meth:`_blocks` (raw blocks in row order) and set ``name`` (for messages),
    ``columns`` (the selected column names) and ``dtype`` (float32 or float64, what blocks are cast to).
    Random-access sources also implement :meth:`_read` (rows ``start:stop``).
    """

    name: str
    columns: tuple[str, ...]
    dtype: np.dtype
    random_access = False

    @property
    def n_features(self) -> int:
        return len(self.columns)

    @property
    def n_samples(self) -> int:
        """Number of rows (sources without metadata count them in one validating pass, once).

        The counting pass checks shapes and types; it lets NaN through (whether a NaN is an error depends
        on the fit's ``missing`` policy: the fit's own first pass checks it), but not infinity or rows with
        every feature missing, which no fit can use.
        """
        if getattr(self, "_n_samples", None) is None:
            self._n_samples = sum(block.shape[0] for _, block in self.blocks(allow_missing=True))
        return self._n_samples

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, columns={list(self.columns)})"

    def _blocks(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def _read(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def _take(self, indices: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def blocks(self, allow_missing: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_row, block)``: validated blocks of shape (rows, n_features) in the source's dtype.

        With ``allow_missing`` NaN entries (nulls, empty fields) are missing values instead of errors.
        """
        start = 0
        for block in self._blocks():
            block = self.check_block(block, start, allow_missing)
            yield start, block
            start += block.shape[0]

    def read(self, start: int, stop: int, allow_missing: bool = False) -> np.ndarray:
        """Validated rows ``start:stop`` of a random-access source."""
        return self.check_block(self._read(start, stop), start, allow_missing)

    def check_block(self, block, start: int, allow_missing: bool = False) -> np.ndarray:
        """``block`` as a 2-D array of ``dtype`` with ``n_features`` columns, finite (or NaN where values are
        missing, with ``allow_missing``), or a DataError naming rows."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.n_features:
            raise DataError(f"{self.name}: the block starting at row {start} has shape {block.shape}, expected "
                            f"(rows, {self.n_features}): every block must hold the same columns")
        if block.dtype.kind not in "biuf":
            raise DataError(f"{self.name}: rows {start}-{start + block.shape[0] - 1} are not numeric "
                            f"(dtype {block.dtype})")
        block = block.astype(self.dtype, copy=False)
        check_values(block, start, allow_missing=allow_missing, source=self.name,
                     column_name=lambda j: repr(self.columns[j]),
                     where=f"rows {start}-{start + block.shape[0] - 1} of the source")
        return block

    def rows(self, indices: np.ndarray, allow_missing: bool = False) -> np.ndarray:
        """Raw rows at sorted, unique positions ``indices``, in one pass (or direct reads)."""
        indices = np.asarray(indices, dtype=np.int64)
        pieces = []
        if self.random_access:
            for first in range(0, indices.size, TAKE_ROWS):
                pieces.append(self._take(indices[first:first + TAKE_ROWS]).astype(self.dtype, copy=False))
            return np.concatenate(pieces) if pieces else np.empty((0, self.n_features), self.dtype)
        for start, block in self.blocks(allow_missing):
            lo, hi = np.searchsorted(indices, [start, start + block.shape[0]])
            if hi > lo:
                pieces.append(block[indices[lo:hi] - start])
            if hi == indices.size:
                break
        return np.concatenate(pieces) if pieces else np.empty((0, self.n_features), self.dtype)

    def to_numpy(self, allow_missing: bool = False) -> np.ndarray:
        """All rows in memory (for ``engine='memory'``)."""
        return np.concatenate([block for _, block in self.blocks(allow_missing)])


def _select(name: str, available: Sequence[str], columns: Columns) -> list[int]:
    """Positions of ``columns`` (names or positions) among ``available``; a DataError for unknown ones."""
    if columns is None:
        return list(range(len(available)))
    if isinstance(columns, (str, int)):
        columns = [columns]
    positions = []
    for column in columns:
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            if not 0 <= column < len(available):
                raise DataError(f"{name}: column position {column} is out of range (the source has "
                                f"{len(available)} columns)")
            positions.append(int(column))
        elif column in available:
            positions.append(list(available).index(column))
        else:
            raise DataError(f"{name}: no column named {column!r}; available columns: {list(available)}")
    if not positions:
        raise DataError(f"{name}: no columns selected")
    return positions


class ArrayDataset(Dataset):
    """An in-memory array seen as a source (``engine='ooc'`` on an array; mostly for tests)."""

    random_access = True

    def __init__(self, array: np.ndarray, name: str = "array"):
        self.array = array
        self.name = name
        self.columns = tuple(str(i) for i in range(array.shape[1]))
        self.dtype = data_dtype(array.dtype)
        self._n_samples = array.shape[0]

    def _read(self, start, stop):
        return self.array[start:stop]

    def _take(self, indices):
        return self.array[indices]

    def _blocks(self):
        for start in range(0, self._n_samples, READ_BLOCK_ROWS):
            yield self._read(start, start + READ_BLOCK_ROWS)


class NpyDataset(Dataset):
    """A 2-D ``.npy`` file, memory-mapped one chunk at a time.

    Each read maps the file, copies the rows and unmaps it: the pages read do not stay mapped, so the
    process's resident memory does not grow with the file (one long-lived map would keep every page it
    has read resident, and a 2.5 GB file would show as 2.5 GB of RSS).
    """

    random_access = True

    def __init__(self, path: Path, columns: Columns = None):
        self.name = str(path)
        try:
            header = np.load(path, mmap_mode="r")  # reads the header only; the map is closed at once
        except (ValueError, OSError) as error:
            raise DataError(f"{path}: not a valid .npy file ({error})") from None
        shape, dtype, self._data_offset = header.shape, header.dtype, header.offset
        self._order = "F" if header.flags.f_contiguous and not header.flags.c_contiguous else "C"
        del header
        if len(shape) != 2:
            raise DataError(f"{path}: expected a 2-D array (rows, features), got shape {shape}")
        if dtype.kind not in "biuf" or dtype.hasobject:
            raise DataError(f"{path}: the array is not numeric (dtype {dtype})")
        if shape[0] == 0:
            raise DataError(f"{path}: the array has no rows")
        self._shape, self._file_dtype = shape, dtype
        self._positions = _select(self.name, [str(i) for i in range(shape[1])], columns)
        self.columns = tuple(str(i) for i in self._positions)
        self.dtype = data_dtype(dtype)
        self._n_samples = shape[0]
        self._path = path

    def _read(self, start, stop):
        return self._copy_rows(slice(start, stop))

    def _take(self, indices):
        return self._copy_rows(indices)

    def _copy_rows(self, rows) -> np.ndarray:
        with open(self._path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            array = np.ndarray(self._shape, dtype=self._file_dtype, buffer=mapped, offset=self._data_offset,
                               order=self._order)
            view = array[rows] if self._positions == list(range(self._shape[1])) else array[rows][:, self._positions]
            block = np.array(view, dtype=self.dtype)
            del array, view  # the views must go before the map closes
        return block

    def _blocks(self):
        for start in range(0, self._n_samples, READ_BLOCK_ROWS):
            yield self._read(start, start + READ_BLOCK_ROWS)


def _is_numeric_arrow(data_type) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(data_type) or pa.types.is_floating(data_type)


def _arrow_to_numpy(batch, dtype) -> np.ndarray:
    """A record batch (numeric columns, nulls as NaN) as a (rows, columns) array."""
    block = np.empty((batch.num_rows, batch.num_columns), dtype=dtype)
    for j, column in enumerate(batch.columns):
        block[:, j] = column.to_numpy(zero_copy_only=False)  # nulls become NaN: reported as missing
    return block


def _require_pyarrow(what: str):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError(f"reading {what} needs pyarrow: pip install 'gaussmix[io]'") from None


class ParquetDataset(Dataset):
    """A Parquet file, or a directory of them (read in sorted path order), read by row group."""

    def __init__(self, path: Path, columns: Columns = None):
        _require_pyarrow("Parquet")
        import pyarrow.parquet as pq

        self.name = str(path)
        files = sorted(p for p in path.rglob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise DataError(f"{path}: a directory without .parquet files")
        try:
            # Without pre-buffering: pyarrow's default reads ahead whole column chunks, so memory grew with the file
            # (1.46 GB for 3M x 32). Not memory-mapped either: mapped pages count as the process's resident memory
            # (2.9 GB for a 2.5 GB file). Read so, memory holds about one row group at a time.
            self._files = [pq.ParquetFile(file, pre_buffer=False, memory_map=False) for file in files]
        except Exception as error:  # pyarrow raises ArrowInvalid / OSError for corrupt files
            raise DataError(f"{path}: cannot be read as Parquet ({error})") from None
        schema = self._files[0].schema_arrow
        positions = _select(self.name, schema.names, columns)
        self.columns = tuple(schema.names[i] for i in positions)
        for file, parquet in zip(files, self._files):
            for column in self.columns:
                if column not in parquet.schema_arrow.names:
                    raise DataError(f"{file}: no column named {column!r} (other files of the dataset have it)")
                data_type = parquet.schema_arrow.field(column).type
                if not _is_numeric_arrow(data_type):
                    raise DataError(f"{file}: column {column!r} is not numeric (type {data_type})")
        types = [schema.field(column).type for column in self.columns]
        self.dtype = np.dtype(np.float32) if all(str(t) == "float" for t in types) else np.dtype(np.float64)
        self._n_samples = sum(parquet.metadata.num_rows for parquet in self._files)

    def _blocks(self):  # nulls become NaN (missing values)
        for parquet in self._files:
            for batch in parquet.iter_batches(batch_size=READ_BLOCK_ROWS, columns=list(self.columns),
                                              use_threads=False):
                yield _arrow_to_numpy(batch, self.dtype)


_FLOAT_FIELD = re.compile(r"^\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|nan|inf|infinity)?\s*$",
                          re.IGNORECASE)


class CsvDataset(Dataset):
    """A delimited text file streamed in blocks by pyarrow's CSV reader.

    ``header=None`` detects a header: the first line is one unless every field reads as a number.
    Without a header, columns are named ``'0', '1', ...`` (positions work too). The file is scanned once
    when ``n_samples`` is first needed (at the start of a fit): that pass counts the rows and validates
    every row (ragged rows, non-numeric values) before any work starts. Empty fields and pyarrow's null
    spellings (``NA``, ``NaN``, ``null``, ...) read as NaN: missing values, an error unless the fit has
    ``missing='em'``.
    """

    def __init__(self, path: Path, columns: Columns = None, *, delimiter: str = ",", header: bool | None = None):
        _require_pyarrow("CSV")
        import pyarrow as pa

        self.name = str(path)
        self._path, self._delimiter = path, delimiter
        with open(path, "r", newline="") as file:
            first_line = file.readline().rstrip("\r\n")
        if not first_line.strip():
            raise DataError(f"{path}: the file is empty or starts with a blank line")
        fields = first_line.split(delimiter)
        if header is None:
            header = not all(_FLOAT_FIELD.match(field) for field in fields)
        self._header = bool(header)
        names = [field.strip().strip('"') for field in fields] if header else [str(i) for i in range(len(fields))]
        positions = _select(self.name, names, columns)
        self.columns = tuple(names[i] for i in positions)
        self._all_names = names
        self.dtype = np.dtype(np.float64)
        self._check_types(pa)

    def _reader(self, column_types: bool = True):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        read_options = pcsv.ReadOptions(column_names=self._all_names, skip_rows=1 if self._header else 0,
                                        block_size=1 << 22, use_threads=False)
        convert = pcsv.ConvertOptions(include_columns=list(self.columns),
                                      column_types={c: pa.float64() for c in self.columns} if column_types else None)
        return pcsv.open_csv(self._path, read_options=read_options,
                             parse_options=pcsv.ParseOptions(delimiter=self._delimiter), convert_options=convert)

    def _check_types(self, pa):
        """Non-numeric columns, by the types pyarrow infers from the first block."""
        try:
            batch = next(iter(self._reader(column_types=False)), None)
        except pa.ArrowInvalid as error:
            raise self._error(error) from None
        if batch is None:
            raise DataError(f"{self.name}: the file has a header but no rows")
        for column, field in zip(batch.schema.names, batch.schema):
            if not (_is_numeric_arrow(field.type) or pa.types.is_null(field.type)):
                values = batch.column(column).to_pylist()
                row = next(i for i, value in enumerate(values) if not _FLOAT_FIELD.match(str(value or "")))
                raise DataError(f"{self.name}: column {column!r} is not numeric (row {row} holds {values[row]!r})")

    def _error(self, error) -> DataError:
        message = str(error)
        match = re.search(r"column #(\d+)", message)
        if match and int(match.group(1)) < len(self.columns):
            message += f" (column {self.columns[int(match.group(1))]!r})"
        if "Expected" in message and "columns" in message:
            return DataError(f"{self.name}: ragged CSV, rows have different numbers of fields: {message}")
        return DataError(f"{self.name}: cannot be read as numbers: {message}")

    def _blocks(self):
        import pyarrow as pa

        try:
            for batch in self._reader():
                if batch.num_rows:
                    yield _arrow_to_numpy(batch, self.dtype)
        except pa.ArrowInvalid as error:
            raise self._error(error) from None


class IterableDataset(Dataset):
    """Any re-iterable of 2-D arrays (a list of arrays, or an object whose ``__iter__`` starts afresh)."""

    def __init__(self, iterable: Iterable, columns: Columns = None, name: str = "iterable source"):
        if iter(iterable) is iterable:
            raise DataError("a generator or iterator can be read only once, but EM reads the data once per "
                            "iteration: pass a list of arrays or an object whose __iter__ starts afresh")
        self.name = name
        self._iterable = iterable
        first = next(iter(iterable), None)
        if first is None:
            raise DataError(f"{name}: the iterable yields no arrays")
        first = np.asarray(first)
        if first.ndim != 2:
            raise DataError(f"{name}: every item must be a 2-D array (rows, features), got shape {first.shape}")
        if first.dtype.kind not in "biuf":
            raise DataError(f"{name}: the first array is not numeric (dtype {first.dtype})")
        self._positions = _select(name, [str(i) for i in range(first.shape[1])], columns)
        self._width = first.shape[1]
        self.columns = tuple(str(i) for i in self._positions)
        self.dtype = data_dtype(first.dtype)
        self._n_samples = None

    def _blocks(self):
        for item in self._iterable:
            item = np.asarray(item)
            if item.ndim != 2 or item.shape[1] != self._width:
                yield item  # check_block reports the shape
            else:
                yield item[:, self._positions]


def open_dataset(source, columns: Columns = None, *, format: str | None = None, delimiter: str | None = None,
                 header: bool | None = None) -> Dataset:
    """Open a source of rows too large (or too scattered) to be one array.

    Parameters
    ----------
    source : str, path, Dataset or re-iterable of 2-D arrays
        A ``.npy`` file (memory-mapped chunk by chunk), a Parquet file or a directory of Parquet files
        (read by row group), a CSV/TSV file (streamed), or a re-iterable of arrays.
    columns : sequence of str or int, optional
        Columns to use, by name or position (default: all). ``.npy`` and iterables have positions only.
    format : {'npy', 'parquet', 'csv'}, optional
        Overrides detection by suffix (``.npy``; ``.parquet``/``.pq`` or a directory; ``.csv``/``.tsv``/``.txt``).
    delimiter : str, optional
        CSV field separator (default ``','``, or a tab for ``.tsv``).
    header : bool, optional
        Whether a CSV file starts with column names (default: detected).

    Returns
    -------
    Dataset
        Pass it to ``GaussianMixture.fit``, ``KMeans.fit``, ``predict`` or ``score_samples``.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    DataError
        An unknown format, an unknown or non-numeric column, or a malformed file.
    """
    if isinstance(source, Dataset):
        return source
    if not isinstance(source, (str, os.PathLike)):
        return IterableDataset(source, columns)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"data source {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    format = format or ("parquet" if path.is_dir() else
                        {".npy": "npy", ".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv",
                         ".txt": "csv"}.get(suffix))
    if format == "npy":
        return NpyDataset(path, columns)
    if format == "parquet":
        return ParquetDataset(path, columns)
    if format == "csv":
        return CsvDataset(path, columns, delimiter=delimiter or ("\t" if suffix == ".tsv" else ","), header=header)
    raise DataError(f"{path}: unknown data format {format or suffix!r}; supported: .npy, Parquet (file or "
                    "directory), CSV/TSV (or pass format=)")


class OutOfCoreEngine:
    """An engine (:class:`~gaussmix.engines.Engine`) over a :class:`Dataset`: one streaming pass per ``reduce``/``map``.

    Chunks are cut at the same rows as :class:`InMemoryEngine` would cut the same array, the offset is the
    mean of the first chunk and per-chunk results are added in chunk order, so a fit agrees with the
    in-memory fit. Only ``2 * n_jobs`` chunks are in memory at a time. Chunks of random-access sources
    (``.npy``) are read by the worker threads; streamed sources are read by the calling thread.

    Parameters
    ----------
    dataset : Dataset
    sample_weight : ndarray of shape (n_samples,), optional
        Validated weights; ones if omitted (never materialised).
    offset, chunk_size, n_jobs, n_components
        As for :class:`InMemoryEngine`.
    allow_missing : bool, default=False
        NaN entries (Parquet nulls, empty CSV fields) are missing values, not errors (``missing='em'``).
    """

    def __init__(self, dataset: Dataset, sample_weight: np.ndarray | None = None, *, offset: np.ndarray | None = None,
                 chunk_size: int | None = None, n_jobs: int | None = 1, n_components: int = 1,
                 allow_missing: bool = False):
        self.dataset = dataset
        self.allow_missing = bool(allow_missing)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.n_jobs = resolve_n_jobs(n_jobs)
        self._n_samples = dataset.n_samples
        self.chunk_size = resolve_chunk_size(chunk_size, self._n_samples, dataset.n_features, n_components,
                                             self.n_jobs)
        self.dtype = dataset.dtype
        if offset is None:
            offset = first_chunk_offset(raw for _, raw in self._raw_chunks())
        self.offset = np.asarray(offset, dtype=np.float64)
        # Random-access sources (.npy) are read by the worker threads, chunk by position; streamed ones
        # (Parquet, CSV, iterables) by the calling thread, front to back.
        self._passes = ChunkPasses(self._n_samples, self.chunk_size, self.n_jobs, self._chunk,
                                   None if dataset.random_access else self.chunks)

    in_memory = False

    @property
    def X(self):  # noqa: N802 - the in-memory engine's name for its data
        return self.dataset

    @property
    def n_samples(self) -> int:
        return self._n_samples

    @property
    def n_features(self) -> int:
        return self.dataset.n_features

    @property
    def weight_sum(self) -> float:
        return float(self._n_samples if self.sample_weight is None else self.sample_weight.sum())

    def with_chunk_size(self, chunk_size: int) -> "OutOfCoreEngine":
        return OutOfCoreEngine(self.dataset, self.sample_weight, offset=self.offset, chunk_size=chunk_size,
                               n_jobs=self.n_jobs, allow_missing=self.allow_missing)

    def _weights(self, start: int, stop: int) -> np.ndarray:
        if self.sample_weight is None:
            return np.ones(stop - start)
        return self.sample_weight[start:stop]

    def _raw_chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first_row, raw_chunk)`` with exactly ``chunk_size`` rows (the last may be shorter)."""
        if self.dataset.random_access:
            for start in range(0, self._n_samples, self.chunk_size):
                yield start, self.dataset.read(start, min(start + self.chunk_size, self._n_samples), self.allow_missing)
            return
        yield from _rechunk(self.dataset.blocks(self.allow_missing), self.chunk_size)

    def chunks(self, centred: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(chunk, weights)`` in row order (centred unless ``centred=False``), read front to back."""
        for start, raw in self._raw_chunks():
            yield (self.centred(raw) if centred else raw), self._weights(start, start + raw.shape[0])

    def _chunk(self, start: int, centred: bool = True) -> tuple[np.ndarray, np.ndarray]:
        stop = min(start + self.chunk_size, self._n_samples)
        raw = self.dataset.read(start, stop, self.allow_missing)
        return (self.centred(raw) if centred else raw), self._weights(start, stop)

    def centred(self, rows: np.ndarray) -> np.ndarray:
        """Rows in the kernel's coordinates: offset removed in float64, then in the engine's dtype."""
        return centre(rows, self.offset, self.dtype)

    def reduce(self, function: Callable[[np.ndarray, np.ndarray], T], centred: bool = True) -> T:
        """``sum(function(chunk, weights))`` over one pass through the source, added in chunk order."""
        return self._passes.reduce(function, centred)

    def map(self, function: Callable[[np.ndarray, np.ndarray], np.ndarray], centred: bool = True) -> np.ndarray:
        """Row-wise results of ``function`` on every chunk, concatenated in row order."""
        return self._passes.map(function, centred)

    def rows_with_lowest(self, score: Callable[[np.ndarray], np.ndarray], n_rows: int) -> np.ndarray:
        """The ``n_rows`` centred rows (with positive weight) of lowest ``score``, lowest first; one pass."""
        return lowest_rows(self.chunks(), score, n_rows, self.n_features)

    def raw_rows(self, indices: np.ndarray) -> np.ndarray:
        """Uncentred rows at the given positions (any order, repeats allowed)."""
        unique, inverse = np.unique(np.asarray(indices, dtype=np.int64), return_inverse=True)
        return self.dataset.rows(unique, self.allow_missing)[inverse]

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Centred rows at the given positions."""
        return self.centred(self.raw_rows(indices))

    def raw_weights(self, indices: np.ndarray) -> np.ndarray | None:
        """Weights at the given positions (None when all are one)."""
        return None if self.sample_weight is None else self.sample_weight[np.asarray(indices, dtype=np.int64)]


def _rechunk(blocks: Iterator[tuple[int, np.ndarray]], chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
    """Re-cut a stream of ``(first_row, block)`` into blocks of exactly ``chunk_size`` rows (last shorter)."""
    pending: list[np.ndarray] = []
    n_pending = 0
    start = 0
    for _, block in blocks:
        while block.shape[0]:
            take = min(chunk_size - n_pending, block.shape[0])
            pending.append(block[:take])
            n_pending += take
            block = block[take:]
            if n_pending == chunk_size:
                yield start, pending[0] if len(pending) == 1 else np.concatenate(pending)
                start += n_pending
                pending, n_pending = [], 0
    if n_pending:
        yield start, np.concatenate(pending)
