"""Properties of fitted mixtures that hold for every covariance structure.

Monotone objective, proper responsibilities, equivariance under permutations of rows and of
components, affine equivariance (means A mu + b, covariances A Sigma A^T, log-density shifted by
-log|det A|) and ``fit_predict == fit().predict``. Fits start from a fully given initialisation
(weights, means and precisions), so the data are not looked at to initialise and both sides of every
comparison run the same EM from the same start.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from random_models import dense, random_spd

from gaussmix import GaussianMixture
from gaussmix.covariance import STRUCTURE_NAMES

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_")


# ------------------------------------------------------------------------------------------ helpers
def mixture_data(seed, n=400, k=3, d=3, separation=3.0):
    """Overlapping clusters with correlated, unequal covariances."""
    rng = np.random.default_rng(seed)
    means = separation * rng.standard_normal((k, d)) + np.array([5.0, -3.0, 100.0][:d])
    weights = rng.dirichlet(np.full(k, 5.0))
    labels = rng.choice(k, size=n, p=weights)
    X = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        X[rows] = rng.multivariate_normal(means[j], random_spd(rng, d, (0.3, 3.0), 0.7), size=rows.sum())
    return X


def hand_init(name, X, k, seed):
    """A full initialisation (weights, means, precisions) in ``name``'s shapes, not fitted by gaussmix."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    means = X[rng.choice(n, size=k, replace=False)] + 0.1 * rng.standard_normal((k, d))
    weights = rng.dirichlet(np.full(k, 10.0))
    spread = np.cov(X, rowvar=False)
    if name == "full":
        precisions = np.stack([np.linalg.inv(spread * rng.uniform(0.3, 1.0)) for _ in range(k)])
    elif name == "tied":
        precisions = np.linalg.inv(0.5 * spread)
    elif name == "diag":
        precisions = 1.0 / (np.diag(spread) * rng.uniform(0.3, 1.0, (k, d)))
    else:
        precisions = 1.0 / (np.diag(spread).mean() * rng.uniform(0.3, 1.0, k))
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def model(name, k=3, **kwargs):
    kwargs.setdefault("reg_covar", 0.0)
    return GaussianMixture(k, covariance_type=name, **kwargs)


def fixed_iterations(name, init, n_iter=25, **kwargs):
    """EM for exactly ``n_iter`` iterations (tol=0), so both sides of a comparison run the same steps."""
    return model(name, len(init["weights_init"]), tol=0.0, max_iter=n_iter, **init, **kwargs)


def assert_fits_equal(actual, expected, rtol=1e-7, atol=1e-9):
    for attribute in FITTED:
        np.testing.assert_allclose(getattr(actual, attribute), getattr(expected, attribute), rtol=rtol, atol=atol,
                                   err_msg=attribute)
    np.testing.assert_allclose(actual.lower_bounds_, expected.lower_bounds_, rtol=1e-9, atol=1e-10)


# ----------------------------------------------------------------------------------- monotone
@SETTINGS
@given(name=st.sampled_from(STRUCTURE_NAMES), seed=st.integers(0, 10_000), weighted=st.booleans())
@no_convergence_warning
def test_log_likelihood_trace_never_decreases_with_reg_covar_zero(name, seed, weighted):
    X = mixture_data(seed, n=300)
    w = np.random.default_rng(seed).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    gm = model(name, 3, init_params="random", random_state=seed, tol=1e-9, max_iter=150, on_degenerate="raise")
    gm.fit(X, sample_weight=w)
    trace = np.asarray(gm.lower_bounds_)
    assert trace.shape[0] >= 3
    steps = np.diff(trace)
    tolerance = 1e-10 * np.maximum(1.0, np.abs(trace[1:]))
    assert np.all(steps >= -tolerance), (np.min(steps), np.argmin(steps), trace.shape[0])
    # the final E-step's log-likelihood is that of the returned parameters: no lower than the last entry
    assert gm.lower_bound_ >= trace[-1] - tolerance[-1]
    expected = np.average(gm.score_samples(X), weights=w)
    assert gm.lower_bound_ == pytest.approx(expected, rel=1e-10, abs=1e-12)


