"""A uniform background ("noise") component for outliers: mclust's Poisson noise.

The mixture density becomes

    p(x) = pi_0 / V + sum_k pi_k N(x | mu_k, Sigma_k),      pi_0 + sum_k pi_k = 1

where ``V`` is the hypervolume of the data region, held fixed. EM treats the noise as one more
component with constant density ``1/V``: the E-step appends a column ``log pi_0 - log V`` to the
log-probabilities (:func:`gaussmix.families.em.weighted_log_density`), the M-step re-estimates ``pi_0`` with
the other weights, and means and covariances use only the Gaussian components' responsibilities.
Points far from every Gaussian are explained by the noise instead of inflating a covariance.
The noise weight adds one free parameter to BIC and AIC (as in mclust's ``nMclustParams(noise=TRUE)``).

**Missing values.** A row that observes only the coordinates ``o`` needs the noise density of ``x_o`` alone,
the marginal of the uniform density over the region. For an axis-aligned box ``B = prod_j [a_j, b_j]`` with
sides ``r_j = b_j - a_j`` the marginal is uniform on the projected box (integrate out the missing sides)::

    p_0(x_o) = int prod_{j in m} dx_j / prod_j r_j = prod_{j in m} r_j / prod_j r_j = 1 / prod_{j in o} r_j

so a row observing ``o`` gets ``-log V_o = -sum_{j in o} log r_j``: the noise of Banfield & Raftery (1993,
Biometrics 49:803-821), uniform on the data's region, seen through the observed coordinates only. For any other region (e.g.
mclust's box along the principal axes) the marginal is not uniform, which is why data with missing values use
the axis-aligned box of the observed values: :class:`NoiseBox` and :func:`noise_box`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["NOISE_INITIAL_WEIGHT", "NoiseBox", "check_noise", "log_hypervolume", "noise_box", "noise_log_volume",
           "observed_log_ranges"]

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


# ------------------------------------------------------------------------------------------- missing values
@dataclass(frozen=True, eq=False)
class NoiseBox:
    """A uniform noise component on an axis-aligned box, which can score rows with missing coordinates.

    Attributes
    ----------
    log_sides : ndarray of shape (n_features,)
        ``log r_j``, the log side lengths of the box.

    Examples
    --------
    >>> box = NoiseBox(np.log([2.0, 5.0, 10.0]))
    >>> bool(np.isclose(box.log_density(np.array([True, False, True])), -np.log(2.0 * 10.0)))
    True
    """

    log_sides: np.ndarray

    @property
    def log_volume(self) -> float:
        """``log V = sum_j log r_j``: the noise density of a complete row is ``-log V``."""
        return float(np.sum(self.log_sides))

    def log_density(self, observed: np.ndarray) -> float:
        """``-sum_{j in o} log r_j``: the noise log-density of a row observing the features ``observed``.

        Parameters
        ----------
        observed : ndarray of bool, shape (n_features,)
        """
        return -float(np.sum(self.log_sides[np.asarray(observed, dtype=bool)]))


class _Extent:
    """Per-feature smallest and largest observed value (NaN ignored); ``+`` merges two, so that an engine's
    ``reduce`` (which adds chunk results) finds the extent of all the data in one pass."""

    def __init__(self, low: np.ndarray, high: np.ndarray):
        self.low, self.high = low, high

    @classmethod
    def of(cls, chunk: np.ndarray, weights: np.ndarray) -> "_Extent":
        rows = np.asarray(chunk[weights > 0], dtype=np.float64)  # rows without weight are not data (as in hypvol)
        with np.errstate(invalid="ignore"):
            low = np.where(np.isnan(rows), np.inf, rows).min(axis=0, initial=np.inf)
            high = np.where(np.isnan(rows), -np.inf, rows).max(axis=0, initial=-np.inf)
        return cls(low, high)

    def __add__(self, other: "_Extent") -> "_Extent":
        return _Extent(np.minimum(self.low, other.low), np.maximum(self.high, other.high))


def observed_log_ranges(engine) -> np.ndarray:
    """``log(max - min)`` of each feature over its observed values (rows with positive weight), shape (n_features,).

    The per-coordinate ranges of mclust's ``hypvol`` (its axis-aligned box), with NaN ignored; one pass over any
    engine (ranges do not depend on the engine's centring offset, up to rounding).

    Raises
    ------
    ValueError
        When a feature has no extent (a single observed value, or none): the box has zero volume.
    """
    extent = engine.reduce(_Extent.of)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_ranges = np.log(extent.high - extent.low)
    flat = np.flatnonzero(~np.isfinite(log_ranges))
    if flat.size:
        raise ValueError(
            f"a noise component needs data with positive extent along every feature; feature(s) "
            f"{flat[:10].tolist()} have a single observed value (the box has zero volume)"
        )
    return log_ranges


def noise_box(noise, engine) -> NoiseBox:
    """The box of a noise component for data with missing values.

    ``noise='auto'``: the box spanned by each feature's observed values (mclust's axis-aligned ``hypvol`` box;
    its principal-axes box is not used, as the marginals of a uniform density on it are not uniform). A number
    ``V``: the same box scaled by one factor along every side to volume ``V`` (its shape follows the data's
    ranges, its volume is the one given), ``log r_j = log range_j + (log V - sum_i log range_i) / d``.

    Parameters
    ----------
    noise : 'auto' or float
    engine
        Any engine over the data (see :mod:`gaussmix.engines`).
    """
    log_sides = observed_log_ranges(engine)
    if not isinstance(noise, str):
        log_sides = log_sides + (float(np.log(noise)) - float(np.sum(log_sides))) / log_sides.size
    return NoiseBox(log_sides)
