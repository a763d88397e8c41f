"""Pieces shared by the compiled E-step kernels.

Kernels work on *blocks* of rows stored transposed (features x rows, "structure of arrays"), so that
every inner loop runs over contiguous rows and LLVM vectorises it. Three flags make that possible:
``error_model='numpy'`` (no ZeroDivisionError branches), loop trip counts known only at run time (a
constant count is fully unrolled into scalar code instead), and ``fastmath`` *reassociation* for the
reductions, which lets a sum over rows use several vector accumulators. Reassociation changes sums in
the last bits only, deterministically for a given block size; :func:`exp_nonpositive` is compiled
without it because its range reduction relies on the order of its operations.

Helpers are inlined into the kernels by numba (``inline='always'``), not left to LLVM. A call from one
compiled library into another goes to a ``linkonce_odr`` copy of the callee, and which copy a process
runs depends on whether the kernels were just compiled or loaded from numba's cache; the copies are
optimised in different modules, so with reassociation their sums differed in the last bits and a fit
resumed in another process was not bitwise the fit it continued. Inlined, every kernel carries its own
helpers. :func:`exp_nonpositive` stays a call: inlined it would inherit the caller's reassociation, and
without reassociation every copy of it computes the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["FAST", "exp_nonpositive", "lower_scatter", "normalise_block", "transpose_block"]

FAST = {"reassoc", "contract", "nsz"}
"""LLVM fast-math flags of the kernels: reassociation (vector reductions), FMA contraction, and no
signed zeros. Not 'nnan'/'ninf': a zero-weight component's log-density is a legitimate -inf."""

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_LOG2_E = 1.44269504088896338700e00


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"contract"})
def exp_nonpositive(values, out, scratch_bits, floor):  # pragma: no cover - compiled
    """``out = exp(values)`` for ``values <= 0``, and exactly 0 where ``values < floor``.

    libm's ``exp`` is a scalar call that LLVM cannot vectorise; this one is: ``exp(x) = 2^k e^r`` with
    ``k = round(x / ln 2)`` and ``|r| <= ln 2 / 2`` (Cody-Waite reduction), ``e^r`` by its Taylor
    polynomial of degree 13 (truncation error below 1e-17 relative), and ``2^k`` assembled from its
    IEEE-754 bits (``k >= -1010``: always a normal number). Accuracy is within 2 ulp of libm.

    Parameters
    ----------
    values : ndarray of shape (n,), float64
    out : ndarray of shape (n,), float64
    scratch_bits : ndarray of shape (n,), int64
        Workspace for the bits of ``2^k``.
    floor : float
        At least -1000. Responsibilities relative to the row's largest below ``exp(floor)`` are flushed to
        zero: they are nothing next to 1, but their products are subnormal floats, on which x86 arithmetic
        is ~100x slower (see :func:`gaussmix.families.em.log_responsibility_floor`).
    """
    n = values.shape[0]
    powers = scratch_bits.view(np.float64)
    for b in range(n):
        x = max(values[b], floor)
        k = np.floor(x * _LOG2_E + 0.5)
        r = (x - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        scratch_bits[b] = (np.int64(k) + 1023) << 52
        out[b] = p
    for b in range(n):
        out[b] = out[b] * powers[b] if values[b] >= floor else 0.0


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def normalise_block(log_prob, sample_weight, work, scratch_bits, floor):  # pragma: no cover - compiled
    """Turn ``log_prob`` (K, n) into weighted responsibilities ``w_n gamma_kn`` in place.

    The fused log-sum-exp of :func:`gaussmix.families.em._normalise_rows`, column-wise: one exponentiation per
    entry serves both the normaliser and the responsibilities.

    Parameters
    ----------
    log_prob : ndarray of shape (n_components, n_rows), float64
        ``log pi_k + log N(x_n | mu_k, Sigma_k)``; overwritten.
    sample_weight : ndarray of shape (n_rows,), float64
    work : ndarray of shape (3, n_rows), float64
        Workspace.
    scratch_bits : ndarray of shape (n_rows,), int64
        Workspace for :func:`exp_nonpositive`.
    floor : float
        See :func:`exp_nonpositive`.

    Returns
    -------
    log_likelihood : float
        ``sum_n w_n log p(x_n)``.
    n_bad : int
        Rows whose density is zero (or overflowed) under every component; their contribution is left out
        and the caller raises.
    """
    n_components, n_rows = log_prob.shape
    row_max = work[0]
    total = work[1]
    shifted = work[2]
    for b in range(n_rows):
        row_max[b] = log_prob[0, b]
        total[b] = 0.0
    for k in range(1, n_components):
        for b in range(n_rows):
            row_max[b] = max(row_max[b], log_prob[k, b])
    for k in range(n_components):
        for b in range(n_rows):
            shifted[b] = log_prob[k, b] - row_max[b]
        exp_nonpositive(shifted, log_prob[k], scratch_bits, floor)
        for b in range(n_rows):
            total[b] += log_prob[k, b]
    log_likelihood = 0.0
    n_bad = 0
    for b in range(n_rows):
        if np.isfinite(row_max[b]) and total[b] > 0.0:
            log_likelihood += sample_weight[b] * (row_max[b] + np.log(total[b]))
            total[b] = sample_weight[b] / total[b]
        else:
            n_bad += 1
            total[b] = 0.0
    for k in range(n_components):
        for b in range(n_rows):
            log_prob[k, b] *= total[b]
    return log_likelihood, n_bad


@njit(inline="always", nogil=True, cache=True, error_model="numpy", fastmath=FAST)
def lower_scatter(weighted, residual, scatter, zero):  # pragma: no cover - compiled
    """``scatter[i, j] += sum_b weighted[i, b] * residual[j, b]`` for ``j <= i`` (and a little above).

    A register-blocked 4 x 2 tile per output block: each pass over the rows loads six vectors for eight
    fused multiply-adds, and LLVM vectorises the reduction over rows with several accumulators.

    Parameters
    ----------
    weighted, residual : ndarray of shape (n_padded, n_rows)
        ``n_padded`` is a multiple of 4; padding rows are zero.
    scatter : ndarray of shape (n_padded, n_padded), float64
        Accumulated into; only the lower triangle (including the diagonal) is meaningful.
    zero : scalar of the dtype of ``weighted``
        Starts the per-tile sums: float32 blocks sum in float32 (8 lanes per vector) and are added to
        the float64 total once per block.
    """
    n_padded, n_rows = residual.shape
    for ib in range(0, n_padded, 4):
        for jb in range(0, ib + 4, 2):
            s00 = zero; s01 = zero; s10 = zero; s11 = zero  # noqa: E702
            s20 = zero; s21 = zero; s30 = zero; s31 = zero  # noqa: E702
            for b in range(n_rows):
                c0 = residual[jb, b]
                c1 = residual[jb + 1, b]
                g = weighted[ib, b]
                s00 += g * c0
                s01 += g * c1
                g = weighted[ib + 1, b]
                s10 += g * c0
                s11 += g * c1
                g = weighted[ib + 2, b]
                s20 += g * c0
                s21 += g * c1
                g = weighted[ib + 3, b]
                s30 += g * c0
                s31 += g * c1
            scatter[ib, jb] += s00
            scatter[ib, jb + 1] += s01
            scatter[ib + 1, jb] += s10
            scatter[ib + 1, jb + 1] += s11
            scatter[ib + 2, jb] += s20
            scatter[ib + 2, jb + 1] += s21
            scatter[ib + 3, jb] += s30
            scatter[ib + 3, jb + 1] += s31


@njit(inline="always", nogil=True, cache=True, error_model="numpy")
def transpose_block(chunk, start, transposed, offset):  # pragma: no cover - compiled
    """``transposed[i, b] = chunk[start + b, i] - offset[i]`` for the ``transposed.shape[1]`` rows from
    ``start``: the block centred, features x rows.

    The subtraction is in float64 and the result is stored in ``transposed``'s dtype, exactly as the
    engines centre chunks (``np.subtract(rows, offset, dtype=float64).astype(dtype)``), so kernels can take
    the rows as stored and centre them here, in cache, instead of in a separate pass through memory.
    Rows of ``transposed`` beyond the chunk's features are left as they are (zero padding).
    """
    n_features = chunk.shape[1]
    n_rows = transposed.shape[1]
    for b in range(n_rows):
        row = chunk[start + b]
        for i in range(n_features):
            transposed[i, b] = np.float64(row[i]) - offset[i]
