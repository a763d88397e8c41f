"""'diag': each component has its own diagonal covariance (mclust's VVI)."""

from __future__ import annotations

import numpy as np

from .. import _numba
from ..stats import SufficientStatistics
from ._base import CovarianceStructure, run_kernel
from ._variational import checked_array, student_t_log_normaliser

__all__ = ["Diag", "axis_aligned_collapsed", "diagonal_scatter", "precision_kernel_statistics",
           "variance_cholesky_of_precisions"]


def diagonal_scatter(X, responsibilities, sample_weight, means):
    """``sum_n w_n gamma_nk (x_nj - m_kj)^2``, shape (n_components, n_features), by three GEMMs.

    Expanding the square costs relative precision ``eps * |x|^2 / var``; the data are centred by the
    engine, so that ratio is bounded by the spread of the clusters, not by the data's offset.
    """
    weighted = (responsibilities * sample_weight[:, None]).astype(X.dtype, copy=False)
    counts = weighted.sum(axis=0, dtype=np.float64)
    scatter = np.asarray(weighted.T @ (X * X), dtype=np.float64)
    scatter -= 2.0 * means * (weighted.T @ X)
    scatter += counts[:, None] * means * means
    return scatter


def variance_cholesky_of_precisions(variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``1 / sqrt(variance)`` per entry; a component with a non-positive or non-finite variance is singular."""
    bad = ~(np.isfinite(variances) & (variances > 0))
    singular = bad.reshape(bad.shape[0], -1).any(axis=1)
    factors = 1.0 / np.sqrt(np.where(bad, 1.0, variances))
    return factors, singular


def _positive_sqrt(precisions: np.ndarray) -> np.ndarray:
    precisions = np.asarray(precisions, dtype=np.float64)
    if not np.all(np.isfinite(precisions) & (precisions > 0)):
        raise ValueError("precisions_init must be finite and strictly positive")
    return np.sqrt(precisions)


class Diag(CovarianceStructure):
    """A vector of variances per component; shape (n_components, n_features)."""

    name = "diag"
    sklearn_name = "diag"
    variational = True  # scikit-learn's Wishart formulas applied to the diagonal of the scale

    def covariance_shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        precisions = precisions_cholesky**2
        distances = (X * X) @ precisions.T.astype(X.dtype)
        distances -= 2.0 * (X @ (means * precisions).T.astype(X.dtype))
        distances += np.einsum("ij,ij->i", means * means, precisions)
        return np.maximum(distances, 0.0, out=distances)

    def log_det_precision_cholesky(self, precisions_cholesky, n_components, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    def fused_statistics(self, chunk, sample_weight, params, offset=None):
        return precision_kernel_statistics(self, "diag_statistics", chunk, sample_weight, params, offset)

    def scatter(self, X, responsibilities, sample_weight, means):
        return diagonal_scatter(X, responsibilities, sample_weight, means)

    def estimate_covariances(self, scatter, counts, shifts, reg_covar):
        safe_counts = np.where(counts > 0, counts, 1.0)
        return scatter / safe_counts[:, None] - shifts * shifts + reg_covar

    def cholesky_of_precisions(self, covariances):
        return variance_cholesky_of_precisions(covariances)

    def precisions_cholesky_from_precisions(self, precisions):
        return _positive_sqrt(precisions)

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return 1.0 / precisions_cholesky**2

    def precisions_from_precisions_cholesky(self, precisions_cholesky):
        return precisions_cholesky**2

    def dense_covariances(self, covariances, n_components, n_features):
        return np.einsum("kd,de->kde", covariances, np.eye(covariances.shape[1]))

    def collapsed(self, covariances, variance_floor, reg_covar=0.0):
        return axis_aligned_collapsed(covariances, variance_floor, reg_covar)

    def checked_covariance_prior(self, value, n_features):
        self._require_variational()
        vector = checked_array("covariance_prior", value, (n_features,))
        if np.any(vector <= 0):
            raise ValueError("'diag covariance_prior' should be positive")
        return vector

    def predictive_log_density(self, X, means, precisions_cholesky, mean_precision, degrees_of_freedom):
        """The posterior predictive of each component, shape (n_samples, n_components): a product of univariate t's.

        The Wishart with a diagonal scale is not closed under the structure, so each feature's precision gets
        the Wishart's diagonal marginal ``Gamma(nu_k / 2, rate nu_k C_kj / 2)``, independent across features:
        feature j contributes a univariate t with ``nu_k`` degrees of freedom and scale
        ``(1 + beta_k) / beta_k C_kj`` (closed form, but not a multivariate t).
        """
        self._require_variational()
        n_features = X.shape[1]
        dof = degrees_of_freedom
        inflation = (1.0 + mean_precision) / mean_precision  # Sigma^t = inflation * C, per feature
        precisions = precisions_cholesky**2
        residual = X[:, None, :] - means[None, :, :]
        standardised = residual**2 * precisions[None] / (inflation * dof)[None, :, None]
        log_density = (-0.5 * (dof + 1.0))[None, :] * np.log1p(standardised).sum(axis=2)
        log_density += n_features * (student_t_log_normaliser(dof, 1) - 0.5 * np.log(inflation))
        log_density += np.log(precisions_cholesky).sum(axis=1)
        return log_density


def axis_aligned_collapsed(variances: np.ndarray, variance_floor: np.ndarray, reg_covar: float = 0.0) -> np.ndarray:
    """:meth:`CovarianceStructure.collapsed` for axis-aligned covariances, shape (n_components,).

    ``variances`` (K, d) for 'diag' or (K,) for 'spherical' are the eigenvalues already: a component has
    collapsed when some ``variance_i / floor_i < 1`` (features with a zero floor left out), with no
    dense K x d x d matrices and no eigen-decomposition.
    """
    variances = np.asarray(variances, dtype=np.float64) - reg_covar
    below = (variances[:, None] if variances.ndim == 1 else variances) < variance_floor  # (K, d)
    below &= variance_floor > 0
    return below.any(axis=1)


def precision_kernel_statistics(structure: CovarianceStructure, kernel_name: str, chunk: np.ndarray,
                                sample_weight: np.ndarray, params, offset: np.ndarray | None):
    """The compiled E-step of the axis-aligned structures ('diag', 'spherical'), or None without numba.

    Their kernels (:mod:`gaussmix._numba.estep`) take the precisions ``U**2`` (shape (K, d) or (K,))
    and return the structure's own scatter.
    """
    if not _numba.AVAILABLE:
        return None
    log_likelihood, counts, sums, scatter = run_kernel(
        getattr(_numba, kernel_name), chunk, offset, sample_weight, params.means, params.precisions_cholesky**2,
        structure.log_weighted_constants(params))
    return SufficientStatistics(float(np.sum(sample_weight)), log_likelihood, counts, sums, scatter)
