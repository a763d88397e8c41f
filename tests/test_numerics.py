"""Numerics that survive real data: large offsets, chunking, float32 input, awkward columns and rows."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from gaussmix import BayesianGaussianMixture, GaussianMixture

STRUCTURES = ["full", "tied", "diag", "spherical"]
OFFSET = 1e8

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def make_data(n_samples=2000, random_state=0):
    """Three blobs with different spreads through a non-orthogonal linear map: correlated, unequal variances."""
    X, _ = make_blobs(n_samples=n_samples, centers=3, n_features=3, cluster_std=[0.5, 1.0, 2.0],
                      center_box=(-8.0, 8.0), random_state=random_state)
    mixing = np.array([[2.0, 0.5, 0.1],
                       [0.0, 1.0, -0.7],
                       [0.3, 0.0, 3.0]])
    return X @ mixing


def hand_made_init(X, covariance_type, n_components=3, seed=0):
    """Random data points as means, unequal weights, shrunken data covariance in the structure's shape."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(X.shape[0], size=n_components, replace=False)]
    weights = np.linspace(1.0, 2.0, n_components)
    weights /= weights.sum()
    factors = np.linspace(0.3, 0.8, n_components)
    covariance = np.cov(X, rowvar=False)
    precisions = {
        "full": lambda: np.linalg.inv(factors[:, None, None] * covariance),
        "tied": lambda: np.linalg.inv(0.4 * covariance),
        "diag": lambda: 1.0 / (factors[:, None] * np.diag(covariance)),
        "spherical": lambda: 1.0 / (factors * np.diag(covariance).mean()),
    }[covariance_type]()
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def assert_all_finite(model, X):
    for name in FITTED:
        value = np.asarray(getattr(model, name))
        assert np.all(np.isfinite(value)), f"{name} is not finite: {value}"
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.lower_bounds_))
    scores = model.score_samples(X)
    assert np.all(np.isfinite(scores))
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    # float32 data give float32 outputs and weights, which sum to one within float32 rounding.
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-10 if proba.dtype == np.float64 else 1e-6)
    assert np.all(model.weights_ > 0)
    np.testing.assert_allclose(model.weights_.sum(), 1.0, rtol=0, atol=1e-12 if model.weights_.dtype == np.float64 else 1e-6)


# ----------------------------------------------------------------------------------------------- offset
@pytest.fixture(scope="module")
def offset_data():
    X = make_data()
    # Round the data to what survives a trip through 1e8 so that the shifted data are exactly the
    # reference data plus 1e8: any difference between the two fits is then the library's arithmetic.
    X_ref = (X + OFFSET) - OFFSET
    X_shift = X_ref + OFFSET
    assert np.array_equal(X_shift - OFFSET, X_ref)
    return X_ref, X_shift


def test_offset_breaks_raw_moments(offset_data):
    """The offset is large enough to matter: the raw-moment formula E[x^2] - E[x]^2 (what scikit-learn's
    'diag', 'tied' and 'spherical' M-steps use) is off by more than 1% on the shifted data, so the test
    below distinguishes centred from raw-moment arithmetic. (With scikit-learn 1.9.1 on this data,
    'tied', 'diag' and 'spherical' fits from the same start raise "ill-defined empirical covariance";
    'full' computes about the means and matches to ~1e-10.)"""
    X_ref, X_shift = offset_data
    exact = X_ref.var(axis=0)
    raw = (X_shift**2).mean(axis=0) - X_shift.mean(axis=0) ** 2
    assert np.max(np.abs(raw - exact) / exact) > 1e-2


