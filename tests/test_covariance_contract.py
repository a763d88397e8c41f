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

from constrained_models import (constraint_violation, expected_complete_log_likelihood, mclust_n_var_params,
                                random_constrained)
from random_models import dense

from gaussmix import GaussianMixture
from gaussmix.covariance import REGISTERED_NAMES, FactorAnalyzers, get_structure
from gaussmix.families.em import expect, maximize, statistics_from_responsibilities, variance_floor
from gaussmix.engines import InMemoryEngine
from gaussmix.params import MixtureParams

K, D = 3, 4

# Every structure the registry knows by name, and factor analysers (parametrised by their number of factors,
# so not registered by name: used as structure objects).
STRUCTURES = tuple(REGISTERED_NAMES) + (FactorAnalyzers(2), FactorAnalyzers(1, "isotropic", shared_noise=True))

# scikit-learn's four are mclust models under other names (mclust's documentation; Celeux & Govaert 1995).
SKLEARN_LETTERS = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
CLOSED_FORM = ("EII", "VII", "EEI", "EVI", "VVI", "EEE", "EEV", "EVV", "VVV")
"""Models whose M-step has a closed form (Celeux & Govaert 1995, table 1); the others iterate."""


def structure_id(structure):
    return structure if isinstance(structure, str) else repr(structure)


every_structure = pytest.mark.parametrize("name", STRUCTURES, ids=structure_id)


def is_factor(name):
    return isinstance(name, FactorAnalyzers)


def letters(name):
    """mclust's three letters for a registered structure (the one-dimensional E and V: EII and VII); None for
    factor analysers."""
    if is_factor(name):
        return None
    if name in SKLEARN_LETTERS:
        return SKLEARN_LETTERS[name]
    return {"E": "EII", "V": "VII"}.get(name, name)


def dimension(name, d=D):
    """``d``, or 1 for the models that exist only in one dimension (mclust's E and V), or more features than
    factors for factor analysers."""
    if is_factor(name):
        return max(d, name.n_factors + 1)
    try:
        get_structure(name).covariance_shape(K, d)
    except ValueError:
        return 1
    return d


def skip_one_dimensional(name, needed):
    if dimension(name) == 1:
        pytest.skip(f"{name!r} is a one-dimensional model; this check needs {needed} features")


def storage_kind(name):
    """How a structure stores its covariances: 'spherical' (one variance per component, (K,)), 'diag' (variances,
    (K, d)), 'tied' (one shared matrix, (d, d)), 'full' (matrices, (K, d, d)) or 'factor' ([loadings | noise])."""
    if is_factor(name):
        return "factor"
    structure = get_structure(name)
    if structure.shared:
        return "tied"
    return {1: "spherical", 2: "diag", 3: "full"}[len(structure.covariance_shape(K, dimension(name)))]


def storage(name, dense_covariances):
    """The structure's own storage of dense covariances that obey its constraints (written from the storage
    conventions, not with the structure's code); factor analysers: zero loadings (diagonal covariances only)."""
    k, d, _ = dense_covariances.shape
    diagonals = np.diagonal(dense_covariances, axis1=1, axis2=2).copy()
    kind = storage_kind(name)
    if kind == "factor":
        return np.concatenate([np.zeros((k, d, name.n_factors)), diagonals[:, :, None]], axis=2)
    if kind == "spherical":
        return diagonals[:, 0].copy()
    if kind == "diag":
        return diagonals
    if kind == "tied":
        return dense_covariances[0].copy()
    return dense_covariances.copy()


def random_structure_covariances(rng, name, k, d):
    """``(covariances in the structure's storage, the same as dense (k, d, d) matrices)``, obeying the
    structure's constraints, with unequal non-unit variances and correlations where the structure has them."""
    if is_factor(name):
        loadings = rng.standard_normal((k, d, name.n_factors)) * np.exp(rng.uniform(-0.5, 0.5, (k, d, 1)))
        if name.noise_type == "diag":
            noise = np.exp(rng.uniform(np.log(0.1), np.log(2.0), (k, d)))
        else:
            noise = np.repeat(np.exp(rng.uniform(np.log(0.1), np.log(2.0), (k, 1))), d, axis=1)
        if name.shared_noise:
            noise = np.repeat(noise[:1], k, axis=0)
        full = loadings @ loadings.transpose(0, 2, 1) + np.einsum("kd,de->kde", noise, np.eye(d))
        return np.concatenate([loadings, noise[:, :, None]], axis=2), full
    full = random_constrained(rng, letters(name), k, d)
    return storage(name, full), full


