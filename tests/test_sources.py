"""Sources: reading .npy, Parquet and CSV files right, and clear errors for bad ones before work starts."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gaussmix import DataError, GaussianMixture, KMeans, open_dataset
from gaussmix.engines import make_engine

DATA = Path(__file__).parent / "data"
BANKNOTE = DATA / "banknote.csv"  # Swiss banknotes (mclust): 6 measurements and a text label; has a header
MEASUREMENTS = ["Length", "Left", "Right", "Bottom", "Top", "Diagonal"]


def banknote_array():
    """The same file read independently of gaussmix (numpy's own CSV reader)."""
    return np.genfromtxt(BANKNOTE, delimiter=",", skip_header=1, usecols=range(6))


def test_csv_header_is_detected_and_columns_selected_by_name():
    dataset = open_dataset(BANKNOTE, columns=MEASUREMENTS)
    assert dataset.columns == tuple(MEASUREMENTS)
    assert dataset.n_samples == 200
    np.testing.assert_array_equal(dataset.to_numpy(), banknote_array())


def test_csv_without_header_is_detected_and_columns_selected_by_position(tmp_path):
    X = banknote_array()
    np.savetxt(tmp_path / "plain.csv", X, delimiter=",", fmt="%.17g")
    dataset = open_dataset(tmp_path / "plain.csv", columns=[0, 5])
    assert dataset.columns == ("0", "5")
    np.testing.assert_array_equal(dataset.to_numpy(), X[:, [0, 5]])


def test_tsv_uses_tabs(tmp_path):
    X = banknote_array()
    np.savetxt(tmp_path / "x.tsv", X, delimiter="\t", fmt="%.17g", header="\t".join(MEASUREMENTS), comments="")
    np.testing.assert_array_equal(open_dataset(tmp_path / "x.tsv").to_numpy(), X)


def test_fit_on_a_csv_file_equals_the_array_fit():
    X = banknote_array()
    reference = GaussianMixture(2, random_state=0).fit(X)
    fit = GaussianMixture(2, random_state=0).fit(open_dataset(BANKNOTE, columns=MEASUREMENTS))
    np.testing.assert_allclose(fit.means_, reference.means_, rtol=1e-10)
    assert fit.n_features_in_ == 6


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GaussianMixture(2).fit("no/such/file.npy")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_dataset("no/such/file.csv")


def test_unknown_format(tmp_path):
    (tmp_path / "x.xlsx").write_text("1,2\n")
    with pytest.raises(DataError, match="unknown data format"):
        open_dataset(tmp_path / "x.xlsx")


def test_wrong_column_names():
    with pytest.raises(DataError, match=r"no column named 'Width'.*available columns"):
        open_dataset(BANKNOTE, columns=["Length", "Width"])


def test_column_position_out_of_range(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 3)))
    with pytest.raises(DataError, match="out of range"):
        open_dataset(tmp_path / "x.npy", columns=[3])


def test_non_numeric_csv_column_is_named():
    with pytest.raises(DataError, match="column 'label' is not numeric"):
        open_dataset(BANKNOTE)  # all columns, including the text label


def test_non_numeric_value_later_in_a_csv_column(tmp_path):
    lines = ["a,b"] + [f"{i},{2 * i}" for i in range(50)] + ["7,oops"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"late.csv: column .b. is not numeric \(row 50 holds .oops.\)"):
        GaussianMixture(2).fit(str(tmp_path / "late.csv"))


def test_non_numeric_parquet_column_is_named(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "name": ["a", "b", "c"]}), tmp_path / "x.parquet")
    with pytest.raises(DataError, match="column 'name' is not numeric"):
        open_dataset(tmp_path / "x.parquet")
    assert open_dataset(tmp_path / "x.parquet", columns=["x"]).n_features == 1


def test_wrong_parquet_column(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0]}), tmp_path / "x.parquet")
    with pytest.raises(DataError, match="no column named 'y'"):
        GaussianMixture(1).fit(open_dataset(tmp_path / "x.parquet", columns=["x", "y"]))


def test_ragged_csv(tmp_path):
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3,4\n5,6,7\n8,9\n")
    with pytest.raises(DataError, match=r"ragged\.csv.*ragged CSV"):
        GaussianMixture(1).fit(str(tmp_path / "ragged.csv"))


def test_missing_value_in_csv_names_column_and_row(tmp_path):
    (tmp_path / "gap.csv").write_text("a,b\n1,2\n3,4\n5,\n8,9\n")
    with pytest.raises(DataError, match=r"gap\.csv: column 'b' .*missing.* row 2"):
        GaussianMixture(1).fit(str(tmp_path / "gap.csv"))


