"""Density tools for a fitted Gaussian mixture: CDF and quantiles in one dimension, highest-density regions
and outlier scores in any dimension (mclust's ``densityMclust``, ``cdfMclust``, ``quantileMclust`` and
``hdrlevels``).

The estimators expose these as methods of :class:`gaussmix.estimators._base.BaseMixture` (``cdf``, ``ppf``,
``density_threshold``, ``outlier_scores``); this module holds the maths on plain arrays.

One dimension
    ``F(x) = sum_k pi_k Phi((x - mu_k) / sigma_k)``. Its quantile has no closed form for ``K > 1``, but it
    is bracketed exactly: every component CDF is at most ``q`` at ``min_k (mu_k + sigma_k Phi^{-1}(q))`` and
    at least ``q`` at the ``max_k``, and so is their weighted average. :func:`mixture_quantiles` narrows that
    bracket by Newton steps, falling back to bisection whenever a step leaves it (a safeguarded Newton
    method on ``log F``, all quantiles at once).

Highest-density regions (Hyndman 1996)
    The ``100 alpha %`` HDR is ``R(c) = {x : p(x) >= c}`` with the largest ``c`` such that
    ``P(X in R(c)) >= alpha``: the smallest region of probability ``alpha``. Since
    ``P(X in R(c)) = P(p(X) >= c)``, ``c`` is the ``1 - alpha`` quantile of the random variable ``p(X)``,
    ``X ~ p``, estimated by the sample quantile of ``p`` over draws from the model (or over the training
    data) (Hyndman 1996, section 3.2). The outlier score of a point ``x`` is
    ``P(p(Y) >= p(x))``, ``Y ~ p``: the probability content of the smallest HDR whose boundary passes
    through ``x``. It is near 0 at the mode, near 1 far outside the data, and ``x`` lies in the
    ``100 alpha %`` HDR exactly when its score is at most ``alpha`` (up to the Monte-Carlo error).

References
----------
Hyndman, R. J. (1996). Computing and graphing highest density regions. *The American Statistician* 50(2),
120-126. doi:10.1080/00031305.1996.10474359
Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016). mclust 5: clustering, classification and
density estimation using Gaussian finite mixture models. *The R Journal* 8(1), 289-317 (``hdrlevels``).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri

LOG_2PI = float(np.log(2.0 * np.pi))

__all__ = ["check_level", "highest_density_threshold", "mixture_cdf", "mixture_pdf", "mixture_quantiles",
           "outlier_scores_from_reference"]

QUANTILE_RTOL = 1e-13
"""Newton stops when its step is below this, relative to ``max(1, |x|)``: a few ulps of the answer."""

MAX_QUANTILE_ITERATIONS = 200
"""Enough for pure bisection from any finite bracket down to rounding (about 2 x 64 halvings)."""


def mixture_cdf(x: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``F(x) = sum_k pi_k Phi((x - mu_k) / sigma_k)`` of a one-dimensional mixture.

    Parameters
    ----------
    x : ndarray of shape (n,)
    weights, means, scales : ndarray of shape (n_components,)
        Mixing weights, means and standard deviations ``sigma_k`` (not variances).

    Returns
    -------
    ndarray of shape (n,)
    """
    return ndtr((x[:, None] - means) / scales) @ weights


