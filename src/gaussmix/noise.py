"""A uniform background ("noise") component for outliers: mclust's Poisson noise.

The mixture density becomes

    p(x) = pi_0 / V + sum_k pi_k N(x | mu_k, Sigma_k),      pi_0 + sum_k pi_k = 1

where ``V`` is the hypervolume of the data region, held fixed. EM treats the noise as one more
component with constant density ``1/V``: the E-step appends a column ``log pi_0 - log V`` to the
log-probabilities (:func:`gaussmix.em.weighted_log_density`), the M-step re-estimates ``pi_0`` with
the other weights, and means and covariances use only the Gaussian components' responsibilities.
Points far from every Gaussian are explained by the noise instead of inflating a covariance.
The noise weight adds one free parameter to BIC and AIC (as in mclust's ``nMclustParams(noise=TRUE)``).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["NOISE_INITIAL_WEIGHT", "check_noise", "log_hypervolume", "noise_log_volume"]

NOISE_INITIAL_WEIGHT = 0.1
"""Noise weight EM starts from (the Gaussian weights of the initialisation are scaled by 0.9).
EM needs a positive start: a zero weight is a fixed point."""


def check_noise(noise) -> None:
    """``noise`` is None, 'auto' or a positive finite volume."""
    if noise is None or (isinstance(noise, str) and noise == "auto"):
        return
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not np.isfinite(noise) or noise <= 0:
        raise ValueError(f"noise must be None, 'auto' or a positive finite hypervolume, got {noise!r}")


def log_hypervolume(X: np.ndarray) -> float:
    """Log of mclust's ``hypvol``: the smaller of two boxes around the data.

    The volume of the axis-aligned bounding box and that of the bounding box along the principal axes;
    the second is much smaller for correlated data.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    float
        ``log V``.

    Raises
    ------
    ValueError
        When the data have no extent along some direction (the box has zero volume).
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scores = centred @ np.linalg.svd(centred, full_matrices=False)[2].T  # coordinates on the principal axes
    with np.errstate(divide="ignore"):
        log_volume = min(float(np.sum(np.log(np.ptp(X, axis=0)))), float(np.sum(np.log(np.ptp(scores, axis=0)))))
    if scores.shape[1] < X.shape[1] or not np.isfinite(log_volume):
        raise ValueError(
            "noise='auto' needs data with positive extent in every direction (the bounding box has zero "
            "volume); give the noise volume as a number instead"
        )
    return log_volume


def noise_log_volume(noise, X: np.ndarray, sample_weight: np.ndarray) -> float:
    """``log V`` for the ``noise`` parameter: the given volume, or the hypervolume of the rows with weight."""
    if isinstance(noise, str):
        return log_hypervolume(X[sample_weight > 0])
    return float(np.log(noise))