def test_nan_in_npy_names_file_column_and_row(tmp_path):
    X = np.random.default_rng(0).normal(size=(1000, 3))
    X[777, 2] = np.nan
    np.save(tmp_path / "nan.npy", X)
    with pytest.raises(DataError, match=r"nan\.npy: column '2' .* row 777"):
        GaussianMixture(2, chunk_size=100).fit(str(tmp_path / "nan.npy"))
    with pytest.raises(DataError, match=r"row 777"):
        KMeans(2, chunk_size=100).fit(str(tmp_path / "nan.npy"))


def test_npy_that_is_not_a_table(tmp_path):
    np.save(tmp_path / "cube.npy", np.ones((2, 3, 4)))
    with pytest.raises(DataError, match="2-D"):
        open_dataset(tmp_path / "cube.npy")
    np.save(tmp_path / "text.npy", np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(DataError, match="not numeric"):
        open_dataset(tmp_path / "text.npy")
    (tmp_path / "fake.npy").write_bytes(b"not an array")
    with pytest.raises(DataError, match="not a valid .npy"):
        open_dataset(tmp_path / "fake.npy")


def test_fortran_order_npy(tmp_path):
    X = np.asfortranarray(np.random.default_rng(1).normal(size=(500, 3)))
    np.save(tmp_path / "f.npy", X)
    np.testing.assert_array_equal(open_dataset(tmp_path / "f.npy").to_numpy(), X)
    np.testing.assert_array_equal(open_dataset(tmp_path / "f.npy", columns=[2, 0]).to_numpy(), X[:, [2, 0]])


def test_generator_is_rejected():
    chunks = (np.ones((10, 2)) for _ in range(3))
    with pytest.raises(DataError, match="read only once"):
        open_dataset(chunks)
    with pytest.raises(DataError, match="read only once"):  # passed to fit directly, the same message
        GaussianMixture(2).fit(np.ones((10, 2)) for _ in range(3))


class Chunks:
    """A user's re-iterable of arrays (not a list, not wrapped in open_dataset): each iteration starts afresh."""

    def __init__(self, X, size):
        self.X, self.size = X, size

    def __iter__(self):
        return (self.X[start:start + self.size] for start in range(0, len(self.X), self.size))


def test_a_custom_re_iterable_is_read_directly_by_fit_predict_and_kmeans():
    X = banknote_array()
    chunks = Chunks(X, 70)
    reference = GaussianMixture(2, random_state=0).fit(X)
    fit = GaussianMixture(2, random_state=0).fit(chunks)
    np.testing.assert_allclose(fit.means_, reference.means_, rtol=1e-10)
    np.testing.assert_allclose(fit.covariances_, reference.covariances_, rtol=1e-10)
    np.testing.assert_array_equal(fit.predict(chunks), reference.predict(X))
    kmeans = KMeans(2, random_state=0).fit(chunks)
    np.testing.assert_allclose(kmeans.cluster_centers_, KMeans(2, random_state=0).fit(X).cluster_centers_, rtol=1e-10)


def test_a_custom_re_iterable_fits_a_bayesian_mixture_like_the_array():
    from gaussmix import BayesianGaussianMixture

    X = banknote_array()
    fit = BayesianGaussianMixture(2, random_state=0).fit(Chunks(X, 70))
    reference = BayesianGaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_allclose(fit.means_, reference.means_, rtol=1e-10)
    np.testing.assert_allclose(fit.lower_bounds_, reference.lower_bounds_, rtol=1e-10)


def test_estimators_that_need_memory_name_the_chunked_source():
    chunks = Chunks(banknote_array(), 70)
    model = GaussianMixture(2, random_state=0).fit(chunks)
    with pytest.raises(DataError, match="needs an array in memory.*chunked data source"):
        model.partial_fit(chunks)  # a batch of stepwise EM is an array


def test_iterable_with_inconsistent_widths():
    with pytest.raises(DataError, match=r"block starting at row 10 has shape \(5, 3\)"):
        GaussianMixture(1).fit([np.ones((10, 2)), np.ones((5, 3))])


def test_too_few_rows_and_bad_weights_in_a_source(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(4, 2)))
    with pytest.raises(DataError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(str(tmp_path / "x.npy"))
    with pytest.raises(ValueError, match="sample_weight"):
        GaussianMixture(2).fit(str(tmp_path / "x.npy"), sample_weight=np.ones(3))


def test_prediction_checks_the_number_of_features(tmp_path):
    X = banknote_array()
    model = GaussianMixture(2, random_state=0).fit(X)
    np.save(tmp_path / "narrow.npy", X[:, :4])
    with pytest.raises(DataError, match="4 features.*expecting 6"):
        model.predict(str(tmp_path / "narrow.npy"))


def test_engine_rejects_dask_arrays_for_other_engines():
    da = pytest.importorskip("dask.array")
    with pytest.raises(DataError, match="engine='dask'"):
        make_engine(da.ones((10, 2)), engine="ooc")
