"""Starting parameters for EM: k-means, k-means++, random, random rows, hierarchical agglomeration (hc),
or the user's own."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..covariance import CovarianceStructure
from ..families.em import estimate_parameters, feature_variance, statistics_from_responsibilities
from ..families.kmeans import assign, kmeans_plusplus, lloyd
from ..params import MixtureParams
from ..stats import SufficientStatistics
from .hierarchical import hc_estimate, hc_statistics

__all__ = ["HC_RESTART_METHODS", "INIT_METHODS", "initial_params", "initial_centers", "initial_statistics",
           "method_for_run", "params_from_centers"]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hc", "trimmed-kmeans")

TRIMMED_FRACTION = 0.1
"""The share of the weight that trimmed k-means leaves out: the rows farthest from their centres."""

HC_RESTART_METHODS = ("random", "random_from_data", "kmeans")
"""How initialisations after the first start, in turn, when ``init_params='hc'`` and ``n_init > 1``.

The agglomeration is deterministic on data that fit in its subsample, so repeating it would repeat the same
EM run. mclust's own remedy is random starts (``hcRandomPairs`` with ``mclustBICupdate``, Scrucca et al.
2023, section 3.7). In trials on the cells of mclust's published tables where our agglomeration alone
stopped lower, no single kind of start reached mclust's values everywhere: random responsibilities did best
on faithful, random rows as centres on thyroid, k-means on wine. The restarts take the three in turn, which
reaches every published value (tests/test_mclust_reference.py)."""


def method_for_run(init_params: str, run: int) -> str:
    """The initialisation method of run ``run`` (0-based) of ``n_init``: 'hc', then :data:`HC_RESTART_METHODS` in turn."""
    if init_params != "hc" or run == 0:
        return init_params
    return HC_RESTART_METHODS[(run - 1) % len(HC_RESTART_METHODS)]


def initial_centers(engine, n_components: int, method: str, random_state,
                    data_variance: np.ndarray | None = None) -> np.ndarray | None:
    """Centres (centred coordinates) to start from, or None for 'random' responsibilities.

    'kmeans' runs Lloyd from a k-means++ seeding (``data_variance``, the per-feature variance, sets its
    tolerance; computed here if not given); 'k-means++' uses the seeding alone; 'random_from_data'
    picks distinct samples at random.
    """
    rng = check_random_state(random_state)
    if method == "kmeans":
        seeds = kmeans_plusplus(engine, n_components, rng)
        if data_variance is None:
            data_variance = feature_variance(engine)
        tolerance = 1e-4 * float(np.mean(data_variance))
        return lloyd(engine, seeds, max_iter=300, tolerance=tolerance)[0]
    if method == "k-means++":
        return kmeans_plusplus(engine, n_components, rng)
    if method == "trimmed-kmeans":
        return trimmed_kmeans(engine, n_components, rng)[0]
    if method == "random_from_data":
        candidates = np.flatnonzero(engine.sample_weight > 0)
        return engine.rows(np.sort(rng.choice(candidates, size=n_components, replace=False)))
    if method == "random":
        return None
    raise ValueError(f"init_params must be one of {list(INIT_METHODS)}, got {method!r}")


def trimmed_kmeans(engine, n_components: int, random_state, trim: float = TRIMMED_FRACTION, n_starts: int = 10,
                   max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Trimmed k-means (Cuesta-Albertos, Gordaliza & Matran 1997): k-means on all but the rows farthest from their
    centres, which are left out at every step, so that gross outliers neither hold a centre nor drag one.

    From ``n_starts`` seedings by random rows (k-means++ would seed on the outliers, which are far from
    everything), repeat until the kept rows no longer change: assign every row to its nearest centre, keep the
    rows nearest to their centres up to ``1 - trim`` of the weight, move each centre to the weighted mean of its
    kept rows. The start with the lowest trimmed distortion wins. For an in-memory engine (initialisation runs
    on one).

    Returns
    -------
    centers : ndarray of shape (n_components, n_features), centred coordinates
    kept : ndarray of shape (n_samples,), bool
    """
    rng = check_random_state(random_state)
    rows, weights = engine.centred(engine.X), engine.sample_weight
    candidates = np.flatnonzero(weights > 0)
    best = None
    for _ in range(n_starts):
        seeds = rng.choice(candidates, size=n_components, replace=False, p=weights[candidates] / weights.sum())
        centers, kept, distortion = _trimmed_lloyd(rows, weights, rows[seeds].astype(np.float64), trim, max_iter)
        if best is None or distortion < best[2]:
            best = (centers, kept, distortion)
    return best[0], best[1]


