"""The variational-Bayes pieces every registered structure carries (issue 15, item 3).

Oracles: scipy's multivariate and univariate t for the posterior predictive (PRML 10.81; Murphy 2007,
section 8), hand-made prior scales, and scikit-learn's own list of covariance types.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from random_models import random_spd

from gaussmix.covariance import REGISTERED_NAMES, VARIATIONAL_NAMES, FactorAnalyzers, get_structure

K, D = 3, 4
SKLEARN_TYPES = ("full", "tied", "diag", "spherical")  # sklearn.mixture's covariance_type values


@pytest.mark.parametrize("name", REGISTERED_NAMES)
def test_only_scikit_learns_four_have_a_variational_posterior_and_a_scikit_learn_name(name):
    structure = get_structure(name)
    assert structure.variational == (name in SKLEARN_TYPES)
    assert structure.sklearn_name == (name if name in SKLEARN_TYPES else None)
    assert (name in VARIATIONAL_NAMES) == structure.variational


@pytest.mark.parametrize("structure", [get_structure(name) for name in REGISTERED_NAMES if name not in SKLEARN_TYPES]
                         + [FactorAnalyzers(2)], ids=repr)
def test_structures_without_a_variational_posterior_refuse_its_pieces(structure):
    with pytest.raises(ValueError, match="no variational posterior"):
        structure.checked_covariance_prior(np.eye(1), 1)
    with pytest.raises(ValueError, match="no variational posterior"):
        structure.predictive_log_density(np.zeros((2, 1)), np.zeros((K, 1)), np.ones((K, 1, 1)), np.ones(K),
                                         np.full(K, 5.0))


def posterior_like(rng, name, d):
    """A variational posterior's means, C_k = W_k^-1 / nu_k (in the structure's storage, and dense), beta and nu."""
    means = 3.0 * rng.standard_normal((K, d))
    beta = rng.uniform(0.5, 20.0, K)
    nu = d + rng.uniform(0.5, 30.0, K)
    if name == "full":
        covariances = np.stack([random_spd(rng, d) for _ in range(K)])
        dense = covariances
    elif name == "tied":
        covariances = random_spd(rng, d)
        dense = np.repeat(covariances[None], K, axis=0)
        nu = np.full(K, nu[0])  # one Wishart for all components
    elif name == "diag":
        covariances = np.exp(rng.uniform(-1.0, 1.0, (K, d)))
        dense = np.einsum("kd,de->kde", covariances, np.eye(d))
    else:
        covariances = np.exp(rng.uniform(-1.0, 1.0, K))
        dense = covariances[:, None, None] * np.eye(d)
    return means, covariances, dense, beta, nu


@pytest.mark.parametrize("name", SKLEARN_TYPES)
def test_posterior_predictive_matches_scipy(name):
    rng = np.random.default_rng(SKLEARN_TYPES.index(name))
    structure = get_structure(name)
    means, covariances, dense, beta, nu = posterior_like(rng, name, D)
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert not singular.any()
    X = means[0] + 2.0 * rng.standard_normal((50, D))
    actual = structure.predictive_log_density(X, means, factors, beta, nu)
    assert actual.shape == (50, K)
    for k in range(K):
        if name == "diag":   # independent univariate t's with nu_k degrees of freedom
            scale = np.sqrt((1.0 + beta[k]) / beta[k] * covariances[k])
            expected = stats.t(df=nu[k], loc=means[k], scale=scale).logpdf(X).sum(axis=1)
        else:                # Wishart: nu + 1 - d degrees of freedom; Gamma (spherical): nu
            dof = nu[k] + 1 - D if name in ("full", "tied") else nu[k]
            shape = (1.0 + beta[k]) * nu[k] / (beta[k] * dof) * dense[k]
            expected = stats.multivariate_t(loc=means[k], shape=shape, df=dof).logpdf(X)
        np.testing.assert_allclose(actual[:, k], expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", SKLEARN_TYPES)
def test_covariance_prior_is_checked_in_the_structures_shape(name):
    structure = get_structure(name)
    good = {"full": random_spd(np.random.default_rng(0), D), "diag": np.array([1.0, 2.0, 0.5, 3.0]),
            "spherical": 2.5}
    good["tied"] = good["full"]
    checked = structure.checked_covariance_prior(good[name], D)
    np.testing.assert_array_equal(checked, good[name])
    assert isinstance(checked, float) == (name == "spherical")
    bad = {"full": -np.eye(D), "tied": np.diag([1.0, 1.0, 1.0, 0.0]), "diag": np.array([1.0, 0.0, 1.0, 1.0]),
           "spherical": -1.0}[name]
    with pytest.raises(ValueError, match="covariance_prior"):
        structure.checked_covariance_prior(bad, D)
    if name != "spherical":
        with pytest.raises(ValueError, match="shape"):
            structure.checked_covariance_prior(np.ones(D + 1), D)
