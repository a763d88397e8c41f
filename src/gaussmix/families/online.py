"""Stepwise (online) EM: a running average of sufficient statistics, one M-step per batch.

Batch EM alternates ``stats = E[stats | params]`` over all data and ``params = M(stats)``. Stepwise EM
(Sato & Ishii 2000; Cappé & Moulines 2009; Liang & Klein 2009) sees the data one batch at a time and keeps
a running average of *per-unit-weight* statistics::

    s_t = (1 - eta_t) s_{t-1} + eta_t s(batch_t | params_{t-1}),      params_t = M(s_t)

with step sizes ``eta_t = (t + learning_offset) ** -learning_decay``. For ``0.5 < learning_decay <= 1`` the
steps satisfy Robbins-Monro (``sum eta = inf``, ``sum eta^2 < inf``) and the parameters converge to a
stationary point of the expected log-likelihood; ``learning_decay = 1, learning_offset = 1`` gives
``eta_t = 1 / (t + 1)``, an equal-weight average of all batches.

Statistics are always kept about the current means (as in batch EM, so nothing is lost to cancellation):
after each M-step the running average is re-centred on the new means (:func:`recentred`).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cholesky

from ..covariance import CovarianceStructure
from ..params import MixtureParams
from ..stats import SufficientStatistics

__all__ = ["step_size", "recentred", "expected_statistics", "stepwise_average"]


def step_size(step: int, learning_decay: float, learning_offset: float) -> float:
    """``eta_t = (t + learning_offset) ** -learning_decay`` for the ``t``-th batch after the first (t >= 1)."""
    return float((step + learning_offset) ** -learning_decay)


def _outer_product_scatter(rows: np.ndarray, weights: np.ndarray, structure: CovarianceStructure) -> np.ndarray:
    """``sum_j weights_kj rows_kj rows_kj^T`` for every component ``k``, in the structure's scatter shape.

    ``rows`` has shape (n_components, n_rows, n_features) and ``weights`` (n_components, n_rows), all
    non-negative. Every structure's scatter is a linear image of per-component sums of outer products, so
    feeding these pseudo-rows with one-hot responsibilities through the structure's own :meth:`scatter`
    projects such a sum without structure-specific code.
    """
    n_components, n_rows, n_features = rows.shape
    responsibilities = np.repeat(np.eye(n_components), n_rows, axis=0)
    zero_means = np.zeros((n_components, n_features))
    return structure.scatter(rows.reshape(-1, n_features), responsibilities, weights.reshape(-1), zero_means)


def recentred(stats: SufficientStatistics, shifts: np.ndarray, structure: CovarianceStructure) -> SufficientStatistics:
    """The same statistics taken about means moved by ``shifts`` (new reference minus old), shape (K, d).

    With ``s_k = sum r (x - m_k)`` and ``delta_k`` the shift, the scatter about ``m_k + delta_k`` is
    ``S_k - s_k delta_k^T - delta_k s_k^T + N_k delta_k delta_k^T
    = S_k + N_k u_k u_k^T - s_k s_k^T / N_k`` with ``u_k = delta_k - s_k / N_k``: two outer products
    per component, projected by :func:`_outer_product_scatter`. When the new means are the statistics'
    own weighted means (after an M-step) ``u_k = 0`` and this is the familiar ``S_k - N_k delta_k delta_k^T``.
    """
    counts = stats.counts
    occupied = counts > 0
    safe_counts = np.where(occupied, counts, 1.0)
    own_shift = np.where(occupied[:, None], stats.sums / safe_counts[:, None], 0.0)
    added = _outer_product_scatter((shifts - own_shift)[:, None, :], counts[:, None], structure)
    removed = _outer_product_scatter(own_shift[:, None, :], counts[:, None], structure)
    return SufficientStatistics(stats.weight_sum, stats.log_likelihood, counts.copy(),
                                stats.sums - counts[:, None] * shifts, stats.scatter + added - removed)


def expected_statistics(params: MixtureParams, structure: CovarianceStructure) -> SufficientStatistics:
    """Per-unit-weight statistics the model expects of its own data, about its own means.

    Counts are the weights, sums are zero and the scatter is ``pi_k Sigma_k`` in the structure's shape
    (``Sigma_k = L L^T`` enters as the outer products of the columns of ``L``). An M-step from these
    returns ``params`` (up to ``reg_covar``); stepwise EM starts from them when a model fitted by ``fit``
    continues with ``partial_fit``. The log-likelihood entry is 0 (unknown).
    """
    n_components, n_features = params.means.shape
    dense = structure.dense_covariances(params.covariances, n_components, n_features)
    factors = np.stack([cholesky(covariance, lower=True) for covariance in dense])
    columns = factors.transpose(0, 2, 1)  # (K, d, d): the columns of each L_k as rows
    scatter = _outer_product_scatter(columns, np.repeat(params.weights[:, None], n_features, axis=1), structure)
    return SufficientStatistics(1.0, 0.0, params.weights.astype(np.float64, copy=True),
                                np.zeros((n_components, n_features)), scatter)


def stepwise_average(running: SufficientStatistics, batch: SufficientStatistics, eta: float) -> SufficientStatistics:
    """``(1 - eta) running + eta batch`` with both normalised to unit weight first."""
    return running.scaled((1.0 - eta) / running.weight_sum) + batch.scaled(eta / batch.weight_sum)