def mixture_pdf(x: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``p(x) = sum_k pi_k phi((x - mu_k) / sigma_k) / sigma_k``, shape (n,) (shapes as :func:`mixture_cdf`)."""
    return np.exp(_log_pdf(x, weights, means, scales))


def _log_pdf(x: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    standardised = (x[:, None] - means) / scales
    return logsumexp(np.log(weights / scales) - 0.5 * (standardised ** 2 + LOG_2PI), axis=1)


def _log_tail(x: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray,
              upper: np.ndarray) -> np.ndarray:
    """``log F(x)``, or ``log (1 - F(x))`` where ``upper``: each accurate far into its own tail (log_ndtr)."""
    standardised = (x[:, None] - means) / scales
    return logsumexp(np.log(weights) + log_ndtr(np.where(upper[:, None], -standardised, standardised)), axis=1)


def mixture_quantiles(q: np.ndarray, weights: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Quantiles ``F^{-1}(q)`` of a one-dimensional mixture, to a few ulps.

    Parameters
    ----------
    q : ndarray of shape (n,)
        Probabilities in ``[0, 1]``; 0 and 1 give ``-inf`` and ``+inf``.
    weights, means, scales : ndarray of shape (n_components,)
        As in :func:`mixture_cdf`.

    Returns
    -------
    ndarray of shape (n,)

    Notes
    -----
    The root of ``F(x) = q`` lies in ``[min_k (mu_k + sigma_k z), max_k (mu_k + sigma_k z)]`` with
    ``z = Phi^{-1}(q)`` (see the module docstring); for one component the bracket is the answer. Within it
    the equation is solved in logs, ``log F(x) = log q`` (or ``log(1 - F(x)) = log(1 - q)`` for ``q > 1/2``,
    where ``1 - q`` is exact in floating point), because ``log F`` is close to a parabola in the tail: Newton
    on ``F`` itself creeps there (steps of about ``1 / |x|`` at ``q = 1e-300``), Newton on ``log F``
    converges quadratically everywhere. A step that leaves the current bracket is replaced by bisection, so
    each iteration at least halves the bracket or is a Newton step inside it.
    """
    q = np.asarray(q, dtype=np.float64)
    result = np.where(q == 0.0, -np.inf, np.where(q == 1.0, np.inf, np.nan))
    inner = np.flatnonzero((q > 0.0) & (q < 1.0))
    if inner.size == 0:
        return result
    q_inner = q[inner]
    upper = q_inner > 0.5
    log_target = np.log(np.where(upper, 1.0 - q_inner, q_inner))
    component_quantiles = means + scales * ndtri(q_inner)[:, None]
    low, high = component_quantiles.min(axis=1), component_quantiles.max(axis=1)
    x = np.where(high > low, 0.5 * (low + high), low)
    active = np.flatnonzero(high > low)
    for _ in range(MAX_QUANTILE_ITERATIONS):
        if active.size == 0:
            break
        xa, is_upper = x[active], upper[active]
        log_tail = _log_tail(xa, weights, means, scales, is_upper)
        # Increasing in x in both tails: log F(x) - log q, or log(1 - q) - log(1 - F(x)).
        excess = np.where(is_upper, log_target[active] - log_tail, log_tail - log_target[active])
        low[active] = np.where(excess < 0, xa, low[active])
        high[active] = np.where(excess > 0, xa, high[active])
        slope = np.exp(_log_pdf(xa, weights, means, scales) - log_tail)  # d/dx of either log tail, in magnitude
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = xa - excess / slope
        inside = (newton > low[active]) & (newton < high[active]) & np.isfinite(newton)
        step_to = np.where(inside, newton, 0.5 * (low[active] + high[active]))
        done = (excess == 0) | (np.abs(step_to - xa) <= QUANTILE_RTOL * np.maximum(1.0, np.abs(xa)))
        x[active] = np.where(excess == 0, xa, step_to)
        active = active[~done]
    result[inner] = x
    return result


def check_level(level) -> float:
    """``level`` as a float in the open interval (0, 1), or a ValueError that says so."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be a probability strictly between 0 and 1 (the HDR's coverage), got {level!r}")
    return float(level)


def highest_density_threshold(reference_log_densities: np.ndarray, level: float) -> float:
    """``log c`` of the ``100 level %`` highest-density region: the ``1 - level`` sample quantile of the
    log-densities of a sample from the model (Hyndman 1996, section 3.2; the log is monotone, so the
    quantile commutes with it up to the interpolation between two order statistics)."""
    return float(np.quantile(reference_log_densities, 1.0 - level))


def outlier_scores_from_reference(log_densities: np.ndarray, sorted_reference: np.ndarray) -> np.ndarray:
    """``P(p(Y) >= p(x))`` for each ``log p(x)``: the fraction of the (ascending) reference log-densities at
    least as large. Non-increasing in ``log p(x)`` by construction; in ``[0, 1]``."""
    below = np.searchsorted(sorted_reference, log_densities, side="left")
    return (sorted_reference.shape[0] - below) / sorted_reference.shape[0]