def dense_of(name, covariances, k, d):
    """Dense (k, d, d) covariances from the structure's storage, by the storage conventions."""
    covariances = np.asarray(covariances)
    if is_factor(name):
        loadings, noise = covariances[:, :, :-1], covariances[:, :, -1]
        return loadings @ loadings.transpose(0, 2, 1) + np.einsum("kd,de->kde", noise, np.eye(d))
    return dense(storage_kind(name), covariances, k, d)


def make_params(name, seed, k=K, d=D, offset=None):
    rng = np.random.default_rng(seed)
    structure = get_structure(name)
    covariances, _ = random_structure_covariances(rng, name, k, d)
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
@every_structure
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_gaussian_density_matches_scipy(name, seed):
    structure = get_structure(name)
    d = dimension(name)
    params = make_params(name, seed, d=d)
    rng = np.random.default_rng(100 + seed)
    dense_cov = dense_of(name, params.covariances, K, d)
    X, _ = sample_mixture(rng, params.weights, params.means, dense_cov, 300)
    X = np.vstack([X, 10.0 * rng.standard_normal((20, d))])      # and rows far from every component
    expected = scipy_log_density(X, params.means, dense_cov)
    actual = structure.log_gaussian_density(X, params.means, params.precisions_cholesky)
    assert actual.shape == (X.shape[0], K)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-9)


