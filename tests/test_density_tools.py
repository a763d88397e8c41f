"""Density tools (issue 19, item 5): cdf/ppf of one-dimensional mixtures, highest-density regions (Hyndman 1996)
and outlier scores, against exact results (scipy.stats.norm, chi-squared quantiles, numerical integration)."""

import numpy as np
import pytest
from scipy import integrate, stats

from gaussmix import BayesianGaussianMixture, GaussianMixture

TWO_COMPONENTS = np.r_[np.random.default_rng(0).normal(-2.0, 1.0, 300),
                       np.random.default_rng(1).normal(3.0, 0.5, 200)][:, None]


@pytest.fixture(scope="module")
def two_component_model():
    return GaussianMixture(2, random_state=0).fit(TWO_COMPONENTS)


@pytest.fixture(scope="module")
def one_component_model():
    return GaussianMixture(1).fit(np.random.default_rng(2).normal(1.5, 2.5, (400, 1)))


def test_cdf_and_ppf_of_one_component_are_the_normal_distribution(one_component_model):
    mean, sd = one_component_model.means_[0, 0], np.sqrt(one_component_model.covariances_[0, 0, 0])
    x = np.linspace(-12.0, 15.0, 41)
    np.testing.assert_allclose(one_component_model.cdf(x), stats.norm.cdf(x, mean, sd), rtol=1e-12, atol=1e-300)
    q = np.array([1e-200, 1e-12, 0.01, 0.3, 0.5, 0.77, 0.99, 1 - 1e-12])
    np.testing.assert_allclose(one_component_model.ppf(q), stats.norm.ppf(q, mean, sd), rtol=1e-12)


def test_cdf_is_the_integral_of_the_density(two_component_model):
    def density(t):
        return float(np.exp(two_component_model.score_samples([[t]])[0]))

    for x in (-4.0, -1.0, 0.5, 2.7, 4.0):
        integral, error = integrate.quad(density, -np.inf, x, epsabs=1e-12)
        assert two_component_model.cdf(x) == pytest.approx(integral, abs=1e-9)


def test_ppf_inverts_cdf_to_1e_10(two_component_model):
    x = np.linspace(-8.0, 4.5, 60)  # beyond 4.5 F(x) is within 1e-13 of 1 and x is no longer determined by F(x)
    np.testing.assert_allclose(two_component_model.ppf(two_component_model.cdf(x)), x, rtol=0, atol=1e-10)
    q = np.array([[1e-300, 1e-9, 0.1], [0.5, 0.9, 1 - 1e-9]])
    np.testing.assert_allclose(two_component_model.cdf(two_component_model.ppf(q).ravel()), q.ravel(), rtol=1e-10)
    assert two_component_model.ppf(q).shape == (2, 3)
    assert two_component_model.ppf(0.0) == -np.inf and two_component_model.ppf(1.0) == np.inf


def test_ppf_agrees_with_sampling():
    model = GaussianMixture(2, random_state=0).fit(TWO_COMPONENTS)
    model.random_state = 5
    draws = model.sample(200_000)[0][:, 0]
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    # The fraction of draws below the true quantile is Binomial(n, q) / n: sd <= 0.5 / sqrt(n) = 0.0011; 0.006 is 5 sd.
    np.testing.assert_allclose((draws[:, None] <= model.ppf(q)).mean(axis=0), q, atol=0.006)


def test_cdf_accepts_column_vectors_and_chunked_sources(two_component_model):
    x = np.linspace(-3.0, 3.0, 10)
    expected = two_component_model.cdf(x)
    np.testing.assert_array_equal(two_component_model.cdf(x[:, None]), expected)
    np.testing.assert_allclose(two_component_model.cdf([x[:4, None], x[4:, None]]), expected, rtol=1e-14)


def test_cdf_and_ppf_refuse_multivariate_models_and_bad_probabilities(two_component_model):
    model = GaussianMixture(1).fit(np.random.default_rng(3).normal(size=(50, 2)))
    with pytest.raises(ValueError, match="one-dimensional"):
        model.cdf(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="one-dimensional"):
        model.ppf(0.5)
    for bad in (-0.1, 1.5, np.nan):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            two_component_model.ppf([0.5, bad])


def _single_gaussian(n_features: int) -> GaussianMixture:
    rng = np.random.default_rng(n_features)
    mixing = rng.normal(size=(n_features, n_features)) + 2 * np.eye(n_features)  # correlated, unequal variances
    return GaussianMixture(1).fit(rng.normal(size=(500, n_features)) @ mixing.T + 10.0)


