"""Sufficient statistics of one E-step: the seam between data, E-step and M-step.

Statistics are computed under fixed parameters and are *additive over rows*: the statistics of the union
of two chunks equal the sum of the statistics of each chunk, provided both were computed under the same
parameters. Every engine (in memory, out of core, distributed) relies on that property alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SufficientStatistics"]


@dataclass(frozen=True, eq=False)
class SufficientStatistics:
    """Weighted moments of the data under the responsibilities of fixed parameters.

    All moments are taken about the *reference means* ``m_k`` (the means of the parameters that produced
    them), which keeps them well conditioned and makes chunk statistics add exactly.

    Attributes
    ----------
    weight_sum : float
        Sum of sample weights, ``W = sum_n w_n``.
    log_likelihood : float
        ``sum_n w_n log p(x_n)`` under the parameters that produced these statistics.
    counts : ndarray of shape (n_components,)
        ``N_k = sum_n w_n gamma_nk``.
    sums : ndarray of shape (n_components, n_features)
        ``sum_n w_n gamma_nk (x_n - m_k)``.
    scatter : ndarray
        Second moments about ``m_k`` in the covariance structure's own shape, e.g.
        ``(n_components, n_features, n_features)`` for 'full', ``(n_features, n_features)`` for 'tied'.
    """

    weight_sum: float
    log_likelihood: float
    counts: np.ndarray
    sums: np.ndarray
    scatter: np.ndarray

    def __add__(self, other: "SufficientStatistics") -> "SufficientStatistics":
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        if self.sums.shape != other.sums.shape or self.scatter.shape != other.scatter.shape:
            raise ValueError("cannot add statistics of mixtures with different shapes")
        return SufficientStatistics(
            weight_sum=self.weight_sum + other.weight_sum,
            log_likelihood=self.log_likelihood + other.log_likelihood,
            counts=self.counts + other.counts,
            sums=self.sums + other.sums,
            scatter=self.scatter + other.scatter,
        )

    def __radd__(self, other):
        # Lets the built-in ``sum`` start from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    @classmethod
    def zero(cls, n_components: int, n_features: int, scatter_shape: tuple[int, ...]) -> "SufficientStatistics":
        """The neutral element: statistics of no rows."""
        return cls(
            weight_sum=0.0,
            log_likelihood=0.0,
            counts=np.zeros(n_components),
            sums=np.zeros((n_components, n_features)),
            scatter=np.zeros(scatter_shape),
        )

    def scaled(self, factor: float) -> "SufficientStatistics":
        """Every statistic multiplied by ``factor``: the statistics of the same rows with weights scaled."""
        return SufficientStatistics(self.weight_sum * factor, self.log_likelihood * factor, self.counts * factor,
                                    self.sums * factor, self.scatter * factor)

    @property
    def mean_log_likelihood(self) -> float:
        """Per-unit-weight log-likelihood, the quantity EM monitors (independent of n)."""
        return self.log_likelihood / self.weight_sum
