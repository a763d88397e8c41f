"""Frozen parameters (``freeze``), hard assignment (classification EM) and ``responsibilities_init``:
k-means as the limit of EM, exactly; what stays frozen stays; bad combinations are named."""

import numpy as np
import pytest

from gaussmix import GaussianMixture, KMeans, load, save

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.9, size=(150, 2)) for c in ([0, 0], [3, 3], [0, 4])]) + 100.0
    start = X[rng.choice(X.shape[0], 3, replace=False)]
    return X, start


def fixed_variance(start, sigma, assignment, **options):
    return GaussianMixture(start.shape[0], covariance_type="spherical", freeze=("weights", "covariances"),
                           means_init=start, precisions_init=np.full(start.shape[0], sigma**-2.0),
                           assignment=assignment, **options)


@pytest.mark.parametrize("sigma", [5.0, 1.0, 0.01])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hard_em_with_frozen_equal_weights_and_variance_is_kmeans(blobs, sigma, seed):
    X, _ = blobs
    start = X[np.random.default_rng(seed).choice(X.shape[0], 3, replace=False)]
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, X.shape[0])
    kmeans = KMeans(3, init=start, n_init=1, tol=0).fit(X, sample_weight=weights)
    cem = fixed_variance(start, sigma, "hard", tol=1e-10, max_iter=300).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(cem.predict(X), kmeans.labels_)
    np.testing.assert_allclose(cem.means_, kmeans.cluster_centers_, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(cem.weights_, np.full(3, 1 / 3))
    np.testing.assert_allclose(cem.covariances_, np.full(3, sigma**2), rtol=1e-15)


def test_soft_em_with_vanishing_frozen_variance_reaches_kmeans(blobs):
    X, start = blobs
    kmeans = KMeans(3, init=start, n_init=1, tol=0).fit(X)
    distances = [np.abs(fixed_variance(start, sigma, "soft", tol=1e-12, max_iter=2000).fit(X).means_
                        - kmeans.cluster_centers_).max() for sigma in (2.0, 0.5, 0.05)]
    assert distances[0] > 1e-3 and distances[-1] < 1e-8
    assert distances[0] > distances[1] > distances[2]


def test_hard_em_never_lowers_the_classification_likelihood(blobs):
    from scipy.stats import multivariate_normal

    X, _ = blobs
    model = GaussianMixture(3, covariance_type="full", assignment="hard", random_state=0, init_params="random",
                            tol=1e-8, max_iter=200).fit(X)
    assert model.converged_ and np.all(np.diff(model.lower_bounds_) >= 0)
    # The bound is the classification log-likelihood of the returned parameters, per row.
    joint = np.column_stack([np.log(model.weights_[k]) + multivariate_normal(model.means_[k], model.covariances_[k]).logpdf(X)
                             for k in range(3)])
    assert model.lower_bound_ == pytest.approx(joint.max(axis=1).mean(), rel=1e-10)
    labels = joint.argmax(axis=1)
    np.testing.assert_allclose(model.means_, [X[labels == k].mean(axis=0) for k in range(3)], rtol=1e-10)


def test_frozen_weights_without_values_are_equal(blobs):
    X, _ = blobs
    model = GaussianMixture(3, freeze="weights", random_state=0).fit(X[:400])  # unequal clusters: 150, 150, 100
    np.testing.assert_array_equal(model.weights_, np.full(3, 1 / 3))
    assert np.all(np.diff(model.lower_bounds_) >= 0)


def test_frozen_means_stay_and_covariances_are_the_scatter_about_them(blobs):
    X, start = blobs
    means = np.array([[99.0, 100.0], [103.0, 103.0], [100.0, 104.5]])
    model = GaussianMixture(3, freeze=("means",), means_init=means, reg_covar=0.0, tol=1e-10, max_iter=500).fit(X)
    np.testing.assert_array_equal(model.means_, means)
    resp = model.predict_proba(X)
    for k in range(3):
        centred = X - means[k]
        scatter = (resp[:, k, None] * centred).T @ centred / resp[:, k].sum()
        np.testing.assert_allclose(model.covariances_[k], scatter, rtol=0, atol=1e-5)


def test_frozen_covariances_stay(blobs):
    X, _ = blobs
    precisions = np.array([np.eye(2) * 2.0, np.eye(2), np.eye(2) * 0.5])
    model = GaussianMixture(3, freeze=["covariances"], precisions_init=precisions, random_state=0).fit(X)
    np.testing.assert_allclose(model.covariances_, np.linalg.inv(precisions), rtol=1e-14)
    np.testing.assert_allclose(model.precisions_, precisions, rtol=1e-14)


def test_responsibilities_init_is_their_m_step(blobs):
    X, start = blobs
    labels = KMeans(3, init=start, n_init=1).fit(X).labels_
    model = GaussianMixture(3, responsibilities_init=np.eye(3)[labels], max_iter=0, reg_covar=0.0).fit(X)
    np.testing.assert_allclose(model.means_, [X[labels == k].mean(axis=0) for k in range(3)], rtol=1e-12)
    np.testing.assert_allclose(model.weights_, np.bincount(labels) / len(labels), rtol=1e-12)
    fitted = GaussianMixture(3, responsibilities_init=np.eye(3)[labels], n_init=5).fit(X)
    assert fitted.converged_


def test_a_model_with_frozen_parameters_saves_and_loads(blobs, tmp_path):
    X, start = blobs
    model = fixed_variance(start, 1.0, "hard").fit(X)
    save(model, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.get_params()["assignment"] == "hard" and set(loaded.get_params()["freeze"]) == {"weights", "covariances"}
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("params, match", [
    (dict(freeze=("means",)), "freeze includes 'means' but means_init is None"),
    (dict(freeze=("covariances",)), "freeze includes 'covariances' but precisions_init is None"),
    (dict(freeze=("variances",)), r"freeze must name some of \['weights', 'means', 'covariances'\]"),
    (dict(freeze=3), "freeze must be an iterable"),
    (dict(assignment="fuzzy"), "assignment must be one of"),
    (dict(freeze=("means",), means_init=np.zeros((3, 2)), prior="default"), "frozen means or covariances"),
    (dict(assignment="hard", noise="auto"), "hard' with a noise component"),
    (dict(responsibilities_init=np.full((5, 3), 1 / 3)), r"responsibilities_init has shape \(5, 3\), expected \(450, 3\)"),
    (dict(responsibilities_init=np.full((450, 3), 0.5)), "rows that sum to one"),
])
def test_bad_settings_are_named_before_fitting(blobs, params, match):
    X, _ = blobs
    with pytest.raises(ValueError, match=match):
        GaussianMixture(3, **params).fit(X)


def test_hard_assignment_with_missing_values_is_refused(blobs):
    X, _ = blobs
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="hard' is not available with missing values"):
        GaussianMixture(3, assignment="hard", missing="em").fit(X)


def test_partial_fit_refuses_what_it_does_not_support(blobs):
    X, _ = blobs
    model = GaussianMixture(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="partial_fit supports neither freeze"):
        model.set_params(freeze="weights").partial_fit(X[:50])
