"""The whole E-step of a chunk in one compiled pass, for each of the four base covariance structures.

For every block of ``block_rows`` rows a kernel (1) transposes the block (features x rows), (2) computes
``log pi_k + log N(x | mu_k, Sigma_k)`` for every component, (3) normalises it into weighted
responsibilities ``g_kn = w_n gamma_kn`` (:func:`~.numerics.normalise_block`), and (4) adds the block's
counts ``sum g_kn``, sums ``sum g_kn (x_n - m_k)`` and scatter about the reference means ``m_k`` to the
totals. Nothing n x K or n x K x d ever exists beyond one block, which stays in the caches, and no
intermediate is written to memory and read back for a second elementwise pass.

Second moments are taken about the reference means exactly, as in the NumPy path (no expansion of
squares, so no cancellation); the first moments of diag, spherical and tied come from one GEMM per block
(``g @ X - N_k m_k``, which loses only the precision of ``m_k`` itself). Each kernel returns
``(log_likelihood, n_bad, counts, sums, scatter)``; ``n_bad`` counts rows of zero density under every
component, for which the caller raises.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .numerics import FAST, lower_scatter, normalise_block, transpose_block

__all__ = ["diag_statistics", "full_statistics", "spherical_statistics", "tied_statistics"]


def _padded(n: int) -> int:  # pragma: no cover - compiled
    return (n + 3) // 4 * 4


padded = njit(cache=True)(_padded)


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def _accumulate_dense(transposed, weighted, means, k, zero, counts, sums, scatter, residual,
                      scaled):  # pragma: no cover - compiled
    """Counts, sums and lower-triangular scatter of component ``k`` over one block.

    ``transposed`` (d, n) holds the block's rows, ``weighted[k]`` (n,) the weighted responsibilities;
    ``residual`` and ``scaled`` (d4, n) are workspace whose rows beyond d are zero.
    """
    n_features, n_rows = transposed.shape
    responsibility = weighted[k]
    total = 0.0
    for b in range(n_rows):
        total += responsibility[b]
    counts[k] += total
    if total == 0.0:  # nothing to add (e.g. rows sorted by cluster); saves the scatter tile
        return
    for i in range(n_features):
        mean = means[k, i]
        row_sum = 0.0
        for b in range(n_rows):
            value = transposed[i, b] - mean
            residual[i, b] = value
            product = responsibility[b] * value
            scaled[i, b] = product
            row_sum += product
        sums[k, i] += row_sum
    lower_scatter(scaled, residual, scatter[k], zero)


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def _add_squared_distances(whitened, row, n_coordinates, whitened_means, k, first, distance):  # pragma: no cover - compiled
    """``distance[b] += sum_j (whitened[row + j, b] - whitened_means[k, first + j])^2``, j < n_coordinates.

    Four coordinates per pass over the rows: fewer loads and stores of ``distance``.
    """
    n_rows = distance.shape[0]
    j = 0
    while j + 4 <= n_coordinates:
        m0 = whitened_means[k, first + j]
        m1 = whitened_means[k, first + j + 1]
        m2 = whitened_means[k, first + j + 2]
        m3 = whitened_means[k, first + j + 3]
        z0 = whitened[row + j]
        z1 = whitened[row + j + 1]
        z2 = whitened[row + j + 2]
        z3 = whitened[row + j + 3]
        for b in range(n_rows):
            t0 = z0[b] - m0
            t1 = z1[b] - m1
            t2 = z2[b] - m2
            t3 = z3[b] - m3
            distance[b] += (t0 * t0 + t1 * t1) + (t2 * t2 + t3 * t3)
        j += 4
    while j < n_coordinates:
        m0 = whitened_means[k, first + j]
        z0 = whitened[row + j]
        for b in range(n_rows):
            t0 = z0[b] - m0
            distance[b] += t0 * t0
        j += 1


@njit(inline="always", nogil=True, cache=True)
def _dense_buffers(n_features, n_components, group_size, size, dtype):  # pragma: no cover - compiled
    """Workspace of one block of ``size`` rows for :func:`full_statistics`, allocated once per chunk."""
    return (np.empty((n_features, size), dtype=dtype), np.empty((n_components, size)), np.empty((3, size)),
            np.empty(size, np.int64), np.zeros((padded(n_features), size), dtype=dtype),
            np.zeros((padded(n_features), size), dtype=dtype), np.empty(group_size * n_features * size, dtype=dtype))


@njit(nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def full_statistics(chunk, offset, sample_weight, means, packed_factors, panel_bounds, group_size, whitened_means,
                    log_constants, block_rows, floor):  # pragma: no cover - compiled
    """E-step statistics of a chunk for 'full' covariances.

    The whitened coordinates ``z_kj = sum_i U_k[i, j] x_i`` are computed by GEMMs over groups of
    ``group_size`` components (so that a group's ``z`` stay in the L2 cache) and over *panels* of
    coordinates ``j`` in ``[panel_bounds[p], panel_bounds[p + 1])``: ``U_k`` is upper triangular, so a
    panel needs only the features ``i < panel_bounds[p + 1]``, which saves up to half of the flops of
    one dense GEMM (a quarter with two panels, 3/8 with four) while each GEMM keeps a BLAS-friendly shape.

    Parameters
    ----------
    chunk : ndarray of shape (n, d), float32 or float64
        Rows as stored; ``chunk - offset`` are the centred rows the statistics describe.
    offset : ndarray of shape (d,), float64
        Subtracted block by block (zeros for a chunk that is already centred).
    sample_weight : ndarray of shape (n,), float64
    means : ndarray of shape (K, d), float64
        Reference means ``m_k``.
    packed_factors : ndarray of shape (K * d * d,) at most, the chunk's dtype
        For each group of components, then each panel, the C-ordered matrix (group_size * width,
        panel_end) whose row ``g * width + j`` holds ``U_k[:panel_end, panel_start + j]`` for the group's
        ``g``-th component ``k`` (see :func:`gaussmix.covariance.full.pack_factors`).
    panel_bounds : ndarray of shape (n_panels + 1,), int64
        Increasing, from 0 to d.
    group_size : int
    whitened_means : ndarray of shape (K, d), float64
        ``U_k^T m_k``, so that the squared Mahalanobis distance is ``||z_k - U_k^T m_k||^2``.
    log_constants : ndarray of shape (K,), float64
        ``log pi_k + log det U_k - d/2 log 2 pi``.
    block_rows : int
    floor : float
        Log-responsibility flush threshold (see :func:`~.numerics.exp_nonpositive`).

    Returns
    -------
    log_likelihood, n_bad, counts (K,), sums (K, d), scatter (K, d4, d4)
        ``d4`` is ``d`` rounded up to a multiple of 4; only the lower triangle of ``scatter[:, :d, :d]``
        is filled.
    """
    n_rows, n_features = chunk.shape
    n_components = means.shape[0]
    n_panels = panel_bounds.shape[0] - 1
    counts = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, padded(n_features), padded(n_features)))
    zero = np.zeros(1, dtype=chunk.dtype)[0]  # the chunk's dtype: float32 tiles sum in float32
    log_likelihood = 0.0
    n_bad = 0
    buffers = _dense_buffers(n_features, n_components, group_size, min(block_rows, n_rows), chunk.dtype)
    for start in range(0, n_rows, block_rows):
        size = min(block_rows, n_rows - start)
        if size < buffers[0].shape[1]:  # the last block: its own, smaller (contiguous) buffers
            buffers = _dense_buffers(n_features, n_components, group_size, size, chunk.dtype)
        transposed, log_prob, work, bits, residual, scaled, workspace = buffers
        transpose_block(chunk, start, transposed, offset)
        log_prob[:] = 0.0
        position = 0  # in packed_factors
        for first_component in range(0, n_components, group_size):
            members = min(group_size, n_components - first_component)
            for p in range(n_panels):
                panel_start = panel_bounds[p]
                panel_end = panel_bounds[p + 1]
                width = panel_end - panel_start
                factors = packed_factors[position:position + members * width * panel_end].reshape(
                    members * width, panel_end)
                position += members * width * panel_end
                whitened = workspace[:members * width * size].reshape(members * width, size)
                np.dot(factors, transposed[:panel_end], whitened)
                for g in range(members):
                    _add_squared_distances(whitened, g * width, width, whitened_means, first_component + g,
                                           panel_start, log_prob[first_component + g])
        for k in range(n_components):
            constant = log_constants[k]
            distance = log_prob[k]
            for b in range(size):
                distance[b] = constant - 0.5 * distance[b]
        block_log_likelihood, block_bad = normalise_block(log_prob, sample_weight[start:start + size], work, bits,
                                                          floor)
        log_likelihood += block_log_likelihood
        n_bad += block_bad
        for k in range(n_components):
            _accumulate_dense(transposed, log_prob, means, k, zero, counts, sums, scatter, residual, scaled)
    return log_likelihood, n_bad, counts, sums, scatter


@njit(inline="always", nogil=True, cache=True)
def _block_buffers(n_features, n_components, size, dtype):  # pragma: no cover - compiled
    """Workspace of one block for the diagonal kernels: the block transposed, log-densities (K, size),
    normalisation workspace and one more (K, size) array."""
    return (np.empty((n_features, size), dtype=dtype), np.empty((n_components, size)), np.empty((3, size)),
            np.empty(size, np.int64), np.empty((n_components, size)))


@njit(inline="always", nogil=True, cache=True)
def _tied_buffers(n_features, n_components, size, dtype):  # pragma: no cover - compiled
    """Workspace of one block for :func:`tied_statistics`; padding rows (beyond d or K) are zero."""
    transposed, log_prob, work, bits, _ = _block_buffers(n_features, n_components, size, dtype)
    return (transposed, log_prob, work, bits, np.empty((n_features, size), dtype=dtype),
            np.zeros((padded(n_components), size)), np.zeros((padded(n_components), size)),
            np.empty((n_features, size)), np.zeros((padded(n_features), size), dtype=dtype),
            np.zeros((padded(n_features), size), dtype=dtype))


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def _scaled_squared_distances(transposed, scale, shift, out):  # pragma: no cover - compiled
    """``out[b] = sum_i (s_i x_bi + c_i)^2`` over one block, with ``s = 1 / sigma_k`` and ``c = -s m_k``:
    the diagonal Mahalanobis distance, two fused multiply-adds per entry.

    ``s x + c`` in one rounding differs from ``s (x - m)`` by about ``eps s |m|``, far below what moves
    a log-density (the moments themselves are taken about ``m`` exactly). Four features per sweep over
    the block: ``out`` is loaded and stored once per four features, not once per feature.
    """
    n_features, n_rows = transposed.shape
    for b in range(n_rows):
        out[b] = 0.0
    head = n_features - n_features % 4
    for i in range(0, head, 4):
        s0, s1, s2, s3 = scale[i], scale[i + 1], scale[i + 2], scale[i + 3]
        c0, c1, c2, c3 = shift[i], shift[i + 1], shift[i + 2], shift[i + 3]
        for b in range(n_rows):
            v0 = transposed[i, b] * s0 + c0
            v1 = transposed[i + 1, b] * s1 + c1
            v2 = transposed[i + 2, b] * s2 + c2
            v3 = transposed[i + 3, b] * s3 + c3
            out[b] += (v0 * v0 + v1 * v1) + (v2 * v2 + v3 * v3)
    for i in range(head, n_features):
        scaling = scale[i]
        shifting = shift[i]
        for b in range(n_rows):
            value = transposed[i, b] * scaling + shifting
            out[b] += value * value


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def _squared_distances(transposed, means, k, out):  # pragma: no cover - compiled
    """``out[b] = ||x_b - m_k||^2`` over one block: :func:`_add_squared_distances` over all coordinates
    (exact differences ``x - m``; the spherical scatter is this distance)."""
    for b in range(out.shape[0]):
        out[b] = 0.0
    _add_squared_distances(transposed, 0, transposed.shape[0], means, k, 0, out)


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def _accumulate_diagonal(transposed, weighted, means, k, scatter):  # pragma: no cover - compiled
    """Per-feature scatter ``sum g (x_i - m_ki)^2`` of component ``k`` over one block, about ``m_k``
    exactly (counts and sums come from :func:`_accumulate_sums`)."""
    n_features, n_rows = transposed.shape
    responsibility = weighted[k]
    for i in range(n_features):
        mean = means[k, i]
        second = 0.0
        for b in range(n_rows):
            value = transposed[i, b] - mean
            second += responsibility[b] * (value * value)
        scatter[k, i] += second


@njit(nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def diag_statistics(chunk, offset, sample_weight, means, precisions, log_constants, block_rows,
                    floor):  # pragma: no cover - compiled
    """E-step statistics of a chunk for 'diag' covariances.

    ``precisions`` (K, d) float64 are ``1 / sigma_ki^2``; the other arguments as in
    :func:`full_statistics`. Returns ``(log_likelihood, n_bad, counts (K,), sums (K, d), scatter (K, d))``.
    """
    n_rows, n_features = chunk.shape
    n_components = means.shape[0]
    counts = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features))
    log_likelihood = 0.0
    n_bad = 0
    scale = np.sqrt(precisions)
    shift = -scale * means
    buffers = _block_buffers(n_features, n_components, min(block_rows, n_rows), chunk.dtype)
    for start in range(0, n_rows, block_rows):
        size = min(block_rows, n_rows - start)
        if size < buffers[0].shape[1]:
            buffers = _block_buffers(n_features, n_components, size, chunk.dtype)
        transposed, log_prob, work, bits, _ = buffers
        transpose_block(chunk, start, transposed, offset)
        for k in range(n_components):
            distance = log_prob[k]
            _scaled_squared_distances(transposed, scale[k], shift[k], distance)
            constant = log_constants[k]
            for b in range(size):
                distance[b] = constant - 0.5 * distance[b]
        block_log_likelihood, block_bad = normalise_block(log_prob, sample_weight[start:start + size], work, bits,
                                                          floor)
        log_likelihood += block_log_likelihood
        n_bad += block_bad
        _accumulate_sums(transposed, log_prob, means, counts, sums)
        for k in range(n_components):
            _accumulate_diagonal(transposed, log_prob, means, k, scatter)
    return log_likelihood, n_bad, counts, sums, scatter


@njit(nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def spherical_statistics(chunk, offset, sample_weight, means, precisions, log_constants, block_rows,
                         floor):  # pragma: no cover - compiled
    """E-step statistics of a chunk for 'spherical' covariances.

    ``precisions`` (K,) float64 are ``1 / sigma_k^2``. Returns ``(log_likelihood, n_bad, counts (K,),
    sums (K, d), scatter (K,))`` with ``scatter[k] = sum g ||x - m_k||^2``.
    """
    n_rows, n_features = chunk.shape
    n_components = means.shape[0]
    counts = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    scatter = np.zeros(n_components)
    log_likelihood = 0.0
    n_bad = 0
    buffers = _block_buffers(n_features, n_components, min(block_rows, n_rows), chunk.dtype)
    for start in range(0, n_rows, block_rows):
        size = min(block_rows, n_rows - start)
        if size < buffers[0].shape[1]:
            buffers = _block_buffers(n_features, n_components, size, chunk.dtype)
        transposed, log_prob, work, bits, squared = buffers
        transpose_block(chunk, start, transposed, offset)
        for k in range(n_components):
            _squared_distances(transposed, means, k, squared[k])
            constant = log_constants[k]
            precision = precisions[k]
            for b in range(size):
                log_prob[k, b] = constant - 0.5 * precision * squared[k, b]
        block_log_likelihood, block_bad = normalise_block(log_prob, sample_weight[start:start + size], work, bits,
                                                          floor)
        log_likelihood += block_log_likelihood
        n_bad += block_bad
        for k in range(n_components):
            responsibility = log_prob[k]
            second = 0.0
            for b in range(size):
                second += responsibility[b] * squared[k, b]
            scatter[k] += second
        _accumulate_sums(transposed, log_prob, means, counts, sums)
    return log_likelihood, n_bad, counts, sums, scatter


@njit(nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def tied_statistics(chunk, offset, sample_weight, means, factor_transposed, whitened_means, log_constants, block_rows,
                    floor):  # pragma: no cover - compiled
    """E-step statistics of a chunk for a 'tied' covariance.

    ``factor_transposed`` (d, d) in the chunk's dtype is ``U^T`` of the shared precision factor;
    ``whitened_means`` (K, d) float64 are ``U^T m_k``.

    The shared scatter ``sum_k sum_n g_kn (x_n - m_k)(x_n - m_k)^T`` is returned in the two positive
    semi-definite pieces of :meth:`gaussmix.covariance.Tied.scatter`: the within part
    ``sum_n w_n (x_n - c_n)(x_n - c_n)^T`` about ``c_n = sum_k gamma_kn m_k`` (d4, d4), and the
    co-membership ``C_jk = sum_n w_n gamma_jn gamma_kn`` (K4, K4), both lower triangles.

    Returns ``(log_likelihood, n_bad, counts (K,), sums (K, d), within, co_membership)``.
    """
    n_rows, n_features = chunk.shape
    n_components = means.shape[0]
    counts = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    within = np.zeros((padded(n_features), padded(n_features)))
    means_transposed = np.ascontiguousarray(means.T)
    co_membership = np.zeros((padded(n_components), padded(n_components)))
    zero = np.zeros(1, dtype=chunk.dtype)[0]
    log_likelihood = 0.0
    n_bad = 0
    buffers = _tied_buffers(n_features, n_components, min(block_rows, n_rows), chunk.dtype)
    for start in range(0, n_rows, block_rows):
        size = min(block_rows, n_rows - start)
        if size < buffers[0].shape[1]:
            buffers = _tied_buffers(n_features, n_components, size, chunk.dtype)
        transposed, log_prob, work, bits, whitened, gamma, weighted, centre, residual, scaled = buffers
        weights = sample_weight[start:start + size]
        transpose_block(chunk, start, transposed, offset)
        np.dot(factor_transposed, transposed, whitened)
        for k in range(n_components):
            _squared_distances(whitened, whitened_means, k, log_prob[k])
            constant = log_constants[k]
            for b in range(size):
                log_prob[k, b] = constant - 0.5 * log_prob[k, b]
        block_log_likelihood, block_bad = normalise_block(log_prob, weights, work, bits, floor)
        log_likelihood += block_log_likelihood
        n_bad += block_bad
        # Unweighted responsibilities gamma = g / w (rows of zero weight contribute nothing either way);
        # rows of gamma and weighted beyond K stay zero (padding for the tile).
        for k in range(n_components):
            for b in range(size):
                gamma[k, b] = log_prob[k, b] / weights[b] if weights[b] > 0.0 else 0.0
                weighted[k, b] = log_prob[k, b]
        lower_scatter(weighted, gamma, co_membership, 0.0)
        np.dot(means_transposed, gamma[:n_components], centre)  # c_b = sum_k gamma_kb m_k, (d, size)
        for i in range(n_features):
            for b in range(size):
                value = transposed[i, b] - centre[i, b]
                residual[i, b] = value
                scaled[i, b] = weights[b] * value
        lower_scatter(scaled, residual, within, zero)
        _accumulate_sums(transposed, log_prob, means, counts, sums)
    return log_likelihood, n_bad, counts, sums, within, co_membership


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def _accumulate_sums(transposed, weighted, means, counts, sums):  # pragma: no cover - compiled
    """Counts ``sum_n g_kn`` and sums ``sum_n g_kn (x_n - m_k)`` of every component over one block.

    ``transposed`` (d, n) is the centred block and ``weighted`` (K, n) the weighted responsibilities; the
    sums are one GEMM, ``g @ X - N_k m_k`` (first moments lose only the precision of ``m_k`` itself this
    way, unlike second moments).
    """
    n_components, n_rows = weighted.shape
    block_counts = np.zeros(n_components)
    for k in range(n_components):
        total = 0.0
        for b in range(n_rows):
            total += weighted[k, b]
        block_counts[k] = total
        counts[k] += total
    # In the block's dtype (float32 GEMM for float32 data), accumulated in float64.
    products = np.dot(weighted.astype(transposed.dtype), transposed.T).astype(np.float64)
    for k in range(n_components):
        for i in range(transposed.shape[0]):
            sums[k, i] += products[k, i] - block_counts[k] * means[k, i]
