"""EM with values missing at random (NaN entries), after Ghahramani & Jordan (1994).

A row with missing coordinates contributes through what is observed and what that implies about the rest:

* **density**: ``p(x_o) = sum_k pi_k N(x_o | mu_ko, Sigma_koo)``, the marginal of the observed
  coordinates; responsibilities ``gamma_nk = p(k | x_o)`` follow in log space;
* **statistics**: each component completes the row with its own conditional expectation,
  ``x_hat_nk = (x_o, E[x_m | x_o, k])``, and adds the conditional covariance ``C_nk = Cov[x_m | x_o, k]`` on
  the missing block of the second moment::

      N_k = sum_n w_n gamma_nk
      s_k = sum_n w_n gamma_nk (x_hat_nk - m_k)
      S_k = sum_n w_n gamma_nk [(x_hat_nk - m_k)(x_hat_nk - m_k)^T + C_nk]

These are exactly the expected complete-data statistics, so the M-step (:func:`gaussmix.families.em.maximize`) is
unchanged and every iteration increases the observed-data log-likelihood ``sum_n w_n log p(x_o)`` (for
structures whose M-step is itself a generalised step, such as mclust's iterative ones and factor
analysers, it still does not decrease it). The dense ``S_k`` is turned into the structure's own statistic
by :meth:`~gaussmix.covariance.CovarianceStructure.scatter_from_dense` under the current parameters: its
diagonal for 'diag', its trace for 'spherical', the sum over components for 'tied', ``[S_k beta_k^T |
diag S_k]`` for factor analysers; exactly what the complete rows' ordinary E-step returns, so the two add.

Rows are grouped by missingness pattern; each pattern costs one Cholesky factorisation per component
(:func:`gaussmix.families.conditional.condition_components`). Rows without NaN take the ordinary E-step.

A MAP prior needs nothing here: its M-step acts on the same completed statistics, and EM then increases
``sum_n w_n log p(x_o,n) + log p(theta)``. A uniform noise component (:mod:`gaussmix.families.noise`) scores a row on
its observed coordinates too: with the noise uniform on a box with sides ``r_j``, its density at ``x_o`` is
``1 / prod_{j in o} r_j`` (:class:`gaussmix.families.noise.NoiseBox`), one more column beside the Gaussian marginals;
the noise responsibility then takes its share of each row, exactly as for complete rows.

:func:`expect_with_missing` is a per-chunk E-step like :func:`gaussmix.families.em.expect`, so every engine
(in memory, out of core, Dask) runs it unchanged; :func:`observed_summary` is the one pass that
tells whether a source has missing values at all, and :class:`MeanFilledRows` is the view of an engine
that re-seeding reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..covariance import CovarianceStructure
from ..params import MixtureParams
from ..stats import SufficientStatistics
from .conditional import condition_components, conditional_mixture_weights
from .em import _normalise_rows, expect, weighted_log_density
from .noise import NoiseBox

__all__ = [
    "MISSING_POLICIES", "MeanFilledRows", "ObservedSummary", "check_missing_pattern", "expect_completed",
    "expect_with_missing",
    "impute_centred", "incomplete_patterns", "initialisation_data", "mean_imputed", "marginal_log_responsibilities",
    "marginal_weighted_log_density", "observed_summary", "with_noise_box",
]

MISSING_POLICIES = ("error", "em")

MIN_COMPLETE_ROWS_PER_COMPONENT = 10
MIN_COMPLETE_FRACTION = 0.2
"""Initialisation uses the complete rows when there are at least this many per component and this share
of all rows (under MCAR they are a fair sample); otherwise the column-mean-imputed data."""


# ------------------------------------------------------------------------------------------ validation
def check_missing_pattern(X: np.ndarray) -> None:
    """Reject what EM with missing values cannot use: rows or columns with nothing observed.

    (Infinity is rejected by :func:`gaussmix._validation.check_fit_data` already.)

    Raises
    ------
    ValueError
        Naming the offending rows or columns (at most ten of them).
    """
    missing = np.isnan(X)
    empty_rows = np.flatnonzero(missing.all(axis=1))
    if empty_rows.size:
        raise ValueError(
            f"{empty_rows.size} row(s) of X have every feature missing (NaN), e.g. rows {empty_rows[:10].tolist()}; "
            "they carry no information: drop them"
        )
    empty_columns = np.flatnonzero(missing.all(axis=0))
    if empty_columns.size:
        raise ValueError(
            f"feature(s) {empty_columns[:10].tolist()} of X are missing (NaN) in every row; drop them"
        )


# ------------------------------------------------------------------------------------ data summaries
@dataclass(frozen=True, eq=False)
class ObservedSummary:
    """What one pass over data with missing values (NaN) learns about each feature.

    Attributes
    ----------
    variance : ndarray of shape (n_features,)
        Weighted variance over the rows where the feature is observed (for the collapse floor and
        k-means' tolerance); bit for bit :func:`gaussmix.families.em.feature_variance` when nothing is missing.
    means : ndarray of shape (n_features,)
        Weighted mean of the observed values, in the engine's centred coordinates.
    n_missing : int
        Number of missing entries.
    """

    variance: np.ndarray
    means: np.ndarray
    n_missing: int

    @property
    def has_missing(self) -> bool:
        return self.n_missing > 0


def _observed_moments(chunk: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per feature: observed weight, weighted sum and sum of squares, missing and observed counts; (5, d)."""
    missing = np.isnan(chunk)
    if not missing.any():  # feature_variance's arithmetic exactly, so complete data give its result
        n_rows, n_features = chunk.shape
        return np.stack([np.full(n_features, weights.sum()), weights @ chunk, weights @ (chunk * chunk),
                         np.zeros(n_features), np.full(n_features, float(n_rows))])
    observed = ~missing
    values = np.where(observed, chunk, 0.0)
    return np.stack([weights @ observed, weights @ values, weights @ (values * values), missing.sum(axis=0),
                     observed.sum(axis=0)]).astype(np.float64, copy=False)


def observed_summary(engine) -> ObservedSummary:
    """One pass over an engine's (centred) chunks: per-feature observed moments and the missing count.

    Raises
    ------
    ValueError
        If a feature is missing (NaN) in every row. (Rows with nothing observed are rejected before: by
        :func:`check_missing_pattern` for arrays, by the engine as it reads a source.)
    """
    total, first, second, missing, observed = engine.reduce(_observed_moments)
    never = np.flatnonzero(observed == 0)
    if never.size:
        raise ValueError(f"feature(s) {never[:10].tolist()} of X are missing (NaN) in every row; drop them")
    safe_total = np.where(total > 0, total, 1.0)
    mean = first / safe_total
    variance = np.where(total > 0, np.maximum(second / safe_total - mean * mean, 0.0), 0.0)
    return ObservedSummary(variance, np.where(total > 0, mean, 0.0), int(missing.sum()))


class MeanFilledRows:
    """An engine's rows with every NaN read as its feature's observed mean, for re-seeding.

    :func:`gaussmix.fitting.degeneracy.reseed_degenerate` moves a degenerate component onto the rows the model
    explains worst; with missing values those are scored, and returned, mean-imputed. The engine still does
    the reading (this view only fills each chunk it hands over), so it works on every engine without a
    filled copy of the data.

    Parameters
    ----------
    engine
        Any engine (see :mod:`gaussmix.engines`).
    means : ndarray of shape (n_features,)
        The fill values in the engine's centred coordinates (:attr:`ObservedSummary.means`).
    """

    def __init__(self, engine, means: np.ndarray):
        self.engine = engine
        self.means = np.asarray(means, dtype=np.float64)

    @property
    def offset(self) -> np.ndarray:
        return self.engine.offset

    def filled(self, chunk: np.ndarray) -> np.ndarray:
        """``chunk`` (centred) with each NaN replaced by its feature's mean."""
        return np.where(np.isnan(chunk), self.means.astype(chunk.dtype, copy=False), chunk)

    def rows_with_lowest(self, score: Callable[[np.ndarray], np.ndarray], n_rows: int) -> np.ndarray:
        """The ``n_rows`` filled rows (with positive weight) of lowest ``score``, lowest first."""
        return self.filled(self.engine.rows_with_lowest(lambda chunk: score(self.filled(chunk)), n_rows))


def mean_imputed(X: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
    """A copy of ``X`` with each NaN replaced by its column's weighted mean over the observed entries."""
    observed = ~np.isnan(X)
    observed_weights = observed * sample_weight[:, None]
    column_means = (observed_weights * np.where(observed, X, 0.0)).sum(axis=0) / np.maximum(observed_weights.sum(axis=0), np.finfo(float).tiny)
    return np.where(observed, X, column_means)


def initialisation_data(X: np.ndarray, sample_weight: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (and weights) to initialise EM from when ``X`` has missing values.

    The complete rows with positive weight if there are enough of them (see ``MIN_COMPLETE_*``), else
    the column-mean-imputed data.
    """
    complete = ~np.isnan(X).any(axis=1) & (sample_weight > 0)
    n_complete = int(complete.sum())
    if n_complete >= max(MIN_COMPLETE_ROWS_PER_COMPONENT * n_components, MIN_COMPLETE_FRACTION * X.shape[0]):
        return X[complete], sample_weight[complete]
    return mean_imputed(X, sample_weight), sample_weight


# ------------------------------------------------------------------------------------------- E-step
def incomplete_patterns(missing: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(observed, rows)`` for each distinct missingness pattern among rows with a NaN.

    ``observed`` is a boolean mask over features; ``rows`` the indices of the rows sharing it.
    """
    incomplete = np.flatnonzero(missing.any(axis=1))
    if incomplete.size == 0:
        return
    patterns, inverse = np.unique(missing[incomplete], axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(patterns.shape[0] + 1))
    for p, pattern in enumerate(patterns):
        yield ~pattern, incomplete[order[bounds[p]:bounds[p + 1]]]


def _dense_covariances(params: MixtureParams, structure: CovarianceStructure) -> np.ndarray:
    """The components' covariances as full matrices (n_components, n_features, n_features), float64."""
    covariances = params.covariances
    if covariances is None:
        covariances = structure.covariances_from_precisions_cholesky(params.precisions_cholesky)
    dense = structure.dense_covariances(covariances, params.n_components, params.n_features)
    return np.asarray(dense, dtype=np.float64)


def _log_weights(params: MixtureParams) -> np.ndarray:
    with np.errstate(divide="ignore"):  # a zero weight is a legitimate -inf
        return np.log(params.weights)


# The functions below take a noise component as ``noise_log_density``: None (no noise), ``-log V`` (a float: the
# region is known by its volume only, so only complete rows can be scored under it) or the NoiseBox it is
# uniform on (any row: the marginal over the observed coordinates is uniform on the projected box).
def _complete_noise_log_density(noise) -> float | None:
    """The noise log-density of a complete row: ``-log V``."""
    return -noise.log_volume if isinstance(noise, NoiseBox) else noise


def _noise_log_weight(params: MixtureParams) -> float:
    """``log pi_0``, the noise weight being what the Gaussian weights leave (as :func:`~gaussmix.families.em.weighted_log_density`)."""
    with np.errstate(divide="ignore"):  # a zero noise weight is a legitimate -inf
        return float(np.log(max(1.0 - float(params.weights.sum()), 0.0)))


def _noise_box(noise) -> NoiseBox:
    """The box of a noise component that must score rows with NaN; refuses one known by its volume only."""
    if not isinstance(noise, NoiseBox):
        raise ValueError(
            "this model's noise component is known by its volume only, so rows with missing values (NaN) cannot "
            "be scored under it; a model fitted with missing='em' on data with NaN knows its box and can"
        )
    return noise


def marginal_weighted_log_density(chunk: np.ndarray, params: MixtureParams, structure: CovarianceStructure,
                                  noise_log_density: float | NoiseBox | None = None) -> np.ndarray:
    """``log pi_k + log N(x_o | mu_ko, Sigma_koo)`` over each row's observed coordinates, shape (n, K).

    Chunks without NaN get exactly :func:`gaussmix.families.em.weighted_log_density`. With a noise component
    (``noise_log_density``) a last column ``log pi_0 + log p_0(x_o)`` is appended,
    shape (n, K + 1): ``noise_log_density`` is ``-log V`` (complete rows only) or the noise's
    :class:`~gaussmix.families.noise.NoiseBox` (any rows).
    """
    missing = np.isnan(chunk)
    complete_noise = _complete_noise_log_density(noise_log_density)
    if not missing.any():
        return weighted_log_density(chunk, params, structure, complete_noise)
    box = None if noise_log_density is None else _noise_box(noise_log_density)  # before any work
    complete = ~missing.any(axis=1)
    result = np.empty((chunk.shape[0], params.n_components + int(box is not None)))
    if complete.any():
        result[complete] = weighted_log_density(chunk[complete], params, structure, complete_noise)
    dense, log_weights = _dense_covariances(params, structure), _log_weights(params)
    for observed, rows in incomplete_patterns(missing):
        values = np.asarray(chunk[rows][:, observed], dtype=np.float64)
        conditionals = condition_components(params.means, dense, observed, values)
        result[rows, :params.n_components] = _log_marginal(conditionals, params) + log_weights
        if box is not None:
            result[rows, -1] = _noise_log_weight(params) + box.log_density(observed)
    return result


def marginal_log_responsibilities(chunk: np.ndarray, params: MixtureParams, structure: CovarianceStructure,
                                  dtype=None, noise_log_density: float | NoiseBox | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(log p(x_o), p(k | x_o))`` per row: the NaN-aware :func:`gaussmix.families.em.log_responsibilities`.

    A row whose density underflows under every component (an extreme outlier, e.g. at 1e160) gets
    ``log p = -inf`` and the responsibilities of its limit (:func:`limit_responsibilities`); the other rows
    are unaffected.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is an underflowed density: handled below
        responsibilities = marginal_weighted_log_density(chunk, params, structure, noise_log_density)
    if dtype is not None:
        responsibilities = responsibilities.astype(dtype, copy=False)
    beyond = ~np.isfinite(responsibilities.max(axis=1))
    if not beyond.any():
        return _normalise_rows(responsibilities), responsibilities
    log_norm = np.full(chunk.shape[0], -np.inf)
    within = ~beyond
    if within.any():
        inside = responsibilities[within]
        log_norm[within] = _normalise_rows(inside)
        responsibilities[within] = inside
    responsibilities[beyond] = limit_responsibilities(chunk[beyond], params, structure, responsibilities.shape[1])
    return log_norm, responsibilities


def most_probable(log_prob: np.ndarray, chunk: np.ndarray, params, structure: CovarianceStructure) -> np.ndarray:
    """Most probable component of each row from its weighted log-densities ``log_prob`` (n, K); for rows of zero
    density under every component, the limit's (:func:`limit_responsibilities`)."""
    labels = log_prob.argmax(axis=1)
    beyond = ~np.isfinite(log_prob.max(axis=1))
    if beyond.any():
        labels[beyond] = limit_responsibilities(chunk[beyond], params, structure, log_prob.shape[1]).argmax(axis=1)
    return labels


def limit_responsibilities(rows: np.ndarray, params, structure: CovarianceStructure, n_columns: int) -> np.ndarray:
    """Responsibilities of rows so far out that every component's density underflows, shape (n, n_columns).

    Along the ray ``x = s y`` (``y`` the row divided by its largest coordinate), ``log pi_k N(x | mu_k, Sigma_k)
    = -s^2 / 2 ||U_k^T (y - mu_k / s)||^2 + O(s)``: as ``s`` grows the component with the smallest scaled
    Mahalanobis distance takes all the responsibility (ties: the larger ``log pi_k + log det U_k``). A row with a
    missing value, or non-finite coordinates, keeps the prior weights instead; under a variational posterior
    (``params`` not a :class:`MixtureParams`: no point estimate to take the limit of) every component gets an
    equal share.
    """
    if not isinstance(params, MixtureParams):
        return np.full((rows.shape[0], n_columns), 1.0 / n_columns)
    result = np.zeros((rows.shape[0], n_columns))
    weights = np.zeros(n_columns)
    weights[:params.n_components] = params.weights
    weights /= weights.sum()
    result[:] = weights
    usable = np.all(np.isfinite(rows), axis=1)
    if usable.any():
        values = np.asarray(rows[usable], dtype=np.float64)
        scale = np.max(np.abs(values), axis=1, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
        distances = np.stack([structure.squared_mahalanobis(values[i:i + 1] / scale[i], params.means / scale[i],
                                                            params.precisions_cholesky)[0]
                              for i in range(values.shape[0])])
        tie_break = structure.log_weighted_constants(params)
        nearest = np.argmin(np.where(np.isclose(distances, distances.min(axis=1, keepdims=True), rtol=1e-12, atol=0.0),
                                     -tie_break, np.inf), axis=1)
        limit = np.zeros((values.shape[0], n_columns))
        limit[np.arange(values.shape[0]), nearest] = 1.0
        result[usable] = limit
    return result


def _log_marginal(conditionals, params: MixtureParams) -> np.ndarray:
    """``log f_k(x_o)`` of each component at the observed coordinates: Gaussian, or Student-t with ``params.dof``."""
    return conditionals.log_marginal if params.dof is None else conditionals.student_t_log_marginal(params.dof)


@dataclass(frozen=True, eq=False)
class CompletedPattern:
    """The rows of one missingness pattern, completed under each component (see :func:`completed_patterns`).

    Attributes
    ----------
    observed : ndarray of bool, shape (n_features,)
    weights : ndarray of shape (n_rows,)
        The rows' sample weights.
    weighted : ndarray of shape (n_rows, n_components)
        ``w_n p(k | x_o,n)``: sample weight times responsibility (of the Gaussian components only, with a
        noise component: these rows sum to one minus the noise responsibility).
    log_density : ndarray of shape (n_rows,)
        ``log p(x_o,n)`` (the noise component's share included).
    residual : ndarray of shape (n_rows, n_components, n_features)
        Each component's completion of the row, ``(x_o, E[x_m | x_o, k])``, minus the component's reference mean.
    conditionals : ComponentConditionals
        Per component: ``Cov[x_m | x_o, k]``, the observed Mahalanobis distances, ...
    """

    observed: np.ndarray
    weights: np.ndarray
    weighted: np.ndarray
    log_density: np.ndarray
    residual: np.ndarray
    conditionals: object


def completed_patterns(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                       structure: CovarianceStructure, noise: NoiseBox | None = None) -> Iterator[CompletedPattern]:
    """The rows of a centred chunk that have NaN, one missingness pattern at a time, completed under every component
    (Gaussian or Student-t, after ``params.dof``): what the E-steps with missing values add up.

    With a ``noise`` box the responsibilities are normalised with the noise column ``log pi_0 - log V_o`` of
    each pattern (:meth:`gaussmix.families.noise.NoiseBox.log_density`) beside the Gaussian ones."""
    means = params.means
    n_components, n_features = means.shape
    dense, log_weights = _dense_covariances(params, structure), _log_weights(params)
    if noise is not None:
        log_weights = np.append(log_weights, _noise_log_weight(params))
    for observed, rows in incomplete_patterns(np.isnan(chunk)):
        values = np.asarray(chunk[rows][:, observed], dtype=np.float64)
        conditionals = condition_components(means, dense, observed, values)
        log_marginal = _log_marginal(conditionals, params)
        if noise is not None:  # the uniform noise of the observed coordinates: one more "component"
            log_marginal = np.hstack([log_marginal, np.full((rows.size, 1), noise.log_density(observed))])
        responsibilities, log_density = conditional_mixture_weights(log_weights, log_marginal)
        responsibilities = responsibilities[:, :n_components]
        residual = np.empty((rows.size, n_components, n_features))
        residual[:, :, observed] = values[:, None, :] - means[None, :, observed]
        residual[:, :, ~observed] = conditionals.means - means[None, :, ~observed]
        weights = sample_weight[rows]
        yield CompletedPattern(observed, weights, responsibilities * weights[:, None], log_density, residual,
                               conditionals)


def add_completed_moments(pattern: CompletedPattern, moment_weights: np.ndarray, sums: np.ndarray,
                          scatter: np.ndarray) -> None:
    """Add (in place) one pattern's ``sum_n v_nk r_nk`` and ``sum_n v_nk r_nk r_nk^T`` (dense) for the given
    ``moment_weights`` ``v`` (n_rows, n_components), and the conditional covariances of the missing block weighted
    by ``sum_n w_n p(k | x_o,n)``."""
    residual = pattern.residual
    sums += np.einsum("nk,nkd->kd", moment_weights, residual)
    scatter += (residual * moment_weights[:, :, None]).transpose(1, 2, 0) @ residual.transpose(1, 0, 2)
    missing = ~pattern.observed
    block = np.ix_(np.arange(scatter.shape[0]), missing, missing)
    scatter[block] += pattern.weighted.sum(axis=0)[:, None, None] * pattern.conditionals.covariances


def _incomplete_statistics(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                           structure: CovarianceStructure, noise: NoiseBox | None = None) -> SufficientStatistics:
    """Expected complete-data statistics of rows that each have at least one NaN; with a ``noise`` box the
    Gaussian counts, sums and scatter carry the Gaussian responsibilities only (the noise keeps
    ``weight_sum - counts.sum()``)."""
    n_components, n_features = params.means.shape
    counts = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features))
    log_likelihood = 0.0
    for pattern in completed_patterns(chunk, sample_weight, params, structure, noise):
        log_likelihood += float(pattern.weights @ pattern.log_density)
        counts += pattern.weighted.sum(axis=0)
        add_completed_moments(pattern, pattern.weighted, sums, scatter)
    # In the structure's own form under the current parameters: what expect() returns for complete rows.
    scatter = structure.scatter_from_dense(scatter, params.precisions_cholesky)
    return SufficientStatistics(weight_sum=float(sample_weight.sum()), log_likelihood=log_likelihood,
                                counts=counts, sums=sums, scatter=scatter)


def expect_with_missing(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                        structure: CovarianceStructure,
                        noise_log_density: float | NoiseBox | None = None) -> SufficientStatistics:
    """E-step on a centred chunk whose NaN entries are missing at random.

    Drop-in for :func:`gaussmix.families.em.expect` (``run_em(..., expect=expect_with_missing)``): the same
    statistics for complete rows (identical when the chunk has no NaN), the expected complete-data
    statistics for the others, and ``sum_n w_n log p(x_o,n)`` as the log-likelihood.

    Parameters
    ----------
    chunk : ndarray of shape (n_rows, n_features)
        Centred rows, NaN where a value is missing.
    sample_weight : ndarray of shape (n_rows,)
    params : MixtureParams
    structure : CovarianceStructure
    noise_log_density : float, NoiseBox or None
        A uniform noise component: ``-log V`` (then only for chunks without NaN) or its box
        (:class:`~gaussmix.families.noise.NoiseBox`). :func:`run_em <gaussmix.families.em.run_em>` hands E-steps the float
        ``-log V``: bind the box with :func:`with_noise_box`.
    """
    return expect_completed(chunk, sample_weight, params, structure, noise_log_density, expect, _incomplete_statistics)


def expect_completed(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                     structure: CovarianceStructure, noise_log_density: float | NoiseBox | None,
                     complete_rows: Callable[..., SufficientStatistics],
                     incomplete_rows: Callable[..., SufficientStatistics]) -> SufficientStatistics:
    """The E-step of a chunk with NaN, for any component family: ``complete_rows`` (its E-step) on the rows
    without NaN, ``incomplete_rows(rows, weights, params, structure, noise_box)`` (its expected complete-data
    statistics) on the others, summed. :func:`expect_with_missing` is the Gaussian one; Student-t components
    bring theirs (:func:`gaussmix.families.student_t.expect_student_t_with_missing`)."""
    complete_noise = _complete_noise_log_density(noise_log_density)
    incomplete = np.isnan(chunk).any(axis=1)
    if not incomplete.any():  # (the noise argument only when there is one: the Student-t E-step has none)
        return (complete_rows(chunk, sample_weight, params, structure) if complete_noise is None
                else complete_rows(chunk, sample_weight, params, structure, complete_noise))
    noise = None if noise_log_density is None else _noise_box(noise_log_density)
    stats = incomplete_rows(chunk[incomplete], sample_weight[incomplete], params, structure, noise)
    if not incomplete.all():
        complete_stats = (complete_rows(chunk[~incomplete], sample_weight[~incomplete], params, structure)
                          if complete_noise is None else
                          complete_rows(chunk[~incomplete], sample_weight[~incomplete], params, structure, complete_noise))
        stats = complete_stats + stats
    return stats


def with_noise_box(e_step: Callable[..., SufficientStatistics], box: NoiseBox) -> Callable[..., SufficientStatistics]:
    """``e_step`` (with :func:`expect_with_missing`'s signature) with a noise component on ``box``, for
    :func:`gaussmix.families.em.run_em`.

    ``run_em`` needs ``noise_log_density`` only to know that there is a noise component (it gives the noise its
    share of the weight after each M-step) and hands that float, ``-log V``, to every E-step; the E-step returned
    uses the box instead, which also scores the rows with missing values.
    """

    def noisy_e_step(chunk, sample_weight, params, structure, noise_log_density=None):
        return e_step(chunk, sample_weight, params, structure, box)

    return noisy_e_step


# ------------------------------------------------------------------------------------------ imputation
IMPUTE_METHODS = ("mean", "sample")


def impute_centred(chunk: np.ndarray, params: MixtureParams, structure: CovarianceStructure, method: str = "mean",
                   random_state: np.random.RandomState | None = None) -> np.ndarray:
    """A filled float64 copy of a centred chunk.

    ``method='mean'``: the conditional mean under the mixture, ``sum_k p(k | x_o) E[x_m | x_o, k]``.
    ``method='sample'``: a draw from ``p(x_m | x_o)``: a component from ``p(k | x_o)``, then its Gaussian
    conditional (``random_state`` is a ``numpy.random.RandomState``).
    """
    filled = np.array(chunk, dtype=np.float64)
    dense, log_weights = _dense_covariances(params, structure), _log_weights(params)
    for observed, rows in incomplete_patterns(np.isnan(filled)):
        conditionals = condition_components(params.means, dense, observed, filled[rows][:, observed])
        responsibilities, _ = conditional_mixture_weights(log_weights, _log_marginal(conditionals, params))
        if method == "mean":
            completion = np.einsum("nk,nkm->nm", responsibilities, conditionals.means)
        else:
            cumulative = np.cumsum(responsibilities, axis=1)
            draws = random_state.uniform(size=(rows.size, 1)) * cumulative[:, -1:]
            labels = np.minimum((cumulative < draws).sum(axis=1), params.n_components - 1)
            factors = np.linalg.cholesky(conditionals.covariances)  # (K, m, m)
            noise = random_state.standard_normal((rows.size, int((~observed).sum())))
            completion = conditionals.means[np.arange(rows.size), labels] + np.einsum("nij,nj->ni", factors[labels], noise)
        filled[np.ix_(rows, ~observed)] = completion
    return filled
