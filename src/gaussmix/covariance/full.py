"""'full': each component has its own unconstrained covariance matrix (mclust's VVV)."""

from __future__ import annotations

import functools

import numpy as np
import scipy  # scipy.linalg (a quarter of a second) loads on first use, not with the CLI's --help

from .. import _numba
from ..stats import SufficientStatistics
from ._base import KERNEL_BLOCK_ROWS, LOG_2PI, CovarianceStructure, lower_to_symmetric, run_kernel
from ._variational import WishartPosterior

__all__ = ["Full", "invalid_matrix_factors", "matrix_cholesky_of_precisions", "matrix_precisions_cholesky_from_precisions",
           "matrix_covariances_from_precisions_cholesky"]


@functools.cache
def _trtri():
    return scipy.linalg.get_lapack_funcs("trtri", (np.empty((1, 1)),))


def _triangular_inverses(factors: np.ndarray, lower: bool) -> np.ndarray:
    """Inverses of a stack of non-singular triangular matrices by LAPACK ``trtri``.

    One small LAPACK call per component: on the small matrices of a mixture this is 3-20x faster than a
    batched ``solve_triangular`` against the identity (same result), whose wrapper and BLAS thread
    wake-ups dominate (2.7 ms per 2 x 2 call inside a fit).
    """
    inverses = np.empty_like(factors)
    for k, factor in enumerate(factors):
        inverses[k], info = _trtri()(factor, lower=int(lower))
        if info != 0:
            raise scipy.linalg.LinAlgError(f"singular triangular factor (LAPACK trtri info={info})")
    return inverses


