"""What a user who swaps ``sklearn.cluster.KMeans`` for gaussmix's meets (issue 21): sparse input clustered
without densifying, ``algorithm``, ``copy_x``, callable ``init``, float32 kept, ``get_feature_names_out``,
scikit-learn's relocation of empty clusters and its warnings."""

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.exceptions import ConvergenceWarning

from gaussmix import KMeans


@pytest.fixture(scope="module")
def sparse_data():
    """A non-negative sparse matrix (counts-like, 3 groups of columns), its dense twin, weights and seeds."""
    rng = np.random.default_rng(3)
    blocks = []
    for group in range(3):
        block = sparse.random(120, 40, density=0.15, random_state=rng, format="csr")
        block.data = block.data * 3.0 + 1.0
        shifted = sparse.hstack([sparse.csr_matrix((120, 40 * group)), block,
                                 sparse.csr_matrix((120, 40 * (2 - group)))]).tocsr()
        blocks.append(shifted)
    X = sparse.vstack(blocks).tocsr()
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    init = X[[0, 130, 250]].toarray()
    return X, X.toarray(), weights, init


@pytest.mark.parametrize("container", [sparse.csr_matrix, sparse.csr_array, sparse.csc_matrix])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_input_gives_the_dense_result(sparse_data, container, dtype):
    X, dense, weights, init = sparse_data
    on_sparse = KMeans(3, init=init, n_init=1).fit(container(X).astype(dtype), sample_weight=weights)
    on_dense = KMeans(3, init=init, n_init=1).fit(dense.astype(dtype), sample_weight=weights)
    np.testing.assert_array_equal(on_sparse.labels_, on_dense.labels_)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(on_sparse.cluster_centers_, on_dense.cluster_centers_, rtol=0, atol=tolerance)
    assert on_sparse.inertia_ == pytest.approx(on_dense.inertia_, rel=tolerance)
    assert on_sparse.cluster_centers_.dtype == dtype
    np.testing.assert_array_equal(on_sparse.predict(container(X)), on_dense.predict(dense))
    np.testing.assert_allclose(on_sparse.transform(container(X).astype(dtype)), on_dense.transform(dense.astype(dtype)),
                               rtol=0, atol=1e-4 if dtype == np.float32 else 1e-10)
    assert on_sparse.score(X) == pytest.approx(on_dense.score(dense), rel=1e-10)


def test_sparse_matches_scikit_learn_from_the_same_centres(sparse_data):
    X, _, weights, init = sparse_data
    ours = KMeans(3, init=init, n_init=1).fit(X, sample_weight=weights)
    theirs = SklearnKMeans(3, init=init, n_init=1).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_sparse_input_is_never_densified():
    """200,000 columns: the dense matrix would take 3.2 GB; the fit must stay near the size of the centres."""
    n_rows, n_columns = 2000, 200_000
    rng = np.random.default_rng(0)
    columns = rng.integers(0, n_columns, size=(n_rows, 10))
    rows = np.repeat(np.arange(n_rows), 10)
    X = sparse.csr_array((rng.uniform(1.0, 2.0, size=rows.size), (rows, columns.ravel())), shape=(n_rows, n_columns))
    tracemalloc.start()
    try:
        model = KMeans(3, random_state=0, n_init=1, max_iter=5).fit(X)
        labels = model.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    centres_bytes = 3 * n_columns * 8
    assert peak < 20 * centres_bytes, f"peak {peak / 2**20:.0f} MiB: the sparse data were densified"
    assert labels.shape == (n_rows,)


def test_sparse_empty_cluster_is_relocated(sparse_data):
    X, dense, _, init = sparse_data
    far = init.copy()
    far[2] = 100.0  # nearest to no row
    on_sparse = KMeans(3, init=far, n_init=1).fit(X)
    on_dense = KMeans(3, init=far, n_init=1).fit(dense)
    assert len(np.unique(on_sparse.labels_)) == 3
    np.testing.assert_array_equal(on_sparse.labels_, on_dense.labels_)


def test_both_algorithms_give_the_same_clustering(sparse_data):
    _, dense, weights, _ = sparse_data
    lloyd = KMeans(3, algorithm="lloyd", random_state=1).fit(dense, sample_weight=weights)
    elkan = KMeans(3, algorithm="elkan", random_state=1).fit(dense, sample_weight=weights)
    np.testing.assert_array_equal(lloyd.labels_, elkan.labels_)
    np.testing.assert_array_equal(lloyd.cluster_centers_, elkan.cluster_centers_)
    assert lloyd.n_iter_ == elkan.n_iter_


