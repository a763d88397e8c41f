"""A uniform noise component (mclust's Poisson noise): planted outliers, the density by hand, the
hypervolume, EM's monotone objective, criteria, model files and bad input."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from threadpoolctl import threadpool_limits

from gaussmix import GaussianMixture, load, save, select_model
from gaussmix.families.noise import log_hypervolume


@pytest.fixture(autouse=True)
def _single_blas_thread():
    with threadpool_limits(1):
        yield


TRUE_COVARIANCES = [np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([[0.5, 0.0], [0.0, 2.0]])]


def clusters_with_outliers(seed=0, n_outliers=50):
    rng = np.random.default_rng(seed)
    first = rng.multivariate_normal([0.0, 0.0], TRUE_COVARIANCES[0], size=300)
    second = rng.multivariate_normal([5.0, 5.0], TRUE_COVARIANCES[1], size=200)
    outliers = rng.uniform(-10.0, 15.0, size=(n_outliers, 2))
    return np.vstack([first, second, outliers]), np.r_[np.zeros(300), np.ones(200), -np.ones(n_outliers)]


@pytest.fixture(scope="module")
def noisy_fit():
    X, truth = clusters_with_outliers()
    return X, truth, GaussianMixture(2, noise="auto", random_state=0).fit(X)


def sorted_by_first_mean(model):
    order = np.argsort(model.means_[:, 0])
    return model.means_[order], model.covariances_[order], model.weights_[order]


def test_planted_outliers_get_the_noise_label(noisy_fit):
    X, truth, model = noisy_fit
    labels = model.predict(X)
    outliers = truth == -1
    # Some uniform points fall inside a cluster and are rightly claimed by it; those far away must be noise.
    far = outliers & (np.minimum(np.linalg.norm(X, axis=1), np.linalg.norm(X - [5.0, 5.0], axis=1)) > 6.0)
    assert far.sum() >= 30 and np.all(labels[far] == -1)
    assert np.mean(labels[outliers] == -1) > 0.8
    assert np.mean(labels[~outliers] == -1) < 0.01


def test_weights_and_covariances_recover_the_truth(noisy_fit):
    X, truth, model = noisy_fit
    assert model.noise_weight_ == pytest.approx(50 / 550, abs=0.02)
    assert model.noise_weight_ + model.weights_.sum() == pytest.approx(1.0, abs=1e-12)
    means, covariances, weights = sorted_by_first_mean(model)
    np.testing.assert_allclose(means, [[0.0, 0.0], [5.0, 5.0]], atol=0.25)
    np.testing.assert_allclose(covariances, TRUE_COVARIANCES, atol=0.35)
    np.testing.assert_allclose(weights, [300 / 550, 200 / 550], atol=0.02)
    # Without the noise component the outliers inflate a covariance many times over.
    plain = GaussianMixture(2, random_state=0).fit(X)
    assert max(np.trace(c) for c in plain.covariances_) > 5 * max(np.trace(c) for c in TRUE_COVARIANCES)


def test_density_and_posterior_by_hand(noisy_fit):
    X, _, model = noisy_fit
    gaussian = np.column_stack([w * multivariate_normal(m, c).pdf(X)
                                for w, m, c in zip(model.weights_, model.means_, model.covariances_)])
    noise = np.full((len(X), 1), model.noise_weight_ / model.noise_volume_)
    joint = np.hstack([gaussian, noise])
    np.testing.assert_allclose(model.score_samples(X), np.log(joint.sum(axis=1)), rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(X), joint / joint.sum(axis=1, keepdims=True), atol=1e-12)
    labels = joint.argmax(axis=1)
    np.testing.assert_array_equal(model.predict(X), np.where(labels == 2, -1, labels))


def test_noise_weight_is_the_noise_share_at_the_fixed_point(noisy_fit):
    X, _, model = noisy_fit
    assert model.converged_
    assert model.noise_weight_ == pytest.approx(model.predict_proba(X)[:, -1].mean(), abs=2e-3)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_em_with_noise_never_decreases_the_likelihood(covariance_type):
    X, _ = clusters_with_outliers(seed=3)
    model = GaussianMixture(3, covariance_type=covariance_type, noise="auto", reg_covar=0.0, tol=1e-10,
                            max_iter=200, random_state=1).fit(X)
    assert np.all(np.diff(model.lower_bounds_) > -1e-12)


def test_one_component_fits_agree_across_structures_that_coincide():
    # With one component 'tied' is 'full'; in one dimension all four structures are the same model. The
    # Gaussian responsibilities do not sum to one with a noise column; this checks every M-step copes.
    X, _ = clusters_with_outliers(seed=4)
    fits = {name: GaussianMixture(1, covariance_type=name, noise="auto", tol=1e-10, max_iter=500).fit(X)
            for name in ("full", "tied")}
    np.testing.assert_allclose(fits["tied"].covariances_, fits["full"].covariances_[0], rtol=1e-7)
    assert fits["tied"].noise_weight_ == pytest.approx(fits["full"].noise_weight_, rel=1e-7)
    line = X[:, :1]
    scores = [GaussianMixture(1, covariance_type=name, noise="auto", tol=1e-10, max_iter=500).fit(line).score(line)
              for name in ("full", "tied", "diag", "spherical")]
    np.testing.assert_allclose(scores, scores[0], rtol=1e-9)


def test_criteria_count_the_noise_weight(noisy_fit):
    X, _, model = noisy_fit
    n, p = len(X), 2 * 3 + 2 * 2 + 1 + 1  # covariances, means, one free Gaussian weight, the noise weight
    log_likelihood = model.score_samples(X).sum()
    assert model.bic(X) == pytest.approx(-2 * log_likelihood + p * np.log(n), rel=1e-12)
    # GaussianMixture's own defaults, not select_model's, so that the candidate is the fixture's model
    result = select_model(X, n_components=[2], covariance_types=["full"], random_state=0, noise="auto",
                          init_params="kmeans", tol=1e-3, max_iter=100, detect_collapse=True)
    assert result.records[0]["n_parameters"] == p
    assert result.records[0]["log_likelihood"] == pytest.approx(log_likelihood, rel=1e-9)


def test_given_volume_is_used(noisy_fit):
    X, _, _ = noisy_fit
    model = GaussianMixture(2, noise=1000.0, random_state=0).fit(X)
    assert model.noise_volume_ == 1000.0
    assert 0 < model.noise_weight_ < 0.2


def test_without_noise_the_attributes_say_so():
    X, _ = clusters_with_outliers(n_outliers=0)
    model = GaussianMixture(2, random_state=0).fit(X)
    assert model.noise_weight_ == 0.0 and model.noise_volume_ is None
    assert model.predict_proba(X).shape == (len(X), 2)


def test_hypervolume_is_the_smaller_of_two_boxes():
    square = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [2.0, 3.0]])
    assert log_hypervolume(square) == pytest.approx(np.log(6.0))
    # A thin diagonal strip: the axis-aligned box is 10.1 x 10; along the principal axes (1, 1) and (1, -1)
    # the extents are 10 sqrt(2) and 0.2 / sqrt(2), a box of area 2.
    t = np.linspace(0.0, 10.0, 11)
    strip = np.vstack([np.column_stack([t, t]), np.column_stack([t + 0.1, t - 0.1])])
    assert log_hypervolume(strip) == pytest.approx(np.log(2.0), rel=1e-9)
    with pytest.raises(ValueError, match="extent"):
        log_hypervolume(np.column_stack([t, np.zeros_like(t)]))


def test_model_file_keeps_the_noise(noisy_fit, tmp_path):
    X, _, model = noisy_fit
    loaded = load(save(model, tmp_path / "noisy.npz"))
    assert loaded.noise_volume_ == pytest.approx(model.noise_volume_)
    np.testing.assert_allclose(loaded.score_samples(X), model.score_samples(X), rtol=1e-12)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("noise", ["uniform", -1.0, 0.0, np.inf, True])
def test_bad_noise_is_rejected(noise):
    with pytest.raises(ValueError, match="noise"):
        GaussianMixture(2, noise=noise).fit(clusters_with_outliers()[0])


def test_sampling_with_noise_raises_clearly(noisy_fit):
    with pytest.raises(NotImplementedError, match="noise"):
        noisy_fit[2].sample(5)


def test_noise_with_missing_values_fits_and_online_fitting_is_refused_clearly():
    from gaussmix import GaussianMixture

    X = np.random.default_rng(0).normal(size=(200, 2))
    holes = X.copy()
    holes[0, 0] = np.nan
    # Missing values and noise combine (tests/test_missing_combinations.py checks the maths); a model whose noise
    # is known by its volume only (fitted on complete data) refuses to score rows with NaN, by name.
    model = GaussianMixture(2, noise="auto", missing="em", random_state=0).fit(holes)
    assert model.noise_weight_ > 0 and np.all(np.isfinite(model.score_samples(holes)))
    complete_fit = GaussianMixture(2, noise="auto", missing="em", random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise component is known by its volume only"):
        complete_fit.score_samples(holes)
    with pytest.raises(ValueError, match="noise"):
        GaussianMixture(2, noise="auto").partial_fit(X)
