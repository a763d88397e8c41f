"""The engine contract: every engine is an ``Engine`` and the same data give the same statistics and fits.

Each engine (in memory whole and chunked, out of core over a .npy file and a list of chunks, Dask, sparse)
sees the same weighted rows; additive statistics computed through ``reduce`` agree to 1e-10, and so do
``map``, ``rows``, ``rows_with_lowest`` and a whole GaussianMixture / KMeans fit.
"""

import numpy as np
import pytest
from scipy import sparse

from gaussmix import DataError, GaussianMixture, KMeans
from gaussmix.engines import (DaskEngine, Engine, InMemoryEngine, OutOfCoreEngine, SparseEngine, as_engine,
                              data_kind, make_engine, open_dataset)

CENTRE = np.array([3.0, -1.0, 250.0])  # a fixed point to take moments about, far from the offsets


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(size=(120, 3)) @ np.diag([1.0, 0.3, 4.0]) + shift
                   for shift in ([0, 0, 200], [5, 2, 210], [-4, 3, 190])])
    weights = rng.uniform(0.2, 3.0, size=X.shape[0])
    return X, weights


def _engines(X, weights, tmp_path) -> dict:
    """The same rows and weights on every engine (the chunked ones cut 50 rows per chunk)."""
    np.save(tmp_path / "rows.npy", X)
    engines = {
        "memory": InMemoryEngine(X, weights),
        "memory chunked": InMemoryEngine(X, weights, chunk_size=50, n_jobs=2),
        "ooc npy": make_engine(open_dataset(tmp_path / "rows.npy"), weights, chunk_size=50, n_jobs=2),
        "ooc chunks": make_engine([X[:100], X[100:170], X[170:]], weights, chunk_size=50),
        "sparse": SparseEngine(sparse.csr_array(X), weights, chunk_size=50),
    }
    try:
        import dask.array as da
    except ImportError:
        return engines
    engines["dask"] = make_engine(da.from_array(X, chunks=(77, -1)), weights, chunk_size=50)
    return engines


def _dense(chunk) -> np.ndarray:
    return chunk.toarray() if sparse.issparse(chunk) else np.asarray(chunk, dtype=np.float64)


def _moments(engine) -> np.ndarray:
    """``[sum w, sum w (x - c), sum w (x - c)(x - c)^T]`` through ``reduce``, in user coordinates."""
    shift = engine.offset - CENTRE

    def moments(chunk, weights):
        rows = _dense(chunk) + shift
        return np.concatenate([[weights.sum()], weights @ rows, ((rows * weights[:, None]).T @ rows).ravel()])

    return engine.reduce(moments)


def test_every_engine_satisfies_the_protocol(data, tmp_path):
    X, weights = data
    engines = _engines(X, weights, tmp_path)
    for name, engine in engines.items():
        assert isinstance(engine, Engine), name
        assert engine.n_samples == X.shape[0] and engine.n_features == X.shape[1], name
        assert engine.weight_sum == pytest.approx(weights.sum(), rel=1e-12), name
        assert engine.offset.shape == (X.shape[1],) and engine.offset.dtype == np.float64, name
        assert engine.in_memory == (name in ("memory", "memory chunked", "sparse")), name
    assert not isinstance(object(), Engine)
    assert not isinstance(X, Engine)


def test_reduce_gives_the_same_statistics_on_every_engine(data, tmp_path):
    X, weights = data
    engines = _engines(X, weights, tmp_path)
    rows = X - CENTRE
    expected = np.concatenate([[weights.sum()], weights @ rows, ((rows * weights[:, None]).T @ rows).ravel()])
    for name, engine in engines.items():
        np.testing.assert_allclose(_moments(engine), expected, rtol=1e-10, err_msg=name)


