"""Gaussian conditioning and Gaussian mixture regression against formulas written out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from random_models import dense, random_covariances, random_spd

from gaussmix import GaussianMixture
from gaussmix.families.conditional import condition_components
from gaussmix.covariance import STRUCTURE_NAMES


def given_model(weights, means, covariances, covariance_type="full"):
    """A GaussianMixture holding exactly these parameters (fully given initialisation, no EM iteration)."""
    precisions = (np.linalg.inv(covariances) if covariance_type in ("full", "tied") else 1.0 / np.asarray(covariances))
    X = np.asarray(means, dtype=float).repeat(2, axis=0) + 0.1  # only n_features and n_samples matter
    return GaussianMixture(len(weights), covariance_type=covariance_type, weights_init=weights, means_init=means,
                           precisions_init=precisions, max_iter=0).fit(X)


def test_condition_components_matches_textbook_formulas():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(3, 5))
    covariances = np.stack([random_spd(rng, 5) for _ in range(3)])
    observed = np.array([True, False, True, True, False])
    values = rng.normal(size=(4, 3))
    result = condition_components(means, covariances, observed, values)
    o, m = observed, ~observed
    for k in range(3):
        s_oo, s_mo, s_mm = covariances[k][np.ix_(o, o)], covariances[k][np.ix_(m, o)], covariances[k][np.ix_(m, m)]
        gain = s_mo @ np.linalg.inv(s_oo)  # the oracle may invert: it is not the code under test
        np.testing.assert_allclose(result.means[:, k], means[k, m] + (values - means[k, o]) @ gain.T, rtol=1e-10)
        np.testing.assert_allclose(result.covariances[k], s_mm - gain @ s_mo.T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(result.log_marginal[:, k], multivariate_normal(means[k, o], s_oo).logpdf(values),
                                   rtol=1e-12)


# A two-component bivariate mixture whose conditionals are written out with scipy.stats.norm.
WEIGHTS = np.array([0.35, 0.65])
MEANS = np.array([[0.0, 1.0], [3.0, -2.0]])
COVARIANCES = np.array([[[1.0, 0.6], [0.6, 2.0]], [[0.5, -0.3], [-0.3, 1.5]]])


@pytest.mark.parametrize("given, value", [(0, 1.2), (1, -0.5), (0, -4.0)])
def test_condition_equals_analytic_bivariate_conditional(given, value):
    model = given_model(WEIGHTS, MEANS, COVARIANCES)
    other = 1 - given
    s_gg, s_og, s_oo = COVARIANCES[:, given, given], COVARIANCES[:, other, given], COVARIANCES[:, other, other]
    likelihood = WEIGHTS * norm(MEANS[:, given], np.sqrt(s_gg)).pdf(value)
    expected_weights = likelihood / likelihood.sum()
    expected_means = MEANS[:, other] + s_og / s_gg * (value - MEANS[:, given])
    expected_variances = s_oo - s_og**2 / s_gg

    conditional = model.condition([given], [value])
    np.testing.assert_allclose(conditional.weights_, expected_weights, rtol=1e-10)
    np.testing.assert_allclose(conditional.means_[:, 0], expected_means, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conditional.covariances_.reshape(2), expected_variances, rtol=1e-10)
    assert conditional.n_features_in_ == 1

    # Its density is the mixture of the analytic conditional Gaussians.
    grid = np.linspace(-6, 6, 7)[:, None]
    expected_density = (expected_weights * norm(expected_means, np.sqrt(expected_variances)).pdf(grid)).sum(axis=1)
    np.testing.assert_allclose(np.exp(conditional.score_samples(grid)), expected_density, rtol=1e-10)

    mean, std = model.predict_conditional([[value]], [given], return_std=True)
    np.testing.assert_allclose(mean[0, 0], expected_weights @ expected_means, rtol=1e-10)
    second_moment = expected_weights @ (expected_variances + expected_means**2)
    np.testing.assert_allclose(std[0, 0], np.sqrt(second_moment - (expected_weights @ expected_means) ** 2), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", STRUCTURE_NAMES)
def test_conditional_density_is_joint_over_marginal(covariance_type):
    """p(x_m | x_o) = p(x_o, x_m) / p(x_o) for every structure; the structure is kept (it is closed under
    conditioning for all four)."""
    rng = np.random.default_rng(1)
    k, d = 3, 4
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(size=(k, d)) * 2 + 50.0
    covariances = random_covariances(rng, covariance_type, k, d)
    model = given_model(weights, means, covariances, covariance_type)
    given = [2, 0]
    x = rng.normal(size=d) + means[0]
    conditional = model.condition(given, x[given])
    assert conditional.covariance_type == covariance_type

    remaining = [1, 3]
    points = x[remaining] + rng.normal(size=(5, 2))
    joint = np.empty((5, d))
    joint[:, given] = x[given]
    joint[:, remaining] = points
    full = dense(covariance_type, covariances, k, d)
    log_joint = logsumexp([np.log(weights[j]) + multivariate_normal(means[j], full[j]).logpdf(joint)
                           for j in range(k)], axis=0)
    log_marginal = logsumexp([np.log(weights[j]) + multivariate_normal(means[j, given], full[j][np.ix_(given, given)])
                              .logpdf(x[given]) for j in range(k)])
    np.testing.assert_allclose(conditional.score_samples(points), log_joint - log_marginal, rtol=1e-9)
    np.testing.assert_allclose(conditional.weights_.sum(), 1.0, rtol=1e-12)


def test_gaussian_mixture_regression_on_a_sine():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 2000)
    y = np.sin(x) + 0.1 * rng.standard_normal(x.size)
    model = GaussianMixture(6, random_state=0).fit(np.column_stack([x, y]))
    grid = np.linspace(-2.8, 2.8, 200)[:, None]
    prediction, std = model.predict_conditional(grid, [0], return_std=True)
    rmse = np.sqrt(np.mean((prediction[:, 0] - np.sin(grid[:, 0])) ** 2))
    baseline = np.sqrt(np.mean((np.polyval(np.polyfit(x, y, 1), grid[:, 0]) - np.sin(grid[:, 0])) ** 2))
    assert rmse < 0.06 and rmse < baseline / 4, (rmse, baseline)
    assert np.all((std > 0.05) & (std < 0.4))  # the noise is 0.1; a bit more where components overlap


def test_predict_conditional_feature_order_and_many_points():
    """Columns of X_given follow given_features; the result lists the remaining features in order."""
    rng = np.random.default_rng(3)
    model = given_model(np.array([0.5, 0.5]), rng.normal(size=(2, 4)), np.stack([random_spd(rng, 4) for _ in range(2)]))
    X_given = rng.normal(size=(6, 2))
    forward = model.predict_conditional(X_given, [3, 1])
    backward = model.predict_conditional(X_given[:, ::-1], [1, 3])
    np.testing.assert_allclose(forward, backward, rtol=1e-12)
    for row, point in zip(forward, X_given):
        conditional = model.condition([3, 1], point)
        np.testing.assert_allclose(row, conditional.weights_ @ conditional.means_, rtol=1e-10)


@pytest.mark.parametrize("given, values, match", [
    ([0, 0], [1.0, 1.0], "duplicate"),
    ([2], [1.0], "out of range"),
    ([0, 1], [1.0, 1.0], "every feature"),
    ([], [], "non-empty"),
    ([0.5], [1.0], "integer"),
    ([0], [1.0, 2.0], "column"),
    ([0], [np.nan], "NaN"),
    ([0], [[1.0], [2.0]], "one point"),
])
def test_condition_rejects_bad_input(given, values, match):
    model = given_model(WEIGHTS, MEANS, COVARIANCES)
    with pytest.raises(ValueError, match=match):
        model.condition(given, values)
