"""The command line's table reader/writer: formats, header detection, column selection, atomic writes."""

import numpy as np
import pytest

from gaussmix.io.tabular import TableError, atomic_write, read_table, write_table

DATA = np.array([[1.5, -2.0, 3.25], [4.0, 5.5, -6.0], [7.0, 8.0, 9.125]])


def test_csv_with_and_without_header(tmp_path):
    (tmp_path / "named.csv").write_text("a,b,c\n" + "\n".join(",".join(map(str, row)) for row in DATA) + "\n")
    (tmp_path / "plain.csv").write_text("\n".join(";".join(map(str, row)) for row in DATA) + "\n")
    X, names = read_table(tmp_path / "named.csv")
    np.testing.assert_array_equal(X, DATA)
    assert names == ["a", "b", "c"]
    X, names = read_table(tmp_path / "plain.csv")  # no header, semicolons
    np.testing.assert_array_equal(X, DATA)
    assert names == ["x0", "x1", "x2"]
    X, names = read_table(tmp_path / "named.csv", columns=["c", "0"])  # by name and by index
    np.testing.assert_array_equal(X, DATA[:, [2, 0]])
    assert names == ["c", "a"]


@pytest.mark.parametrize("first_row", ["1,NA", "NA,2", "nan,2", "1,", "?,?"])
def test_a_first_row_with_a_missing_value_is_data_not_a_header(tmp_path, first_row):
    (tmp_path / "plain.csv").write_text(first_row + "\n3,4\n5,6\n")
    with pytest.raises(TableError, match="has a missing value \\(data row 1\\); use --missing em"):
        read_table(tmp_path / "plain.csv")


def test_header_detection_needs_names_only(tmp_path):
    (tmp_path / "indexed.csv").write_text(",a,b\n0,1.5,2\n1,3,4\n")  # an index column with a blank name
    X, names = read_table(tmp_path / "indexed.csv", columns=["a", "b"])
    assert names == ["a", "b"] and X.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    (tmp_path / "mixed.csv").write_text("id,2\n3,4\n")  # a number in the first row: data, so 'id' is reported
    with pytest.raises(TableError, match="column 'x0' is not numeric \\(data row 1: 'id'\\)"):
        read_table(tmp_path / "mixed.csv")


def test_parquet_and_npy(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pyarrow.table({"a": DATA[:, 0], "b": DATA[:, 1].astype(np.float32), "n": [1, 2, 3]}),
                   tmp_path / "t.parquet")
    X, names = read_table(tmp_path / "t.parquet", columns=["n", "a"])
    np.testing.assert_array_equal(X, np.column_stack([[1, 2, 3], DATA[:, 0]]))
    assert names == ["n", "a"]
    np.save(tmp_path / "t.npy", DATA[:, 0])  # 1-D: one column
    X, _ = read_table(tmp_path / "t.npy")
    assert X.shape == (3, 1)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy"])
def test_write_then_read_roundtrip(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    values = np.random.default_rng(0).normal(size=(50, 2)) * 10.0 ** np.arange(-8, 42, 1)[:50, None]
    path = write_table(tmp_path / f"out{suffix}", {"label": np.arange(50), "p": values[:, 0], "q": values[:, 1]})
    X, names = read_table(path)
    np.testing.assert_array_equal(X, np.column_stack([np.arange(50), values]))  # exact, also through CSV text
    if suffix != ".npy":
        assert names == ["label", "p", "q"]
    with pytest.raises(TableError, match="already exists"):
        write_table(path, {"a": np.zeros(2)})
    write_table(path, {"a": np.zeros(2)}, force=True)
    assert read_table(path)[0].shape == (2, 1)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    with pytest.raises(TableError, match="not a readable .npy"):
        read_table(bad)
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(TableError, match="1-D or 2-D"):
        read_table(tmp_path / "cube.npy")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    with pytest.raises(TableError, match="column 'x1' has a missing"):
        read_table(tmp_path / "nan.npy")
    (tmp_path / "x.parquet").write_bytes(b"PAR1 nonsense")
    pytest.importorskip("pyarrow")
    with pytest.raises(TableError, match="not a readable Parquet"):
        read_table(tmp_path / "x.parquet")


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    path = tmp_path / "out.csv"

    def racing_writer(stream):  # someone else creates the output after the up-front check
        path.write_text("theirs\n")
        stream.write("ours\n")

    with pytest.raises(TableError, match="already exists; use --force"):
        atomic_write(path, racing_writer, binary=False)
    assert path.read_text() == "theirs\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # temporary file removed
    atomic_write(path, lambda stream: stream.write("ours\n"), binary=False, force=True)
    assert path.read_text() == "ours\n"


def test_without_hard_links_the_write_still_refuses_to_replace(tmp_path, monkeypatch):
    import os

    def no_links(source, target):
        raise PermissionError(1, "Operation not permitted")  # what FAT file systems answer

    monkeypatch.setattr(os, "link", no_links)
    path = atomic_write(tmp_path / "new.csv", lambda stream: stream.write("a\n"), binary=False)
    assert path.read_text() == "a\n"
    with pytest.raises(TableError, match="already exists"):
        atomic_write(path, lambda stream: stream.write("b\n"), binary=False)
    assert path.read_text() == "a\n" and [p.name for p in tmp_path.iterdir()] == ["new.csv"]


def test_a_directory_given_as_data_is_named_so(tmp_path):
    with pytest.raises(TableError, match="is a directory, not a data file"):
        read_table(tmp_path)
