"""KMeans against scikit-learn and by hand, sample weights, empty clusters, chunking, and the k-means
limit of EM (equal weights, shared fixed spherical variance sigma^2 -> 0)."""

import numpy as np
import pytest
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs

from gaussmix import KMeans
from gaussmix.covariance import get_structure
from gaussmix.families.em import expect, log_responsibilities, maximize
from gaussmix.params import MixtureParams

N_CLUSTERS = 4


@pytest.fixture(scope="module")
def data():
    """Four overlapping anisotropic clusters in 3-D, shuffled, with a large offset; and initial centres."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, 0.0], [0.0, 6.0, 2.0], [4.0, 5.0, 5.0]])
    X = np.vstack([c + rng.normal(scale=[1.5, 1.0, 0.7], size=(80, 3)) for c in centres]) + 1000.0
    rng.shuffle(X)
    init = X[rng.choice(X.shape[0], N_CLUSTERS, replace=False)].copy()
    return X, init


def distortion(X, centres, labels, sample_weight=None):
    """J = sum_n w_n ||x_n - mu_{z_n}||^2, written out."""
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    return float(sum(w * np.sum((x - centres[z]) ** 2) for x, z, w in zip(X, labels, weights)))


# --------------------------------------------------------------------------------- scikit-learn oracle
@pytest.mark.parametrize("tol", [1e-4, 0.0])
def test_same_result_as_sklearn_from_the_same_centres(data, tol):
    X, init = data
    ours = KMeans(N_CLUSTERS, init=init, n_init=1, tol=tol).fit(X)
    theirs = SklearnKMeans(N_CLUSTERS, init=init, n_init=1, tol=tol, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=0, atol=1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_same_result_as_sklearn_with_sample_weight(data):
    X, init = data
    weights = np.random.default_rng(5).uniform(0.1, 3.0, size=X.shape[0])
    ours = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X, sample_weight=weights)
    theirs = SklearnKMeans(N_CLUSTERS, init=init, n_init=1, algorithm="lloyd").fit(X, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=0, atol=1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


def test_inertia_is_the_distortion_of_the_returned_centres(data):
    X, _ = data
    weights = np.random.default_rng(6).uniform(0.0, 2.0, size=X.shape[0])
    for sample_weight in (None, weights):
        model = KMeans(N_CLUSTERS, random_state=0).fit(X, sample_weight=sample_weight)
        # labels_ are the nearest returned centre of every row (one more assignment after the last update)
        distances = ((X[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2)
        np.testing.assert_array_equal(model.labels_, distances.argmin(axis=1))
        J = distortion(X, model.cluster_centers_, model.labels_, sample_weight)
        assert model.inertia_ == pytest.approx(J, rel=1e-10)
        assert model.score(X, sample_weight=sample_weight) == pytest.approx(-J, rel=1e-10)


def test_centres_are_the_weighted_means_of_their_clusters(data):
    X, _ = data
    weights = np.random.default_rng(7).uniform(0.5, 2.0, size=X.shape[0])
    model = KMeans(N_CLUSTERS, random_state=0, tol=0.0, max_iter=100).fit(X, sample_weight=weights)
    for k in range(N_CLUSTERS):
        members = model.labels_ == k
        np.testing.assert_allclose(model.cluster_centers_[k], np.average(X[members], axis=0, weights=weights[members]),
                                   rtol=0, atol=1e-10)


def test_transform_is_the_euclidean_distance_to_every_centre(data):
    X, init = data
    model = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X)
    new = X[:50] + np.random.default_rng(2).normal(size=(50, 3))
    expected = np.array([[np.linalg.norm(x - c) for c in model.cluster_centers_] for x in new])
    np.testing.assert_allclose(model.transform(new), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.fit_transform(X), model.transform(X), rtol=1e-12)


def test_predict_is_the_nearest_centre(data):
    X, init = data
    model = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X)
    new = X[:60] + np.random.default_rng(3).normal(scale=2.0, size=(60, 3))
    expected = np.array([np.argmin([np.sum((x - c) ** 2) for c in model.cluster_centers_]) for x in new])
    np.testing.assert_array_equal(model.predict(new), expected)
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_array_equal(KMeans(N_CLUSTERS, init=init, n_init=1).fit_predict(X), model.labels_)


# --------------------------------------------------------------------------------------- sample weights
@pytest.fixture(scope="module")
def integer_weights(data):
    X, _ = data
    weights = np.random.default_rng(4).integers(0, 4, size=X.shape[0])  # zeros included
    return weights.astype(np.float64)


def test_integer_weights_equal_repeated_rows_from_given_centres(data, integer_weights):
    X, init = data
    repeated = np.repeat(X, integer_weights.astype(int), axis=0)
    weighted = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X, sample_weight=integer_weights)
    copies = KMeans(N_CLUSTERS, init=init, n_init=1).fit(repeated)
    np.testing.assert_array_equal(np.repeat(weighted.labels_, integer_weights.astype(int)), copies.labels_)
    np.testing.assert_allclose(weighted.cluster_centers_, copies.cluster_centers_, rtol=0, atol=1e-10)
    assert weighted.inertia_ == pytest.approx(copies.inertia_, rel=1e-12)
    assert weighted.n_iter_ == copies.n_iter_


@pytest.mark.parametrize("random_state", [0, 1, 2, 3])
def test_kmeans_plus_plus_with_integer_weights_equals_adjacent_repeated_rows(data, integer_weights, random_state):
    # k-means++ draws rows with probability proportional to w_n D(x_n)^2 by inverting the cumulative
    # mass: repeating a row w times next to itself gives the same cumulative mass at the row boundaries,
    # so the same random numbers pick the same seeds, and the whole fit must agree.
    X, _ = data
    repeated = np.repeat(X, integer_weights.astype(int), axis=0)
    weighted = KMeans(N_CLUSTERS, init="k-means++", n_init=1, random_state=random_state).fit(
        X, sample_weight=integer_weights)
    copies = KMeans(N_CLUSTERS, init="k-means++", n_init=1, random_state=random_state).fit(repeated)
    np.testing.assert_array_equal(np.repeat(weighted.labels_, integer_weights.astype(int)), copies.labels_)
    np.testing.assert_allclose(weighted.cluster_centers_, copies.cluster_centers_, rtol=0, atol=1e-10)
    assert weighted.inertia_ == pytest.approx(copies.inertia_, rel=1e-12)


def test_zero_weight_rows_change_nothing(data):
    X, init = data
    weights = np.ones(X.shape[0])
    weights[::3] = 0.0
    weighted = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X, sample_weight=weights)
    subset = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X[weights > 0])
    np.testing.assert_allclose(weighted.cluster_centers_, subset.cluster_centers_, rtol=0, atol=1e-10)
    assert weighted.inertia_ == pytest.approx(subset.inertia_, rel=1e-12)


def test_scaling_all_weights_scales_only_the_inertia(data):
    X, init = data
    weights = np.random.default_rng(8).uniform(0.5, 2.0, size=X.shape[0])
    base = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X, sample_weight=weights)
    scaled = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X, sample_weight=7.0 * weights)
    np.testing.assert_array_equal(base.labels_, scaled.labels_)
    np.testing.assert_allclose(base.cluster_centers_, scaled.cluster_centers_, rtol=0, atol=1e-10)
    assert scaled.inertia_ == pytest.approx(7.0 * base.inertia_, rel=1e-12)


# --------------------------------------------------------------------------------------- empty clusters
def test_empty_cluster_is_reseeded(data):
    X, init = data
    far = init.copy()
    far[3] = [1e5, 1e5, 1e5]  # no row is nearest to it: empty after the first assignment
    model = KMeans(N_CLUSTERS, init=far, n_init=1).fit(X)
    counts = np.bincount(model.labels_, minlength=N_CLUSTERS)
    assert np.all(counts > 0), counts
    assert np.all(np.abs(model.cluster_centers_ - 1000.0) < 20.0)
    assert model.inertia_ == pytest.approx(distortion(X, model.cluster_centers_, model.labels_), rel=1e-10)
    # The re-seeded centre does real work: clearly better than three clusters, about as good as four
    # clusters started from good centres.
    assert model.inertia_ < KMeans(3, init=init[:3], n_init=1).fit(X).inertia_
    assert model.inertia_ <= 1.2 * KMeans(N_CLUSTERS, init=init, n_init=1).fit(X).inertia_


def test_several_empty_clusters_are_reseeded_at_distinct_rows(data):
    X, init = data
    far = init.copy()
    far[1:] = [[1e5, 0.0, 0.0], [0.0, 1e5, 0.0], [0.0, 0.0, 1e5]]
    model = KMeans(N_CLUSTERS, init=far, n_init=1).fit(X)
    assert len(np.unique(model.labels_)) == N_CLUSTERS
    assert len(np.unique(model.cluster_centers_.round(8), axis=0)) == N_CLUSTERS


# ------------------------------------------------------------------------------------------- chunking
@pytest.mark.parametrize("chunk_size", [1, 7, 64, 10_000])
def test_chunk_size_does_not_change_the_result(data, chunk_size):
    X, init = data
    weights = np.random.default_rng(9).uniform(0.0, 2.0, size=X.shape[0])
    reference = KMeans(N_CLUSTERS, init=init, n_init=1).fit(X, sample_weight=weights)
    chunked = KMeans(N_CLUSTERS, init=init, n_init=1, chunk_size=chunk_size).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(chunked.labels_, reference.labels_)
    np.testing.assert_allclose(chunked.cluster_centers_, reference.cluster_centers_, rtol=0, atol=1e-10)
    assert chunked.inertia_ == pytest.approx(reference.inertia_, rel=1e-12)
    seeded = KMeans(N_CLUSTERS, random_state=0, chunk_size=chunk_size).fit(X)
    seeded_reference = KMeans(N_CLUSTERS, random_state=0).fit(X)
    np.testing.assert_array_equal(seeded.labels_, seeded_reference.labels_)
    np.testing.assert_allclose(seeded.transform(X[:20]), seeded_reference.transform(X[:20]), rtol=1e-10)


# ------------------------------------------------------------------------------ the k-means limit of EM
def em_with_fixed_spherical_variance(X, initial_means, variance, max_iter=500):
    """EM for a mixture with equal fixed weights and one fixed variance ``sigma^2 I`` for every component.

    Only the means are estimated: after each M-step the weights and variances are reset. Uses the EM
    kernel directly (chunks are centred by ``offset``, as the engines do). Returns the means after
    convergence and the responsibilities under them.
    """
    structure = get_structure("spherical")
    n_components = initial_means.shape[0]
    offset = X.mean(axis=0)
    chunks = [X[start:start + 37] - offset for start in range(0, X.shape[0], 37)]

    def params_with(means):
        return MixtureParams(np.full(n_components, 1.0 / n_components), means, np.full(n_components, variance),
                             np.full(n_components, 1.0 / np.sqrt(variance)), offset)

    params = params_with(initial_means - offset)
    for _ in range(max_iter):
        stats = sum(expect(chunk, np.ones(chunk.shape[0]), params, structure) for chunk in chunks)
        new_means = maximize(stats, params, structure, reg_covar=variance).means
        converged = np.array_equal(new_means, params.means)
        params = params_with(new_means)
        if converged:
            break
    _, responsibilities = log_responsibilities(X - offset, params, structure)
    return params.means + offset, responsibilities


def test_em_with_vanishing_spherical_variance_is_kmeans(data):
    X, init = data
    lloyd = KMeans(N_CLUSTERS, init=init, n_init=1, tol=0.0).fit(X)
    variance = 1e-6 * X.var(axis=0).mean()
    means, responsibilities = em_with_fixed_spherical_variance(X, init, variance)
    # Responsibilities are one-hot nearest-centre assignments, means are the cluster centroids.
    np.testing.assert_allclose(responsibilities.max(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(responsibilities.argmax(axis=1), lloyd.labels_)
    np.testing.assert_allclose(means, lloyd.cluster_centers_, rtol=0, atol=1e-10)


def test_em_with_large_spherical_variance_is_not_kmeans(data):
    # With sigma^2 larger than the spread of the clusters, assignments are soft: every point pulls on
    # every mean, the means contract towards the overall mean and no longer equal the k-means centres.
    X, init = data
    lloyd = KMeans(N_CLUSTERS, init=init, n_init=1, tol=0.0).fit(X)
    variance = 10.0 * X.var(axis=0).mean()
    means, responsibilities = em_with_fixed_spherical_variance(X, init, variance, max_iter=200)
    assert np.median(responsibilities.max(axis=1)) < 0.9
    assert np.max(np.abs(means - lloyd.cluster_centers_)) > 1.0
    spread = lambda centres: np.mean(np.linalg.norm(centres - X.mean(axis=0), axis=1))  # noqa: E731
    assert spread(means) < 0.5 * spread(lloyd.cluster_centers_)


def test_zero_tolerance_stops_at_the_fixed_point_like_sklearn():
    # With tol=0 the centre shift is never exactly zero in floating point; Lloyd must still stop once
    # the assignments stop changing (the distortion stops decreasing), as scikit-learn does.
    X, _ = make_blobs(20_000, n_features=5, centers=12, random_state=1)
    centres = X[np.random.default_rng(0).choice(len(X), 12, replace=False)]
    ours = KMeans(12, init=centres, n_init=1, tol=0.0, max_iter=300).fit(X)
    theirs = SklearnKMeans(12, init=centres, n_init=1, tol=0.0, max_iter=300, algorithm="lloyd").fit(X)
    assert theirs.n_iter_ < 300  # the data reach a fixed point well before max_iter
    assert ours.converged_
    assert abs(ours.n_iter_ - theirs.n_iter_) <= 1
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10, atol=1e-10)