@pytest.mark.parametrize("covariance_type", STRUCTURES)
@pytest.mark.parametrize("chunk_size", [None, 128])
def test_offset_1e8_gives_same_fit(offset_data, covariance_type, chunk_size):
    X_ref, X_shift = offset_data
    init = hand_made_init(X_ref, covariance_type)
    means_ref = (init["means_init"] + OFFSET) - OFFSET
    kwargs = dict(n_components=3, covariance_type=covariance_type, tol=0.0, max_iter=20, chunk_size=chunk_size,
                  weights_init=init["weights_init"], precisions_init=init["precisions_init"])
    reference = GaussianMixture(means_init=means_ref, **kwargs).fit(X_ref)
    shifted = GaussianMixture(means_init=means_ref + OFFSET, **kwargs).fit(X_shift)

    assert reference.lower_bounds_[-1] - reference.lower_bounds_[0] > 1e-2  # EM moved
    # Means are reported near 1e8, where one unit in the last place is 1.5e-8.
    np.testing.assert_allclose(shifted.means_ - OFFSET, reference.means_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(shifted.weights_, reference.weights_, rtol=1e-6, atol=1e-9)
    scale = np.max(np.abs(reference.covariances_))
    np.testing.assert_allclose(shifted.covariances_, reference.covariances_, rtol=1e-6, atol=1e-8 * scale)
    np.testing.assert_allclose(shifted.lower_bounds_, reference.lower_bounds_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(shifted.score_samples(X_shift), reference.score_samples(X_ref), rtol=0, atol=1e-6)
    np.testing.assert_allclose(shifted.predict_proba(X_shift), reference.predict_proba(X_ref), rtol=0, atol=1e-6)
    assert_all_finite(shifted, X_shift)


# ------------------------------------------------------------------------------------------- chunk size
@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_chunk_size_does_not_change_the_fit(covariance_type):
    X = make_data(1200, random_state=1) + np.array([40.0, -15.0, 7.0])
    sample_weight = np.random.default_rng(0).uniform(0.2, 3.0, size=X.shape[0])
    fits = [
        GaussianMixture(3, covariance_type=covariance_type, tol=0.0, max_iter=15, random_state=0,
                        chunk_size=chunk_size).fit(X, sample_weight=sample_weight)
        for chunk_size in (7, 100, None)
    ]
    reference = fits[0]
    assert reference.lower_bounds_[-1] - reference.lower_bounds_[0] > 1e-4
    for other in fits[1:]:
        for name in FITTED:
            expected = getattr(reference, name)
            np.testing.assert_allclose(getattr(other, name), expected, rtol=1e-12,
                                       atol=1e-13 * np.max(np.abs(expected)), err_msg=name)
        np.testing.assert_allclose(other.lower_bounds_, reference.lower_bounds_, rtol=1e-12)
        assert other.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-12)
        np.testing.assert_allclose(other.score_samples(X), reference.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("estimator", [GaussianMixture, BayesianGaussianMixture])
def test_random_initialisation_does_not_depend_on_threads_or_chunk_size(estimator):
    # Random responsibilities are drawn along the rows on one thread: worker threads taking turns at a shared
    # random state would make the start, and the fit, change from run to run.
    X = make_data(1200, random_state=2)
    fits = [estimator(3, init_params="random", random_state=0, tol=0.0, max_iter=3, chunk_size=chunk_size,
                      n_jobs=n_jobs).fit(X)
            for chunk_size, n_jobs in ((1200, 1), (50, 2), (50, 2), (50, 2), (7, 1))]
    for other in fits[1:]:
        np.testing.assert_allclose(other.means_, fits[0].means_, rtol=1e-10)
        np.testing.assert_allclose(other.lower_bounds_, fits[0].lower_bounds_, rtol=1e-10)


# ---------------------------------------------------------------------------------------------- float32
@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_float32_input_close_to_float64(covariance_type):
    X64 = make_data(1500, random_state=2) + np.array([50.0, -20.0, 5.0])
    X32 = X64.astype(np.float32)
    init = hand_made_init(X64, covariance_type)
    kwargs = dict(n_components=3, covariance_type=covariance_type, tol=0.0, max_iter=20, **init)
    fit64 = GaussianMixture(**kwargs).fit(X64)
    fit32 = GaussianMixture(**kwargs).fit(X32)
    for name in FITTED:
        expected = getattr(fit64, name)
        np.testing.assert_allclose(getattr(fit32, name), expected, rtol=1e-4, atol=1e-6 * np.max(np.abs(expected)),
                                   err_msg=name)
    assert fit32.lower_bound_ == pytest.approx(fit64.lower_bound_, rel=1e-4)
    np.testing.assert_allclose(fit32.score_samples(X32), fit64.score_samples(X64), rtol=1e-4, atol=1e-4)
    assert_all_finite(fit32, X32)


def test_float32_input_with_default_init_close_to_float64():
    X64 = make_data(1500, random_state=3)
    X32 = X64.astype(np.float32)
    fit64 = GaussianMixture(3, random_state=0, tol=1e-8, max_iter=200).fit(X64)
    fit32 = GaussianMixture(3, random_state=0, tol=1e-8, max_iter=200).fit(X32)
    order64, order32 = np.argsort(fit64.means_[:, 0]), np.argsort(fit32.means_[:, 0])
    np.testing.assert_allclose(fit32.means_[order32], fit64.means_[order64], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fit32.covariances_[order32], fit64.covariances_[order64], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fit32.weights_[order32], fit64.weights_[order64], rtol=1e-4)
    assert_all_finite(fit32, X32)


# -------------------------------------------------------------------------------------------- awkward data
def awkward_duplicates():
    X = make_data(400, random_state=4)
    X = np.repeat(X, 3, axis=0)                 # every row three times
    X = np.vstack([X, np.repeat(X[:1], 6, axis=0)])  # and one row nine times
    return X


def awkward_constant_column():
    X = make_data(900, random_state=5)
    return np.column_stack([X, np.full(X.shape[0], 3.75)])


def awkward_scales():
    X = make_data(900, random_state=6)
    return X * np.array([1e-3, 1.0, 1e4])


@pytest.mark.parametrize("covariance_type", STRUCTURES)
@pytest.mark.parametrize("make", [awkward_duplicates, awkward_constant_column, awkward_scales],
                         ids=["duplicated-rows", "constant-column", "scales-1e-3-to-1e4"])
def test_no_nan_or_inf_on_awkward_data(make, covariance_type):
    X = make()
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=50).fit(X)
    assert_all_finite(model, X)
    if make is awkward_constant_column:
        # The constant feature is explained by its mean and reg_covar alone.
        np.testing.assert_allclose(model.means_[:, -1], 3.75, rtol=1e-12)
        dense = {"full": lambda c: c[:, -1, -1], "tied": lambda c: c[-1, -1], "diag": lambda c: c[:, -1],
                 "spherical": lambda c: c}[covariance_type](model.covariances_)
        if covariance_type != "spherical":
            np.testing.assert_allclose(dense, model.reg_covar, rtol=1e-6)
    if make is awkward_scales:
        # Each feature keeps its own scale: fitted variances track the data's, within an order of magnitude.
        data_variance = X.var(axis=0)
        if covariance_type in ("full", "diag"):
            variances = (model.covariances_ if covariance_type == "diag"
                         else np.diagonal(model.covariances_, axis1=1, axis2=2))
            ratio = variances / data_variance
            assert np.all((ratio > 1e-3) & (ratio < 10)), ratio