@every_structure
def test_log_density_in_one_dimension_uses_variance_not_standard_deviation(name):
    """A 1-d hand check: log N(x | 1, 4) = -0.5 log(2 pi 4) - (x - 1)^2 / 8."""
    structure = get_structure(name)
    variances = np.array([4.0, 4.0]) if structure.equal_covariances else np.array([4.0, 0.25])
    covariances = storage(name, variances[:, None, None])
    factors, _ = structure.cholesky_of_precisions(covariances)
    means = np.array([[1.0], [-2.0]])
    x = np.array([[0.0], [3.0], [-2.5]])
    expected = -0.5 * np.log(2 * np.pi * variances) - (x - means.T) ** 2 / (2 * variances)
    np.testing.assert_allclose(structure.log_gaussian_density(x, means, factors), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------- M-step
def nested(inner, outer):
    """Whether mclust model ``inner`` is a special case of ``outer`` (I within E within V, letter by letter)."""
    order = "IEV"
    return all(order.index(a) <= order.index(b) for a, b in zip(inner, outer))


def closed_form(model, scatters, counts):
    """Dense covariances minimising ``sum_k n_k log det Sigma_k + tr(W_k Sigma_k^-1)`` over ``model``, from the
    scatters ``W_k`` (k, d, d) about the new means: the closed forms of Celeux & Govaert (1995), table 1."""
    k, d, _ = scatters.shape
    n = counts.sum()
    identity = np.eye(d)
    diagonals = np.diagonal(scatters, axis1=1, axis2=2)
    if model == "VVV":
        return scatters / counts[:, None, None]
    if model == "EEE":
        return np.repeat((scatters.sum(axis=0) / n)[None], k, axis=0)
    if model == "VVI":
        return np.einsum("kd,de->kde", diagonals / counts[:, None], identity)
    if model == "EEI":
        return np.repeat(np.diag(diagonals.sum(axis=0) / n)[None], k, axis=0)
    if model == "VII":
        return (diagonals.sum(axis=1) / (d * counts))[:, None, None] * identity
    if model == "EII":
        return np.repeat(diagonals.sum() / (d * n) * identity[None], k, axis=0)
    if model == "EVI":  # B_k = diag W_k; lambda = sum_k |B_k|^{1/d} / n; A_k = B_k / |B_k|^{1/d}
        roots = np.prod(diagonals, axis=1) ** (1.0 / d)
        return np.einsum("kd,de->kde", roots.sum() / n * diagonals / roots[:, None], identity)
    if model == "EVV":  # lambda = sum_k |W_k|^{1/d} / n; Sigma_k = lambda W_k / |W_k|^{1/d}
        roots = np.linalg.det(scatters) ** (1.0 / d)
        return roots.sum() / n * scatters / roots[:, None, None]
    if model == "EEV":  # W_k = D_k Omega_k D_k^T; Sigma_k = D_k (sum_j Omega_j / n) D_k^T
        eigenvalues, axes = np.linalg.eigh(scatters)
        common = eigenvalues.sum(axis=0) / n
        return np.einsum("kij,j,klj->kil", axes, common, axes)
    raise ValueError(f"{model} has no closed-form M-step")


def weighted_scatters(X, w, gamma):
    """Counts (k,) and weighted scatters about the weighted means (k, d, d), by np.cov."""
    k, d = gamma.shape[1], X.shape[1]
    weighted = w[:, None] * gamma
    counts = weighted.sum(axis=0)
    per_component = np.stack([np.cov(X, rowvar=False, aweights=weighted[:, j], bias=True).reshape(d, d)
                              for j in range(k)])
    return counts, counts[:, None, None] * per_component


def skip_factor_m_step(name):
    if is_factor(name):
        pytest.skip("factor analysers have no closed-form M-step (one conditional-maximisation step from the "
                    "previous loadings; tested in test_factor_analyzers)")


def check_m_step_covariances(name, covariances, X, w, gamma, weights, means, reg_covar, rtol=1e-8):
    """The M-step's ``covariances`` (storage) against np.cov's scatters: equal to the closed form where the model
    has one; for the iterative models (VEI, VEE, EVE, VVE, VEV) inside the model's constraints and at least as
    likely as every closed-form model nested in it (each is a point of the constrained set)."""
    k, d = gamma.shape[1], X.shape[1]
    counts, scatters = weighted_scatters(X, w, gamma)
    model = letters(name)
    if model in CLOSED_FORM:
        expected = storage(name, closed_form(model, scatters, counts) + reg_covar * np.eye(d))
        np.testing.assert_allclose(covariances, expected, rtol=rtol, atol=1e-10)
        return
    estimate = dense_of(name, covariances, k, d) - reg_covar * np.eye(d)
    assert constraint_violation(model, estimate) < 1e-8
    best = expected_complete_log_likelihood(X, w, gamma, weights, means, estimate)
    inner_models = [inner for inner in CLOSED_FORM if nested(inner, model)]
    assert len(inner_models) >= 3
    for inner in inner_models:
        candidate = expected_complete_log_likelihood(X, w, gamma, weights, means, closed_form(inner, scatters, counts))
        assert candidate <= best + 1e-9 * abs(best), inner


def np_cov_weights_and_means(X, w, gamma):
    """Weights and means by numpy, from responsibilities."""
    k = gamma.shape[1]
    weighted = w[:, None] * gamma
    counts = weighted.sum(axis=0)
    means = np.stack([np.average(X, axis=0, weights=weighted[:, j]) for j in range(k)])
    return counts / counts.sum(), means


def precision_factor_oracle(name, covariances, k, d):
    """Upper-triangular U with U U^T = inverse covariance (or 1/sqrt of the variances), by the storage shape."""
    covariances = np.asarray(covariances)
    kind = storage_kind(name)
    if kind in ("spherical", "diag"):
        return 1.0 / np.sqrt(covariances)
    stack = covariances if kind == "full" else covariances[None]
    factors = np.stack([linalg.solve_triangular(np.linalg.cholesky(c), np.eye(d), lower=True).T for c in stack])
    return factors if kind == "full" else factors[0]


@every_structure
@pytest.mark.parametrize("reference", ["zero", "near", "far"])
@pytest.mark.parametrize("alpha", [0.3, 3.0])
def test_m_step_from_responsibilities_matches_np_cov(name, reference, alpha):
    skip_factor_m_step(name)
    rng = np.random.default_rng(7)
    structure = get_structure(name)
    d = dimension(name)
    params = make_params(name, 11, d=d)
    X, _ = sample_mixture(rng, params.weights, params.means, dense_of(name, params.covariances, K, d), 400)
    w = rng.uniform(0.0, 2.0, X.shape[0])
    w[rng.random(X.shape[0]) < 0.1] = 0.0
    gamma = rng.dirichlet(np.full(K, alpha), size=X.shape[0])
    reference_means = {"zero": np.zeros((K, d)), "near": params.means,
                       "far": params.means + 20.0 * rng.standard_normal((K, d))}[reference]
    template = MixtureParams(np.full(K, 1 / K), reference_means, None, None, np.zeros(d))
    reg_covar = 0.05
    stats = statistics_from_responsibilities(X, w, gamma, reference_means, structure)
    result = maximize(stats, template, structure, reg_covar)

    weights, means = np_cov_weights_and_means(X, w, gamma)
    np.testing.assert_allclose(result.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(result.means, means, rtol=1e-9, atol=1e-10)
    check_m_step_covariances(name, result.covariances, X, w, gamma, weights, means, reg_covar)
    assert result.covariances.shape == structure.covariance_shape(K, d)
    np.testing.assert_allclose(result.precisions_cholesky, precision_factor_oracle(name, result.covariances, K, d),
                               rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(result.offset, template.offset)


@every_structure
def test_em_step_matches_scipy_posteriors_and_np_cov(name):
    """expect() + maximize(): posteriors by scipy, moments by np.cov, on a chunk with an offset."""
    rng = np.random.default_rng(21)
    structure = get_structure(name)
    d = dimension(name)
    offset = np.array([1e3, -50.0, 7.0, 0.0])[:d]
    params = make_params(name, 22, d=d, offset=offset)
    dense_cov = dense_of(name, params.covariances, K, d)
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

    skip_factor_m_step(name)
    reg_covar = 1e-4
    result = maximize(stats, params, structure, reg_covar)
    weights, means = np_cov_weights_and_means(X, w, gamma)
    np.testing.assert_allclose(result.weights, weights, rtol=1e-10)
    np.testing.assert_allclose(result.means, means, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(result.absolute_means, means + offset, rtol=1e-12)
    check_m_step_covariances(name, result.covariances, X, w, gamma, weights, means, reg_covar)


@every_structure
def test_m_step_with_hard_assignments_is_the_per_cluster_covariance(name):
    skip_factor_m_step(name)
    rng = np.random.default_rng(5)
    structure = get_structure(name)
    d = min(2, dimension(name))
    X = (rng.standard_normal((90, 2)) * np.array([3.0, 0.2]) + np.array([10.0, -4.0]))[:, :d]
    labels = np.arange(90) % 3
    gamma = np.eye(3)[labels]
    w = np.ones(90)
    template = MixtureParams(np.full(3, 1 / 3), np.zeros((3, d)), None, None, np.zeros(d))
    result = maximize(statistics_from_responsibilities(X, w, gamma, template.means, structure), template, structure)
    cluster_means = np.stack([X[labels == j].mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(result.weights, np.full(3, 1 / 3), rtol=1e-14)
    np.testing.assert_allclose(result.means, cluster_means, rtol=1e-12)
    # per cluster: np.cov of its rows; the structure's estimate is the model's closed form of those
    per_cluster = np.stack([np.cov(X[labels == j], rowvar=False, bias=True).reshape(d, d) for j in range(3)])
    np.testing.assert_allclose(30.0 * per_cluster, weighted_scatters(X, w, gamma)[1], rtol=1e-12)
    check_m_step_covariances(name, result.covariances, X, w, gamma, result.weights, cluster_means, 0.0, rtol=1e-9)


# ------------------------------------------------------------------------------------ counts
def hand_count(name, k, d):
    """Free covariance parameters: mclust's nVarParams for its models (and scikit-learn's four under their mclust
    names); for q factors, d q - q (q - 1) / 2 loadings per component (rotation) plus the noise variances."""
    if is_factor(name):
        q = name.n_factors
        noise = (d if name.noise_type == "diag" else 1) * (1 if name.shared_noise else k)
        return k * (d * q - q * (q - 1) // 2) + noise
    return mclust_n_var_params(letters(name), k, d)


@every_structure
def test_n_parameters_matches_hand_formula(name):
    structure = get_structure(name)
    for k in (1, 2, 5):
        for d in ((1,) if dimension(name) == 1 else (1, 2, 3, 7)):
            if is_factor(name) and d <= name.n_factors:
                continue  # more factors than features is refused by the estimator
            assert structure.n_parameters(k, d) == hand_count(name, k, d), (k, d)


@every_structure
def test_bic_and_aic_match_hand_computation(name):
    """bic = -2 log L + p log n with p = covariance + K d mean + (K - 1) weight parameters."""
    rng = np.random.default_rng(3)
    d = dimension(name, 3)
    X = (np.vstack([rng.normal(0, 1, (80, 3)), rng.normal(5, 2, (70, 3))]) * np.array([1.0, 3.0, 0.5]))[:, :d]
    model = GaussianMixture(2, covariance_type=name, random_state=0).fit(X)
    d_cov = dense_of(name, model.covariances_, 2, d)
    log_lik = logsumexp(np.log(model.weights_) + scipy_log_density(X, model.means_, d_cov), axis=1).sum()
    p = hand_count(name, 2, d) + 2 * d + 1
    assert model.bic(X) == pytest.approx(-2 * log_lik + p * np.log(150), rel=1e-10)
    assert model.aic(X) == pytest.approx(-2 * log_lik + 2 * p, rel=1e-10)


# ------------------------------------------------------------------------------ conversions
def precisions_in_storage(name, inverse, k, d):
    """Dense inverse covariances (k, d, d) in the shape the structure gives its precisions: per storage shape,
    the variances' reciprocals (k,) or (k, d), one matrix (d, d), or the matrices (factor analysers too)."""
    kind = storage_kind(name)
    if kind == "spherical":
        return inverse[:, 0, 0]
    if kind == "diag":
        return np.diagonal(inverse, axis1=1, axis2=2)
    return inverse[0] if kind == "tied" else inverse


@every_structure
@pytest.mark.parametrize("seed", [0, 1])
def test_conversions_round_trip(name, seed):
    structure = get_structure(name)
    d = dimension(name)
    rng = np.random.default_rng(seed)
    covariances, full = random_structure_covariances(rng, name, K, d)
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert factors.shape == covariances.shape == structure.covariance_shape(K, d)
    assert not np.any(singular)
    if not is_factor(name):  # factor analysers store [Lambda / Psi | 1 / Psi] (Woodbury), not a Cholesky factor
        np.testing.assert_allclose(factors, precision_factor_oracle(name, covariances, K, d), rtol=1e-9, atol=1e-12)
        if storage_kind(name) in ("full", "tied"):
            stack = factors if factors.ndim == 3 else factors[None]
            for factor in stack:
                np.testing.assert_array_equal(np.tril(factor, -1), 0.0)   # upper triangular, sklearn's convention

    precisions = structure.precisions_from_precisions_cholesky(factors)
    expected_precisions = precisions_in_storage(name, np.linalg.inv(full), K, d)
    np.testing.assert_allclose(precisions, expected_precisions, rtol=1e-9, atol=1e-12)
    if is_factor(name):
        with pytest.raises(ValueError, match="not supported for factor-analyser"):
            structure.precisions_cholesky_from_precisions(precisions)
    else:
        np.testing.assert_allclose(structure.precisions_cholesky_from_precisions(precisions), factors, rtol=1e-9,
                                   atol=1e-12)
    np.testing.assert_allclose(structure.covariances_from_precisions_cholesky(factors), covariances, rtol=1e-9, atol=1e-12)


def make_singular(name, covariances, k, d):
    """Covariances with some components not positive definite (per storage shape), and which."""
    covariances = covariances.copy()
    kind = storage_kind(name)
    if kind == "factor":
        covariances[2, min(3, d - 1), -1] = 0.0     # a zero noise variance
        return covariances, [False, False, True]
    if kind == "full":
        vector = np.array([1.0, 2.0, 0.0, 1.0])[:d]
        covariances[1] = np.outer(vector, vector)   # rank one
        return covariances, [False, True, False]
    if kind == "tied":
        covariances[:, 2] = covariances[2, :] = 0.0
        return covariances, [True]
    if kind == "diag":
        covariances[2, 3] = 0.0
        return covariances, [False, False, True]
    covariances[0] = -1.0
    return covariances, [True, False, False]


@every_structure
def test_cholesky_of_precisions_flags_singular_covariances(name):
    structure = get_structure(name)
    d = dimension(name)
    rng = np.random.default_rng(4)
    covariances, expected = make_singular(name, random_structure_covariances(rng, name, K, d)[0], K, d)
    _, singular = structure.cholesky_of_precisions(covariances)
    np.testing.assert_array_equal(singular, expected)


@every_structure
def test_dense_covariances(name):
    structure = get_structure(name)
    d = dimension(name)
    covariances, full = random_structure_covariances(np.random.default_rng(9), name, K, d)
    result = np.asarray(structure.dense_covariances(covariances, K, d))
    assert result.shape == (K, d, d)
    np.testing.assert_allclose(result, full, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(result, dense_of(name, covariances, K, d))


# ---------------------------------------------------------------------------------- sampling
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::gaussmix.exceptions.ConvergenceWarning")
@every_structure
def test_sample_moments_match_the_model(name):
    rng = np.random.default_rng(12)
    d = dimension(name, 3)
    params = make_params(name, 13, k=3, d=d)
    dense_true = dense_of(name, params.covariances, 3, d)
    X, _ = sample_mixture(rng, params.weights, params.means + 50.0, dense_true, 600)
    # a few iterations only: any fitted model will do, it need not have converged
    model = GaussianMixture(3, covariance_type=name, random_state=0, max_iter=5, tol=0.0).fit(X)
    n = 200_000
    samples, labels = model.sample(n)
    assert samples.shape == (n, d) and labels.shape == (n,)
    model_dense = dense_of(name, model.covariances_, 3, d)

    counts = np.bincount(labels, minlength=3)
    standard_error = np.sqrt(n * model.weights_ * (1 - model.weights_))
    assert np.all(np.abs(counts - n * model.weights_) < 5 * standard_error + 1), (counts, n * model.weights_)

    for j in range(3):
        rows = samples[labels == j]
        m = rows.shape[0]
        sigma = model_dense[j]
        mean_error = np.abs(rows.mean(axis=0) - model.means_[j])
        assert np.all(mean_error < 5 * np.sqrt(np.diag(sigma) / m)), (j, mean_error)
        covariance_error = np.abs(np.cov(rows, rowvar=False).reshape(d, d) - sigma)
        covariance_se = np.sqrt((np.outer(np.diag(sigma), np.diag(sigma)) + sigma**2) / m)
        assert np.all(covariance_error < 5 * covariance_se), (j, covariance_error / covariance_se)

    # and the mixture as a whole
    mixture_mean = model.weights_ @ model.means_
    second = np.einsum("k,kij->ij", model.weights_, model_dense + np.einsum("ki,kj->kij", model.means_, model.means_))
    mixture_cov = second - np.outer(mixture_mean, mixture_mean)
    assert np.all(np.abs(samples.mean(axis=0) - mixture_mean) < 5 * np.sqrt(np.diag(mixture_cov) / n))


@every_structure
def test_sampled_points_are_likely_under_the_model(name):
    """Mean log-density of fresh samples is the model's negative entropy: compare to score on samples."""
    rng = np.random.default_rng(14)
    d = dimension(name, 2)
    params = make_params(name, 15, k=2, d=d)
    X, _ = sample_mixture(rng, params.weights, params.means, dense_of(name, params.covariances, 2, d), 400)
    model = GaussianMixture(2, covariance_type=name, random_state=1).fit(X)
    samples, labels = model.sample(20_000)
    # each sample's label is (almost always) the component with highest posterior for well-separated data;
    # weaker but structure-independent: the log-density of the samples under the per-label component
    # averages -0.5 d (1 + log 2 pi) - 0.5 log det Sigma_k
    model_dense = dense_of(name, model.covariances_, 2, d)
    for j in range(2):
        rows = samples[labels == j]
        logpdf = multivariate_normal(model.means_[j], model_dense[j]).logpdf(rows)
        expected = -0.5 * d * (1 + np.log(2 * np.pi)) - 0.5 * np.linalg.slogdet(model_dense[j])[1]
        assert abs(logpdf.mean() - expected) < 5 * np.sqrt(0.5 * d / rows.shape[0])


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


@every_structure
def test_scatter_matches_its_definition(name):
    rng = np.random.default_rng(31)
    d = dimension(name, 3)
    X = (rng.standard_normal((150, 3)) * np.array([4.0, 0.5, 1.5]))[:, :d]
    w = rng.uniform(0, 2, 150)
    gamma = rng.dirichlet(np.full(K, 0.7), size=150)
    means = 2.0 * rng.standard_normal((K, d))
    per_component = np.einsum("n,nk,nki,nkj->kij", w, gamma, X[:, None, :] - means, X[:, None, :] - means)
    structure = get_structure(name)
    actual = structure.scatter(X, gamma, w, means)
    # The statistic is the storage's reduction of the per-component scatter (factor analysers' plain
    # scatter, for their first M-step, is the full one).
    expected = {"full": per_component, "factor": per_component, "tied": per_component.sum(axis=0),
                "diag": np.diagonal(per_component, axis1=1, axis2=2),
                "spherical": np.trace(per_component, axis1=1, axis2=2)}[storage_kind(name)]
    if not is_factor(name):
        assert actual.shape == structure.scatter_shape(K, d)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


# ------------------------------------------------------------------------------------- collapse
def collapse_case(name, floor):
    """Covariances where exactly the flagged components are tiny (relative to the floor) in one direction,
    in the structure's storage (factor analysers: the diagonal case with zero loadings)."""
    d = floor.shape[0]
    typical = 1e4 * floor                                  # well above the floor in every feature
    kind = storage_kind(name)
    if kind == "full":
        # build in units of the floor (scaled = F^-1/2 Sigma F^-1/2), then scale back
        root = np.sqrt(floor)
        v = np.array([1.0, -2.0, 0.5]) / np.sqrt(5.25)
        correlated = 1e4 * (np.eye(d) + 0.5 * (1 - np.eye(d)))                  # eigenvalues >= 5e3
        flat = 1e4 * (np.eye(d) - np.outer(v, v)) + 1e-3 * np.outer(v, v)       # oblique direction at 1e-3
        scaled = np.stack([correlated, flat, 1e4 * np.eye(d)])
        return scaled * root[:, None] * root[None, :], [False, True, False]
    if kind == "tied":
        return np.diag(typical), [False]
    if kind in ("diag", "factor"):
        tiny = typical.copy()
        tiny[1] = 1e-3 * floor[1]
        variances = np.stack([typical, typical * 3, tiny])
        if is_factor(name):
            return storage(name, np.einsum("kd,de->kde", variances, np.eye(d))), [False, False, True]
        return variances, [False, False, True]
    return np.array([1e-3 * floor.min(), 1e4 * floor.max(), 1e5 * floor.max()]), [True, False, False]


@every_structure
def test_collapsed_flags_only_the_tiny_component(name):
    skip_one_dimensional(name, "three")
    floor = np.array([1e-8 * 4.0, 1e-8 * 0.01, 1e-8 * 100.0])
    covariances, expected = collapse_case(name, floor)
    np.testing.assert_array_equal(get_structure(name).collapsed(covariances, floor), expected)


def test_collapsed_tied_flags_a_tiny_shared_covariance():
    floor = np.array([4e-8, 1e-10, 1e-6])
    covariance = np.diag([1e-3, 1e-13, 1e-2])
    np.testing.assert_array_equal(get_structure("tied").collapsed(covariance, floor), [True])
    np.testing.assert_array_equal(get_structure("tied").collapsed(np.diag([1e-3, 1e-6, 1e-2]), floor), [False])


@every_structure
def test_collapsed_is_relative_to_the_floor_of_each_feature(name):
    """Variance 1e-6 is collapsed next to a feature of variance 1e4 but not next to one of variance 1e-4."""
    skip_one_dimensional(name, "two")
    structure = get_structure(name)
    floor = 1e-8 * np.array([1e-4, 1e4])
    small_in_feature = {0: np.array([1e-6, 1e6]), 1: np.array([1e6, 1e-6])}
    for feature, expect_collapsed in ((0, False), (1, True)):
        variances = small_in_feature[feature]
        if storage_kind(name) == "spherical":    # one variance for both features
            variances = np.array([1e-6, 1e-6])
            expect_collapsed = True     # 1e-6 < 1e-4 = floor of feature 1
        covariances = storage(name, np.diag(variances)[None])
        np.testing.assert_array_equal(structure.collapsed(covariances, floor), [expect_collapsed])


@every_structure
def test_collapsed_ignores_features_with_zero_floor(name):
    skip_one_dimensional(name, "two")
    floor = np.array([0.0, 1e-8])
    structure = get_structure(name)
    variances = np.array([1.0, 1.0]) if storage_kind(name) == "spherical" else np.array([1e-30, 1.0])
    covariances = storage(name, np.diag(variances)[None])
    np.testing.assert_array_equal(structure.collapsed(covariances, floor), [False])


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