def _trimmed_lloyd(rows, weights, centers, trim, max_iter):
    kept = np.zeros(rows.shape[0], dtype=bool)
    for _ in range(max_iter):
        labels, distances = assign(rows, centers)
        order = np.argsort(distances, kind="stable")
        cumulative = np.cumsum(weights[order])
        keep = np.zeros_like(kept)
        keep[order[:int(np.searchsorted(cumulative, (1.0 - trim) * cumulative[-1])) + 1]] = True
        if np.array_equal(keep, kept):
            break
        kept = keep
        for k in range(centers.shape[0]):
            members = kept & (labels == k) & (weights > 0)
            if members.any():  # an empty centre stays where it is
                centers[k] = np.average(rows[members], axis=0, weights=weights[members])
    return centers, kept, float(weights[kept] @ distances[kept])


def _trimmed_estimate(engine, structure, n_components, random_state, reg_covar, variance_floor, prior):
    """One M-step from the trimmed k-means partition of the kept rows (the trimmed ones do not shape the start)."""
    centers, kept = trimmed_kmeans(engine, n_components, random_state)
    rows, weights = engine.centred(engine.X)[kept], engine.sample_weight[kept]
    responsibilities = np.eye(n_components)[assign(rows, centers)[0]]
    stats = statistics_from_responsibilities(rows, weights, responsibilities, centers, structure)
    template = MixtureParams(np.full(n_components, 1 / n_components), centers, None, None, engine.offset)
    return estimate_parameters(_scaled_to(stats, engine), template, structure, reg_covar, variance_floor, prior)


def _hard_statistics(engine, centers, structure):
    n_components = centers.shape[0]

    def statistics(chunk, weights):
        labels, _ = assign(chunk, centers)
        responsibilities = np.zeros((chunk.shape[0], n_components))
        responsibilities[np.arange(chunk.shape[0]), labels] = 1.0
        return statistics_from_responsibilities(chunk, weights, responsibilities, centers, structure)

    return engine.reduce(statistics)


def _random_statistics(engine, n_components, structure, random_state):
    rng = check_random_state(random_state)
    reference = np.zeros((n_components, engine.n_features))
    total = None
    # Drawn on this thread, chunk after chunk in row order: a random state consumed by worker threads in
    # whatever order they run would make the start (and the fit) depend on scheduling. Consecutive draws
    # continue one stream, so the responsibilities do not depend on the chunk size either.
    for chunk, weights in engine.chunks():
        responsibilities = rng.uniform(size=(chunk.shape[0], n_components))
        responsibilities /= responsibilities.sum(axis=1, keepdims=True)
        stats = statistics_from_responsibilities(chunk, weights, responsibilities, reference, structure)
        total = stats if total is None else total + stats
    return total


def initial_statistics(engine, structure: CovarianceStructure, n_components: int, method: str, random_state,
                       data_variance: np.ndarray | None = None,
                       sample=None) -> tuple[SufficientStatistics, np.ndarray]:
    """Statistics of the starting responsibilities and their reference means, for all of ``engine``'s rows.

    For estimators that start from responsibilities rather than parameters (variational Bayes).

    Parameters
    ----------
    engine
        All the data.
    sample : engine, optional
        Where the start is chosen (default ``engine``): for out-of-core and Dask data a uniform sample
        (:func:`gaussmix.engines.initialisation_engine`). Centres ('kmeans', 'k-means++',
        'random_from_data') are chosen on it and every row of ``engine`` is assigned to the nearest (one
        pass). 'random' and 'hc' responsibilities exist for the sample's rows only (for 'hc', at most
        :data:`~gaussmix.fitting.hierarchical.HC_MAX_SAMPLES` of them): their statistics are scaled to
        ``engine``'s weight sum, as if the other rows were like them.

    Returns
    -------
    stats : SufficientStatistics
    reference : ndarray of shape (n_components, n_features)
        The means the statistics are taken about (centred coordinates).
    """
    sample = engine if sample is None else sample
    if method == "hc":
        stats, reference = hc_statistics(sample, structure, n_components, random_state=random_state)
        return _scaled_to(stats, engine), reference
    centers = initial_centers(sample, n_components, method, random_state, data_variance)
    if centers is None:
        stats = _random_statistics(sample, n_components, structure, random_state)
        return _scaled_to(stats, engine), np.zeros((n_components, engine.n_features))
    return _hard_statistics(engine, centers, structure), centers


