"""Model-based hierarchical agglomeration (mclust's ``hc``), used to start EM: ``init_params='hc'``.

Starting from singletons, repeatedly merge the two clusters whose union costs least in classification
likelihood under an unconstrained Gaussian model (mclust's default ``VVV`` criterion; Banfield and Raftery
1993, Fraley 1998, "Algorithms for model-based Gaussian hierarchical clustering", SIAM J. Sci. Comput.
20(1)). The partition at K clusters gives the starting responsibilities. Unlike k-means, whose
Voronoi cells favour round clusters of equal size, the criterion lets a cluster grow along its own
elongated covariance, so EM starts near the right optimum on anisotropic data.

The cost of a cluster ``C`` with ``n_C`` points and scatter ``W_C`` (``S_C = W_C / n_C``) in ``d >= 2``
dimensions is

    cost(C) = n_C log(det(S_C) [n_C > d] + tr(S_C) + omega / n_C),    omega = alpha tr(W) / (m d)

(``W`` the scatter of all ``m`` rows, ``alpha = 1``): the negative classification log-likelihood
``n_C log det(S_C)`` (up to constants) made finite for singletons and for clusters on ``d`` or fewer points,
whose determinant is left out. While a cluster is small the trace and the ridge dominate, so early merges join
near neighbours in the sense of Ward's criterion; the determinant takes over as clusters grow and acquire a
shape of their own. This is Fraley's (1998) modified criterion for unconstrained covariances, in the form that
mclust's ``hc(modelName = "VVV")`` evaluates; with it, and with mclust's order among exactly tied merges (see
:func:`agglomerate`), the partitions at K = 2..9 equal those of mclust 6 on every data set of
``../shared/data`` that we compared, and ``tests/test_hierarchical.py`` checks that against partitions recorded
from mclust. :func:`agglomerate` keeps, for one-dimensional rows, the ridge-regularised criterion
``n_C log((W_C + omega) / (n_C + 1))``; but like mclust's ``Mclust``, the start of EM on one-dimensional data
is not a tree at all: :func:`quantile_partition` cuts the values at their quantiles.
Merging ``i`` and ``j`` costs ``cost(i u j) - cost(i) - cost(j)``, with
``W_{i u j} = W_i + W_j + n_i n_j / (n_i + n_j) (m_i - m_j)(m_i - m_j)^T``.

Like mclust (``hcUse = "SVD"``, its default) the agglomeration runs on standardised data (divided by the
standard deviations with ``n - 1``, as R's ``scale``; the criterion is not invariant to a common scale) rotated
to its principal axes and scaled by the inverse square roots of the singular values, so the result does not
depend on the units of the features; and like mclust it runs on a random subsample of at most
``max_samples`` rows (mclust's ``subset``; see :data:`HC_MAX_SAMPLES`), the rest of the data entering at the first E-step.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from sklearn.utils import check_random_state

from ..families.em import estimate_parameters, statistics_from_responsibilities
from ..params import MixtureParams

__all__ = ["HC_MAX_SAMPLES", "agglomerate", "hc_estimate", "hc_partition", "hc_statistics", "quantile_partition",
           "svd_transform"]

HC_MAX_SAMPLES = 1000
"""Rows the agglomeration runs on at most. mclust's default subset is 2000; the agglomeration costs
O(m^2 d^3) time (1.7 s for m = 1000, d = 10 here, four times that for 2000), so we take half."""


def svd_transform(X: np.ndarray) -> np.ndarray:
    """mclust's ``hcUse = "SVD"``: standardise, rotate to principal axes, scale by ``1/sqrt(singular value)``.

    Standardised with the ``n - 1`` standard deviation, as R's ``scale``: the agglomeration's criterion is not
    invariant to a common factor, and this reproduces mclust's trees. Null directions are dropped (mclust would
    divide by a zero singular value).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, rank)
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1])
    standardised = centred / np.where(scale > 0, scale, 1.0)
    _, singular_values, vt = np.linalg.svd(standardised, full_matrices=False)
    keep = singular_values > singular_values[0] * max(X.shape) * np.finfo(np.float64).eps  # drop null directions
    return standardised @ vt[keep].T / np.sqrt(singular_values[keep])


