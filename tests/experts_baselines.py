"""Data and baselines for the mixture-of-experts tests and benchmark, written independently of gaussmix.experts.

Data: x ~ U(-3, 3) in three regimes (boundaries at -1 and 1) with slopes (2, -1, 0.5), intercepts
(3, 0, -1) and Gaussian noise. Baselines for the held-out conditional log-likelihood ``log p(y | x)``:
a least-squares line with Gaussian noise of the residual variance, and "GMM regression", a Gaussian
mixture on ``[x, y]`` with ``log p(y | x) = log p(x, y) - log p(x)``, the marginal of ``x`` taken exactly
from the fitted joint mixture (a Gaussian's marginal keeps the sub-vector of the mean and the sub-block
of the covariance).
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm
from sklearn.linear_model import LinearRegression

from gaussmix import GaussianMixture

SLOPES = np.array([2.0, -1.0, 0.5])
INTERCEPTS = np.array([3.0, 0.0, -1.0])
BOUNDARIES = (-1.0, 1.0)


def piecewise_linear(n_samples, rng, noise=0.1):
    """``(X, y, regime)`` with X of shape (n_samples, 1)."""
    x = rng.uniform(-3.0, 3.0, n_samples)
    regime = np.digitize(x, BOUNDARIES)
    return x[:, None], SLOPES[regime] * x + INTERCEPTS[regime] + noise * rng.standard_normal(n_samples), regime


def linear_log_likelihood(X, y, X_test, y_test):
    """Per-sample ``log p(y | x)`` of ordinary least squares with the ML residual variance."""
    model = LinearRegression().fit(X, y)
    sigma = np.sqrt(np.mean((y - model.predict(X)) ** 2))
    return norm.logpdf(y_test, model.predict(X_test), sigma)


def gmm_regression_log_likelihood(X, y, X_test, y_test, n_components, random_state, n_init=3):
    """Per-sample ``log p(y | x)`` of a full-covariance Gaussian mixture fitted on ``[x, y]``."""
    joint = GaussianMixture(n_components, random_state=random_state, n_init=n_init).fit(np.column_stack([X, y]))
    d = X.shape[1]
    log_marginal = logsumexp(
        [np.log(weight) + multivariate_normal(mean[:d], cov[:d, :d]).logpdf(X_test)
         for weight, mean, cov in zip(joint.weights_, joint.means_, joint.covariances_)], axis=0)
    return joint.score_samples(np.column_stack([X_test, y_test])) - log_marginal