# ----------------------------------------------------------------------------- responsibilities
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_predict_proba_and_score_samples_match_scipy(name):
    X = mixture_data(1)
    gm = model(name, 3, reg_covar=1e-6, random_state=0).fit(X)
    rng = np.random.default_rng(2)
    X_test = np.vstack([X, X.mean(axis=0) + 30.0 * rng.standard_normal((50, 3)), X[:5] + 1e3])
    proba = gm.predict_proba(X_test)
    assert proba.shape == (X_test.shape[0], 3)
    assert np.all(proba >= 0.0) and np.all(proba <= 1.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)

    log_joint = np.log(gm.weights_) + np.column_stack([
        multivariate_normal(m, c).logpdf(X_test) for m, c in zip(gm.means_, dense(name, gm.covariances_, 3, 3))
    ])
    log_norm = logsumexp(log_joint, axis=1)
    np.testing.assert_allclose(gm.score_samples(X_test), log_norm, rtol=1e-9)
    np.testing.assert_allclose(proba, np.exp(log_joint - log_norm[:, None]), rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(gm.predict(X_test), proba.argmax(axis=1))
    assert gm.score(X_test) == pytest.approx(log_norm.mean(), rel=1e-10)


# ------------------------------------------------------------------------------ permutations
@SETTINGS
@given(name=st.sampled_from(STRUCTURE_NAMES), data_seed=st.integers(0, 1000), order_seed=st.integers(0, 2**32 - 1))
@no_convergence_warning
def test_permuting_rows_leaves_the_fit_unchanged(name, data_seed, order_seed):
    X = mixture_data(data_seed)
    w = np.random.default_rng(data_seed).uniform(0.5, 2.0, X.shape[0])
    order = np.random.default_rng(order_seed).permutation(X.shape[0])
    init = hand_init(name, X, 3, data_seed)
    # small chunks, so the permutation changes which rows share a chunk and the centring offset
    base = fixed_iterations(name, init, chunk_size=64).fit(X, sample_weight=w)
    permuted = fixed_iterations(name, init, chunk_size=64).fit(X[order], sample_weight=w[order])
    assert_fits_equal(permuted, base)
    np.testing.assert_allclose(permuted.predict_proba(X[order]), base.predict_proba(X)[order], rtol=1e-6, atol=1e-10)


@SETTINGS
@given(name=st.sampled_from(STRUCTURE_NAMES), data_seed=st.integers(0, 1000), k=st.integers(2, 4),
       perm_seed=st.integers(0, 2**32 - 1))
@no_convergence_warning
def test_permuting_init_components_permutes_the_fit(name, data_seed, k, perm_seed):
    X = mixture_data(data_seed, k=3)
    init = hand_init(name, X, k, data_seed)
    perm = np.random.default_rng(perm_seed).permutation(k)
    permuted_init = dict(weights_init=init["weights_init"][perm], means_init=init["means_init"][perm],
                         precisions_init=init["precisions_init"] if name == "tied" else init["precisions_init"][perm])
    base = fixed_iterations(name, init).fit(X)
    permuted = fixed_iterations(name, permuted_init).fit(X)
    for attribute in FITTED:
        expected = getattr(base, attribute)
        if not (name == "tied" and attribute != "weights_" and attribute != "means_"):
            expected = expected[perm]
        np.testing.assert_allclose(getattr(permuted, attribute), expected, rtol=1e-7, atol=1e-9, err_msg=attribute)
    np.testing.assert_allclose(permuted.lower_bounds_, base.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(permuted.predict_proba(X), base.predict_proba(X)[:, perm], rtol=1e-6, atol=1e-10)
    np.testing.assert_array_equal(permuted.predict(X), np.argsort(perm)[base.predict(X)])


# ----------------------------------------------------------------------------------- affine maps
def affine_map(name, rng, d):
    """An invertible, well-conditioned A under which ``name`` is closed, and b."""
    if name in ("full", "tied"):
        q1, _ = np.linalg.qr(rng.standard_normal((d, d)))
        q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
        A = (q1 * rng.uniform(0.5, 2.0, d)) @ q2
    elif name == "diag":
        A = np.diag(rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d))
    else:
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        A = rng.uniform(0.5, 2.0) * q
    b = 20.0 * rng.standard_normal(d)
    return A, b


def transform_precisions(name, precisions, A):
    """Precisions of the image: A^-T P A^-1 (and its diagonal/scalar forms)."""
    A_inv = np.linalg.inv(A)
    if name == "full":
        return np.einsum("ji,kjl,lm->kim", A_inv, precisions, A_inv)
    if name == "tied":
        return A_inv.T @ precisions @ A_inv
    if name == "diag":
        return precisions / np.diag(A) ** 2
    scale_squared = (A @ A.T)[0, 0]
    return precisions / scale_squared


def transform_covariances(name, covariances, A):
    if name == "full":
        return np.einsum("ij,kjl,ml->kim", A, covariances, A)
    if name == "tied":
        return A @ covariances @ A.T
    if name == "diag":
        return covariances * np.diag(A) ** 2
    return covariances * (A @ A.T)[0, 0]


@SETTINGS
@given(name=st.sampled_from(STRUCTURE_NAMES), data_seed=st.integers(0, 1000), map_seed=st.integers(0, 2**32 - 1))
@no_convergence_warning
def test_affine_equivariance(name, data_seed, map_seed):
    X = mixture_data(data_seed)
    d = X.shape[1]
    A, b = affine_map(name, np.random.default_rng(map_seed), d)
    Y = X @ A.T + b
    init = hand_init(name, X, 3, data_seed)
    mapped_init = dict(weights_init=init["weights_init"], means_init=init["means_init"] @ A.T + b,
                       precisions_init=transform_precisions(name, init["precisions_init"], A))
    base = fixed_iterations(name, init).fit(X)
    mapped = fixed_iterations(name, mapped_init).fit(Y)

    log_det = np.linalg.slogdet(A)[1]
    np.testing.assert_allclose(mapped.weights_, base.weights_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(mapped.means_, base.means_ @ A.T + b, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(mapped.covariances_, transform_covariances(name, base.covariances_, A),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(mapped.score_samples(Y), base.score_samples(X) - log_det, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(mapped.lower_bounds_, np.asarray(base.lower_bounds_) - log_det, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mapped.predict_proba(Y), base.predict_proba(X), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------- weights as rows
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@no_convergence_warning
def test_integer_sample_weights_fit_like_repeated_rows(name):
    X = mixture_data(5, n=200)
    counts = np.random.default_rng(6).integers(0, 4, X.shape[0])
    init = hand_init(name, X, 3, 7)
    weighted = fixed_iterations(name, init).fit(X, sample_weight=counts)
    repeated = fixed_iterations(name, init).fit(np.repeat(X, counts, axis=0))
    assert_fits_equal(weighted, repeated)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@no_convergence_warning
def test_scaling_sample_weights_and_chunk_size_change_nothing(name):
    X = mixture_data(8, n=300)
    w = np.random.default_rng(9).uniform(0.0, 2.0, X.shape[0])
    init = hand_init(name, X, 3, 10)
    base = fixed_iterations(name, init).fit(X, sample_weight=w)
    assert_fits_equal(fixed_iterations(name, init).fit(X, sample_weight=1e3 * w), base)
    assert_fits_equal(fixed_iterations(name, init, chunk_size=7).fit(X, sample_weight=w), base)


# ------------------------------------------------------------------------------------ fit_predict
@pytest.mark.parametrize("name", STRUCTURE_NAMES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_fit_predict_equals_fit_then_predict(name, init_params):
    X = mixture_data(11)
    kwargs = dict(reg_covar=1e-6, random_state=3, init_params=init_params, max_iter=300, tol=1e-6)
    gm = model(name, 3, **kwargs)
    labels = gm.fit_predict(X)
    np.testing.assert_array_equal(labels, gm.predict(X))
    np.testing.assert_array_equal(labels, model(name, 3, **kwargs).fit(X).predict(X))
    assert labels.shape == (X.shape[0],) and set(np.unique(labels)) <= {0, 1, 2}
