"""The inner loops of mclust's common-orientation M-steps (VEE, EVE, VVE), compiled.

:func:`rotation_sweep` is the twin of :func:`gaussmix.covariance.eigen._pairwise_rotated_axes`: one sweep of
exact plane rotations over every pair of axes. In Python each pair costs a dozen small-array operations
(d (d - 1) / 2 pairs per sweep, tens of sweeps per M-step: 90 % of a 14-model grid on 13-dimensional data
was spent there); compiled, a sweep over 13 axes and 9 components takes microseconds.

:func:`common_orientation_descent` is the whole warm inner iteration of an EM run's M-step around it (the
variances along the axes, the objective, the stopping rule, the axes update), the twin of the warm path of
:func:`gaussmix.covariance.eigen._common_orientation`. In Python every inner iteration cost some tens of
small-array calls, about 50 us; these models' M-steps were half the time of the model-selection grid.
:func:`variable_volume_equal_shape` is the diagonal problem of VEI and VEV (and of VEE's cold start), likewise.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["common_orientation_descent", "constrained_variances", "dense_eigen_covariances", "rotation_sweep",
           "variable_volume_equal_shape"]


@njit(nogil=True, cache=True)
def rotation_sweep(rotated, inverse, axes):  # pragma: no cover - compiled
    """Rotate pairs of ``axes`` in place, each pair by the angle that minimises ``F`` exactly.

    Parameters
    ----------
    rotated : ndarray of shape (n_components, d, d)
        ``B_k = D^T W_k D``, updated in place to stay equal to it for the rotated ``D``.
    inverse : ndarray of shape (n_components, d)
        ``1 / C_k``, the inverse variances along the axes.
    axes : ndarray of shape (d, d)
        ``D``, rotated in place.
    """
    n_components, n_features, _ = rotated.shape
    for i in range(n_features - 1):
        for j in range(i + 1, n_features):
            a = 0.0
            b = 0.0
            for k in range(n_components):
                weight = inverse[k, i] - inverse[k, j]
                a += 0.5 * weight * (rotated[k, i, i] - rotated[k, j, j])
                b += weight * rotated[k, i, j]
            if a * a + b * b == 0.0:
                continue
            angle = 0.5 * np.arctan2(-b, -a)
            c = np.cos(angle)
            s = np.sin(angle)
            if a * (c * c - s * s) + b * (2.0 * s * c) >= a:  # never a step that rounding makes worse
                continue
            for row in range(n_features):
                left = axes[row, i]
                right = axes[row, j]
                axes[row, i] = c * left + s * right
                axes[row, j] = -s * left + c * right
            for k in range(n_components):
                for row in range(n_features):  # columns i, j of B_k R
                    left = rotated[k, row, i]
                    right = rotated[k, row, j]
                    rotated[k, row, i] = c * left + s * right
                    rotated[k, row, j] = -s * left + c * right
                for column in range(n_features):  # rows i, j of R^T (B_k R)
                    left = rotated[k, i, column]
                    right = rotated[k, j, column]
                    rotated[k, i, column] = c * left + s * right
                    rotated[k, j, column] = -s * left + c * right


@njit(inline="always", nogil=True, cache=True, error_model="numpy")
def _log_geometric_mean(values):  # pragma: no cover - compiled
    """``log det(diag(v))^{1/d}`` of one row; -inf if an entry is zero (or slightly negative by rounding)."""
    total = 0.0
    for value in values:
        total += np.log(max(value, 0.0))
    return total / values.shape[0]


@njit(nogil=True, cache=True, error_model="numpy")
def _congruence(scatter, axes, out):  # pragma: no cover - compiled
    """``out[k] = D^T W_k D`` for every component."""
    n_components, n_features, _ = scatter.shape
    product = np.empty((n_features, n_features))
    for k in range(n_components):
        for i in range(n_features):  # W_k D
            for j in range(n_features):
                total = 0.0
                for m in range(n_features):
                    total += scatter[k, i, m] * axes[m, j]
                product[i, j] = total
        for i in range(n_features):  # D^T (W_k D)
            for j in range(n_features):
                total = 0.0
                for m in range(n_features):
                    total += axes[m, i] * product[m, j]
                out[k, i, j] = total


@njit(nogil=True, cache=True, error_model="numpy")
def common_orientation_descent(scatter, counts, axes, volumes, equal_volume, equal_shape, tol, absolute_tol,
                               max_iter):  # pragma: no cover - compiled
    """The warm inner iteration of the common-orientation models VEE, EVE and VVE, compiled.

    The twin of the warm path of :func:`gaussmix.covariance.eigen._common_orientation` (same steps, same
    stopping rule): alternate the exact variances along the axes ``D`` with an update of ``D`` that never
    increases ``F`` (VEE: the eigenvectors of ``sum_k W_k / lambda_k``; EVE, VVE: one sweep of plane rotations)
    until ``F`` decreases by at most ``max(tol (1 + |F|), absolute_tol)``.

    Parameters
    ----------
    scatter : ndarray of shape (n_components, d, d)
        ``W_k``.
    counts : ndarray of shape (n_components,)
    axes : ndarray of shape (d, d)
        The previous EM iteration's ``D``; updated in place to the new one.
    volumes : ndarray of shape (n_components,)
        VEE: the previous volumes ``lambda_k`` (the shape-then-volume step starts from them); else unused.
    equal_volume, equal_shape : bool
        The model's first two letters are ``E``.
    tol, absolute_tol : float
    max_iter : int

    Returns
    -------
    ndarray of shape (n_components, d)
        The variances ``C_k`` along the returned axes.
    """
    n_components, n_features, _ = scatter.shape
    rotated = np.empty_like(scatter)  # B_k = D^T W_k D, kept equal to it as D changes
    _congruence(scatter, axes, rotated)
    variances = np.empty((n_components, n_features))
    inverse = np.empty((n_components, n_features))
    w = np.empty((n_components, n_features))
    volumes = volumes.copy()
    shape_code = 1 if equal_shape else 2
    objective = np.inf
    for _ in range(max_iter):
        for k in range(n_components):
            for j in range(n_features):
                w[k, j] = rotated[k, j, j]
        # The diagonal problem along the axes; VEE: one shape-then-volume step from the current volumes, which
        # with the exact axes step below is block-coordinate descent over (lambda, A, D).
        variances = constrained_variances(w, counts, equal_volume, shape_code, volumes, tol, absolute_tol, 1)
        if equal_shape:
            for k in range(n_components):
                volumes[k] = np.exp(_log_geometric_mean(variances[k]))
        new_objective = 0.0
        for k in range(n_components):
            for j in range(n_features):
                new_objective += counts[k] * np.log(variances[k, j]) + w[k, j] / variances[k, j]
        if not np.isfinite(new_objective) or objective - new_objective <= max(tol * (1.0 + abs(new_objective)),
                                                                                absolute_tol):
            break
        objective = new_objective
        if equal_shape:
            _shared_shape_axes(scatter, variances, axes)
            _congruence(scatter, axes, rotated)
        else:
            for k in range(n_components):
                for j in range(n_features):
                    inverse[k, j] = 1.0 / variances[k, j]
            rotation_sweep(rotated, inverse, axes)
    return variances


@njit(nogil=True, cache=True, error_model="numpy")
def _shared_shape_axes(scatter, variances, axes):  # pragma: no cover - compiled
    """VEE's exact axes step, in place: the eigenvectors of ``sum_k W_k / lambda_k`` (decreasing eigenvalues)
    paired with the common shape in decreasing order (twin of ``covariance.eigen._shared_shape_axes``)."""
    n_components, n_features, _ = scatter.shape
    pooled = np.zeros((n_features, n_features))
    for k in range(n_components):
        for i in range(n_features):
            for j in range(n_features):
                pooled[i, j] += scatter[k, i, j] / variances[k, 0]
    _, vectors = np.linalg.eigh(pooled)
    order = np.argsort(-variances[0], kind="mergesort")
    for rank in range(n_features):  # the rank-th largest eigenvalue goes to the axis of rank-th largest shape
        for row in range(n_features):
            axes[row, order[rank]] = vectors[row, n_features - 1 - rank]


@njit(nogil=True, cache=True, error_model="numpy")
def variable_volume_equal_shape(w, counts, volumes, tol, absolute_tol, max_iter):  # pragma: no cover - compiled
    """VE*'s diagonal problem, compiled: alternate the common shape and the volumes (each step exact).

    The twin of :func:`gaussmix.covariance.eigen._variable_volume_equal_shape` (same steps, same stopping
    rule); VEI and VEV solve it in every M-step, to convergence, in a few to some hundreds of iterations.

    Parameters
    ----------
    w : ndarray of shape (n_components, d)
        Scatter along the axes.
    counts, volumes : ndarray of shape (n_components,)
        ``n_k`` and the starting volumes.
    tol, absolute_tol : float
    max_iter : int

    Returns
    -------
    ndarray of shape (n_components, d)
        The variances ``lambda_k A``.
    """
    n_components, n_features = w.shape
    volumes = volumes.copy()
    shape = np.empty(n_features)
    objective = np.inf
    for _ in range(max_iter):
        for j in range(n_features):
            shape[j] = 0.0
            for k in range(n_components):
                shape[j] += w[k, j] / volumes[k]
        scale = np.exp(_log_geometric_mean(shape))
        for j in range(n_features):
            shape[j] /= scale
        new_objective = 0.0
        for k in range(n_components):
            total = 0.0
            for j in range(n_features):
                total += w[k, j] / shape[j]
            volumes[k] = total / (n_features * counts[k])
            new_objective += n_features * counts[k] * np.log(volumes[k])
        if not np.isfinite(new_objective) or objective - new_objective <= max(tol * (1.0 + abs(new_objective)),
                                                                                absolute_tol):
            break
        objective = new_objective
    variances = np.empty((n_components, n_features))
    for k in range(n_components):
        for j in range(n_features):
            variances[k, j] = volumes[k] * shape[j]
    return variances


@njit(nogil=True, cache=True, error_model="numpy")
def constrained_variances(w, counts, equal_volume, shape_code, volumes, tol, absolute_tol,
                          max_iter):  # pragma: no cover - compiled
    """The diagonal problem of every mclust model, compiled: twin of
    :func:`gaussmix.covariance.eigen.constrained_variances`.

    Parameters
    ----------
    w : ndarray of shape (n_components, d)
        Scatter along the axes.
    counts : ndarray of shape (n_components,)
    equal_volume : bool
        Volume letter ``E``.
    shape_code : int
        Shape letter: 0 for ``I``, 1 for ``E``, 2 for ``V``.
    volumes : ndarray of shape (n_components,)
        Start of VE*'s alternation.
    tol, absolute_tol, max_iter
        VE*'s stopping rule.

    Returns
    -------
    ndarray of shape (n_components, d)
    """
    n_components, n_features = w.shape
    total = counts.sum()
    out = np.empty((n_components, n_features))
    if shape_code == 1 and not equal_volume:
        return variable_volume_equal_shape(w, counts, volumes, tol, absolute_tol, max_iter)
    if shape_code == 0:
        grand = w.sum() / (n_features * total)
        for k in range(n_components):
            value = grand if equal_volume else w[k].sum() / (n_features * counts[k])
            for j in range(n_features):
                out[k, j] = value
    elif shape_code == 2 and not equal_volume:
        for k in range(n_components):
            for j in range(n_features):
                out[k, j] = w[k, j] / counts[k]
    elif shape_code == 2:  # EV*: A_k = w_k / scale_k, lambda = sum_k scale_k / n
        scale_sum = 0.0
        for k in range(n_components):
            scale_sum += np.exp(_log_geometric_mean(w[k]))
        for k in range(n_components):
            scale = np.exp(_log_geometric_mean(w[k]))
            for j in range(n_features):
                out[k, j] = (scale_sum / total) * w[k, j] / scale
    else:  # EE*: the pooled variances
        for j in range(n_features):
            pooled = 0.0
            for k in range(n_components):
                pooled += w[k, j]
            for k in range(n_components):
                out[k, j] = pooled / total
    return out


@njit(nogil=True, cache=True, error_model="numpy")
def dense_eigen_covariances(within, counts, equal_volume, shape_code, common_axes, axes, volumes, tol, absolute_tol,
                            max_iter, reg_covar):  # pragma: no cover - compiled
    """The whole M-step of a dense mclust model (orientation ``E`` or ``V``) on scatter about the new means.

    The twin of :func:`gaussmix.covariance.eigen._dense_solution` followed by symmetrising and adding
    ``reg_covar``: orientation ``V`` takes each component's eigenvectors (decreasing eigenvalues), orientation
    ``E`` runs :func:`common_orientation_descent` from ``axes`` (updated in place); then the constrained
    variances and ``D_k C_k D_k^T + reg I``, symmetric by construction.

    Parameters
    ----------
    within : ndarray of shape (n_components, d, d)
        Symmetric scatter about the new means.
    counts : ndarray of shape (n_components,)
        Positive.
    equal_volume : bool
    shape_code : int
        0, 1, 2 for ``I``, ``E``, ``V``.
    common_axes : bool
        Orientation ``E`` (else ``V``).
    axes : ndarray of shape (d, d)
        Orientation ``E``: the start ``D``, updated in place; unused otherwise.
    volumes : ndarray of shape (n_components,)
        VE*: the start of the volumes.
    tol, absolute_tol, max_iter, reg_covar

    Returns
    -------
    covariances : ndarray of shape (n_components, d, d)
    variances : ndarray of shape (n_components, d)
        ``C_k`` along the axes.
    """
    n_components, n_features, _ = within.shape
    if common_axes:
        variances = common_orientation_descent(within, counts, axes, volumes, equal_volume, shape_code == 1, tol,
                                               absolute_tol, max_iter)
        vectors = np.empty((n_components, n_features, n_features))
        for k in range(n_components):
            vectors[k] = axes
    else:
        w = np.empty((n_components, n_features))
        vectors = np.empty((n_components, n_features, n_features))
        for k in range(n_components):
            values, ascending = np.linalg.eigh(within[k])
            for j in range(n_features):  # decreasing order, as von Neumann's pairing needs
                w[k, j] = max(values[n_features - 1 - j], 0.0)
                for row in range(n_features):
                    vectors[k, row, j] = ascending[row, n_features - 1 - j]
        variances = constrained_variances(w, counts, equal_volume, shape_code, volumes, tol, absolute_tol, max_iter)
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        for row in range(n_features):
            for column in range(row + 1):
                total = 0.0
                for j in range(n_features):
                    total += vectors[k, row, j] * variances[k, j] * vectors[k, column, j]
                covariances[k, row, column] = total
                covariances[k, column, row] = total
            covariances[k, row, row] += reg_covar
    return covariances, variances
