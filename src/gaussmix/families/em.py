"""The EM kernel: ``expect`` (E-step, additive over chunks), ``maximize`` (M-step) and the loop.

::

    stats  = sum(expect(chunk, weights, params, structure) for chunk, weights in engine.chunks())
    params = maximize(stats, params, structure, reg_covar)

Both functions are pure; the loop, :func:`run_em`, records the per-sample log-likelihood of every
iteration and stops when it changes by less than ``tol``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .._floating import log_responsibility_floor
from ..covariance import CovarianceStructure
from ..exceptions import DegenerateComponentError, zero_density_error
from ..fitting.acceleration import Squarem
from ..fitting.driver import RunState, Step, change_below_tol, drive
from ..params import MixtureParams
from ..stats import SufficientStatistics

__all__ = [
    "EMResult", "EMState", "FrozenParameters", "ParameterEstimate", "centre", "component_log_density",
    "estimate_parameters", "expect", "student_t_log_density",
    "expect_hard", "feature_variance", "log_responsibilities",
    "maximize", "run_em", "statistics_from_responsibilities", "variance_floor", "weighted_log_density",
]

logger = logging.getLogger("gaussmix")

EMPTY_COMPONENT_FRACTION = 10 * np.finfo(np.float64).eps
"""A component whose share of the total weight is below this explains numerically nothing."""


COLLAPSE_RELATIVE_VARIANCE = 1e-8
"""A component whose variance in some direction is below this fraction of the data's variance along the
features has collapsed (onto a point, tied values or a subspace): its likelihood is unbounded and only
``reg_covar`` keeps it finite, so the fit would be spurious. See :func:`variance_floor`."""


def feature_variance(engine) -> np.ndarray:
    """Weighted variance of each feature, shape (n_features,), in one pass over the engine's chunks.

    The chunks are centred by the engine's offset, so the raw moments do not cancel catastrophically.
    """
    # Squares beyond double precision become inf (callers refuse such data: _validation.check_data_scale).
    with np.errstate(over="ignore", invalid="ignore"):
        moments = engine.reduce(lambda chunk, w: np.concatenate([[w.sum()], w @ chunk, w @ (chunk * chunk)]))
        n_features = engine.n_features
        total, first, second = moments[0], moments[1:1 + n_features], moments[1 + n_features:]
        mean = first / total
        return np.maximum(second / total - mean * mean, 0.0)


def variance_floor(engine, relative: float = COLLAPSE_RELATIVE_VARIANCE) -> np.ndarray:
    """``relative`` times the weighted variance of each feature, shape (n_features,)."""
    return relative * feature_variance(engine)


def weighted_log_density(chunk: np.ndarray, params: MixtureParams, structure: CovarianceStructure,
                         noise_log_density: Optional[float] = None) -> np.ndarray:
    """``log pi_k + log N(x_n | mu_k, Sigma_k)``, shape (n_rows, n_components); ``chunk`` is centred.

    With ``noise_log_density`` (``-log V`` of a uniform background component, see :mod:`gaussmix.families.noise`)
    a last column ``log pi_0 - log V`` is appended, shape (n_rows, n_components + 1); the noise weight
    ``pi_0`` is what the Gaussian weights leave, ``1 - sum_k pi_k``.
    """
    log_prob = component_log_density(chunk, params, structure)
    with np.errstate(divide="ignore"):  # a zero weight is a legitimate -inf
        log_prob += np.log(params.weights)
        if noise_log_density is not None:
            noise_weight = max(1.0 - float(params.weights.sum()), 0.0)
            noise = np.full((log_prob.shape[0], 1), np.log(noise_weight) + noise_log_density, dtype=log_prob.dtype)
            log_prob = np.hstack([log_prob, noise])
    return log_prob


def component_log_density(chunk: np.ndarray, params: MixtureParams, structure: CovarianceStructure) -> np.ndarray:
    """``log f_k(x_n)`` of every component for a centred chunk, shape (n_rows, n_components): Gaussian, or
    multivariate Student-t where ``params.dof`` is set (:func:`student_t_log_density`)."""
    if params.dof is None:
        return structure.log_gaussian_density(chunk, params.means, params.precisions_cholesky)
    return student_t_log_density(structure.squared_mahalanobis(chunk, params.means, params.precisions_cholesky),
                                 structure.log_det_precision_cholesky(params.precisions_cholesky, *params.means.shape),
                                 params.dof, chunk.shape[1])


def student_t_log_density(squared_mahalanobis: np.ndarray, log_det_precision_cholesky: np.ndarray, dof: np.ndarray,
                          n_features: int) -> np.ndarray:
    """The multivariate Student-t log-density from the Mahalanobis distances ``delta^2`` (n, K):

    ``log Gamma((nu + d)/2) - log Gamma(nu/2) - d/2 log(nu pi) + log det U - (nu + d)/2 log(1 + delta^2 / nu)``

    (Peel & McLachlan 2000, eq. 1). As ``nu -> inf`` it tends to the Gaussian log-density.
    """
    from scipy.special import gammaln

    dof = np.asarray(dof, dtype=np.float64)
    constants = (gammaln(0.5 * (dof + n_features)) - gammaln(0.5 * dof) - 0.5 * n_features * np.log(dof * np.pi)
                 + log_det_precision_cholesky)
    log_prob = np.log1p(squared_mahalanobis / dof.astype(squared_mahalanobis.dtype))
    log_prob *= -0.5 * (dof + n_features)
    log_prob += constants
    return log_prob


def _normalise_rows(log_prob: np.ndarray) -> np.ndarray:
    """Turn ``log_prob`` (n, K) into responsibilities in place; return ``log p(x_n)`` (n,).

    A fused log-sum-exp: one exponentiation serves both the normaliser and the responsibilities.
    """
    row_max = log_prob.max(axis=1)
    if not np.all(np.isfinite(row_max)):
        raise zero_density_error()
    log_prob -= row_max[:, None]
    # Responsibilities below e^-700 (1e-304; e^-79 in float32) are nothing next to the row's largest (1),
    # but their exponentials and products are subnormal floats, on which x86 arithmetic is ~100x slower
    # (a fit on well-separated clusters ran 1.8x slower). Flush them to exactly zero.
    np.copyto(log_prob, -np.inf, where=log_prob < log_responsibility_floor(log_prob.dtype))
    np.exp(log_prob, out=log_prob)
    row_sum = log_prob.sum(axis=1)
    log_prob /= row_sum[:, None]
    return row_max + np.log(row_sum)


def log_responsibilities(chunk: np.ndarray, params: MixtureParams, structure: CovarianceStructure,
                         dtype=None, noise_log_density: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
    """``(log p(x_n), gamma_nk)`` for a centred chunk: shapes (n,) and (n, K) (K + 1 with a noise column).

    The densities are computed in the chunk's dtype; ``dtype`` (e.g. float64 for results returned to
    users) sets the precision of the normalisation.
    """
    responsibilities = weighted_log_density(chunk, params, structure, noise_log_density)
    if dtype is not None:
        responsibilities = responsibilities.astype(dtype, copy=False)
    log_norm = _normalise_rows(responsibilities)
    return log_norm, responsibilities


def statistics_from_responsibilities(chunk: np.ndarray, sample_weight: np.ndarray, responsibilities: np.ndarray,
                                     means: np.ndarray, structure: CovarianceStructure,
                                     log_likelihood: float = 0.0,
                                     precisions_cholesky: Optional[np.ndarray] = None) -> SufficientStatistics:
    """Accumulate counts, sums and scatter of a chunk about the reference ``means``.

    Parameters
    ----------
    chunk : ndarray of shape (n_rows, n_features)
        Centred rows.
    sample_weight : ndarray of shape (n_rows,)
    responsibilities : ndarray of shape (n_rows, n_components)
        Any soft or hard assignment whose rows sum to one.
    means : ndarray of shape (n_components, n_features)
        Reference means ``m_k`` about which moments are taken.
    precisions_cholesky : ndarray, optional
        Precision factors of the parameters the responsibilities came from: given, the structure may
        return the smaller scatter its M-step needs under them (:meth:`CovarianceStructure.scatter_under`).
    """
    # Per-chunk products run in the chunk's dtype (float32 BLAS for float32 data); totals are float64.
    weighted = responsibilities * sample_weight.astype(responsibilities.dtype, copy=False)[:, None]
    counts = weighted.sum(axis=0, dtype=np.float64)
    sums = np.asarray(weighted.T @ chunk, dtype=np.float64) - counts[:, None] * means
    return SufficientStatistics(
        weight_sum=float(sample_weight.sum()),
        log_likelihood=float(log_likelihood),
        counts=counts,
        sums=sums,
        scatter=(structure.scatter(chunk, responsibilities, sample_weight, means) if precisions_cholesky is None
                 else structure.scatter_under(chunk, responsibilities, sample_weight, means, precisions_cholesky)),
    )


def expect(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
           structure: CovarianceStructure, noise_log_density: Optional[float] = None,
           offset: Optional[np.ndarray] = None) -> SufficientStatistics:
    """E-step on one chunk: responsibilities under ``params`` turned into additive statistics.

    Parameters
    ----------
    chunk : ndarray of shape (n_rows, n_features)
        Rows in centred coordinates (``x - params.offset``).
    sample_weight : ndarray of shape (n_rows,)
    params : MixtureParams
    structure : CovarianceStructure
    noise_log_density : float, optional
        ``-log V`` of a uniform noise component; the Gaussians' statistics then use their own
        responsibilities only, and the noise count is ``weight_sum - counts.sum()``.
    offset : ndarray of shape (n_features,), optional
        Given, ``chunk`` holds the rows as stored and ``chunk - offset`` are the centred rows: the compiled
        kernels centre block by block in cache (one pass through memory fewer), the NumPy path centres
        first. :func:`run_em` passes the rows as stored to E-steps marked ``accepts_offset``.

    Returns
    -------
    SufficientStatistics
        Including ``sum_n w_n log p(x_n)`` under ``params``.
    """
    if noise_log_density is None:
        fused = structure.fused_statistics(chunk, sample_weight, params, offset)
        if fused is not None:
            return fused
    if offset is not None:
        chunk = centre(chunk, offset)
    log_norm, responsibilities = log_responsibilities(chunk, params, structure, noise_log_density=noise_log_density)
    log_likelihood = float(sample_weight @ log_norm)
    if noise_log_density is None:
        return statistics_from_responsibilities(chunk, sample_weight, responsibilities, params.means, structure,
                                                log_likelihood=log_likelihood,
                                                precisions_cholesky=params.precisions_cholesky)
    # The Gaussians' responsibilities sum to s_n = 1 - gamma_n0 < 1, but structures may rely on rows that sum
    # to one (tied's scatter does). Every statistic is linear in w_n gamma_nk, so use gamma_nk / s_n with
    # weight w_n s_n: the same statistics, from rows that sum to one.
    gaussian = responsibilities[:, :params.n_components]
    share = gaussian.sum(axis=1)
    has_share = share > 0
    normalised = np.where(has_share[:, None], gaussian / np.where(has_share, share, 1.0)[:, None],
                          1.0 / params.n_components)
    stats = statistics_from_responsibilities(chunk, sample_weight * share, normalised, params.means, structure,
                                             log_likelihood=log_likelihood,
                                             precisions_cholesky=params.precisions_cholesky)
    return dataclasses.replace(stats, weight_sum=float(sample_weight.sum()))


expect.accepts_offset = True


def expect_hard(chunk: np.ndarray, sample_weight: np.ndarray, params: MixtureParams,
                structure: CovarianceStructure, noise_log_density: Optional[float] = None,
                offset: Optional[np.ndarray] = None) -> SufficientStatistics:
    """Classification E-step (CEM, Celeux & Govaert 1992): each row wholly in its most probable component.

    The statistics are those of the hard partition ``z_n = argmax_k pi_k N(x_n | mu_k, Sigma_k)``, and the
    log-likelihood is the classification log-likelihood ``sum_n w_n log pi_{z_n} N(x_n | z_n)``, which each
    CEM iteration never decreases. With equal frozen weights and one frozen spherical variance this is
    k-means (Lloyd's algorithm) exactly: the most probable component is the nearest mean.
    Same signature as :func:`expect`; ``noise_log_density`` is not supported.
    """
    if noise_log_density is not None:
        raise ValueError("hard assignment with a noise component is not supported")
    if offset is not None:
        chunk = centre(chunk, offset)
    log_prob = weighted_log_density(chunk, params, structure)
    labels = np.argmax(log_prob, axis=1)
    best = log_prob[np.arange(chunk.shape[0]), labels]
    if not np.all(np.isfinite(best)):
        raise zero_density_error()
    assignment = np.zeros(log_prob.shape, dtype=chunk.dtype)
    assignment[np.arange(chunk.shape[0]), labels] = 1.0
    return statistics_from_responsibilities(chunk, sample_weight, assignment, params.means, structure,
                                            log_likelihood=float(sample_weight @ best),
                                            precisions_cholesky=params.precisions_cholesky)


expect_hard.accepts_offset = True


@dataclass(frozen=True, eq=False)
class FrozenParameters:
    """Parameters that EM holds at given values (the others are estimated).

    Attributes
    ----------
    weights : ndarray of shape (n_components,) or None
        Held mixing weights (equal ones are mclust's ``equalPro``).
    means : ndarray of shape (n_components, n_features) or None
        Held means, about the engine's offset (centred coordinates). The covariance M-step then takes the
        scatter about these means, which is its maximiser given them.
    covariances, precisions_cholesky : ndarray or None
        Held covariances in the structure's shape, and their precision factors.
    """

    weights: Optional[np.ndarray] = None
    means: Optional[np.ndarray] = None
    covariances: Optional[np.ndarray] = None
    precisions_cholesky: Optional[np.ndarray] = None

    def apply(self, params: MixtureParams) -> MixtureParams:
        """``params`` with the held parameters put back (after a re-seed, say)."""
        changes = {}
        if self.weights is not None:
            changes["weights"] = self.weights
        if self.means is not None:
            changes["means"] = self.means
        if self.covariances is not None:
            changes.update(covariances=self.covariances, precisions_cholesky=self.precisions_cholesky)
        return params.replace(**changes) if changes else params


def centre(rows: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Rows as the engines centre them: ``rows - offset`` in float64, then float32 for float32 rows."""
    return np.subtract(rows, offset, dtype=np.float64).astype(np.float32 if rows.dtype == np.float32 else np.float64,
                                                             copy=False)


@dataclass(frozen=True, eq=False)
class ParameterEstimate:
    """Closed-form M-step results before degeneracy is dealt with.

    ``degenerate`` maps component index to reason (``'empty'`` or ``'singular'``); entries of those
    components are placeholders.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    offset: np.ndarray
    degenerate: dict = field(default_factory=dict)
    dof: Optional[np.ndarray] = None

    def to_params(self) -> MixtureParams:
        return MixtureParams(self.weights, self.means, self.covariances, self.precisions_cholesky, self.offset,
                             self.dof)


def estimate_parameters(stats: SufficientStatistics, params: MixtureParams, structure: CovarianceStructure,
                        reg_covar: float, variance_floor: Optional[np.ndarray] = None,
                        prior=None, strict_collapse: bool = False,
                        frozen: Optional[FrozenParameters] = None,
                        scale_counts: Optional[np.ndarray] = None) -> ParameterEstimate:
    """Maximise the expected complete-data log-likelihood; flag, never raise on, degenerate components.

    ``params`` supplies the reference means the statistics were taken about, and the offset. With a
    ``variance_floor`` (n_features,), components whose covariance falls below it in some direction are
    flagged ``'collapsed'``; with ``strict_collapse`` the covariance without ``reg_covar`` is tested, so a
    component held up by the regularisation alone (a spurious maximum) is flagged too. With a ``prior`` (:class:`~gaussmix.families.priors.ConjugatePrior`) the expected
    complete-data log-posterior is maximised instead (MAP). With ``frozen`` the held parameters keep their
    values and the others are maximised given them (held means are the reference means: ``params.means``).
    ``scale_counts`` (Student-t components): ``sum_n w_n tau_nk u_nk``, the denominators of the means, whose
    ``sums`` and ``scatter`` are then u-weighted while ``counts`` stay ``sum_n w_n tau_nk`` (Peel & McLachlan
    2000, eqs. 24-26); the degrees of freedom are carried over (the caller updates them).
    """
    counts = stats.counts
    empty = counts <= EMPTY_COMPONENT_FRACTION * stats.weight_sum
    if frozen is not None and frozen.means is not None and frozen.covariances is not None:
        empty = np.zeros_like(empty)  # nothing of an empty component is estimated but its weight
    any_empty = bool(empty.any())  # (the usual case has none: skip the masking, a few microseconds each)
    if frozen is not None and frozen.means is not None:
        shifts = np.zeros_like(stats.sums)  # the scatter about the held means maximises given them
    elif any_empty:
        shifts = np.where(empty[:, None], 0.0, stats.sums / np.where(empty, 1.0, counts)[:, None])
    else:
        shifts = stats.sums / counts[:, None]
    covariance_shifts = shifts
    if scale_counts is not None:
        # Means are u-weighted averages; the scatter about them is S - a delta delta^T with a = scale_counts,
        # while the covariance M-step divides by the counts b: structures apply S - b delta' delta'^T, so pass
        # delta' = delta sqrt(a / b), which is the same matrix (and is exact for every structure's M-step).
        safe_scale = np.where(empty, 1.0, scale_counts)
        shifts = np.where(empty[:, None], 0.0, stats.sums / safe_scale[:, None])
        covariance_shifts = shifts * np.sqrt(safe_scale / np.where(empty, 1.0, counts))[:, None]
    if prior is None:
        covariances = structure.update_covariances(stats.scatter, np.where(empty, 0.0, counts) if any_empty else counts,
                                                   covariance_shifts, reg_covar, params.covariances)
        weights, means = counts / counts.sum(), params.means + shifts
    else:
        weights, means, covariances = prior.maximize(stats, params, structure, reg_covar)
    if frozen is not None and frozen.covariances is not None:
        covariances = frozen.covariances
    if frozen is not None and frozen.weights is not None:
        weights = frozen.weights
    precisions_cholesky, singular = structure.cholesky_of_precisions(covariances)
    degenerate = _flagged(empty, "empty", {}, structure.shared) if any_empty else {}
    if singular.any():
        degenerate = _flagged(np.resize(singular, empty.shape), "singular", degenerate, structure.shared)
    held_covariances = frozen is not None and frozen.covariances is not None
    if variance_floor is not None and not degenerate and not held_covariances:  # a held one is the user's choice
        collapsed = structure.collapsed(covariances, variance_floor, reg_covar if strict_collapse else 0.0)
        if collapsed.any():
            degenerate = _flagged(np.resize(collapsed, empty.shape), "collapsed", degenerate, structure.shared)
    return ParameterEstimate(weights, means, covariances, precisions_cholesky, params.offset,
                             dict(sorted(degenerate.items())), params.dof)


def _flagged(mask: np.ndarray, reason: str, degenerate: dict, shared: bool) -> dict:
    """``degenerate`` with the components in ``mask`` added for ``reason`` (earlier reasons kept); for a
    shared covariance (one for all components) ``mask`` flags every component, except an empty one."""
    if shared and reason != "empty":
        mask = np.ones_like(mask)
    added = {int(k): reason for k in np.flatnonzero(mask) if int(k) not in degenerate}
    return {**degenerate, **added}


def degenerate_error(degenerate: dict, advice: str = "") -> DegenerateComponentError:
    """A :class:`DegenerateComponentError` naming the first degenerate component."""
    first = next(iter(degenerate))
    return DegenerateComponentError(first, degenerate[first], advice, components=tuple(degenerate))


def maximize(stats: SufficientStatistics, params: MixtureParams, structure: CovarianceStructure,
             reg_covar: float = 0.0, variance_floor: Optional[np.ndarray] = None, prior=None) -> MixtureParams:
    """M-step: closed-form weights ``N_k / W``, means and covariances.

    Raises
    ------
    DegenerateComponentError
        If a component is empty or its covariance is not positive definite.
    """
    estimate = estimate_parameters(stats, params, structure, reg_covar, variance_floor, prior)
    if estimate.degenerate:
        raise degenerate_error(estimate.degenerate)
    return estimate.to_params()


@dataclass(frozen=True)
class EMResult:
    """What one EM run returns.

    Attributes
    ----------
    params : MixtureParams
        The final parameters.
    log_likelihood : float
        Per-unit-weight log-likelihood of ``params`` themselves (from a final E-step).
    trace : list of float
        Per-unit-weight log-likelihood of the parameters entering each iteration (scikit-learn's
        ``lower_bounds_``); non-decreasing up to rounding when ``reg_covar == 0``.
    n_iter : int
    converged : bool
    n_reseeded : int
        Number of degenerate components re-seeded along the way.
    """

    params: MixtureParams
    log_likelihood: float
    trace: list
    n_iter: int
    converged: bool
    n_reseeded: int = 0


Recover = Callable[[ParameterEstimate, MixtureParams], MixtureParams]
Callback = Callable[[int, float, float], object]

EMState = RunState
"""Where an EM run stands after an iteration (:class:`gaussmix.fitting.driver.RunState`, whose ``params`` are the
:class:`MixtureParams`): checkpoints store it."""


class GaussianFamily:
    """The Gaussian mixture as a :class:`~gaussmix.fitting.driver.Family`: :func:`expect` and :func:`estimate_parameters`.

    One family covers maximum likelihood, MAP (``prior``), mclust's noise component, missing values (an
    ``expect`` such as :func:`gaussmix.families.missing.expect_with_missing`), frozen parameters, hard assignments,
    labelled rows (``fixed_statistics``) and Student-t components (``maximize_hook``); see :func:`run_em` for
    each option.
    """

    monotone = True
    final_e_step = True
    converged = staticmethod(change_below_tol)
    expect: "_ChunkExpect"  # set per instance: what travels to Dask's workers

    def __init__(self, structure: CovarianceStructure, *, reg_covar: float, tol: float,
                 variance_floor: Optional[np.ndarray] = None, recover: Optional[Recover] = None, prior=None,
                 expect: Callable[..., SufficientStatistics] = expect, noise_log_density: Optional[float] = None,
                 strict_collapse: bool = False,
                 fixed_statistics: Optional[Callable[[MixtureParams], SufficientStatistics]] = None,
                 frozen: Optional[FrozenParameters] = None, maximize_hook=None, offset=None):
        self.structure = structure.with_em_tolerance(tol)  # iterative M-steps: warm starts, inner tol tied to tol
        self.reg_covar, self.variance_floor, self.recover_with, self.prior = reg_covar, variance_floor, recover, prior
        self.noise_log_density, self.strict_collapse = noise_log_density, strict_collapse
        self.held_statistics, self.frozen, self.maximize_hook = fixed_statistics, frozen, maximize_hook
        # An E-step that centres the rows as stored itself (see expect) receives them with the engine's offset.
        self.centred = not getattr(expect, "accepts_offset", False)
        # What travels to Dask's workers: the E-step alone, not the recovery (which reaches the engine) or hooks.
        self.expect = _ChunkExpect(expect, self.structure, noise_log_density, not self.centred, offset)

    def objective(self, stats: SufficientStatistics, params: MixtureParams) -> float:
        if self.prior is None:
            return stats.mean_log_likelihood
        return stats.mean_log_likelihood + self.prior.log_density(params, self.structure) / stats.weight_sum

    def maximize(self, stats: SufficientStatistics, params: MixtureParams) -> Step:
        estimate = estimate_parameters(stats, params, self.structure, self.reg_covar, self.variance_floor,
                                       self.prior, self.strict_collapse, self.frozen,
                                       getattr(stats, "scale_counts", None))
        if self.maximize_hook is not None and not estimate.degenerate:
            estimate = self.maximize_hook(stats, params, estimate)
        if estimate.degenerate:
            return Step(None, estimate.degenerate, detail=(estimate, stats))
        return Step(self._with_noise_share(estimate.to_params(), stats), detail=(estimate, stats))

    def recover(self, step: Step, params: MixtureParams) -> MixtureParams:
        estimate, stats = step.detail
        if self.recover_with is None:
            raise degenerate_error(estimate.degenerate)
        recovered = self.recover_with(estimate, params)
        if self.frozen is not None:
            recovered = self.frozen.apply(recovered)
        return self._with_noise_share(recovered, stats)

    # ---------------------------------------------------------------- states as vectors (for SQUAREM)
    def to_vector(self, params: MixtureParams) -> np.ndarray:
        """Weights, means and covariances (in the structure's storage) as one flat float64 vector."""
        return np.concatenate([params.weights.ravel(), params.means.ravel(), params.covariances.ravel()])

    def from_vector(self, vector: np.ndarray, like: MixtureParams) -> Optional[MixtureParams]:
        """The parameters a vector of :meth:`to_vector`'s layout holds (``like`` gives the shapes), or None if
        they are not a valid mixture: a weight not positive, a covariance not positive definite."""
        n_components, n_means = like.weights.size, like.means.size
        weights = vector[:n_components]
        if not (np.all(np.isfinite(vector)) and np.all(weights > 0)):
            return None
        covariances = vector[n_components + n_means:].reshape(like.covariances.shape)
        precisions_cholesky, singular = self.structure.cholesky_of_precisions(covariances)
        if np.any(singular) or not np.all(np.isfinite(precisions_cholesky)):
            return None
        return like.replace(weights=weights / weights.sum(), covariances=covariances,
                            means=vector[n_components:n_components + n_means].reshape(like.means.shape),
                            precisions_cholesky=precisions_cholesky)

    @property
    def accelerable(self) -> bool:
        """Whether SQUAREM applies: a state that is only weights, means and covariances, moved by soft EM."""
        return (self.noise_log_density is None and self.frozen is None and self.maximize_hook is None
                and self.expect.expect is not expect_hard)

    def _with_noise_share(self, params: MixtureParams, stats: SufficientStatistics) -> MixtureParams:
        if self.noise_log_density is None:
            return params
        # The M-step normalised the Gaussian weights: give the noise its share.
        return params.replace(weights=params.weights * (stats.counts.sum() / stats.weight_sum))


@dataclass(frozen=True)
class _ChunkExpect:
    """The Gaussian E-step of one chunk with its fixed arguments: small and picklable (it runs on Dask's workers).

    E-steps that centre the rows as stored themselves (``accepts_offset``) receive them with ``offset``."""

    expect: Callable[..., SufficientStatistics]
    structure: CovarianceStructure
    noise_log_density: Optional[float]
    takes_offset: bool
    offset: Optional[np.ndarray]

    def __call__(self, chunk: np.ndarray, weights: np.ndarray, params: MixtureParams) -> SufficientStatistics:
        if self.takes_offset:
            return self.expect(chunk, weights, params, self.structure, self.noise_log_density, offset=self.offset)
        if self.noise_log_density is None:  # custom E-steps (missing values) need not know about noise
            return self.expect(chunk, weights, params, self.structure)
        return self.expect(chunk, weights, params, self.structure, self.noise_log_density)


def run_em(engine, params: MixtureParams, structure: CovarianceStructure, *, tol: float, max_iter: int,
           reg_covar: float, variance_floor: Optional[np.ndarray] = None, recover: Optional[Recover] = None,
           callback: Optional[Callback] = None, prior=None, resume: Optional[EMState] = None,
           on_iteration: Optional[Callable[[EMState], object]] = None,
           expect: Callable[..., SufficientStatistics] = expect,
           noise_log_density: Optional[float] = None, strict_collapse: bool = False,
           previous_objective: float = -np.inf,
           fixed_statistics: Optional[Callable[[MixtureParams], SufficientStatistics]] = None,
           frozen: Optional[FrozenParameters] = None,
           maximize_hook: Optional[Callable[[SufficientStatistics, MixtureParams, ParameterEstimate],
                                            ParameterEstimate]] = None,
           acceleration: Optional[str] = None) -> EMResult:
    """Iterate E- and M-steps from ``params`` until the mean log-likelihood changes by less than ``tol``.

    The trace never goes down (for ``tol > 0``): an M-step after which the objective is lower than before it
    (by rounding at convergence, or where ``reg_covar`` makes the M-step inexact) is undone and the run stops,
    converged if the decrease is below ``tol``, and the returned parameters are never worse than any in the
    trace. ``tol=0`` runs exactly ``max_iter`` iterations (scikit-learn's meaning), rounding and all.

    Parameters
    ----------
    engine
        Supplies ``reduce(function)`` over centred chunks.
    recover : callable, optional
        ``recover(estimate, params) -> params`` called when an M-step finds degenerate components
        (``params`` produced the statistics); without it a :class:`DegenerateComponentError` is raised.
    variance_floor : ndarray of shape (n_features,), optional
        Flag components that collapse below it (see :func:`estimate_parameters`, also for
        ``strict_collapse``).
    callback : callable, optional
        ``callback(iteration, mean_log_likelihood, change)`` after every iteration.
    prior : ConjugatePrior, optional
        MAP estimation (see :mod:`gaussmix.families.priors`): the M-step maximises the log-posterior, and the
        trace, the convergence test and ``EMResult.log_likelihood`` use the per-unit-weight
        log-posterior ``(log p(X | theta) + log p(theta)) / W`` instead of the log-likelihood.
    resume : EMState, optional
        Continue an interrupted run from this state instead of starting at ``params`` (which is then
        ignored); the result equals that of the uninterrupted run.
    on_iteration : callable, optional
        ``on_iteration(state)`` with the :class:`EMState` after every iteration (e.g. to checkpoint it).
    expect : callable, optional
        The E-step on one chunk, with :func:`expect`'s signature (e.g.
        :func:`gaussmix.families.missing.expect_with_missing` for data with NaN). One with an attribute
        ``accepts_offset = True`` (:func:`expect` has it) receives the rows as stored and ``offset=``.
    noise_log_density : float, optional
        ``-log V`` of a uniform noise component (mclust's Poisson noise). ``params.weights`` then sum to
        ``1 - pi_0`` and must leave ``pi_0 > 0``; each M-step sets ``pi_0`` to the noise share of the weight.
    previous_objective : float, default=-inf
        The objective the first iteration's change is measured from: a warm start passes the last trace value
        of the fit it continues (scikit-learn's ``warm_start``), so that a fit of one iteration at a time
        detects convergence.
    fixed_statistics : callable, optional
        ``fixed_statistics(params)``: the statistics of rows whose responsibilities are fixed (labelled rows in
        semi-supervised fitting, :mod:`gaussmix.estimators.classifier`), with their complete-data log-likelihood; added to
        every E-step's, so the objective is ``sum_labelled log pi_y N(x | y) + sum_engine log p(x)``.
    frozen : FrozenParameters, optional
        Parameters held at their values (``params`` must already hold them); the M-step maximises the others.
    maximize_hook : callable, optional
        ``maximize_hook(stats, params, estimate)``: the rest of a model family's M-step after the mixture's
        (Student-t components: the u-weighted means and the degrees of freedom, :mod:`gaussmix.families.student_t`).
    acceleration : {None, 'squarem'}, default=None
        'squarem': where EM crawls, each iteration is a SQUAREM cycle of up to three EM steps
        (:mod:`gaussmix.fitting.acceleration`); the trace stays monotone. Plain EM with a noise component,
        frozen parameters, hard assignments, Student-t components or ``tol=0``, where it does not apply.
    """

    family = GaussianFamily(structure, reg_covar=reg_covar, tol=tol, variance_floor=variance_floor, recover=recover,
                            prior=prior, expect=expect, noise_log_density=noise_log_density,
                            strict_collapse=strict_collapse, fixed_statistics=fixed_statistics, frozen=frozen,
                            maximize_hook=maximize_hook, offset=engine.offset)
    if acceleration == "squarem" and family.accelerable and tol > 0:
        family = Squarem(family, engine)
    result = drive(family, engine, params, tol=tol, max_iter=max_iter, callback=callback, resume=resume,
                   on_iteration=on_iteration, previous_objective=previous_objective)
    return EMResult(result.state, result.objective, result.trace, result.n_iter, result.converged,
                    result.n_reseeded)