def _scaled_to(stats: SufficientStatistics, engine) -> SufficientStatistics:
    """Statistics of some rows scaled to the weight sum of all of ``engine``'s rows."""
    total = engine.weight_sum
    return stats if stats.weight_sum == total else stats.scaled(total / stats.weight_sum)


def params_from_centers(engine, centers, structure, reg_covar, variance_floor=None, prior=None):
    """One M-step from hard nearest-centre assignments: a ParameterEstimate (may flag degeneracy)."""
    stats = _hard_statistics(engine, centers, structure)
    template = MixtureParams(np.full(len(centers), 1 / len(centers)), centers, None, None, engine.offset)
    return estimate_parameters(stats, template, structure, reg_covar, variance_floor, prior)


def initial_params(engine, structure: CovarianceStructure, n_components: int, *, method: str, random_state,
                   reg_covar: float, recover, variance_floor=None, data_variance=None, weights_init=None,
                   means_init=None, precisions_init=None, prior=None, responsibilities_init=None) -> MixtureParams:
    """Parameters to start EM from.

    With ``means_init`` the data are assigned to the nearest given mean (instead of running k-means) to
    estimate whatever was not given; ``weights_init`` and ``precisions_init`` override the estimates.
    With all three given the data are not looked at. A ``prior`` makes the initial M-step a MAP step.
    ``responsibilities_init`` (n_samples, n_components), for an in-memory engine whose rows they describe,
    replaces ``method``: the start is their M-step.
    """
    offset = engine.offset
    n_features = engine.n_features
    if responsibilities_init is not None:
        stats = statistics_from_responsibilities(engine.centred(engine.X), engine.sample_weight,
                                                 np.asarray(responsibilities_init, dtype=np.float64),
                                                 np.zeros((n_components, n_features)), structure)
        template = MixtureParams(np.full(n_components, 1 / n_components), np.zeros((n_components, n_features)),
                                 None, None, offset)
        estimate = estimate_parameters(stats, template, structure, reg_covar, variance_floor, prior)
        params = recover(estimate, None) if estimate.degenerate else estimate.to_params()
        return _given(params, structure, weights_init, means_init, precisions_init)
    if weights_init is not None and means_init is not None and precisions_init is not None:
        params = MixtureParams(np.asarray(weights_init, dtype=np.float64), np.asarray(means_init, dtype=np.float64) - offset,
                               None, None, offset)
    else:
        if means_init is not None:
            centers = np.asarray(means_init, dtype=np.float64) - offset
        elif method in ("hc", "trimmed-kmeans"):  # these give a partition, not centres
            centers = None
        else:
            centers = initial_centers(engine, n_components, method, random_state, data_variance)
        if method == "hc" and means_init is None:
            estimate = hc_estimate(engine, structure, n_components, random_state=random_state,
                                   reg_covar=reg_covar, variance_floor=variance_floor)
        elif method == "trimmed-kmeans" and means_init is None:
            estimate = _trimmed_estimate(engine, structure, n_components, random_state, reg_covar, variance_floor,
                                         prior)
        elif centers is None:
            stats = _random_statistics(engine, n_components, structure, random_state)
            template = MixtureParams(np.full(n_components, 1 / n_components), np.zeros((n_components, n_features)),
                                     None, None, offset)
            estimate = estimate_parameters(stats, template, structure, reg_covar, variance_floor, prior)
        else:
            estimate = params_from_centers(engine, centers, structure, reg_covar, variance_floor, prior)
        params = recover(estimate, None) if estimate.degenerate else estimate.to_params()
    return _given(params, structure, weights_init, means_init, precisions_init)


def _given(params: MixtureParams, structure: CovarianceStructure, weights_init, means_init,
           precisions_init) -> MixtureParams:
    """``params`` with the user's initial weights, means and precisions in place of the estimates."""
    if weights_init is not None:
        params = params.replace(weights=np.asarray(weights_init, dtype=np.float64))
    if means_init is not None:
        params = params.replace(means=np.asarray(means_init, dtype=np.float64) - params.offset)
    if precisions_init is not None:
        precisions_cholesky = structure.precisions_cholesky_from_precisions(np.asarray(precisions_init, dtype=np.float64))
        params = params.replace(precisions_cholesky=precisions_cholesky,
                                covariances=structure.covariances_from_precisions_cholesky(precisions_cholesky))
    return params
