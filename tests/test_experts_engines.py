"""MixtureOfExperts on Dask arrays and on lists of (X, y) chunk pairs gives the in-memory fit.

The experts' statistics (weighted Gram matrices, gate gradient and Hessian) are added per chunk through the
engine's ``reduce``, so a fit that sees the rows as Dask blocks or as streamed chunk pairs, from the same
start, follows the same iterations: equal to the in-memory fit up to the order of additions (1e-8).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from experts_baselines import piecewise_linear
from gaussmix import DataError, MixtureOfExperts

FITTED = ("coef_", "intercept_", "gate_coef_", "gate_intercept_", "covariances_")


@pytest.fixture(autouse=True)
def _single_blas_thread():
    with threadpool_limits(1):  # many tiny BLAS calls
        yield


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X, y, _ = piecewise_linear(500, rng)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    return X, y, weights


def _assert_same_fit(fit, reference, rtol=1e-8):
    assert fit.n_iter_ == reference.n_iter_
    assert fit.n_features_in_ == reference.n_features_in_
    np.testing.assert_allclose(fit.lower_bounds_, reference.lower_bounds_, rtol=rtol)
    for name in FITTED:
        np.testing.assert_allclose(getattr(fit, name), getattr(reference, name), rtol=rtol, atol=1e-10, err_msg=name)


def _pairs(X, y, bounds=(0, 130, 333, None)):
    return [(X[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


@pytest.mark.parametrize("weighted", [False, True])
def test_dask_arrays_give_the_in_memory_fit(problem, weighted):
    da = pytest.importorskip("dask.array")
    X, y, weights = problem
    weights = weights if weighted else None
    reference = MixtureOfExperts(3, random_state=0, chunk_size=64).fit(X, y, sample_weight=weights)
    fit = MixtureOfExperts(3, random_state=0, chunk_size=64).fit(da.from_array(X, chunks=(120, -1)),
                                                                 da.from_array(y, chunks=90), sample_weight=weights)
    _assert_same_fit(fit, reference)
    np.testing.assert_allclose(fit.predict(X), reference.predict(X), rtol=1e-8, atol=1e-10)


def test_dask_inputs_with_numpy_targets_and_multi_output(problem):
    da = pytest.importorskip("dask.array")
    X, y, _ = problem
    Y = np.column_stack([y, 0.5 * y + X[:, 0]])
    reference = MixtureOfExperts(2, covariance_type="diag", random_state=1).fit(X, Y)
    fit = MixtureOfExperts(2, covariance_type="diag", random_state=1).fit(da.from_array(X, chunks=(200, -1)), Y)
    _assert_same_fit(fit, reference)
    assert fit.predict(X).shape == Y.shape


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_chunk_pairs_give_the_in_memory_fit(problem, n_jobs):
    X, y, weights = problem
    reference = MixtureOfExperts(3, random_state=0, chunk_size=64).fit(X, y, sample_weight=weights)
    fit = MixtureOfExperts(3, random_state=0, chunk_size=64, n_jobs=n_jobs).fit(_pairs(X, y), sample_weight=weights)
    _assert_same_fit(fit, reference)
    assert fit.predict(X).ndim == 1  # fitted on 1-D targets


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 5 iterations on purpose
def test_chunk_pairs_in_float32_give_float32_attributes(problem):
    X, y, _ = problem
    fit = MixtureOfExperts(2, random_state=0, max_iter=5, tol=0).fit(_pairs(X.astype(np.float32), y))
    reference = MixtureOfExperts(2, random_state=0, max_iter=5, tol=0).fit(X.astype(np.float32), y)
    assert fit.coef_.dtype == reference.coef_.dtype == np.float32
    np.testing.assert_allclose(fit.coef_, reference.coef_, rtol=1e-6)


def test_bad_chunked_inputs_are_named_before_fitting(problem):
    X, y, _ = problem
    with pytest.raises(ValueError, match="y must be None"):
        MixtureOfExperts().fit(_pairs(X, y), y)
    with pytest.raises(ValueError, match="chunk pair 1"):
        MixtureOfExperts().fit([(X[:10], y[:10]), (X[10:20], y[10:19])])
    with pytest.raises(DataError, match="chunk pair 1"):
        MixtureOfExperts().fit([(X[:10], y[:10]), (np.column_stack([X[10:20], X[10:20]]), y[10:20])])
    y_nan = y.copy()
    y_nan[200] = np.nan
    with pytest.raises(DataError, match="NaN"):
        MixtureOfExperts().fit(_pairs(X, y_nan))
    with pytest.raises(ValueError, match="sample_weight"):
        MixtureOfExperts().fit(_pairs(X, y), sample_weight=np.ones(3))
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MixtureOfExperts().fit(da.from_array(X), da.from_array(y[:-1]))
    with pytest.raises(DataError, match="NaN"):
        MixtureOfExperts().fit(da.from_array(X, chunks=(100, -1)), da.from_array(y_nan, chunks=100))