def agglomerate(Z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Merge sequence of model-based agglomeration of the rows of ``Z`` down to one cluster.

    Exactly tied merges (rows that coincide, as in faithful's rounded measurements) are taken in mclust's
    order, so that the trees agree there too: mclust keeps the clusters in slots ``1..g``, scans the pairs
    ``(i, j)``, ``i < j``, column by column (``j`` outer) and takes the last of the equal minima; after a merge
    the cluster of the last slot moves into the slot that was freed.

    Parameters
    ----------
    Z : ndarray of shape (m, d)
    alpha : float
        Ridge ``omega = alpha tr(W) / (m d)`` (see the module docstring).

    Returns
    -------
    ndarray of shape (m - 1, 2), int
        Row ``s`` holds ``(i, j)``, ``i < j``: at step ``s`` cluster ``j`` is merged into cluster ``i``
        (a cluster is named by its first row).
    """
    key = np.ascontiguousarray(Z, dtype=np.float64)
    return _agglomerate_cached(key.tobytes(), key.shape, float(alpha)).copy()


@lru_cache(maxsize=8)
def _agglomerate_cached(data: bytes, shape: tuple, alpha: float) -> np.ndarray:
    # select_model fits the same data for many (structure, K) candidates: the tree is computed once.
    return _agglomerate(np.frombuffer(data, dtype=np.float64).reshape(shape), alpha)


@lru_cache(maxsize=64)
def _partition(data: bytes, shape: tuple, n_clusters: int) -> np.ndarray:
    """Labels of the agglomeration of these (centred) rows cut at ``n_clusters``: every model of a grid asks for
    the same few, so they are computed once (read only)."""
    rows = np.frombuffer(data, dtype=np.float64).reshape(shape)
    if shape[1] == 1:
        labels = quantile_partition(rows[:, 0], n_clusters)
    else:
        labels = hc_partition(agglomerate(svd_transform(rows)), shape[0], n_clusters)
    labels.setflags(write=False)
    return labels


def _agglomerate(Z: np.ndarray, alpha: float) -> np.ndarray:
    m, d = Z.shape
    merges = np.zeros((max(m - 1, 0), 2), dtype=np.intp)
    if m < 2:
        return merges
    if d == 0:  # every row the same point (no direction left after the SVD transform): any order is as good
        merges[:, 1] = np.arange(m - 1, 0, -1)
        return merges
    centred = Z - Z.mean(axis=0)
    omega = max(alpha * float(np.sum(centred * centred)) / (m * d), np.finfo(np.float64).eps)

    counts = np.ones(m)
    means = Z.copy()
    scatter = np.zeros((m, d, d))
    squared = np.maximum(np.sum(Z * Z, axis=1)[:, None] + np.sum(Z * Z, axis=1)[None, :] - 2.0 * Z @ Z.T, 0.0)
    # A singleton costs log(omega) (the one-dimensional criterion: log(omega / 2)); two singletons at distance
    # delta have the scatter |delta|^2 / 2.
    if d == 1:
        cost = np.full(m, np.log(omega / 2.0))
        delta = 2.0 * (np.log(omega / 3.0) + np.log1p(squared / (2.0 * omega))) - 2.0 * cost[0]
    else:
        cost = np.full(m, np.log(omega))
        delta = 2.0 * np.log(0.5 + squared / (4.0 * omega))
    np.fill_diagonal(delta, np.inf)
    active = np.ones(m, dtype=bool)
    best_partner = delta.argmin(axis=1)
    best_cost = delta[np.arange(m), best_partner]
    slots = _MclustSlots(m)

    for step in range(m - 1):
        a = int(np.argmin(best_cost))
        b = int(best_partner[a])
        lowest = best_cost[a]
        if np.count_nonzero(best_cost == lowest) > 2:  # several merges tie exactly: take mclust's
            a, b = slots.last_tied(np.argwhere(delta == lowest))
        i, j = min(a, b), max(a, b)
        merges[step] = i, j
        slots.merge(keep=i, drop=j)
        n_i, n_j = counts[i], counts[j]
        shift = means[i] - means[j]
        scatter[i] = scatter[i] + scatter[j] + (n_i * n_j / (n_i + n_j)) * np.outer(shift, shift)
        means[i] = (n_i * means[i] + n_j * means[j]) / (n_i + n_j)
        counts[i] = n_i + n_j
        cost[i] = _cost(counts[i:i + 1], scatter[i:i + 1], omega)[0]
        active[j] = False
        delta[j, :] = delta[:, j] = np.inf
        best_cost[j] = np.inf

        others = np.flatnonzero(active)
        others = others[others != i]
        if others.size == 0:
            break
        merged_counts = counts[i] + counts[others]
        shifts = means[i] - means[others]
        merged_scatter = (scatter[i] + scatter[others]
                          + (counts[i] * counts[others] / merged_counts)[:, None, None] * shifts[:, :, None] * shifts[:, None, :])
        delta[i, others] = delta[others, i] = _cost(merged_counts, merged_scatter, omega) - cost[i] - cost[others]
        best_partner[i] = int(np.argmin(delta[i]))
        best_cost[i] = delta[i, best_partner[i]]
        # Rows whose best partner was i or j must be searched again; others only compare with the new i.
        stale = others[(best_partner[others] == i) | (best_partner[others] == j)]
        if stale.size:
            best_partner[stale] = delta[stale].argmin(axis=1)
            best_cost[stale] = delta[stale, best_partner[stale]]
        fresh = others[delta[others, i] < best_cost[others]]
        best_partner[fresh] = i
        best_cost[fresh] = delta[fresh, i]
    return merges


class _MclustSlots:
    """The slot of each live cluster in mclust's agglomeration, to break exact ties as it does."""

    def __init__(self, m: int):
        self.slot_of = np.arange(m)      # cluster (named by its first row) -> slot
        self.cluster_in = np.arange(m)   # slot -> cluster
        self.last = m - 1

    def last_tied(self, pairs: np.ndarray) -> tuple[int, int]:
        """Of the tied pairs of clusters (rows ``(a, b)``), the last in mclust's scan order."""
        first, second = self.slot_of[pairs[:, 0]], self.slot_of[pairs[:, 1]]
        chosen = pairs[np.lexsort((np.minimum(first, second), np.maximum(first, second)))[-1]]
        return int(chosen[0]), int(chosen[1])

    def merge(self, keep: int, drop: int) -> None:
        """``drop`` joins ``keep``; the union takes the lower of their slots, the last slot's cluster the other."""
        low, high = sorted((self.slot_of[keep], self.slot_of[drop]))
        self.slot_of[keep] = low
        self.cluster_in[low] = keep
        moved = self.cluster_in[self.last]
        if moved not in (keep, drop):
            self.slot_of[moved] = high
            self.cluster_in[high] = moved
        self.last -= 1


def _cost(counts: np.ndarray, scatter: np.ndarray, omega: float) -> np.ndarray:
    """``n log(det(S) [n > d] + tr(S) + omega / n)`` with ``S = W / n`` (``n log((W + omega) / (n + 1))`` in
    one dimension), for stacks: counts (c,), scatter (c, d, d)."""
    if scatter.shape[1] == 1:
        return counts * np.log((scatter[:, 0, 0] + omega) / (counts + 1.0))
    d = scatter.shape[1]
    determinant = np.zeros(len(counts))
    shaped = counts > d  # on d or fewer points the scatter is singular: mclust leaves the determinant out
    if np.any(shaped):
        sign, logdet = np.linalg.slogdet(scatter[shaped] / counts[shaped, None, None])
        determinant[shaped] = np.where(sign > 0, np.exp(logdet), 0.0)  # rounding can make a singular S look indefinite
    return counts * np.log(determinant + (np.trace(scatter, axis1=1, axis2=2) + omega) / counts)


def quantile_partition(values: np.ndarray, n_clusters: int) -> np.ndarray:
    """mclust's start for one-dimensional data: ``n_clusters`` intervals between quantiles of the values.

    The cut points are the quantiles at ``n + 1`` equally spaced probabilities (linear interpolation, R's and
    numpy's default), with ``n`` raised from ``n_clusters`` until ``n_clusters + 1`` of them are distinct (tied
    values can merge quantiles); where more are distinct, those that open the narrowest intervals go. The outer
    cut points are widened a little so that every value falls in ``[cut_k, cut_{k+1})``.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
    n_clusters : int

    Returns
    -------
    ndarray of shape (n_samples,), int
        Labels ``0 .. n_clusters - 1`` in increasing order of the values; with fewer than ``n_clusters``
        distinct values some labels are unused.
    """
    values = np.asarray(values, dtype=np.float64)
    distinct = np.unique(values).size
    n = n_clusters
    while True:
        cuts = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n + 1)))
        if cuts.size >= n_clusters + 1 or n > distinct + n_clusters:
            break
        n += 1
    if cuts.size > n_clusters + 1:
        narrowest = np.argsort(np.diff(cuts), kind="stable")[: cuts.size - n_clusters - 1]
        cuts = np.delete(cuts, narrowest)
    spread = np.std(values, ddof=1) if values.size > 1 else 0.0
    margin = spread * np.sqrt(np.finfo(np.float64).eps)
    cuts[0], cuts[-1] = values.min() - margin, values.max() + margin
    return np.clip(np.searchsorted(cuts, values, side="right") - 1, 0, n_clusters - 1)


