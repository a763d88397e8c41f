"""scikit-learn as an oracle: the same EM from the same starting point must give the same numbers.

``sklearn.mixture.GaussianMixture`` and ``gaussmix.GaussianMixture`` are both maximum-likelihood EM with
``reg_covar`` added to the diagonal, so from identical ``weights_init``/``means_init``/``precisions_init``
and ``tol=0`` (a fixed number of iterations) they must agree iteration by iteration up to rounding.
The data have unequal, non-unit variances and correlations (a variance/standard-deviation or
precision/covariance mix-up would pass on unit-variance data), and the starting point is deliberately
poor (random data points as means) so that the trace moves over the 25 iterations compared.

Semantics (see ``gaussmix.estimators.gaussian_mixture``): ``lower_bounds_`` is the same trace as scikit-learn's;
gaussmix's ``lower_bound_`` is the per-sample log-likelihood of the *returned* parameters, which is what
scikit-learn's ``score(X)`` gives for its returned parameters (its ``lower_bound_`` is one M-step older).
"""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture

STRUCTURES = ["full", "tied", "diag", "spherical"]
N_COMPONENTS = 4
N_ITER = 25
RTOL = 1e-8

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def make_data(n_samples, random_state):
    """Blobs with different spreads, sent through a fixed non-orthogonal linear map and shifted."""
    X, _ = make_blobs(n_samples=n_samples, centers=N_COMPONENTS, n_features=3,
                      cluster_std=[0.4, 1.0, 2.2, 1.5], center_box=(-8.0, 8.0), random_state=random_state)
    mixing = np.array([[2.0, 0.6, 0.1],
                       [0.0, 1.1, -0.7],
                       [0.4, 0.0, 3.0]])
    return X @ mixing + np.array([5.0, -3.0, 10.0])


@pytest.fixture(scope="module")
def data():
    X = make_data(4000, random_state=0)
    return X[:3000], X[3000:]