def test_map_rows_and_lowest_rows_agree_on_every_engine(data, tmp_path):
    X, weights = data
    engines = _engines(X, weights, tmp_path)
    indices = np.array([5, 0, 359, 5, 200])
    for name, engine in engines.items():
        shift = engine.offset
        mapped = engine.map(lambda chunk, w: np.column_stack([_dense(chunk).sum(axis=1) + shift.sum(), w]))
        np.testing.assert_allclose(mapped[:, 0], X.sum(axis=1), rtol=1e-12, err_msg=name)
        np.testing.assert_array_equal(mapped[:, 1], weights, err_msg=name)
        np.testing.assert_allclose(engine.rows(indices) + engine.offset, X[indices], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(np.asarray(engine.raw_rows(indices), dtype=float), X[indices], err_msg=name)
        # The rows farthest from CENTRE along the last feature, i.e. of lowest -(x_2 - c_2)^2.
        lowest = engine.rows_with_lowest(lambda chunk: -(_dense(chunk)[:, 2] + shift[2] - CENTRE[2]) ** 2, 4)
        order = np.argsort(-(X[:, 2] - CENTRE[2]) ** 2, kind="stable")[:4]
        np.testing.assert_allclose(lowest + engine.offset, X[order], rtol=1e-12, err_msg=name)
        chunks = list(engine.chunks())
        assert sum(chunk.shape[0] for chunk, _ in chunks) == X.shape[0], name
        np.testing.assert_array_equal(np.concatenate([w for _, w in chunks]), weights, err_msg=name)


@pytest.mark.parametrize("name", ["memory chunked", "ooc npy", "ooc chunks", "dask"])
def test_the_same_fit_through_every_engine(data, tmp_path, name):
    X, weights = data
    engines = _engines(X, weights, tmp_path)
    if name not in engines:
        pytest.importorskip("dask")
    source = {"memory chunked": X, "ooc npy": tmp_path / "rows.npy", "ooc chunks": [X[:100], X[100:170], X[170:]],
              "dask": engines.get("dask") and engines["dask"].X}[name]
    reference = GaussianMixture(3, chunk_size=50, random_state=0, tol=1e-10).fit(X, sample_weight=weights)
    fit = GaussianMixture(3, chunk_size=50, random_state=0, tol=1e-10, n_jobs=2).fit(source, sample_weight=weights)
    for attribute in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(fit, attribute), getattr(reference, attribute), rtol=1e-10, atol=1e-10,
                                   err_msg=attribute)
    assert fit.n_iter_ == reference.n_iter_


def test_kmeans_on_sparse_rows_equals_the_dense_fit(data):
    X, weights = data
    reference = KMeans(3, n_init=1, random_state=0).fit(X, sample_weight=weights)
    fit = KMeans(3, n_init=1, random_state=0).fit(sparse.csr_array(X), sample_weight=weights)
    np.testing.assert_array_equal(fit.labels_, reference.labels_)
    np.testing.assert_allclose(fit.cluster_centers_, reference.cluster_centers_, rtol=1e-10)
    np.testing.assert_allclose(fit.inertia_, reference.inertia_, rtol=1e-10)


# ---------------------------------------------------------------------------------------- as_engine
def test_data_kind_decides_the_engine(data, tmp_path):
    X, weights = data
    np.save(tmp_path / "rows.npy", X)
    assert data_kind(X) == "array" and type(as_engine(X)) is InMemoryEngine
    assert data_kind(X.tolist()) == "array"
    assert data_kind(sparse.csr_matrix(X)) == "sparse" and type(as_engine(sparse.csr_matrix(X))) is SparseEngine
    for source in (tmp_path / "rows.npy", str(tmp_path / "rows.npy"), [X[:10], X[10:]], open_dataset(X[None])):
        assert data_kind(source) == "source"
    assert type(as_engine(tmp_path / "rows.npy")) is OutOfCoreEngine
    da = pytest.importorskip("dask.array")
    assert data_kind(da.from_array(X)) == "dask" and type(as_engine(da.from_array(X))) is DaskEngine


def test_as_engine_validates_x_and_weights_before_any_work(data, tmp_path):
    X, weights = data
    np.save(tmp_path / "rows.npy", X)
    engine = as_engine(X, weights, chunk_size=50, n_components=3)
    np.testing.assert_array_equal(engine.sample_weight, weights)
    assert engine.chunk_size == 50
    with pytest.raises(ValueError, match="sample_weight.shape"):
        as_engine(X, weights[:-1])
    with pytest.raises(ValueError, match="sample_weight.shape"):
        as_engine(tmp_path / "rows.npy", weights[:-1])
    with pytest.raises(ValueError, match="Negative"):
        as_engine(X, -weights)
    with pytest.raises(ValueError, match="positive sample_weight"):
        as_engine(X, np.r_[1.0, np.zeros(X.shape[0] - 1)], n_components=2)
    with pytest.raises(ValueError, match="NaN|infinity"):
        as_engine(np.where(X > 5, np.nan, X))
    with pytest.raises(DataError, match="n_samples >= n_components"):
        as_engine(X[:3], n_components=4)
    with pytest.raises(TypeError, match="dense data is required"):  # scikit-learn's error and message
        as_engine(sparse.csr_array(X), accept_sparse=False)
    # None stays None for a source: its weights are never materialised.
    assert as_engine(tmp_path / "rows.npy").sample_weight is None
