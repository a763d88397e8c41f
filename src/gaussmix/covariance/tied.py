"""'tied': all components share one full covariance matrix (mclust's EEE)."""

from __future__ import annotations

import functools

import numpy as np

from .. import _numba
from ..stats import SufficientStatistics
from ._base import CovarianceStructure, lower_to_symmetric, run_kernel
from ._variational import WishartPosterior
from .full import (invalid_matrix_factors, matrix_cholesky_of_precisions, matrix_covariances_from_precisions_cholesky,
                   matrix_precisions_cholesky_from_precisions)

__all__ = ["Tied"]


def _combine_scatter(within: np.ndarray, co_membership: np.ndarray, means: np.ndarray) -> np.ndarray:
    """The tied scatter from its two pieces (see :meth:`Tied.scatter`): ``within`` (d, d) plus
    ``M^T L M`` with ``L`` the Laplacian of the co-membership weights ``C_jk`` (K, K), j != k."""
    co_membership = co_membership.copy()
    np.fill_diagonal(co_membership, 0.0)
    laplacian = np.diag(co_membership.sum(axis=1)) - co_membership
    return within + means.T @ laplacian @ means


@functools.lru_cache(maxsize=4)
def _tied_kernel_arguments(structure, params, dtype) -> tuple:
    """The parameters in the layout of :func:`gaussmix._numba.estep.tied_statistics`, once per E-step."""
    factor = params.precisions_cholesky
    return (np.ascontiguousarray(factor.T, dtype=dtype), params.means @ factor,
            structure.log_weighted_constants(params))


class Tied(WishartPosterior, CovarianceStructure):
    """One covariance matrix shared by every component; shape (n_features, n_features)."""

    name = "tied"
    sklearn_name = "tied"
    variational = True  # one Wishart shared by all components, each with its own beta_k (scikit-learn's)
    shared = True
    equal_covariances = True

    def covariance_shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        # A single whitening GEMM serves every component: y = U^T x, then squared distances.
        factor = precisions_cholesky.astype(X.dtype, copy=False)
        whitened = X @ factor
        whitened_means = means.astype(X.dtype, copy=False) @ factor
        distances = whitened @ (-2.0 * whitened_means.T)
        distances += np.einsum("ij,ij->i", whitened, whitened)[:, None]
        distances += np.einsum("ij,ij->i", whitened_means, whitened_means)
        return np.maximum(distances, 0.0, out=distances)

    def log_det_precision_cholesky(self, precisions_cholesky, n_components, n_features):
        return np.full(n_components, np.log(np.diagonal(precisions_cholesky)).sum())

    def scatter(self, X, responsibilities, sample_weight, means):
        # sum_k gamma_k (x - m_k)(x - m_k)^T = (x - c)(x - c)^T + sum_{j<k} gamma_j gamma_k (m_j - m_k)(m_j - m_k)^T
        # with c = sum_k gamma_k m_k. Both terms are sums of positive semi-definite pieces, so no
        # cancellation, and the cost is one n x d x d GEMM instead of K of them.
        dtype = X.dtype
        weights = sample_weight.astype(dtype, copy=False)[:, None]
        responsibilities = responsibilities.astype(dtype, copy=False)
        residual = X - responsibilities @ means.astype(dtype, copy=False)
        within = np.asarray((residual * weights).T @ residual, dtype=np.float64)
        co_membership = np.asarray(responsibilities.T @ (responsibilities * weights), dtype=np.float64)
        return _combine_scatter(within, co_membership, means)

    def fused_statistics(self, chunk, sample_weight, params, offset=None):
        if not _numba.AVAILABLE:
            return None
        log_likelihood, counts, sums, within, co_membership = run_kernel(
            _numba.tied_statistics, chunk, offset, sample_weight, params.means, *_tied_kernel_arguments(self, params, chunk.dtype))
        scatter = _combine_scatter(lower_to_symmetric(within, params.n_features),
                                   lower_to_symmetric(co_membership, params.n_components), params.means)
        return SufficientStatistics(float(np.sum(sample_weight)), log_likelihood, counts, sums, scatter)

    def estimate_covariances(self, scatter, counts, shifts, reg_covar):
        between_shift = (shifts * counts[:, None]).T @ shifts
        covariance = (scatter - between_shift) / counts.sum()
        covariance = 0.5 * (covariance + covariance.T)
        covariance += reg_covar * np.eye(scatter.shape[0])
        return covariance

    def cholesky_of_precisions(self, covariances):
        factors, singular = matrix_cholesky_of_precisions(covariances[None])
        return factors[0], singular

    def precisions_cholesky_from_precisions(self, precisions):
        return matrix_precisions_cholesky_from_precisions(precisions[None])[0]

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return matrix_covariances_from_precisions_cholesky(precisions_cholesky[None])[0]

    def precisions_from_precisions_cholesky(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    def invalid_precisions_cholesky(self, precisions_cholesky):
        return invalid_matrix_factors(precisions_cholesky)

    def dense_covariances(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components,) + covariances.shape)
