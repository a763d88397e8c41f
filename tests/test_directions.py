"""mixture_directions: Scrucca's (2010) MclustDR directions of a fitted mixture."""

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import eigh
from sklearn.base import BaseEstimator

from gaussmix import GaussianMixture, mixture_directions
from subprocess_env import r_json


class GivenParameters(BaseEstimator):
    """A fitted mixture with given weights, means and full covariances (transformed exactly, or mclust's)."""

    def __init__(self, weights, means, covariances):
        self.weights_ = np.asarray(weights, dtype=float)
        self.means_ = np.asarray(means, dtype=float)
        self.covariances_ = np.asarray(covariances, dtype=float)

    def fit(self):
        return self


@pytest.fixture(scope="module")
def separated():
    """Three clusters apart along one direction ``u`` of five; the other four are noise."""
    rng = np.random.default_rng(3)
    u = rng.normal(size=5)
    u /= np.linalg.norm(u)
    centres = np.array([-4.0, 0.0, 4.0])[:, None] * u
    X = np.vstack([rng.normal(size=(200, 5)) + centre for centre in centres])
    return X, u, GaussianMixture(3, random_state=0).fit(X)


def test_first_direction_is_the_one_that_separates(separated):
    X, u, model = separated
    directions = mixture_directions(model, X)
    assert abs(directions.basis[:, 0] @ u) > 0.95
    assert directions.eigenvalues[0] > 10 * directions.eigenvalues[1]


def test_shapes_order_and_normalisation(separated):
    X, _, model = separated
    directions = mixture_directions(model, X)
    n_directions = directions.basis.shape[1]
    assert 1 <= n_directions <= 5 and directions.eigenvalues.shape == (n_directions,)
    assert np.all(directions.eigenvalues >= 0) and np.all(np.diff(directions.eigenvalues) <= 0)
    np.testing.assert_allclose(np.linalg.norm(directions.basis, axis=0), 1.0)
    np.testing.assert_allclose(directions.projections, (X - X.mean(axis=0)) @ directions.basis)
    np.testing.assert_allclose(directions.projections.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(directions.transform(X[:7]), directions.projections[:7])
    two = mixture_directions(model, X, n_directions=2)
    np.testing.assert_allclose(two.basis, directions.basis[:, :2])
    for bad in (0, 6, 1.5):
        with pytest.raises(ValueError, match="n_directions"):
            mixture_directions(model, X, n_directions=bad)
    with pytest.raises(ValueError, match="means_weight"):
        mixture_directions(model, X, means_weight=2.0)


def test_kernel_and_generalised_eigenproblem_as_written_in_the_paper(separated):
    """M = S_mu S^-1 S_mu + sum_k pi_k (Sigma_k - Sigma_bar) S^-1 (Sigma_k - Sigma_bar), and M v = l S v."""
    X, _, model = separated
    S = np.cov(X, rowvar=False, bias=True)
    S_inverse = np.linalg.inv(S)
    pi, mu, sigma = model.weights_, model.means_, model.covariances_  # full covariances
    S_mu = sum(p * np.outer(m - X.mean(axis=0), m - X.mean(axis=0)) for p, m in zip(pi, mu))
    sigma_bar = sum(p * s for p, s in zip(pi, sigma))
    M = S_mu @ S_inverse @ S_mu + sum(p * (s - sigma_bar) @ S_inverse @ (s - sigma_bar) for p, s in zip(pi, sigma))
    directions = mixture_directions(model, X, n_directions=5)
    np.testing.assert_allclose(directions.kernel, M, atol=1e-10)
    np.testing.assert_allclose(directions.eigenvalues, eigh(M, S, eigvals_only=True)[::-1], atol=1e-10)
    v = directions.basis
    np.testing.assert_allclose(M @ v, S @ v * directions.eigenvalues, atol=1e-9)
    means_only = mixture_directions(model, X, means_weight=1.0)
    assert means_only.basis.shape[1] == 2  # K - 1 = 2 directions carry the differences of three means
    means_kernel = 2 * S_mu @ S_inverse @ S_mu
    np.testing.assert_allclose(means_only.eigenvalues, eigh(means_kernel, S, eigvals_only=True)[::-1][:2])


@pytest.fixture(scope="module")
def small_fit():
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(size=(60, 3)) @ rng.normal(size=(3, 3)) + rng.normal(0, 3, 3) for _ in range(3)])
    return X, GaussianMixture(3, random_state=0).fit(X)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_affine_change_of_the_data_changes_nothing_but_the_coordinates(small_fit, seed):
    """x -> A x + b with the model transformed alike: same eigenvalues, basis A^-T v (up to length and sign), the
    same projections up to that length and sign."""
    X, model = small_fit
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    if abs(np.linalg.det(A)) < 0.1 or np.linalg.cond(A) > 1e3:
        return
    b = rng.normal(0, 100, 3)
    moved = GivenParameters(model.weights_, model.means_ @ A.T + b, A @ model.covariances_ @ A.T)
    before = mixture_directions(model, X, n_directions=3)
    after = mixture_directions(moved, X @ A.T + b, n_directions=3)
    np.testing.assert_allclose(after.eigenvalues, before.eigenvalues, rtol=1e-7, atol=1e-9)
    distinct = np.abs(np.diff(before.eigenvalues)) > 1e-3 * before.eigenvalues[0]  # else the basis is not unique
    for j in range(3):
        if (j > 0 and not distinct[j - 1]) or (j < 2 and not distinct[j]):
            continue
        expected = np.linalg.solve(A.T, before.basis[:, j])
        expected /= np.linalg.norm(expected)
        assert abs(expected @ after.basis[:, j]) == pytest.approx(1.0, abs=1e-7)
        ratio = after.projections[:, j] / before.projections[:, j]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)


R_MCLUSTDR = """
suppressMessages(library(mclust))
X <- as.matrix(iris[, 1:4])
fit <- Mclust(X, G = 3, modelNames = "VVV", verbose = FALSE)
directions <- function(lambda) {
  dr <- MclustDR(fit, lambda = lambda)
  list(basis = dr$basis, evalues = dr$evalues, numdir = jsonlite::unbox(dr$numdir), dir = dr$dir)
}
cat(jsonlite::toJSON(list(pro = fit$parameters$pro, mean = t(fit$parameters$mean),
                          sigma = aperm(fit$parameters$variance$sigma, c(3, 1, 2)),
                          half = directions(0.5), means = directions(1)), digits = NA))
"""


def test_same_directions_as_mclust():
    """mclust's own fit of iris (K = 3, VVV): the same eigenvalues, and basis and projections up to sign."""
    reference = r_json(R_MCLUSTDR)
    from sklearn.datasets import load_iris

    X = load_iris().data
    model = GivenParameters(reference["pro"], reference["mean"], reference["sigma"])
    for weight, name in ((0.5, "half"), (1.0, "means")):
        expected = reference[name]
        ours = mixture_directions(model, X, means_weight=weight)
        assert ours.basis.shape[1] == expected["numdir"]
        np.testing.assert_allclose(ours.eigenvalues, expected["evalues"][: expected["numdir"]], rtol=1e-8)
        signs = np.sign(np.sum(ours.basis * np.array(expected["basis"]), axis=0))
        np.testing.assert_allclose(ours.basis * signs, expected["basis"], atol=1e-8)
        np.testing.assert_allclose(ours.projections * signs, expected["dir"], atol=1e-7)
