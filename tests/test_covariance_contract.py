"""Contract suite run over every covariance structure, against independent oracles.

Oracles: ``scipy.stats.multivariate_normal`` for densities, ``np.cov(..., aweights=...)`` for the
M-step, hand formulas for parameter counts and conversions, sample moments with standard-error
tolerances for sampling. Variances are unequal and not 1, and the matrix structures are correlated,
so a variance-versus-standard-deviation or transpose mix-up fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from random_models import dense, random_covariances

from gaussmix import GaussianMixture
from gaussmix.covariance import STRUCTURE_NAMES, get_structure
from gaussmix.em import expect, maximize, statistics_from_responsibilities, variance_floor
from gaussmix.engines import InMemoryEngine
from gaussmix.params import MixtureParams

K, D = 3, 4


# ------------------------------------------------------------------------------------------ helpers
def project(name, dense_covariances, counts):
    """A structure's covariances from per-component dense ones (the structure's M-step constraint)."""
    if name == "full":
        return dense_covariances
    if name == "tied":
        return np.einsum("k,kij->ij", counts, dense_covariances) / counts.sum()
    diagonals = np.diagonal(dense_covariances, axis1=1, axis2=2)
    if name == "diag":
        return diagonals
    return diagonals.mean(axis=1)


def regularise(name, covariances, reg_covar, d):
    if name in ("full",):
        return covariances + reg_covar * np.eye(d)
    if name == "tied":
        return covariances + reg_covar * np.eye(d)
    return covariances + reg_covar


def make_params(name, seed, k=K, d=D, offset=None):
    rng = np.random.default_rng(seed)
    structure = get_structure(name)
    covariances = random_covariances(rng, name, k, d)
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert not np.any(singular)
    weights = rng.dirichlet(np.full(k, 4.0))
    means = 4.0 * rng.standard_normal((k, d))
    offset = np.zeros(d) if offset is None else offset
    return MixtureParams(weights, means, covariances, factors, offset)


def sample_mixture(rng, weights, means, dense_covariances, n):
    labels = rng.choice(len(weights), size=n, p=weights)
    X = np.empty((n, means.shape[1]))
    for j in range(len(weights)):
        rows = labels == j
        X[rows] = rng.multivariate_normal(means[j], dense_covariances[j], size=rows.sum())
    return X, labels


def scipy_log_density(X, means, dense_covariances):
    return np.column_stack([multivariate_normal(m, c).logpdf(X).reshape(-1) for m, c in zip(means, dense_covariances)])


# ---------------------------------------------------------------------------------- log-density
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_gaussian_density_matches_scipy(name, seed):
    structure = get_structure(name)
    params = make_params(name, seed)
    rng = np.random.default_rng(100 + seed)
    dense_cov = dense(name, params.covariances, K, D)
    X, _ = sample_mixture(rng, params.weights, params.means, dense_cov, 300)
    X = np.vstack([X, 10.0 * rng.standard_normal((20, D))])      # and rows far from every component
    expected = scipy_log_density(X, params.means, dense_cov)
    actual = structure.log_gaussian_density(X, params.means, params.precisions_cholesky)
    assert actual.shape == (X.shape[0], K)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_log_density_in_one_dimension_uses_variance_not_standard_deviation(name):
    """A 1-d hand check: log N(x | 1, 4) = -0.5 log(2 pi 4) - (x - 1)^2 / 8."""
    structure = get_structure(name)
    covariances = {"full": np.array([[[4.0]], [[0.25]]]), "tied": np.array([[4.0]]),
                   "diag": np.array([[4.0], [0.25]]), "spherical": np.array([4.0, 0.25])}[name]
    variances = np.array([4.0, 0.25]) if name != "tied" else np.array([4.0, 4.0])
    factors, _ = structure.cholesky_of_precisions(covariances)
    means = np.array([[1.0], [-2.0]])
    x = np.array([[0.0], [3.0], [-2.5]])
    expected = -0.5 * np.log(2 * np.pi * variances) - (x - means.T) ** 2 / (2 * variances)
    np.testing.assert_allclose(structure.log_gaussian_density(x, means, factors), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------- M-step
def np_cov_m_step(name, X, w, gamma, reg_covar):
    """Weights, means and structure covariances by numpy, from responsibilities."""
    k = gamma.shape[1]
    d = X.shape[1]
    weighted = w[:, None] * gamma
    counts = weighted.sum(axis=0)
    means = np.stack([np.average(X, axis=0, weights=weighted[:, j]) for j in range(k)])
    per_component = np.stack([np.cov(X, rowvar=False, aweights=weighted[:, j], bias=True).reshape(d, d)
                              for j in range(k)])
    covariances = regularise(name, project(name, per_component, counts), reg_covar, d)
    return counts / counts.sum(), means, covariances


def precision_factor_oracle(name, covariances, k, d):
    """Upper-triangular U with U U^T = inverse covariance (or 1/sqrt of the variances)."""
    if name in ("diag", "spherical"):
        return 1.0 / np.sqrt(covariances)
    stack = covariances if name == "full" else covariances[None]
    factors = np.stack([linalg.solve_triangular(np.linalg.cholesky(c), np.eye(d), lower=True).T for c in stack])
    return factors if name == "full" else factors[0]


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@pytest.mark.parametrize("reference", ["zero", "near", "far"])
@pytest.mark.parametrize("alpha", [0.3, 3.0])
def test_m_step_from_responsibilities_matches_np_cov(name, reference, alpha):
    rng = np.random.default_rng(7)
    structure = get_structure(name)
    params = make_params(name, 11)
    X, _ = sample_mixture(rng, params.weights, params.means, dense(name, params.covariances, K, D), 400)
    w = rng.uniform(0.0, 2.0, X.shape[0])
    w[rng.random(X.shape[0]) < 0.1] = 0.0
    gamma = rng.dirichlet(np.full(K, alpha), size=X.shape[0])
    reference_means = {"zero": np.zeros((K, D)), "near": params.means,
                       "far": params.means + 20.0 * rng.standard_normal((K, D))}[reference]
    template = MixtureParams(np.full(K, 1 / K), reference_means, None, None, np.zeros(D))
    reg_covar = 0.05
    stats = statistics_from_responsibilities(X, w, gamma, reference_means, structure)
    result = maximize(stats, template, structure, reg_covar)

    weights, means, covariances = np_cov_m_step(name, X, w, gamma, reg_covar)
    np.testing.assert_allclose(result.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(result.means, means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(result.covariances, covariances, rtol=1e-8, atol=1e-10)
    assert result.covariances.shape == structure.covariance_shape(K, D)
    np.testing.assert_allclose(result.precisions_cholesky, precision_factor_oracle(name, covariances, K, D),
                               rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(result.offset, template.offset)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_em_step_matches_scipy_posteriors_and_np_cov(name):
    """expect() + maximize(): posteriors by scipy, moments by np.cov, on a chunk with an offset."""
    rng = np.random.default_rng(21)
    structure = get_structure(name)
    offset = np.array([1e3, -50.0, 7.0, 0.0])
    params = make_params(name, 22, offset=offset)
    dense_cov = dense(name, params.covariances, K, D)
    X, _ = sample_mixture(rng, params.weights, params.means, dense_cov, 500)
    X += 0.5 * rng.standard_normal(X.shape)          # data not exactly from the model
    w = rng.uniform(0.2, 3.0, X.shape[0])

    log_joint = np.log(params.weights) + scipy_log_density(X, params.means, dense_cov)
    log_norm = logsumexp(log_joint, axis=1)
    gamma = np.exp(log_joint - log_norm[:, None])

    stats = expect(X, w, params, structure)
    assert stats.weight_sum == pytest.approx(w.sum(), rel=1e-14)
    assert stats.log_likelihood == pytest.approx(w @ log_norm, rel=1e-10)
    np.testing.assert_allclose(stats.counts, (w[:, None] * gamma).sum(axis=0), rtol=1e-10)

    reg_covar = 1e-4
    result = maximize(stats, params, structure, reg_covar)
    weights, means, covariances = np_cov_m_step(name, X, w, gamma, reg_covar)
    np.testing.assert_allclose(result.weights, weights, rtol=1e-10)
    np.testing.assert_allclose(result.means, means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(result.absolute_means, means + offset, rtol=1e-12)
    np.testing.assert_allclose(result.covariances, covariances, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_m_step_with_hard_assignments_is_the_per_cluster_covariance(name):
    rng = np.random.default_rng(5)
    structure = get_structure(name)
    X = rng.standard_normal((90, 2)) * np.array([3.0, 0.2]) + np.array([10.0, -4.0])
    labels = np.arange(90) % 3
    gamma = np.eye(3)[labels]
    w = np.ones(90)
    template = MixtureParams(np.full(3, 1 / 3), np.zeros((3, 2)), None, None, np.zeros(2))
    result = maximize(statistics_from_responsibilities(X, w, gamma, template.means, structure), template, structure)
    per_cluster = np.stack([np.cov(X[labels == j], rowvar=False, bias=True) for j in range(3)])
    np.testing.assert_allclose(result.weights, np.full(3, 1 / 3), rtol=1e-14)
    np.testing.assert_allclose(result.means, np.stack([X[labels == j].mean(axis=0) for j in range(3)]), rtol=1e-12)
    np.testing.assert_allclose(result.covariances, project(name, per_cluster, np.full(3, 30.0)), rtol=1e-9)


# ------------------------------------------------------------------------------------ counts
HAND_COUNTS = {
    "full": lambda k, d: k * d * (d + 1) // 2,
    "tied": lambda k, d: d * (d + 1) // 2,
    "diag": lambda k, d: k * d,
    "spherical": lambda k, d: k,
}


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_n_parameters_matches_hand_formula(name):
    structure = get_structure(name)
    for k in (1, 2, 5):
        for d in (1, 2, 3, 7):
            assert structure.n_parameters(k, d) == HAND_COUNTS[name](k, d), (k, d)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_bic_and_aic_match_hand_computation(name):
    """bic = -2 log L + p log n with p = covariance + K d mean + (K - 1) weight parameters."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (80, 3)), rng.normal(5, 2, (70, 3))]) * np.array([1.0, 3.0, 0.5])
    model = GaussianMixture(2, covariance_type=name, random_state=0).fit(X)
    d_cov = dense(name, model.covariances_, 2, 3)
    log_lik = logsumexp(np.log(model.weights_) + scipy_log_density(X, model.means_, d_cov), axis=1).sum()
    p = HAND_COUNTS[name](2, 3) + 2 * 3 + 1
    assert model.bic(X) == pytest.approx(-2 * log_lik + p * np.log(150), rel=1e-10)
    assert model.aic(X) == pytest.approx(-2 * log_lik + 2 * p, rel=1e-10)