@pytest.mark.parametrize("n_features", [1, 3, 6])
@pytest.mark.parametrize("level", [0.5, 0.95])
def test_density_threshold_of_a_gaussian_is_the_chi_squared_quantile(n_features, level):
    # p(x) >= c  <=>  Mahalanobis^2 <= chi2_d(level), so c = (2 pi)^(-d/2) |Sigma|^(-1/2) exp(-chi2_d(level) / 2).
    model = _single_gaussian(n_features)
    n_samples = 100_000
    quantile = stats.chi2.ppf(level, n_features)
    log_peak = stats.multivariate_normal(model.means_[0], model.covariances_[0]).logpdf(model.means_[0])
    exact_log_threshold = log_peak - quantile / 2
    # log c_hat - log c = -(q_hat - q) / 2 with q_hat the sample (1 - level) quantile of chi2_d draws, whose
    # standard error is sqrt(level (1 - level) / n) / chi2_d.pdf(q). Seven standard errors: whatever the seed,
    # the test fails by chance with probability below 3e-12.
    standard_error = 0.5 * np.sqrt(level * (1 - level) / n_samples) / stats.chi2.pdf(quantile, n_features)
    estimate = model.density_threshold(level, n_samples=n_samples, random_state=0)
    assert np.log(estimate) == pytest.approx(exact_log_threshold, abs=7 * standard_error)


def test_outlier_scores_are_the_chi_squared_cdf_of_the_mahalanobis_distance():
    # For one Gaussian P(p(Y) >= p(x)) = P(M_Y^2 <= M_x^2) = chi2_d.cdf(M_x^2). The scores are an empirical CDF of
    # 1e5 reference values: by the Dvoretzky-Kiefer-Wolfowitz inequality every score is within 0.01 of the exact
    # value at once, except with probability 2 exp(-2 n 0.01^2) = 4e-9.
    model = _single_gaussian(3)
    points = model.means_[0] + np.random.default_rng(9).normal(size=(200, 3)) * 3.0
    centred = points - model.means_[0]
    mahalanobis2 = np.einsum("ni,ij,nj->n", centred, np.linalg.inv(model.covariances_[0]), centred)
    scores = model.outlier_scores(points, random_state=4)
    np.testing.assert_allclose(scores, stats.chi2.cdf(mahalanobis2, 3), atol=0.01)


def test_outlier_scores_decrease_with_the_density_and_stay_in_the_unit_interval(two_component_model):
    points = np.linspace(-10.0, 10.0, 301)[:, None]
    scores = two_component_model.outlier_scores(points, random_state=0, n_samples=20_000)
    order = np.argsort(two_component_model.score_samples(points))
    assert np.all(np.diff(scores[order]) <= 0)
    assert scores.min() >= 0 and scores.max() <= 1
    assert scores[0] == 1.0 and scores[-1] == 1.0  # far outside every HDR
    assert scores[np.argmax(two_component_model.score_samples(points))] < 0.05  # at the mode (to the grid's resolution)


def test_outlier_scores_and_threshold_share_one_reference_sample(two_component_model):
    level = 0.8
    threshold = two_component_model.density_threshold(level, n_samples=20_000, random_state=3)
    points = np.linspace(-6.0, 6.0, 400)[:, None]
    scores = two_component_model.outlier_scores(points, n_samples=20_000, random_state=3)
    inside = np.exp(two_component_model.score_samples(points)) >= threshold
    # A point is in the HDR exactly when its score is at most the level (up to the interpolation of one
    # order statistic, 1 / n_samples).
    assert np.all(scores[inside] <= level + 1 / 20_000) and np.all(scores[~inside] >= level - 1 / 20_000)
    assert two_component_model.density_threshold(level, n_samples=20_000, random_state=3) == threshold


def test_density_threshold_on_training_data_agrees_with_monte_carlo():
    model = _single_gaussian(2)
    training = model.sample(50_000)[0]
    on_data = model.density_threshold(0.9, X=training)
    # Both estimates have a relative standard error of about 1 % here; 8 % is more than 5 of them combined.
    assert on_data == pytest.approx(model.density_threshold(0.9, random_state=1), rel=0.08)


def test_refitting_replaces_the_cached_reference_sample():
    model = GaussianMixture(1).fit(np.random.default_rng(0).normal(size=(100, 1)))
    before = model.density_threshold(0.5, n_samples=5_000, random_state=0)
    model.fit(np.random.default_rng(0).normal(scale=10.0, size=(100, 1)))
    assert model.density_threshold(0.5, n_samples=5_000, random_state=0) == pytest.approx(before / 10, rel=0.1)


@pytest.mark.parametrize("level", [0, 1, -0.5, 1.5, np.nan, True, "0.9"])
def test_bad_levels_raise(two_component_model, level):
    with pytest.raises(ValueError, match="level must be"):
        two_component_model.density_threshold(level)


def test_bayesian_mixture_uses_its_posterior_mean_mixture():
    model = BayesianGaussianMixture(n_components=2, random_state=0, max_iter=300).fit(TWO_COMPONENTS)
    assert model.cdf(0.0) == pytest.approx(float(model.weights_ @ stats.norm.cdf(
        0.0, model.means_[:, 0], np.sqrt(model.covariances_[:, 0, 0]))), rel=1e-12)
    assert 0.0 < model.density_threshold(0.9, n_samples=10_000, random_state=0) < 1.0
