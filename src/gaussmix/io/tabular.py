"""Small tables for the command line: read CSV / Parquet / NPY into a float64 matrix, write results atomically.

Kept deliberately small (the out-of-core sources in ``gaussmix.open_dataset`` are the general answer): a
whole file is read into memory, a CSV header is detected (a first row of names: no field is a number), and every
problem a user can cause raises :class:`TableError` (a ``ValueError``) with one line naming the file, the
column and the row.

Writes go to a temporary file in the target folder that is put in place only when complete, in one atomic
step (:mod:`gaussmix.io.atomic`), so an interrupted write never leaves a half-written output, and an existing
file is never replaced unless ``force=True``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np

from . import atomic as _atomic

__all__ = ["TableError", "Table", "load_table", "read_table", "write_table", "atomic_write", "check_output_path", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".npy")
"""Table files by ending; ``.tsv`` is CSV separated by tabs."""


class TableError(ValueError):
    """A data file cannot be read or written as asked (missing, unreadable, bad column, NaN, ...)."""


def _suffix(path: Path, what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise TableError(f"{path}: unsupported {what} file type {suffix or '(none)'!r}; "
                         f"use one of {', '.join(TABLE_SUFFIXES)}")
    return suffix


# ------------------------------------------------------------------------------------------------ reading
class Table(NamedTuple):
    """A numeric table read by :func:`load_table`."""

    X: np.ndarray
    """shape (n_samples, n_features), float64, finite"""
    names: list[str]
    """one per column: the file's names, or ``x0, x1, ...`` when it has none"""
    named: bool
    """True when the names come from the file (a CSV header, Parquet), False when they were made up"""
    labels: np.ndarray | None = None
    """the ``label`` column's values as text, one per row ('' where empty or missing: an unlabelled row); None
    without a label column"""


def load_table(path, columns: Sequence[str | int] | None = None, *,
               fitted_names: Sequence[str] | None = None, drop: Sequence[str | int] | None = None,
               allow_missing: bool = False, sep: str | None = None, label: str | int | None = None) -> Table:
    """Read a numeric table.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (header detected), ``.parquet`` (needs pyarrow) or ``.npy`` (1-D or 2-D, memory-mapped).
    columns : sequence of str or int, optional
        Columns to keep, by name (needs a header), by 0-based index or by an inclusive range of indices such as
        ``"0-12"``; default all.
    fitted_names : sequence of str, optional
        The columns a model was fitted on (its ``feature_names_in_``). Without ``columns``, a file that
        names its columns gives these, by name and in this order (extra columns are ignored); a missing
        one is an error naming it. A file without names is taken as it is.
    drop : sequence of str or int, optional
        Columns to leave out (names, indices or ranges, as for ``columns``), after ``columns`` chose.
    sep : str, optional
        The field separator of a text file (default: a tab for ``.tsv``, else sniffed among ``,`` ``;`` tab and
        space).
    allow_missing : bool, default=False
        Missing values (empty, ``NA``, ``NaN``, ...; a Parquet null) become NaN instead of an error (for
        ``missing='em'``); infinities are always an error.
    label : str or int, optional
        A column of class labels (by name or index), read as text into ``Table.labels`` and never a feature;
        an empty or missing label (``''``, ``NA``, ...) marks an unlabelled row.

    Returns
    -------
    Table
    """
    path = Path(path)
    if path.is_dir():
        raise TableError(f"{path} is a directory, not a data file")
    suffix = _suffix(path, "input")
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    if suffix in (".csv", ".tsv"):
        table, names, named = _read_csv(path, sep if sep is not None else ("\t" if suffix == ".tsv" else None))
    elif sep is not None:
        raise TableError(f"{path}: a separator (--sep) is for text files (.csv, .tsv), not {suffix}")
    else:
        table, names, named = {".parquet": _read_parquet, ".npy": _read_npy}[suffix](path)
    if table.shape[0] == 0:
        raise TableError(f"{path}: the file has no data rows")
    if not columns and fitted_names is not None and named:
        indices = _fitted_columns(path, names, list(fitted_names))
    else:
        indices = _select_columns(path, names, columns)
    labels = None
    if label is not None:
        label_index = _select_columns(path, names, [label])[0]
        labels = np.array(["" if str(v).strip().lower() in _MISSING else str(v).strip() for v in table[:, label_index]],
                          dtype=object)
        indices = [i for i in indices if i != label_index]
    if drop:
        dropped = set(_select_columns(path, names, drop))
        indices = [i for i in indices if i not in dropped]
    if not indices:
        raise TableError(f"{path}: no column left to use as a feature (after --drop"
                         f"{' and the label column' if label is not None else ''})")
    X = np.column_stack([_float_column(path, table[:, i], names[i], allow_missing) for i in indices])
    return Table(X, [names[i] for i in indices], named, labels)


