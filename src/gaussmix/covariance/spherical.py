"""'spherical': each component has one variance, ``sigma_k^2 I`` (mclust's VII)."""

from __future__ import annotations

import numpy as np

from ._base import CovarianceStructure
from ._variational import is_positive_number
from .diag import (_positive_sqrt, axis_aligned_collapsed, diagonal_scatter, precision_kernel_statistics,
                   variance_cholesky_of_precisions)

__all__ = ["Spherical"]


class Spherical(CovarianceStructure):
    """One variance per component; shape (n_components,)."""

    name = "spherical"
    sklearn_name = "spherical"
    variational = True  # one precision per component with a Gamma posterior (scikit-learn's Wishart formulas)

    def covariance_shape(self, n_components, n_features):
        return (n_components,)

    def n_parameters(self, n_components, n_features):
        return n_components

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        distances = X @ (-2.0 * means.T).astype(X.dtype)
        distances += np.einsum("ij,ij->i", X, X)[:, None]
        distances += np.einsum("ij,ij->i", means, means)
        np.maximum(distances, 0.0, out=distances)
        distances *= precisions_cholesky**2
        return distances

    def log_det_precision_cholesky(self, precisions_cholesky, n_components, n_features):
        return n_features * np.log(precisions_cholesky)

    def fused_statistics(self, chunk, sample_weight, params, offset=None):
        return precision_kernel_statistics(self, "spherical_statistics", chunk, sample_weight, params, offset)

    def scatter(self, X, responsibilities, sample_weight, means):
        return diagonal_scatter(X, responsibilities, sample_weight, means).sum(axis=1)

    def estimate_covariances(self, scatter, counts, shifts, reg_covar):
        safe_counts = np.where(counts > 0, counts, 1.0)
        n_features = shifts.shape[1]
        return (scatter / safe_counts - np.einsum("kd,kd->k", shifts, shifts)) / n_features + reg_covar

    def cholesky_of_precisions(self, covariances):
        return variance_cholesky_of_precisions(covariances)

    def precisions_cholesky_from_precisions(self, precisions):
        return _positive_sqrt(precisions)

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return 1.0 / precisions_cholesky**2

    def precisions_from_precisions_cholesky(self, precisions_cholesky):
        return precisions_cholesky**2

    def dense_covariances(self, covariances, n_components, n_features):
        return covariances[:, None, None] * np.eye(n_features)

    def collapsed(self, covariances, variance_floor, reg_covar=0.0):
        return axis_aligned_collapsed(covariances, variance_floor, reg_covar)

    def checked_covariance_prior(self, value, n_features):
        self._require_variational()
        if not is_positive_number(value):
            raise ValueError(f"The parameter 'covariance_prior' must be a strictly positive number for 'spherical', "
                             f"got {value!r}")
        return float(value)

    def predictive_degrees_of_freedom(self, degrees_of_freedom, n_features):
        # lambda_k ~ Gamma(nu_k / 2, rate nu_k C_k / 2) with mu_k | lambda_k ~ N(m_k, I / (beta_k lambda_k)):
        # a multivariate t with nu_k degrees of freedom (no d x d Wishart to lose any to).
        self._require_variational()
        return degrees_of_freedom
