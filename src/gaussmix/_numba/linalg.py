"""Small dense linear algebra of every M-step, compiled: one call for a stack of K small matrices.

A mixture's covariances are K matrices of a few to a few dozen rows. NumPy and LAPACK wrappers cost
10-50 microseconds a call whatever the size, as much as a whole compiled E-step on a few hundred rows, and
a model-selection grid makes millions of them. These kernels loop over the stack in one compiled call.
Each has a NumPy twin, the code path without numba (:func:`gaussmix.covariance.full.matrix_cholesky_of_precisions`,
:meth:`gaussmix.covariance.CovarianceStructure.collapsed`, :func:`gaussmix.covariance.lower_to_symmetric`);
results agree to rounding (the Cholesky factorisation runs in a different order than LAPACK's).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["precision_factors", "has_direction_below", "symmetric_from_lower"]


@njit(nogil=True, cache=True)
def _cholesky_in_place(matrix) -> bool:  # pragma: no cover - compiled
    """Lower Cholesky factor of a symmetric matrix, in place (the upper triangle is left as it was);
    False if the matrix is not positive definite (a pivot not > 0, or not finite)."""
    n = matrix.shape[0]
    for j in range(n):
        pivot = matrix[j, j]
        for p in range(j):
            pivot -= matrix[j, p] * matrix[j, p]
        if not pivot > 0.0:  # also False for NaN
            return False
        diagonal = np.sqrt(pivot)
        matrix[j, j] = diagonal
        for i in range(j + 1, n):
            value = matrix[i, j]
            for p in range(j):
                value -= matrix[i, p] * matrix[j, p]
            matrix[i, j] = value / diagonal
    return True


@njit(nogil=True, cache=True)
def precision_factors(covariances):  # pragma: no cover - compiled
    """``(U, singular)`` for a stack (K, d, d): ``U_k = L_k^{-T}`` upper triangular with ``Sigma_k = L_k L_k^T``,
    so that ``precision_k = U_k U_k^T``; a component that is not positive definite is flagged and gets the
    identity."""
    n_components, n_features, _ = covariances.shape
    factors = np.zeros_like(covariances)
    singular = np.zeros(n_components, dtype=np.bool_)
    lower = np.empty((n_features, n_features))
    for k in range(n_components):
        lower[:, :] = covariances[k]
        if not _cholesky_in_place(lower):
            singular[k] = True
            for i in range(n_features):
                factors[k, i, i] = 1.0
            continue
        # Forward substitution for the columns of L^{-1}; U = L^{-T} is stored directly (U[j, i] = L^{-1}[i, j]).
        for column in range(n_features):
            factors[k, column, column] = 1.0 / lower[column, column]
            for i in range(column + 1, n_features):
                value = 0.0
                for p in range(column, i):
                    value -= lower[i, p] * factors[k, column, p]
                factors[k, column, i] = value / lower[i, i]
    return factors, singular


@njit(nogil=True, cache=True)
def has_direction_below(dense, floor, reg_covar):  # pragma: no cover - compiled
    """For each of a stack (K, d, d): whether ``D^{-1/2} (C_k - reg I) D^{-1/2}`` (``D = diag(floor)``, features
    with a zero floor left out) has an eigenvalue below one, i.e. ``... - I`` is not positive definite."""
    n_components, n_features, _ = dense.shape
    keep = np.flatnonzero(floor > 0)
    m = keep.shape[0]
    result = np.zeros(n_components, dtype=np.bool_)
    scaled = np.empty((m, m))
    # 1 / sqrt(floor_i) apart, never sqrt(floor_i floor_j): the product under- or overflows for data at 1e-150
    # or 1e150, where each factor is still representable.
    inverse_root = np.empty(m)
    for a in range(m):
        inverse_root[a] = 1.0 / np.sqrt(floor[keep[a]])
    for k in range(n_components):
        for a in range(m):
            i = keep[a]
            for b in range(m):
                j = keep[b]
                value = dense[k, i, j]
                if i == j:
                    value -= reg_covar
                scaled[a, b] = value * inverse_root[a] * inverse_root[b]
            scaled[a, a] -= 1.0
        result[k] = not _cholesky_in_place(scaled)
    return result


@njit(nogil=True, cache=True)
def symmetric_from_lower(lower, n_features):  # pragma: no cover - compiled
    """The symmetric matrices (K, d, d) whose lower triangles are ``lower[:, :d, :d]``."""
    n_components = lower.shape[0]
    result = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        for i in range(n_features):
            for j in range(i + 1):
                result[k, i, j] = lower[k, i, j]
                result[k, j, i] = lower[k, i, j]
    return result


@njit(nogil=True, cache=True)
def full_kernel_arguments(precisions_cholesky, means, weights, bounds, group, constant):  # pragma: no cover - compiled
    """``(packed factors, whitened means, log constants)`` of the full E-step kernel in one call: the layout of
    :func:`gaussmix.covariance.full.pack_factors`, ``U_k^T m_k`` and ``log pi_k + log det U_k + constant``."""
    n_components, n_features, _ = precisions_cholesky.shape
    size = 0
    for first in range(0, n_components, group):
        members = min(group, n_components - first)
        for p in range(bounds.shape[0] - 1):
            size += members * (bounds[p + 1] - bounds[p]) * bounds[p + 1]
    packed = np.empty(size)
    position = 0
    for first in range(0, n_components, group):
        members = min(group, n_components - first)
        for p in range(bounds.shape[0] - 1):
            start, end = bounds[p], bounds[p + 1]
            for g in range(members):
                for j in range(start, end):
                    for i in range(end):
                        packed[position] = precisions_cholesky[first + g, i, j]
                        position += 1
    whitened = np.zeros((n_components, n_features))
    log_constants = np.empty(n_components)
    for k in range(n_components):
        for j in range(n_features):
            value = 0.0
            for i in range(j + 1):  # U_k is upper triangular
                value += means[k, i] * precisions_cholesky[k, i, j]
            whitened[k, j] = value
        log_det = 0.0
        for j in range(n_features):
            log_det += np.log(precisions_cholesky[k, j, j])
        log_constants[k] = (np.log(weights[k]) if weights[k] > 0 else -np.inf) + log_det + constant
    return packed, whitened, log_constants
