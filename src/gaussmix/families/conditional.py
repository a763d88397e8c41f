"""Gaussian conditioning, one component at a time: what the observed coordinates say about the others.

For a Gaussian ``N(mu, Sigma)`` split into observed coordinates ``o`` and the remaining ones ``m``::

    x_m | x_o  ~  N(mu_m + Sigma_mo Sigma_oo^{-1} (x_o - mu_o),  Sigma_mm - Sigma_mo Sigma_oo^{-1} Sigma_om)
    x_o        ~  N(mu_o, Sigma_oo)                                   (the marginal)

With the Cholesky factor ``Sigma_oo = L L^T``, ``z = L^{-1} (x_o - mu_o)`` and ``A = L^{-1} Sigma_om``
the conditional mean is ``mu_m + A^T z``, the conditional covariance ``Sigma_mm - A^T A`` and the
marginal log-density ``-0.5 (|o| log 2 pi + z^T z) - log det L``: solves with the factor, no inverse. Both the missing-value E-step (:mod:`gaussmix.families.missing`) and
:meth:`GaussianMixture.condition <gaussmix.GaussianMixture.condition>` are built on
:func:`condition_components`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..covariance._base import LOG_2PI
from ..engines.memory import _single_threaded_blas
from .em import _normalise_rows

__all__ = ["ComponentConditionals", "condition_components", "conditional_mixture_weights"]


@dataclass(frozen=True, eq=False)
class ComponentConditionals:
    """Every component of a mixture conditioned on the same observed coordinates.

    Attributes
    ----------
    log_marginal : ndarray of shape (n_rows, n_components)
        ``log N(x_o | mu_ko, Sigma_koo)``.
    means : ndarray of shape (n_rows, n_components, n_remaining)
        ``E[x_m | x_o, k]``.
    covariances : ndarray of shape (n_components, n_remaining, n_remaining)
        ``Cov[x_m | x_o, k]``; it does not depend on the values ``x_o``.
    squared_mahalanobis : ndarray of shape (n_rows, n_components)
        ``(x_o - mu_ko)^T Sigma_koo^{-1} (x_o - mu_ko)``.
    half_log_det : ndarray of shape (n_components,)
        ``0.5 log det Sigma_koo``.
    n_observed : int

    For Student-t components (scale ``Sigma_k``, ``nu_k`` degrees of freedom) the observed coordinates are t
    with the same ``nu_k`` and the conditional mean is the same; :meth:`student_t_log_marginal` gives their
    log-density.
    """

    log_marginal: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    squared_mahalanobis: np.ndarray | None = None
    half_log_det: np.ndarray | None = None
    n_observed: int = 0

    def student_t_log_marginal(self, dof: np.ndarray) -> np.ndarray:
        """``log t(x_o | mu_ko, Sigma_koo, nu_k)``, shape (n_rows, n_components) (-inf where unusable)."""
        from .em import student_t_log_density

        log_marginal = student_t_log_density(self.squared_mahalanobis, -self.half_log_det, dof, self.n_observed)
        return np.where(np.isfinite(self.log_marginal), log_marginal, -np.inf)


def condition_components(means: np.ndarray, covariances: np.ndarray, observed: np.ndarray,
                         values: np.ndarray) -> ComponentConditionals:
    """Condition each Gaussian component on the coordinates ``observed`` taking ``values``.

    Parameters
    ----------
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Dense, symmetric positive definite.
    observed : ndarray of bool, shape (n_features,)
        True for the coordinates that are given; the others are the remaining coordinates, in order.
    values : ndarray of shape (n_rows, n_observed)
        Observed values, one row per point, in the coordinate system of ``means``.

    Returns
    -------
    ComponentConditionals

    A component whose observed block ``Sigma_oo`` is not positive definite (rounding, for a nearly singular
    covariance) gets ``log_marginal = -inf``: it explains none of these rows.
    """
    observed = np.asarray(observed, dtype=bool)
    values = np.asarray(values, dtype=np.float64)
    # Many tiny triangular solves: woken BLAS threads cost ~100x the arithmetic on a busy machine
    # (13 ms instead of 0.1 ms per solve, measured), so BLAS runs single-threaded here.
    with _single_threaded_blas():
        return _condition(means, covariances, observed, values)


def _condition(means, covariances, observed, values) -> ComponentConditionals:
    remaining = ~observed
    n_rows, n_observed = values.shape
    cov_om = covariances[:, observed][:, :, remaining]
    cov_mm = covariances[:, remaining][:, :, remaining]
    # Batched over components; a principal block of a positive definite matrix is positive definite, except
    # where rounding decides it for a nearly singular one: such a component cannot explain these rows at all.
    blocks = covariances[:, observed][:, :, observed]
    try:
        lower, unusable = np.linalg.cholesky(blocks), None
    except np.linalg.LinAlgError:
        lower, unusable = _cholesky_or_identity(blocks)
    # One batched solve with L_k for all components and both right-hand sides, z = L^{-1} (x_o - mu_o) and
    # A = L^{-1} Sigma_om: a loop of per-component triangular solves spends ~20x longer in Python overhead
    # on the small blocks of a missingness pattern (LU on a triangular matrix costs the same O(o^3)).
    right = np.concatenate([(values[None] - means[:, None, observed]).transpose(0, 2, 1), cov_om], axis=2)
    solved = np.linalg.solve(lower, right)
    whitened, regression = solved[:, :, :n_rows], solved[:, :, n_rows:]  # (K, o, n), (K, o, m)
    log_det = np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
    log_marginal = -0.5 * (n_observed * LOG_2PI + np.einsum("kon,kon->nk", whitened, whitened)) - log_det
    conditional_means = means[None, :, remaining] + (whitened.transpose(0, 2, 1) @ regression).transpose(1, 0, 2)
    covariance = cov_mm - regression.transpose(0, 2, 1) @ regression
    conditional_covariances = 0.5 * (covariance + covariance.transpose(0, 2, 1))
    squared = np.einsum("kon,kon->nk", whitened, whitened)
    if unusable is not None:
        log_marginal[:, unusable] = -np.inf
    return ComponentConditionals(log_marginal, conditional_means, conditional_covariances, squared, log_det,
                                 n_observed)


def _cholesky_or_identity(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of the blocks that have one, the identity for the others, and which those are."""
    lower = np.empty_like(blocks)
    unusable = np.zeros(blocks.shape[0], dtype=bool)
    for k, block in enumerate(blocks):
        try:
            lower[k] = np.linalg.cholesky(block)
        except np.linalg.LinAlgError:
            lower[k], unusable[k] = np.eye(block.shape[0]), True
    return lower, unusable


def conditional_mixture_weights(log_weights: np.ndarray, log_marginal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior component weights ``p(k | x_o)`` and ``log p(x_o)``, in log space.

    Parameters
    ----------
    log_weights : ndarray of shape (n_components,)
        ``log pi_k`` (``-inf`` allowed for an empty component).
    log_marginal : ndarray of shape (n_rows, n_components)

    Returns
    -------
    weights : ndarray of shape (n_rows, n_components)
        Rows sum to one.
    log_density : ndarray of shape (n_rows,)

    Raises
    ------
    FloatingPointError
        If a row has zero density under every component.
    """
    weights = log_marginal + log_weights
    log_density = _normalise_rows(weights)  # in place: weights become p(k | x_o)
    return weights, log_density