def matrix_cholesky_of_precisions(covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangular ``U_k = L_k^{-T}`` (``Sigma_k = L_k L_k^T``) for a stack (K, d, d).

    ``precision_k = U_k U_k^T``. Singular matrices are flagged and get an identity placeholder. The
    whole stack is factored in one batched call; only when that fails does a per-component loop find
    which components are singular.
    """
    n_components, n_features, _ = covariances.shape
    if _numba.AVAILABLE and covariances.dtype == np.float64 and np.isfinite(covariances).all():
        return _numba.precision_factors(np.ascontiguousarray(covariances))  # one call instead of 2K + 1
    singular = np.zeros(n_components, dtype=bool)
    try:
        if not np.all(np.isfinite(covariances)):
            raise np.linalg.LinAlgError("non-finite covariance")
        lower = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        lower = np.empty_like(covariances)
        for k, covariance in enumerate(covariances):
            try:
                if not np.all(np.isfinite(covariance)):
                    raise np.linalg.LinAlgError("non-finite covariance")
                lower[k] = np.linalg.cholesky(covariance)
            except np.linalg.LinAlgError:
                singular[k] = True
                lower[k] = np.eye(n_features)
    factors = _triangular_inverses(lower, lower=True).transpose(0, 2, 1)
    return np.ascontiguousarray(factors), singular


def matrix_precisions_cholesky_from_precisions(precisions: np.ndarray) -> np.ndarray:
    """Upper-triangular ``U_k`` with ``P_k = U_k U_k^T`` for a stack of precision matrices (K, d, d).

    Factoring the row-and-column-reversed matrix and reversing back yields an upper factor.
    """
    factors = np.empty_like(precisions, dtype=np.float64)
    for k, precision in enumerate(precisions):
        if not np.allclose(precision, precision.T, rtol=1e-8, atol=1e-12 * np.abs(precision).max()):
            raise ValueError(f"precisions_init[{k}] is not symmetric")
        try:
            lower = scipy.linalg.cholesky(precision[::-1, ::-1], lower=True)
        except (scipy.linalg.LinAlgError, ValueError) as error:
            raise ValueError(
                f"precisions_init[{k}] is not symmetric positive definite ({error}); "
                "pass inverse covariance matrices"
            ) from None
        factors[k] = lower[::-1, ::-1]
    return factors


def matrix_covariances_from_precisions_cholesky(precisions_cholesky: np.ndarray) -> np.ndarray:
    """``Sigma_k = U_k^{-T} U_k^{-1}`` from the triangular inverses of the factors."""
    inverse_factors = _triangular_inverses(precisions_cholesky, lower=False)
    return inverse_factors.transpose(0, 2, 1) @ inverse_factors


def invalid_matrix_factors(precisions_cholesky: np.ndarray) -> str | None:
    """Why a stack of precision factors is not upper triangular with a positive diagonal (or None)."""
    if not np.all(np.tril(precisions_cholesky, -1) == 0):
        return "precisions_cholesky_ is not upper triangular"
    if not np.all(np.diagonal(precisions_cholesky, axis1=-2, axis2=-1) > 0):
        return "precisions_cholesky_ has a non-positive diagonal (not positive definite)"
    return None


WHITENED_BLOCK = 2**20
"""Numbers in one block of whitened residuals in the NumPy path (8 MB in float64)."""


@functools.lru_cache(maxsize=64)
def panel_bounds(n_features: int) -> np.ndarray:
    """Coordinate panels of the compiled whitening (see :func:`gaussmix._numba.estep.full_statistics`):
    one per 8 features, at most four, as equal as possible. (Cached: asked for at every E-step; read only.)"""
    n_panels = int(np.clip(n_features // 8, 1, 4))
    bounds = np.round(np.linspace(0, n_features, n_panels + 1)).astype(np.int64)
    bounds.setflags(write=False)
    return bounds


def components_per_group(n_components: int, n_features: int, block_rows: int = KERNEL_BLOCK_ROWS,
                         cache_bytes: int = 512 * 2**10) -> int:
    """Components whitened per GEMM in the compiled kernel: their ``d x block_rows`` coordinates fill
    about ``cache_bytes``, a core's L2 cache (fewer, larger GEMMs; measured best among 192 KB to all K at
    once for the benchmark shapes)."""
    return max(1, min(cache_bytes // (8 * n_features * block_rows), n_components))  # (np.clip: 18 us a call)


def pack_factors(precisions_cholesky: np.ndarray, bounds: np.ndarray, group: int, dtype) -> np.ndarray:
    """The precision factors laid out for :func:`gaussmix._numba.estep.full_statistics`, one flat array.

    For each group of ``group`` components, then each panel ``[s, e)`` of coordinates, the matrix of
    shape (members * (e - s), e) whose row ``g * (e - s) + j`` is ``U_k[:e, s + j]``: the zeros of the
    upper-triangular ``U_k`` below row ``e`` are left out.
    """
    n_components = precisions_cholesky.shape[0]
    pieces = []
    for first in range(0, n_components, group):
        members = precisions_cholesky[first:first + group]
        for start, end in zip(bounds[:-1], bounds[1:]):
            # (members, e, width) -> (members, width, e) -> rows (g, j), columns i
            pieces.append(members[:, :end, start:end].transpose(0, 2, 1).reshape(-1))
    return np.ascontiguousarray(np.concatenate(pieces), dtype=dtype)


@functools.lru_cache(maxsize=4)
def _full_kernel_arguments(structure, params, dtype) -> tuple:
    """The parameters in the layout of :func:`gaussmix._numba.estep.full_statistics`: computed once per
    E-step (every chunk of a pass shares ``params``; the cache holds the last few)."""
    n_components, n_features = params.means.shape
    bounds = panel_bounds(n_features)
    group = components_per_group(n_components, n_features)
    if type(structure).log_weighted_constants is CovarianceStructure.log_weighted_constants:
        # One compiled call instead of a dozen small NumPy ones (the same numbers, to rounding).
        packed, whitened_means, log_constants = _numba.full_kernel_arguments(
            params.precisions_cholesky, params.means, params.weights, bounds, group, -0.5 * n_features * LOG_2PI)
        return packed.astype(dtype, copy=False), bounds, group, whitened_means, log_constants
    packed = pack_factors(params.precisions_cholesky, bounds, group, dtype)
    whitened_means = np.einsum("kd,kde->ke", params.means, params.precisions_cholesky)
    return packed, bounds, group, whitened_means, structure.log_weighted_constants(params)


class Full(WishartPosterior, CovarianceStructure):
    """One full covariance matrix per component; shape (n_components, n_features, n_features)."""

    name = "full"
    sklearn_name = "full"
    variational = True

    def covariance_shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        # The whitened residuals take K * d numbers per row: rows are taken in sub-blocks of at most
        # WHITENED_BLOCK numbers so that they stay bounded whatever the chunk size.
        n_components, n_features = means.shape
        rows_per_block = max(1, WHITENED_BLOCK // (n_components * n_features))
        if X.shape[0] <= rows_per_block:
            return self._squared_mahalanobis_block(X, means, precisions_cholesky)
        return np.concatenate([self._squared_mahalanobis_block(X[start:start + rows_per_block], means,
                                                               precisions_cholesky)
                               for start in range(0, X.shape[0], rows_per_block)])

    def _squared_mahalanobis_block(self, X, means, precisions_cholesky):
        n_components, n_features = means.shape
        n_rows = X.shape[0]
        # One GEMM whitens the rows for all components at once:
        #   [X 1] @ [[U_1 ... U_K], [-m_1 U_1 ... -m_K U_K]] = [(X - m_1) U_1 ... (X - m_K) U_K],
        # the ones column folding the mean subtraction into the GEMM instead of a pass over n x K x d.
        augmented = np.empty((n_rows, n_features + 1), dtype=X.dtype)
        augmented[:, :n_features] = X
        augmented[:, n_features] = 1.0
        factors = np.empty((n_features + 1, n_components * n_features), dtype=X.dtype)
        factors[:n_features] = precisions_cholesky.transpose(1, 0, 2).reshape(n_features, -1)
        factors[n_features] = -np.einsum("kd,kde->ke", means, precisions_cholesky).reshape(-1)
        whitened = (augmented @ factors).reshape(n_rows, n_components, n_features)
        return np.einsum("nkd,nkd->nk", whitened, whitened)

    def log_det_precision_cholesky(self, precisions_cholesky, n_components, n_features):
        return np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)

    def fused_statistics(self, chunk, sample_weight, params, offset=None):
        if not _numba.AVAILABLE:
            return None
        log_likelihood, counts, sums, scatter = run_kernel(_numba.full_statistics, chunk, offset, sample_weight, params.means,
                                                           *_full_kernel_arguments(self, params, chunk.dtype))
        return SufficientStatistics(float(np.sum(sample_weight)), log_likelihood, counts, sums,
                                    lower_to_symmetric(scatter, params.n_features))

    def scatter(self, X, responsibilities, sample_weight, means):
        # Per component, sqrt(w gamma_k) (x - m_k) in one reused buffer and a symmetric rank-k update
        # (SYRK: half the flops of a GEMM). Moments are exact about each reference mean: no cancellation.
        n_features = X.shape[1]
        root_weights = np.sqrt(responsibilities * sample_weight[:, None]).astype(X.dtype, copy=False)
        residual = np.empty_like(X)
        syrk = scipy.linalg.get_blas_funcs("syrk", (residual,))
        scatter = np.empty((means.shape[0], n_features, n_features))
        upper = np.triu_indices(n_features, 1)
        for k, mean in enumerate(means):
            np.subtract(X, mean, out=residual)
            residual *= root_weights[:, k, None]
            # A C-ordered (n, d) array is a Fortran-ordered (d, n) one: syrk(a) = a a^T = residual^T residual.
            scatter[k] = syrk(1.0, residual.T, trans=0, lower=0)
        scatter[:, upper[1], upper[0]] = scatter[:, upper[0], upper[1]]  # SYRK fills the upper triangle
        return scatter

    def estimate_covariances(self, scatter, counts, shifts, reg_covar):
        safe_counts = np.where(counts > 0, counts, 1.0)
        covariances = scatter / safe_counts[:, None, None] - shifts[:, :, None] * shifts[:, None, :]
        # Symmetrise (rounding in the GEMM can break exact symmetry) and regularise.
        covariances = 0.5 * (covariances + covariances.transpose(0, 2, 1))
        covariances += reg_covar * np.eye(scatter.shape[1])
        return covariances

    def cholesky_of_precisions(self, covariances):
        return matrix_cholesky_of_precisions(covariances)

    def precisions_cholesky_from_precisions(self, precisions):
        return matrix_precisions_cholesky_from_precisions(precisions)

    def covariances_from_precisions_cholesky(self, precisions_cholesky):
        return matrix_covariances_from_precisions_cholesky(precisions_cholesky)

    def precisions_from_precisions_cholesky(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.transpose(0, 2, 1)

    def invalid_precisions_cholesky(self, precisions_cholesky):
        return invalid_matrix_factors(precisions_cholesky)

    def dense_covariances(self, covariances, n_components, n_features):
        return covariances
