"""MAP estimation with conjugate priors (``gaussmix.families.priors``).

Oracles: scipy's Dirichlet, inverse-Wishart and normal densities for the log prior; the conjugate
posterior-mode formulas of Fraley & Raftery (2007) by hand; maximum likelihood as the limit of vanishing
prior strength; optimality of the MAP M-step against perturbations within the model.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import dirichlet, invwishart, multivariate_normal

from constrained_models import MODELS, expected_complete_log_likelihood, perturb

import gaussmix.exceptions
from gaussmix import GaussianMixture
from gaussmix.covariance import get_structure
from gaussmix.families.em import maximize, statistics_from_responsibilities
from gaussmix.params import MixtureParams
from gaussmix.families.priors import ConjugatePrior, default_prior

K, D = 3, 3


def data(seed=0, n=240):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, -3.0, 1.0], [-4.0, 3.0, 5.0]])
    scales = [np.diag([1.0, 0.4, 2.0]), rng.standard_normal((D, D)), 0.6 * np.eye(D)]
    labels = np.arange(n) % K
    return np.stack([centres[j] + rng.standard_normal(D) @ scales[j] for j in labels]) + np.array([100.0, -20.0, 3.0])


def a_prior(dirichlet_alpha=1.0):
    scale = np.array([[2.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 3.0]])
    return ConjugatePrior(shrinkage=0.5, mean=np.array([99.0, -19.0, 4.0]), dof=D + 3.0, scale=scale,
                          dirichlet=dirichlet_alpha)


def responsibilities_problem(seed=1):
    X = data(seed)
    rng = np.random.default_rng(seed)
    return X, rng.uniform(0.3, 2.0, X.shape[0]), rng.dirichlet(np.full(K, 0.8), size=X.shape[0])


def map_step(model, prior, X, w, gamma, offset):
    structure = get_structure(model)
    template = MixtureParams(np.full(K, 1 / K), np.zeros((K, D)), None, None, offset)
    stats = statistics_from_responsibilities(X - offset, w, gamma, template.means, structure)
    return maximize(stats, template, structure, 0.0, prior=prior), structure


def log_prior_by_scipy(prior, weights, means, dense):
    value = dirichlet(np.full(len(weights), prior.dirichlet)).logpdf(weights)
    for mean, covariance in zip(means, dense):
        value += invwishart(df=prior.dof, scale=prior.scale).logpdf(covariance)
        value += multivariate_normal(prior.mean, covariance / prior.shrinkage).logpdf(mean)
    return value


# --------------------------------------------------------------------------------------- the density
@pytest.mark.parametrize("model", MODELS)
def test_log_density_matches_scipy(model):
    X, w, gamma = responsibilities_problem()
    prior = a_prior(2.5)
    offset = X.mean(axis=0)
    params, structure = map_step(model, prior, X, w, gamma, offset)
    dense = structure.dense_covariances(params.covariances, K, D)
    expected = log_prior_by_scipy(prior, params.weights, params.absolute_means, dense)
    assert prior.log_density(params, structure) == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------------------------------------------ the MAP M-step
def test_unconstrained_update_is_the_conjugate_posterior_mode_by_hand():
    X, w, gamma = responsibilities_problem(2)
    prior = a_prior(3.0)
    params, _ = map_step("VVV", prior, X, w, gamma, offset=X[0])
    weighted = w[:, None] * gamma
    n = weighted.sum(axis=0)
    for k in range(K):
        xbar = weighted[:, k] @ X / n[k]
        scatter = (weighted[:, k, None] * (X - xbar)).T @ (X - xbar)
        gap = xbar - prior.mean
        mode = (prior.scale + scatter + prior.shrinkage * n[k] / (n[k] + prior.shrinkage) * np.outer(gap, gap)) / (
            prior.dof + n[k] + D + 2)
        np.testing.assert_allclose(params.covariances[k], mode, rtol=1e-9)
        np.testing.assert_allclose(params.absolute_means[k],
                                   (n[k] * xbar + prior.shrinkage * prior.mean) / (n[k] + prior.shrinkage), rtol=1e-12)
    np.testing.assert_allclose(params.weights, (n + 2.0) / (n.sum() + 3 * 2.0), rtol=1e-12)


def test_spherical_update_by_hand():
    X, w, gamma = responsibilities_problem(3)
    prior = a_prior()
    params, _ = map_step("VII", prior, X, w, gamma, offset=np.zeros(D))
    weighted = w[:, None] * gamma
    n = weighted.sum(axis=0)
    for k in range(K):
        xbar = weighted[:, k] @ X / n[k]
        gap = xbar - prior.mean
        trace = (weighted[:, k] * ((X - xbar) ** 2).sum(axis=1)).sum() + np.trace(prior.scale) + (
            prior.shrinkage * n[k] / (n[k] + prior.shrinkage) * gap @ gap)
        assert params.covariances[k] == pytest.approx(trace / (D * (n[k] + prior.dof + D + 2)), rel=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_map_step_beats_perturbations_of_the_expected_log_posterior(model):
    X, w, gamma = responsibilities_problem(4)
    prior = a_prior()
    offset = np.zeros(D)
    params, structure = map_step(model, prior, X, w, gamma, offset)
    dense = structure.dense_covariances(params.covariances, K, D)

    def objective(means, covariances):
        return (expected_complete_log_likelihood(X, w, gamma, params.weights, means, covariances)
                + log_prior_by_scipy(prior, params.weights, means, covariances))

    best = objective(params.means, dense)
    rng = np.random.default_rng(0)
    for size in (1e-4, 1e-2, 0.3):
        for part in ("volume", "shape", "orientation"):
            for _ in range(3):
                assert objective(params.means, perturb(rng, model, dense, size, part)) <= best + 1e-9
        assert objective(params.means + size * rng.standard_normal((K, D)), dense) <= best + 1e-9


# ------------------------------------------------------------------------------------------- fitting
@pytest.mark.filterwarnings("ignore::gaussmix.exceptions.ConvergenceWarning")  # tol=0: runs to max_iter
@pytest.mark.parametrize("model", MODELS)
def test_log_posterior_trace_is_monotone(model):
    X = data(5)
    gm = GaussianMixture(4, covariance_type=model, prior="default", reg_covar=0.0, tol=0.0, max_iter=30,
                         init_params="random", random_state=0).fit(X)
    trace = np.array(gm.lower_bounds_)
    assert np.all(np.diff(trace) >= -1e-10 * np.abs(trace[1:])), np.diff(trace).min()
    # The reported bound is the log-posterior, not the log-likelihood.
    prior = default_prior(X, 4)
    structure = get_structure(model)
    params = MixtureParams(gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_, np.zeros(D))
    expected = gm.score(X) + prior.log_density(params, structure) / X.shape[0]
    assert gm.lower_bound_ == pytest.approx(expected, rel=1e-9)


def test_vanishing_prior_strength_gives_maximum_likelihood():
    """With the data repeated a million times (sample weights), the prior's pseudo-observations vanish."""
    X = data(6, n=90)
    weights = np.full(X.shape[0], 1e6)
    common = dict(covariance_type="VVV", random_state=0, tol=1e-12, max_iter=300, reg_covar=0.0)
    ml = GaussianMixture(3, **common).fit(X, sample_weight=weights)
    map_fit = GaussianMixture(3, prior=default_prior(X, 3), **common).fit(X, sample_weight=weights)
    order = [np.argsort(fit.means_[:, 0]) for fit in (ml, map_fit)]
    np.testing.assert_allclose(map_fit.means_[order[1]], ml.means_[order[0]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(map_fit.covariances_[order[1]], ml.covariances_[order[0]], rtol=1e-4, atol=1e-6)
    assert map_fit.score(X) == pytest.approx(ml.score(X), rel=1e-6)


def test_default_prior_is_mclusts():
    X = data(7)
    prior = default_prior(X, 4)
    assert prior.shrinkage == 0.01 and prior.dof == D + 2 and prior.dirichlet == 1.0
    np.testing.assert_allclose(prior.mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(prior.scale, np.cov(X, rowvar=False) / 4 ** (2 / D), rtol=1e-10)


def test_prior_keeps_a_component_on_tied_values_finite():
    """A cluster of identical rows is singular under ML; the prior's scale keeps the MAP fit regular."""
    rng = np.random.default_rng(8)
    X = np.vstack([rng.standard_normal((100, 2)), np.tile([6.0, 6.0], (12, 1))])
    gm = GaussianMixture(2, covariance_type="VVV", prior="default", reg_covar=0.0, detect_collapse=False,
                         on_degenerate="raise", random_state=0).fit(X)
    assert np.all(np.isfinite(gm.covariances_)) and np.linalg.eigvalsh(gm.covariances_).min() > 0


@pytest.mark.parametrize("prior, words", [
    ("bogus", "prior must be"),
    (ConjugatePrior(0.0, np.zeros(D), D + 2.0, np.eye(D)), "shrinkage"),
    (ConjugatePrior(0.1, np.zeros(D), D - 1.0, np.eye(D)), "dof"),
    (ConjugatePrior(0.1, np.zeros(2), D + 2.0, np.eye(D)), "mean"),
    (ConjugatePrior(0.1, np.zeros(D), D + 2.0, -np.eye(D)), "positive definite"),
    (ConjugatePrior(0.1, np.zeros(D), D + 2.0, np.eye(D), dirichlet=0.5), "dirichlet"),
])
def test_bad_priors_are_refused(prior, words):
    with pytest.raises(ValueError, match=words):
        GaussianMixture(2, prior=prior).fit(data())