def test_elkan_with_one_cluster_warns_and_bad_algorithm_is_refused(sparse_data):
    _, dense, _, _ = sparse_data
    with pytest.warns(RuntimeWarning, match="elkan"):
        KMeans(1, algorithm="elkan").fit(dense)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        KMeans(3, algorithm="full").fit(dense)


def test_copy_x_is_accepted_and_the_data_are_never_modified(sparse_data):
    _, dense, _, _ = sparse_data
    X = dense + 1e6  # centring would show in a modified X
    before = X.copy()
    KMeans(3, copy_x=False, random_state=0).fit(X)
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="copy_x must be a bool"):
        KMeans(3, copy_x="yes").fit(X)


def test_callable_init_receives_the_data_as_given_and_its_centres_are_used(sparse_data):
    _, dense, _, init = sparse_data
    X = dense + 50.0
    calls = []

    def seeding(data, n_clusters, random_state):
        calls.append((data.shape, n_clusters, type(random_state).__name__))
        np.testing.assert_array_equal(data, X)
        return init + 50.0

    from_callable = KMeans(3, init=seeding, n_init=1).fit(X)
    from_array = KMeans(3, init=init + 50.0, n_init=1).fit(X)
    assert calls == [(X.shape, 3, "RandomState")]
    np.testing.assert_array_equal(from_callable.labels_, from_array.labels_)
    np.testing.assert_allclose(from_callable.cluster_centers_, from_array.cluster_centers_, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="init callable must be finite with shape"):
        KMeans(3, init=lambda data, k, random_state: init[:2], n_init=1).fit(X)
    assert KMeans(3, init=seeding).fit(X)._n_init == 10  # 'auto' with a callable: 10 seedings, as scikit-learn


def test_float32_is_kept_and_integers_become_float64(sparse_data):
    _, dense, _, _ = sparse_data
    model = KMeans(3, random_state=0).fit(dense.astype(np.float32))
    assert model.cluster_centers_.dtype == np.float32
    assert model.transform(dense.astype(np.float32)).dtype == np.float32
    reference = KMeans(3, random_state=0).fit(dense)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    assert model.inertia_ == pytest.approx(reference.inertia_, rel=1e-5)
    assert KMeans(2, random_state=0).fit(np.array([[0, 0], [1, 1], [9, 9], [10, 10]])).cluster_centers_.dtype == np.float64


def test_feature_names_out():
    model = KMeans(3, random_state=0).fit(np.random.default_rng(0).normal(size=(50, 4)))
    np.testing.assert_array_equal(model.get_feature_names_out(), ["kmeans0", "kmeans1", "kmeans2"])


def test_given_centres_are_used_once_with_a_warning():
    X = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        model = KMeans(3, init=X[:3], n_init=5).fit(X)
    assert model._n_init == 1


def test_relocated_sample_leaves_its_cluster():
    """The empty cluster takes the farthest sample, which leaves its old cluster in the same M-step:
    (0.5, 0.5) holds all four points, (3, 3) none; the fixed point is reached in three iterations."""
    X = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [1.0, 1.0]])
    model = KMeans(2, init=np.array([[0.5, 0.5], [3.0, 3.0]]), n_init=1).fit(X)
    assert model.n_iter_ == 3
    assert model.inertia_ == pytest.approx(0.25)
    np.testing.assert_allclose(np.sort(model.cluster_centers_, axis=0), [[0.25, 0.0], [0.75, 1.0]])


def test_more_clusters_than_distinct_samples_stops_and_warns():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(4\) found smaller than n_clusters \(5\)"):
        model = KMeans(5, init=X).fit(X)
    assert model.n_iter_ == 1 and model.converged_


def test_out_of_core_relocation_equals_in_memory(sparse_data):
    _, dense, _, init = sparse_data
    far = init.copy()
    far[1] = 100.0
    in_memory = KMeans(3, init=far, n_init=1).fit(dense)
    chunks = [dense[start:start + 50] for start in range(0, dense.shape[0], 50)]
    out_of_core = KMeans(3, init=far, n_init=1).fit(chunks)
    np.testing.assert_array_equal(out_of_core.labels_, in_memory.labels_)
    np.testing.assert_allclose(out_of_core.cluster_centers_, in_memory.cluster_centers_, rtol=0, atol=1e-10)


def test_verbose_says_what_happens(capsys):
    X = np.random.default_rng(0).normal(size=(300, 3))
    KMeans(3, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "Initialization complete" in out and "Iteration 1, inertia" in out and "Converged at iteration" in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(3, random_state=0).fit(X)  # quiet by default
    assert capsys.readouterr().out == ""