def shared_init(X, covariance_type, seed=12345):
    """A poor but valid hand-made start in scikit-learn's shapes: random data points as means, unequal
    weights, and the data's covariance shrunk by a different factor per component."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(X.shape[0], size=N_COMPONENTS, replace=False)]
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    factors = np.array([0.2, 0.35, 0.5, 0.8])
    data_covariance = np.cov(X, rowvar=False)
    if covariance_type == "full":
        precisions = np.linalg.inv(factors[:, None, None] * data_covariance)
    elif covariance_type == "tied":
        precisions = np.linalg.inv(0.3 * data_covariance)
    elif covariance_type == "diag":
        precisions = 1.0 / (factors[:, None] * np.diag(data_covariance))
    else:
        precisions = 1.0 / (factors * np.diag(data_covariance).mean())
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def assert_close(actual, expected, name, rtol=RTOL):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    # Entries that can be ~0 (off-diagonals, tiny probabilities) get an absolute tolerance tied to the
    # scale of the array, far below anything a real discrepancy would produce.
    atol = rtol * 1e-2 * np.max(np.abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)


def fit_both(X, covariance_type, sample_weight=None, X_sklearn=None, **init):
    kwargs = dict(n_components=N_COMPONENTS, covariance_type=covariance_type, tol=0.0, max_iter=N_ITER, **init)
    ours = GaussianMixture(**kwargs).fit(X, sample_weight=sample_weight)
    theirs = SklearnGaussianMixture(**kwargs).fit(X if X_sklearn is None else X_sklearn)
    return ours, theirs


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_same_em_trajectory_and_parameters_as_sklearn(data, covariance_type):
    X_train, X_test = data
    init = shared_init(X_train, covariance_type)
    ours, theirs = fit_both(X_train, covariance_type, **init)

    # The comparison has teeth only if EM actually moved over the compared iterations.
    assert len(theirs.lower_bounds_) == N_ITER
    assert theirs.lower_bounds_[-1] - theirs.lower_bounds_[0] > 1e-2

    assert len(ours.lower_bounds_) == N_ITER
    assert_close(ours.lower_bounds_, theirs.lower_bounds_, "lower_bounds_")
    assert ours.n_iter_ == theirs.n_iter_ == N_ITER
    assert ours.converged_ == theirs.converged_

    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        assert_close(getattr(ours, attribute), getattr(theirs, attribute), attribute)

    # gaussmix's lower_bound_ describes the returned parameters: sklearn's score(X) of its returned ones.
    assert ours.lower_bound_ == pytest.approx(theirs.score(X_train), rel=RTOL)

    assert_close(ours.score_samples(X_test), theirs.score_samples(X_test), "score_samples")
    np.testing.assert_allclose(ours.predict_proba(X_test), theirs.predict_proba(X_test), rtol=0, atol=1e-8,
                               err_msg="predict_proba")
    np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test))
    assert ours.score(X_test) == pytest.approx(theirs.score(X_test), rel=RTOL)
    assert ours.bic(X_test) == pytest.approx(theirs.bic(X_test), rel=RTOL)
    assert ours.aic(X_test) == pytest.approx(theirs.aic(X_test), rel=RTOL)


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_integer_sample_weight_equals_repeated_rows_in_sklearn(data, covariance_type):
    """sklearn has no sample_weight for GaussianMixture: fit it on the rows repeated instead."""
    X_train, X_test = data
    X = X_train[:1500]
    rng = np.random.default_rng(3)
    sample_weight = rng.integers(0, 4, size=X.shape[0])  # zeros drop rows, 2 and 3 repeat them
    assert (sample_weight == 0).any() and (sample_weight == 3).any()
    X_repeated = np.repeat(X, sample_weight, axis=0)
    init = shared_init(X_repeated, covariance_type, seed=7)

    ours, theirs = fit_both(X, covariance_type, sample_weight=sample_weight.astype(np.float64),
                            X_sklearn=X_repeated, **init)
    assert theirs.lower_bounds_[-1] - theirs.lower_bounds_[0] > 1e-2
    assert_close(ours.lower_bounds_, theirs.lower_bounds_, "lower_bounds_")
    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_close(getattr(ours, attribute), getattr(theirs, attribute), attribute)
    assert ours.lower_bound_ == pytest.approx(theirs.score(X_repeated), rel=RTOL)
    assert_close(ours.score_samples(X_test), theirs.score_samples(X_test), "score_samples")
    np.testing.assert_allclose(ours.predict_proba(X_test), theirs.predict_proba(X_test), rtol=0, atol=1e-8)


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_fit_predict_equals_fit_then_predict(covariance_type):
    X = make_data(600, random_state=1)
    for random_state in (0, 1, 2):
        kwargs = dict(n_components=3, covariance_type=covariance_type, random_state=random_state, max_iter=30)
        labels = GaussianMixture(**kwargs).fit_predict(X)
        fitted = GaussianMixture(**kwargs).fit(X)
        np.testing.assert_array_equal(labels, fitted.predict(X))
        np.testing.assert_array_equal(labels, fitted.predict_proba(X).argmax(axis=1))
        assert labels.shape == (X.shape[0],)
        assert len(np.unique(labels)) > 1


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_lower_bound_describes_returned_parameters_and_trace_is_monotone(data, covariance_type):
    X_train, _ = data
    for random_state in (0, 1):
        model = GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, reg_covar=0.0, tol=0.0, max_iter=15,
                                random_state=random_state).fit(X_train)
        trace = np.asarray(model.lower_bounds_)
        assert len(trace) == 15
        # EM with reg_covar=0 never decreases the likelihood.
        assert np.all(np.diff(trace) >= -1e-12), np.diff(trace)
        # The reported bound is that of the returned parameters: one M-step after the last trace entry.
        assert model.lower_bound_ >= trace[-1] - 1e-12
        assert model.lower_bound_ == pytest.approx(model.score(X_train), rel=1e-12, abs=1e-12)