def read_table(path, columns: Sequence[str | int] | None = None) -> tuple[np.ndarray, list[str]]:
    """``(X, names)`` of :func:`load_table`."""
    table = load_table(path, columns)
    return table.X, table.names


def _fitted_columns(path: Path, names: list[str], fitted_names: list[str]) -> list[int]:
    missing = [name for name in fitted_names if name not in names]
    if missing:
        raise TableError(f"{path}: no column named {missing[0]!r}, one the model was fitted on "
                         f"({', '.join(fitted_names)}); the file has {', '.join(names)}; "
                         "choose the columns with --columns")
    return [names.index(name) for name in fitted_names]


def _read_csv(path: Path, sep: str | None = None) -> tuple[np.ndarray, list[str], bool]:
    if sep is not None and len(sep) != 1:
        raise TableError(f"--sep must be one character, got {sep!r}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            sample = stream.read(65536)
            stream.seek(0)
            if sep is not None:
                reader = csv.reader(stream, delimiter=sep)
            else:
                try:
                    reader = csv.reader(stream, csv.Sniffer().sniff(sample, delimiters=",;\t "))
                except csv.Error:
                    reader = csv.reader(stream, csv.excel)
            rows = [row for row in reader if any(field.strip() for field in row)]
    except UnicodeDecodeError:
        raise TableError(f"{path}: not a text CSV file (cannot decode it as UTF-8)") from None
    if not rows:
        raise TableError(f"{path}: the file is empty")
    header = [field.strip() for field in rows[0]] if _is_header(rows[0]) else None
    body = rows if header is None else rows[1:]
    width = len(rows[0])
    names = header or [f"x{i}" for i in range(width)]
    table = np.empty((len(body), width), dtype=object)
    for line, row in enumerate(body, start=1 if header is None else 2):
        if len(row) != width:
            raise TableError(f"{path}: line {line} has {len(row)} fields, expected {width}")
        table[line - (1 if header is None else 2)] = [field.strip() for field in row]
    return table, names, header is not None


def _is_header(row: list[str]) -> bool:
    """A first row is a header when it holds names: no field is a number and at least one is not a missing-value
    token. A row such as ``1,NA`` is data (its NA is then reported as a missing value, not dropped as a
    header); a leading empty field (an index column's blank name, ``,a,b``) does not stop a header."""
    if any(_is_number(field) for field in row):
        return False
    return any(field.strip().lower() not in _MISSING for field in row)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _read_parquet(path: Path) -> tuple[np.ndarray, list[str], bool]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TableError("reading Parquet needs pyarrow: pip install 'gaussmix[io]'") from None
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises its own ArrowInvalid/OSError family
        raise TableError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from None
    names = [str(name) for name in table.column_names]
    columns = [table.column(i).to_numpy(zero_copy_only=False) for i in range(table.num_columns)]
    return (np.column_stack(columns) if columns else np.empty((0, 0))), names, True


def _read_npy(path: Path) -> tuple[np.ndarray, list[str], bool]:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise TableError(f"{path}: not a readable .npy file ({error})") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise TableError(f"{path}: expected a 1-D or 2-D array, got shape {array.shape}")
    return array, [f"x{i}" for i in range(array.shape[1])], False


def _select_columns(path: Path, names: list[str], columns) -> list[int]:
    if not columns:
        return list(range(len(names)))
    indices = []
    for column in columns:
        span = _RANGE.match(column) if isinstance(column, str) and column not in names else None
        if span:
            first, last = int(span.group(1)), int(span.group(2))
            if first > last or last >= len(names):
                raise TableError(f"{path}: column range {column} is not within 0-{len(names) - 1}")
            indices.extend(range(first, last + 1))
            continue
        if isinstance(column, str) and column.lstrip("-").isdigit() and column not in names:
            column = int(column)
        if isinstance(column, (int, np.integer)):
            if not -len(names) <= column < len(names):
                raise TableError(f"{path}: column index {column} out of range (the file has {len(names)} columns)")
            indices.append(int(column) % len(names))
        elif column in names:
            indices.append(names.index(column))
        else:
            raise TableError(f"{path}: no column named {column!r}; columns are {', '.join(names)}")
    return indices


_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
"""An inclusive range of 0-based column indices, ``A-B``."""

_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}