def hc_partition(merges: np.ndarray, n_rows: int, n_clusters: int) -> np.ndarray:
    """Labels ``0 .. n_clusters - 1`` (numbered by first row) after the first ``n_rows - n_clusters`` merges."""
    parent = np.arange(n_rows)
    for i, j in merges[: n_rows - n_clusters]:
        parent[j] = i
    # Every merge points a later row at an earlier one, so one pass in row order resolves the roots.
    for row in range(n_rows):
        parent[row] = parent[parent[row]]
    return np.unique(parent, return_inverse=True)[1]


def hc_statistics(engine, structure, n_components: int, *, random_state,
                  max_samples: int = HC_MAX_SAMPLES) -> tuple:
    """Statistics of the agglomeration's partition of (a subsample of) the data, and their reference means.

    The subsample is drawn among rows with positive weight, without replacement. The agglomeration
    itself ignores the weights (like mclust, which has none); the rows keep them in the statistics.

    Returns
    -------
    stats : SufficientStatistics
        Of the subsample's rows only (``stats.weight_sum`` is their weight).
    reference : ndarray of shape (n_components, n_features)
        The partition's weighted means (centred coordinates), about which the moments are taken.
    """
    weights = engine.map(lambda chunk, chunk_weights: chunk_weights)
    candidates = np.flatnonzero(weights > 0)
    if candidates.size < n_components:
        raise ValueError(f"init_params='hc' needs at least n_components={n_components} samples with positive weight")
    if candidates.size > max_samples:
        candidates = np.sort(check_random_state(random_state).choice(candidates, size=max_samples, replace=False))
    rows = np.asarray(engine.rows(candidates), dtype=np.float64)  # centred coordinates
    labels = _partition(rows.tobytes(), rows.shape, n_components)

    responsibilities = np.zeros((rows.shape[0], n_components))
    responsibilities[np.arange(rows.shape[0]), labels] = 1.0
    row_weights = weights[candidates]
    weighted = responsibilities * row_weights[:, None]
    reference = (weighted.T @ rows) / np.maximum(weighted.sum(axis=0), np.finfo(np.float64).tiny)[:, None]
    return statistics_from_responsibilities(rows, row_weights, responsibilities, reference, structure), reference


def hc_estimate(engine, structure, n_components: int, *, random_state, reg_covar: float, variance_floor=None,
                max_samples: int = HC_MAX_SAMPLES):
    """One M-step from the agglomeration's partition of (a subsample of) the data: a ParameterEstimate.

    See :func:`hc_statistics`. Components may be flagged degenerate (e.g. a singleton cluster at an
    outlier); the caller's recovery policy deals with them as for any initialisation.
    """
    stats, reference = hc_statistics(engine, structure, n_components, random_state=random_state,
                                     max_samples=max_samples)
    template = MixtureParams(np.full(n_components, 1 / n_components), reference, None, None, engine.offset)
    return estimate_parameters(stats, template, structure, reg_covar, variance_floor)