# ------------------------------------------------------------------------------ conversions
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_conversions_round_trip(name, seed):
    structure = get_structure(name)
    rng = np.random.default_rng(seed)
    covariances = random_covariances(rng, name, K, D)
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert factors.shape == covariances.shape == structure.covariance_shape(K, D)
    assert not np.any(singular)
    np.testing.assert_allclose(factors, precision_factor_oracle(name, covariances, K, D), rtol=1e-9, atol=1e-12)
    if name in ("full", "tied"):
        stack = factors if name == "full" else factors[None]
        for factor in stack:
            np.testing.assert_array_equal(np.tril(factor, -1), 0.0)   # upper triangular, sklearn's convention

    precisions = structure.precisions_from_precisions_cholesky(factors)
    inverse = np.linalg.inv(dense(name, covariances, K, D))
    expected_precisions = {"full": inverse, "tied": inverse[0],
                           "diag": np.diagonal(inverse, axis1=1, axis2=2), "spherical": inverse[:, 0, 0]}[name]
    np.testing.assert_allclose(precisions, expected_precisions, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(structure.precisions_cholesky_from_precisions(precisions), factors, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(structure.covariances_from_precisions_cholesky(factors), covariances, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_cholesky_of_precisions_flags_singular_covariances(name):
    structure = get_structure(name)
    rng = np.random.default_rng(4)
    covariances = random_covariances(rng, name, K, D)
    if name == "full":
        covariances[1] = np.outer([1.0, 2.0, 0.0, 1.0], [1.0, 2.0, 0.0, 1.0])   # rank one
        expected = [False, True, False]
    elif name == "tied":
        covariances[:, 2] = covariances[2, :] = 0.0
        expected = [True]
    elif name == "diag":
        covariances[2, 3] = 0.0
        expected = [False, False, True]
    else:
        covariances[0] = -1.0
        expected = [True, False, False]
    _, singular = structure.cholesky_of_precisions(covariances)
    np.testing.assert_array_equal(singular, expected)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_dense_covariances(name):
    structure = get_structure(name)
    covariances = random_covariances(np.random.default_rng(9), name, K, D)
    result = np.asarray(structure.dense_covariances(covariances, K, D))
    assert result.shape == (K, D, D)
    np.testing.assert_array_equal(result, dense(name, covariances, K, D))


# ---------------------------------------------------------------------------------- sampling
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_sample_moments_match_the_model(name):
    rng = np.random.default_rng(12)
    params = make_params(name, 13, k=3, d=3)
    dense_true = dense(name, params.covariances, 3, 3)
    X, _ = sample_mixture(rng, params.weights, params.means + 50.0, dense_true, 600)
    # a few iterations only: any fitted model will do, it need not have converged
    model = GaussianMixture(3, covariance_type=name, random_state=0, max_iter=5, tol=0.0).fit(X)
    n = 200_000
    samples, labels = model.sample(n)
    assert samples.shape == (n, 3) and labels.shape == (n,)
    model_dense = dense(name, model.covariances_, 3, 3)

    counts = np.bincount(labels, minlength=3)
    standard_error = np.sqrt(n * model.weights_ * (1 - model.weights_))
    assert np.all(np.abs(counts - n * model.weights_) < 5 * standard_error + 1), (counts, n * model.weights_)

    for j in range(3):
        rows = samples[labels == j]
        m = rows.shape[0]
        sigma = model_dense[j]
        mean_error = np.abs(rows.mean(axis=0) - model.means_[j])
        assert np.all(mean_error < 5 * np.sqrt(np.diag(sigma) / m)), (j, mean_error)
        covariance_error = np.abs(np.cov(rows, rowvar=False) - sigma)
        covariance_se = np.sqrt((np.outer(np.diag(sigma), np.diag(sigma)) + sigma**2) / m)
        assert np.all(covariance_error < 5 * covariance_se), (j, covariance_error / covariance_se)

    # and the mixture as a whole
    mixture_mean = model.weights_ @ model.means_
    second = np.einsum("k,kij->ij", model.weights_, model_dense + np.einsum("ki,kj->kij", model.means_, model.means_))
    mixture_cov = second - np.outer(mixture_mean, mixture_mean)
    assert np.all(np.abs(samples.mean(axis=0) - mixture_mean) < 5 * np.sqrt(np.diag(mixture_cov) / n))


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_sampled_points_are_likely_under_the_model(name):
    """Mean log-density of fresh samples is the model's negative entropy: compare to score on samples."""
    rng = np.random.default_rng(14)
    params = make_params(name, 15, k=2, d=2)
    X, _ = sample_mixture(rng, params.weights, params.means, dense(name, params.covariances, 2, 2), 400)
    model = GaussianMixture(2, covariance_type=name, random_state=1).fit(X)
    samples, labels = model.sample(20_000)
    # each sample's label is (almost always) the component with highest posterior for well-separated data;
    # weaker but structure-independent: the log-density of the samples under the per-label component
    # averages -0.5 d (1 + log 2 pi) - 0.5 log det Sigma_k
    model_dense = dense(name, model.covariances_, 2, 2)
    for j in range(2):
        rows = samples[labels == j]
        logpdf = multivariate_normal(model.means_[j], model_dense[j]).logpdf(rows)
        expected = -0.5 * 2 * (1 + np.log(2 * np.pi)) - 0.5 * np.linalg.slogdet(model_dense[j])[1]
        assert abs(logpdf.mean() - expected) < 5 * np.sqrt(0.5 * 2 / rows.shape[0])


# ---------------------------------------------------------------------------- tied scatter identity
@pytest.mark.parametrize("alpha", [0.05, 1.0, 20.0])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_tied_scatter_equals_sum_of_per_component_scatters(alpha, k):
    rng = np.random.default_rng(int(alpha * 100) + k)
    d = 3
    X = rng.standard_normal((200, d)) * np.array([5.0, 0.3, 1.0]) + np.array([2.0, -1.0, 0.5])
    w = rng.uniform(0, 2, 200)
    gamma = rng.dirichlet(np.full(k, alpha), size=200)
    means = 3.0 * rng.standard_normal((k, d))
    tied = get_structure("tied").scatter(X, gamma, w, means)
    expected = np.einsum("n,nk,nki,nkj->ij", w, gamma, X[:, None, :] - means, X[:, None, :] - means)
    assert tied.shape == (d, d)
    np.testing.assert_allclose(tied, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    full = get_structure("full").scatter(X, gamma, w, means)
    np.testing.assert_allclose(full.sum(axis=0), expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_scatter_matches_its_definition(name):
    rng = np.random.default_rng(31)
    X = rng.standard_normal((150, 3)) * np.array([4.0, 0.5, 1.5])
    w = rng.uniform(0, 2, 150)
    gamma = rng.dirichlet(np.full(K, 0.7), size=150)
    means = 2.0 * rng.standard_normal((K, 3))
    per_component = np.einsum("n,nk,nki,nkj->kij", w, gamma, X[:, None, :] - means, X[:, None, :] - means)
    expected = {"full": per_component, "tied": per_component.sum(axis=0),
                "diag": np.diagonal(per_component, axis1=1, axis2=2),
                "spherical": np.trace(per_component, axis1=1, axis2=2)}[name]
    actual = get_structure(name).scatter(X, gamma, w, means)
    assert actual.shape == get_structure(name).scatter_shape(K, 3)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


# ------------------------------------------------------------------------------------- collapse
def collapse_case(name, floor):
    """Covariances where exactly the flagged components are tiny (relative to the floor) in one direction."""
    d = floor.shape[0]
    typical = 1e4 * floor                                  # well above the floor in every feature
    if name == "full":
        # build in units of the floor (scaled = F^-1/2 Sigma F^-1/2), then scale back
        root = np.sqrt(floor)
        v = np.array([1.0, -2.0, 0.5]) / np.sqrt(5.25)
        correlated = 1e4 * (np.eye(d) + 0.5 * (1 - np.eye(d)))                  # eigenvalues >= 5e3
        flat = 1e4 * (np.eye(d) - np.outer(v, v)) + 1e-3 * np.outer(v, v)       # oblique direction at 1e-3
        scaled = np.stack([correlated, flat, 1e4 * np.eye(d)])
        return scaled * root[:, None] * root[None, :], [False, True, False]
    if name == "tied":
        return np.diag(typical), [False]
    if name == "diag":
        tiny = typical.copy()
        tiny[1] = 1e-3 * floor[1]
        return np.stack([typical, typical * 3, tiny]), [False, False, True]
    return np.array([1e-3 * floor.min(), 1e4 * floor.max(), 1e5 * floor.max()]), [True, False, False]


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_collapsed_flags_only_the_tiny_component(name):
    floor = np.array([1e-8 * 4.0, 1e-8 * 0.01, 1e-8 * 100.0])
    covariances, expected = collapse_case(name, floor)
    np.testing.assert_array_equal(get_structure(name).collapsed(covariances, floor), expected)


def test_collapsed_tied_flags_a_tiny_shared_covariance():
    floor = np.array([4e-8, 1e-10, 1e-6])
    covariance = np.diag([1e-3, 1e-13, 1e-2])
    np.testing.assert_array_equal(get_structure("tied").collapsed(covariance, floor), [True])
    np.testing.assert_array_equal(get_structure("tied").collapsed(np.diag([1e-3, 1e-6, 1e-2]), floor), [False])


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_collapsed_is_relative_to_the_floor_of_each_feature(name):
    """Variance 1e-6 is collapsed next to a feature of variance 1e4 but not next to one of variance 1e-4."""
    structure = get_structure(name)
    floor = 1e-8 * np.array([1e-4, 1e4])
    small_in_feature = {0: np.array([1e-6, 1e6]), 1: np.array([1e6, 1e-6])}
    for feature, expect_collapsed in ((0, False), (1, True)):
        variances = small_in_feature[feature]
        covariances = {"full": np.diag(variances)[None], "tied": np.diag(variances),
                       "diag": variances[None], "spherical": None}[name]
        if name == "spherical":
            covariances = np.array([1e-6])
            expect_collapsed = True     # 1e-6 < 1e-4 = floor of feature 1
        np.testing.assert_array_equal(structure.collapsed(covariances, floor), [expect_collapsed])


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_collapsed_ignores_features_with_zero_floor(name):
    floor = np.array([0.0, 1e-8])
    covariances = {"full": np.diag([1e-30, 1.0])[None], "tied": np.diag([1e-30, 1.0]),
                   "diag": np.array([[1e-30, 1.0]]), "spherical": np.array([1.0])}[name]
    np.testing.assert_array_equal(get_structure(name).collapsed(covariances, floor), [False])


def test_variance_floor_is_relative_weighted_feature_variance():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((1000, 3)) * np.array([10.0, 0.1, 1.0]) + 1e4
    w = rng.uniform(0, 3, 1000)
    engine = InMemoryEngine(X, w, chunk_size=77)
    expected = np.array([np.cov(X[:, j], aweights=w, bias=True) for j in range(3)])
    np.testing.assert_allclose(variance_floor(engine, relative=1e-8), 1e-8 * expected, rtol=1e-8)
    np.testing.assert_allclose(variance_floor(engine, relative=1.0), expected, rtol=1e-8)


@pytest.mark.parametrize("name", ["diag", "spherical", "EEI", "VEI", "EVI", "EII"])
def test_axis_aligned_collapse_test_is_the_dense_eigenvalue_test(name):
    # diag/spherical read their eigenvalues off the variances; the dense definition (smallest eigenvalue
    # of the floor-scaled covariance below one, zero-floor features left out) is the oracle.
    structure = get_structure(name)
    rng = np.random.default_rng(4)
    for _ in range(50):
        floor = rng.random(D) * (rng.random(D) > 0.25)
        shape = (K,) if name in ("spherical", "EII") else (K, D)
        covariances = rng.random(shape) * 2.0 * floor.max(initial=1.0)
        dense_covariances = structure.dense_covariances(covariances, K, D)
        keep = floor > 0
        scaled = dense_covariances[:, keep][:, :, keep] / np.sqrt(np.outer(floor[keep], floor[keep]))
        expected = (np.linalg.eigvalsh(scaled)[:, 0] < 1.0) if keep.any() else np.zeros(K, bool)
        np.testing.assert_array_equal(structure.collapsed(covariances, floor), expected)