def _float_column(path: Path, values: np.ndarray, name: str, allow_missing: bool = False) -> np.ndarray:
    """One column as finite float64 (NaN for missing values if ``allow_missing``); errors name the column and the
    first bad row (1-based data row)."""
    if values.dtype == object:  # CSV text: the usual spellings of a missing value become NaN, reported below
        values = np.array([np.nan if str(v).strip().lower() in _MISSING else v for v in values], dtype=object)
    try:
        column = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(row for row, value in enumerate(values) if not _is_number(str(value)))
        raise TableError(f"{path}: column {name!r} is not numeric (data row {bad + 1}: {str(values[bad])!r})") from None
    finite = np.isfinite(column) | (allow_missing & np.isnan(column))
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        if np.isnan(column[bad]):
            raise TableError(f"{path}: column {name!r} has a missing value (data row {bad + 1}); use --missing em "
                             "to fit with missing values (EM over the observed features), or remove or impute them")
        raise TableError(f"{path}: column {name!r} has an infinite value (data row {bad + 1}); remove such rows first")
    return column


# ------------------------------------------------------------------------------------------------ writing
def check_output_path(path, force: bool = False) -> Path:
    """Refuse to replace an existing file unless ``force``; the folder must exist. Call before any work."""
    path = Path(path)
    if path.exists() and not force:
        raise TableError(f"{path} already exists; use --force to overwrite it")
    if path.is_dir():
        raise TableError(f"{path} is a directory")
    if not path.parent.resolve().is_dir():
        raise TableError(f"{path}: folder {path.parent} does not exist")
    return path


def atomic_write(path, write: Callable, *, force: bool = False, binary: bool = True) -> Path:
    """Write ``path`` through ``write(stream)`` so that it is complete or absent (:mod:`gaussmix.io.atomic`).

    Without ``force`` an existing file is refused before anything is written, and also when it appears while
    writing (the no-replace rename is atomic).
    """
    path = check_output_path(path, force)
    try:
        return _atomic.atomic_write(path, write, overwrite=force, binary=binary)
    except FileExistsError:
        raise TableError(f"{path} already exists; use --force to overwrite it") from None


def write_table(path, columns: dict[str, np.ndarray], *, force: bool = False) -> Path:
    """Write named 1-D columns of equal length as CSV (with a header), Parquet or NPY (a 2-D float array).

    NPY has no column names: the columns are stacked in the given order as float64 (a text column, such as a
    classifier's class names, cannot go there). ``path="-"`` writes CSV to standard output.
    """
    if str(path) == "-":
        import sys

        _write_csv(sys.stdout, list(columns), [np.asarray(array) for array in columns.values()])
        sys.stdout.flush()
        return Path("-")
    path = Path(path)
    suffix = _suffix(path, "output")
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        return atomic_write(path, lambda stream: _write_csv(stream, names, arrays, delimiter=delimiter), force=force,
                            binary=False)
    if suffix == ".npy":
        text = [name for name, array in zip(names, arrays) if array.dtype.kind not in "biuf"]
        if text:
            raise TableError(f"{path}: column {text[0]!r} holds text, which an .npy file cannot store; write .csv, "
                             ".tsv or .parquet")
        matrix = np.column_stack([array.astype(np.float64) for array in arrays])
        return atomic_write(path, lambda stream: np.save(stream, matrix, allow_pickle=False), force=force)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TableError("writing Parquet needs pyarrow: pip install 'gaussmix[io]'") from None
    table = pa.table(dict(zip(names, arrays)))
    return atomic_write(path, lambda stream: pq.write_table(table, stream), force=force)


def _write_csv(stream, names: list[str], arrays: list[np.ndarray], block: int = 65536, delimiter: str = ",") -> None:
    writer = csv.writer(stream, lineterminator="\n", delimiter=delimiter)
    writer.writerow(names)
    # Integers as integers; floats as the shortest text that reads back to the same float64 (repr); text as it is.
    formats = [(lambda v: repr(int(v))) if array.dtype.kind in "iub" else
               (lambda v: repr(float(v))) if array.dtype.kind == "f" else str for array in arrays]
    n_rows = arrays[0].shape[0] if arrays else 0
    for start in range(0, n_rows, block):  # blocks: a large output never needs a huge string at once
        rows = zip(*[[text(value) for value in array[start:start + block].tolist()]
                     for text, array in zip(formats, arrays)])
        writer.writerows(rows)
