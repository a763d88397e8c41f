"""Mixture of experts: a softmax gate over linear-Gaussian experts, fitted by generalised EM.

The model (``x`` in R^d, ``y`` in R^m)::

    p(y | x) = sum_k g_k(x) N(y | W_k x + b_k, Sigma_k),      g(x) = softmax(V x + c)

Fitting maximises the penalised log-likelihood (the *objective*, reported per unit of sample weight)::

    F = sum_n w_n log p(y_n | x_n)
        - (gate_penalty / 2) ||V||_F^2
        - (1 / 2) sum_k tr(Sigma_k^{-1} (reg_coef W_k^T W_k + reg_covar * W / K * I))

where ``W = sum_n w_n``. The first penalty keeps the gate finite when regimes are separable in ``x``
(the logistic likelihood alone is then unbounded) and makes the gate's Hessian positive definite; the
other two are a ridge on the expert slopes and a floor on the expert covariances, written in the
``Sigma_k^{-1}`` metric so that the expert M-step is still an *exact* joint maximiser (for any
``Sigma_k`` the best slopes are the ridge solution; given them ``Sigma_k`` is the penalised residual
scatter over ``N_k``). An expert with its share ``W / K`` of the data gets ``reg_covar`` on its
diagonal, as in :class:`~gaussmix.GaussianMixture`.

One EM iteration, on chunks through an engine's ``reduce`` (:func:`expect_experts` returns additive
:class:`ExpertsStatistics`):

* E-step: responsibilities ``r_nk`` from gate and expert likelihoods; per expert the weighted Gram
  matrix ``Z^T R_k Z`` of ``z = [x, 1]``, ``Z^T R_k e_k`` and ``e_k^T R_k e_k`` for the residuals
  ``e_k = y - beta_k^T z`` of the *current* experts (moments about the current fit: no cancellation,
  and chunks add exactly); and the gradient and Hessian of the gate's expected complete-data
  log-likelihood ``sum_n w_n sum_k r_nk log g_k(x_n)`` at the current gate.
* M-step: experts by weighted ridge least squares (Cholesky solve), covariances from the residual
  scatter; the gate by one Newton step on its penalised expected log-likelihood, halved until ``F``
  does not decrease. A step of zero leaves the gate unchanged, and then ``F`` cannot decrease (the
  expert update is exact), so every iteration is a generalised EM step and the trace is monotone.
  The trial E-step that accepts a step is the next iteration's E-step: no extra pass in the usual case.

All computation happens in coordinates centred by the engine's offset (for both ``x`` and ``y``); the
fitted attributes are converted back to the user's coordinates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import linalg

from ..covariance.full import matrix_cholesky_of_precisions
from ..exceptions import DegenerateComponentError
from ..fitting.driver import Step, change_below_tol, drive, expect_all
from ..fitting.init import initial_centers
from .em import _normalise_rows
from .kmeans import assign

__all__ = ["ExpertsParams", "ExpertsStatistics", "expect_experts", "gate_derivatives", "gate_probabilities",
           "log_joint", "maximize_experts", "newton_direction", "EXPERT_COVARIANCE_TYPES"]

LOG_2PI = float(np.log(2.0 * np.pi))

INIT_METHODS = ("kmeans", "random")

MAX_STEP_HALVINGS = 12
"""Gate step sizes tried: 1, 1/2, ..., 2^-12, then 0 (the experts-only M-step, which cannot lose)."""

EMPTY_EXPERT = 1e-10
"""Relative weight below which an expert is treated as empty and keeps its previous parameters."""


def _project_full(matrices: np.ndarray) -> np.ndarray:
    return matrices


def _project_diag(matrices: np.ndarray) -> np.ndarray:
    return np.einsum("kii->ki", matrices)[:, :, None] * np.eye(matrices.shape[1])


def _project_spherical(matrices: np.ndarray) -> np.ndarray:
    n_targets = matrices.shape[1]
    return (np.einsum("kii->k", matrices) / n_targets)[:, None, None] * np.eye(n_targets)


# Each covariance family of the experts: the projection of a penalised scatter matrix onto the family
# (which is the exact M-step for it: only those entries enter tr(Sigma^{-1} M)), and the public shape.
EXPERT_COVARIANCE_TYPES = {
    "full": (_project_full, lambda dense: dense),
    "diag": (_project_diag, lambda dense: np.einsum("kii->ki", dense).copy()),
    "spherical": (_project_spherical, lambda dense: dense[:, 0, 0].copy()),
}

_DENSE_COVARIANCES = {  # the public ``covariances_`` back to the (K, m, m) matrices (the inverse of the above)
    "full": lambda public, n_targets: public,
    "diag": lambda public, n_targets: public[:, :, None] * np.eye(n_targets),
    "spherical": lambda public, n_targets: public[:, None, None] * np.eye(n_targets),
}


# ------------------------------------------------------------------------------------------ values
@dataclass(frozen=True, eq=False)
class ExpertsParams:
    """Parameters of a mixture of experts in centred coordinates.

    Attributes
    ----------
    gate : ndarray of shape (n_experts, n_features + 1)
        Gate logits ``[V, c]``: ``logit_k(x) = V_k . x + c_k``.
    coef : ndarray of shape (n_experts, n_features + 1, n_targets)
        ``beta_k = [W_k^T; b_k]``: expert ``k`` predicts ``z^T beta_k`` with ``z = [x, 1]``.
    covariances : ndarray of shape (n_experts, n_targets, n_targets)
        Dense expert covariances (diagonal or spherical families are stored densely too).
    precisions_cholesky : ndarray of shape (n_experts, n_targets, n_targets)
        Upper-triangular ``U_k`` with ``Sigma_k^{-1} = U_k U_k^T``.
    """

    gate: np.ndarray
    coef: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    @property
    def n_experts(self) -> int:
        return self.coef.shape[0]


@dataclass(frozen=True, eq=False)
class ExpertsStatistics:
    """Additive statistics of one E-step under fixed parameters (shapes with K experts, p = d + 1).

    Attributes
    ----------
    weight_sum : float
    log_likelihood : float
        ``sum_n w_n log p(y_n | x_n)``.
    counts : ndarray (K,)
        ``N_k = sum_n w_n r_nk``.
    gram : ndarray (K, p, p)
        ``sum_n w_n r_nk z_n z_n^T``.
    cross : ndarray (K, p, m)
        ``sum_n w_n r_nk z_n e_nk^T`` with the current residuals ``e_nk = y_n - beta_k^T z_n``.
    residual_scatter : ndarray (K, m, m)
        ``sum_n w_n r_nk e_nk e_nk^T``.
    gate_gradient : ndarray (K, p)
        Gradient of ``Q(theta) = sum_n w_n sum_k r_nk log g_k(x_n; theta)`` at the current gate.
    gate_hessian : ndarray (K, p, K, p)
        Its Hessian, ``-sum_n w_n g_nk (delta_kl - g_nl) z_n z_n^T`` (negative semi-definite).
    """

    weight_sum: float
    log_likelihood: float
    counts: np.ndarray
    gram: np.ndarray
    cross: np.ndarray
    residual_scatter: np.ndarray
    gate_gradient: np.ndarray
    gate_hessian: np.ndarray

    def __add__(self, other: "ExpertsStatistics") -> "ExpertsStatistics":
        if not isinstance(other, ExpertsStatistics):
            return NotImplemented
        return ExpertsStatistics(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))


# ------------------------------------------------------------------------------------------ E-step
def _split(chunk: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``(Z, Y)``: the inputs with a ones column appended, and the targets, both float64."""
    chunk = np.asarray(chunk, dtype=np.float64)
    design = np.empty((chunk.shape[0], n_features + 1))
    design[:, :n_features] = chunk[:, :n_features]
    design[:, n_features] = 1.0
    return design, chunk[:, n_features:]


def gate_probabilities(design: np.ndarray, gate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log g, g)``: log-gate and gate probabilities ``g_k(x_n)``, each of shape (n_rows, n_experts).

    One fused log-softmax (:func:`gaussmix.families.em._normalise_rows`, which also flushes would-be subnormal
    probabilities to zero).
    """
    logits = design @ gate.T
    probabilities = logits.copy()
    logits -= _normalise_rows(probabilities)[:, None]
    return logits, probabilities


def _residuals(design: np.ndarray, targets: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``e_nk = y_n - beta_k^T z_n``, shape (n_rows, n_experts, n_targets)."""
    return targets[:, None, :] - np.einsum("np,kpm->nkm", design, coef)


def _log_expert_density(residuals: np.ndarray, precisions_cholesky: np.ndarray) -> np.ndarray:
    """``log N(e_nk | 0, Sigma_k)``, shape (n_rows, n_experts)."""
    whitened = np.einsum("nkm,kml->nkl", residuals, precisions_cholesky)
    log_det = np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
    return log_det - 0.5 * (residuals.shape[2] * LOG_2PI + np.einsum("nkl,nkl->nk", whitened, whitened))


def _log_joint_probabilities(design, targets, params):
    """``(residuals, gate, log p(y | x), responsibilities)`` of a chunk; the last is the joint, normalised in place."""
    residuals = _residuals(design, targets, params.coef)
    log_gate, gate = gate_probabilities(design, params.gate)
    joint = log_gate
    joint += _log_expert_density(residuals, params.precisions_cholesky)
    log_density = _normalise_rows(joint)
    return residuals, gate, log_density, joint


def log_joint(chunk: np.ndarray, params: ExpertsParams, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``log p(y_n | x_n)`` (n_rows,) and responsibilities ``p(k | x_n, y_n)`` (n_rows, n_experts).

    ``chunk`` holds ``[x, y]`` rows, shape (n_rows, n_features + n_targets).
    """
    _, _, log_density, responsibilities = _log_joint_probabilities(*_split(chunk, n_features), params)
    return log_density, responsibilities


def gate_derivatives(design: np.ndarray, weighted_responsibilities: np.ndarray,
                     probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (K, p) and Hessian (K, p, K, p) of ``sum_n sum_k a_nk log g_k(x_n)`` at the current gate.

    ``a_nk = w_n r_nk`` (rows of ``a`` sum to ``w_n``) and ``probabilities`` are the gate's ``g_nk``.
    The gradient is ``sum_n (a_nk - w_n g_nk) z_n``; the Hessian
    ``-sum_n w_n g_nk (delta_kl - g_nl) z_n z_n^T`` is a block diagonal of K Gram matrices minus one
    Gram matrix of the (n, K p) rows ``sqrt(w_n) g_n (x) z_n`` (a single GEMM instead of K^2 / 2).
    """
    weights = weighted_responsibilities.sum(axis=1)
    gradient = (weighted_responsibilities - weights[:, None] * probabilities).T @ design
    n_rows, n_coef = design.shape
    n_experts = probabilities.shape[1]
    expanded = ((np.sqrt(weights)[:, None] * probabilities)[:, :, None] * design[:, None, :]).reshape(n_rows, -1)
    hessian = (expanded.T @ expanded).reshape(n_experts, n_coef, n_experts, n_coef)
    weighted = weights[:, None] * probabilities
    for k in range(n_experts):
        hessian[k, :, k, :] -= (design * weighted[:, k, None]).T @ design
    return gradient, hessian


def expect_experts(chunk: np.ndarray, sample_weight: np.ndarray, params: ExpertsParams,
                   n_features: int) -> ExpertsStatistics:
    """E-step statistics of one chunk of ``[x, y]`` rows (centred) under ``params``; additive over chunks."""
    design, targets = _split(chunk, n_features)
    residuals, gate, log_density, responsibilities = _log_joint_probabilities(design, targets, params)
    weighted = responsibilities * sample_weight[:, None]
    gradient, hessian = gate_derivatives(design, weighted, gate)
    return ExpertsStatistics(float(sample_weight.sum()), float(sample_weight @ log_density),
                             *_expert_moments(design, residuals, weighted), gradient, hessian)


def _expert_moments(design: np.ndarray, residuals: np.ndarray, weighted: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(counts, gram, cross, residual_scatter)`` of :class:`ExpertsStatistics` for weights ``w_n r_nk``."""
    n_experts, n_coef, n_targets = weighted.shape[1], design.shape[1], residuals.shape[2]
    gram = np.empty((n_experts, n_coef, n_coef))
    cross = np.empty((n_experts, n_coef, n_targets))
    scatter = np.empty((n_experts, n_targets, n_targets))
    for k in range(n_experts):
        weighted_design = design * weighted[:, k, None]
        gram[k] = weighted_design.T @ design
        cross[k] = weighted_design.T @ residuals[:, k]
        scatter[k] = (residuals[:, k] * weighted[:, k, None]).T @ residuals[:, k]
    return weighted.sum(axis=0), gram, cross, scatter


# ------------------------------------------------------------------------------------------ M-step
@dataclass(frozen=True)
class Penalties:
    """The fixed penalty strengths of one fit (see the module docstring)."""

    gate: float          # on ||V||^2
    coef: float          # ridge on the slopes, in the Sigma_k^{-1} metric
    covariance: float    # prior scatter reg_covar * W / K on every expert's diagonal

    def value(self, params: ExpertsParams, n_features: int) -> float:
        """The total penalty subtracted from the log-likelihood in the objective ``F``."""
        slopes = params.coef[:, :n_features]
        precisions = params.precisions_cholesky @ params.precisions_cholesky.transpose(0, 2, 1)
        prior_scatter = self.coef * slopes.transpose(0, 2, 1) @ slopes + self.covariance * np.eye(precisions.shape[1])
        return 0.5 * (self.gate * np.sum(params.gate[:, :n_features] ** 2)
                      + np.einsum("kij,kij->", precisions, prior_scatter))


def maximize_experts(stats: ExpertsStatistics, params: ExpertsParams, penalties: Penalties, n_features: int,
                     covariance_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact M-step of the experts: ``(coef, covariances, precisions_cholesky)``.

    ``beta_k = (G_k + reg P)^{-1} Z^T R_k y`` with ``P`` the identity on the slopes (the intercept is not
    penalised), solved as the update ``delta_k = (G_k + reg P)^{-1}(C_k - reg P beta_k)`` of the current
    coefficients; the residual scatter about the new fit is ``S_k - delta^T C_k - C_k^T delta +
    delta^T G_k delta``. Experts with (almost) no weight keep their parameters (still a GEM step).

    Raises :class:`~gaussmix.exceptions.DegenerateComponentError` when an expert's covariance is singular
    (possible only with ``reg_covar=0``). A tiny but positive covariance is *not* an error here, unlike
    in :class:`~gaussmix.GaussianMixture`: noise-free linear data are a legitimate regression problem.
    """
    project, _ = EXPERT_COVARIANCE_TYPES[covariance_type]
    penalty = np.zeros(n_features + 1)
    penalty[:n_features] = penalties.coef
    coef, covariances = params.coef.copy(), params.covariances.copy()
    empty = stats.counts <= EMPTY_EXPERT * stats.weight_sum
    for k in np.flatnonzero(~empty):
        system = stats.gram[k] + np.diag(penalty)
        try:
            factor = linalg.cho_factor(system, lower=True)
        except linalg.LinAlgError:
            raise DegenerateComponentError(k, "singular", "The expert's weighted inputs are collinear; increase "
                                           "reg_coef or use fewer experts.") from None
        delta = linalg.cho_solve(factor, stats.cross[k] - penalty[:, None] * params.coef[k])
        coef[k] = params.coef[k] + delta
        product = delta.T @ stats.cross[k]
        scatter = stats.residual_scatter[k] - product - product.T + delta.T @ stats.gram[k] @ delta
        slopes = coef[k, :n_features]
        matrix = scatter + penalties.coef * slopes.T @ slopes + penalties.covariance * np.eye(scatter.shape[0])
        covariances[k] = project(0.5 * (matrix + matrix.T)[None] / stats.counts[k])[0]
    precisions_cholesky, singular = matrix_cholesky_of_precisions(covariances)
    if singular.any():
        raise DegenerateComponentError(int(np.flatnonzero(singular)[0]), "singular",
                                       "An expert fits its points exactly: increase reg_covar or use fewer experts.",
                                       tuple(np.flatnonzero(singular)))
    return coef, covariances, precisions_cholesky


def newton_direction(gradient: np.ndarray, hessian: np.ndarray, gate: np.ndarray, gate_penalty: float,
                     n_features: int) -> np.ndarray:
    """Newton direction (K, p) for maximising ``Q(theta) - gate_penalty / 2 ||V||^2``.

    The softmax is invariant to adding one vector to every expert's row, so the intercepts' Hessian
    has a null direction (and with ``gate_penalty == 0`` so do the slopes). The gradient is orthogonal
    to it, so a tiny damping of the negated Hessian gives the minimum-norm Newton step; the Cholesky
    factorisation is retried with more damping if rounding leaves the matrix indefinite.
    """
    n_experts, n_coef = gate.shape
    penalty = np.zeros(n_coef)
    penalty[:n_features] = gate_penalty
    gradient = gradient - penalty * gate
    curvature = -hessian.reshape(n_experts * n_coef, n_experts * n_coef) + np.diag(np.tile(penalty, n_experts))
    damping = 1e-10 * max(float(np.max(np.diag(curvature))), 1e-300)
    for _ in range(12):
        try:
            factor = linalg.cho_factor(curvature + damping * np.eye(curvature.shape[0]), lower=True)
            break
        except linalg.LinAlgError:
            damping *= 100.0
    else:  # pragma: no cover - a PSD matrix plus a large multiple of I always factors
        return gradient / max(float(np.max(np.diag(curvature))), 1.0)
    direction = linalg.cho_solve(factor, gradient.reshape(-1)).reshape(n_experts, n_coef)
    return direction - direction.mean(axis=0)  # remove the softmax's null direction


# --------------------------------------------------------------------------------------- the EM loop
@dataclass(frozen=True)
class ExpertsFit:
    params: ExpertsParams
    objective: float
    trace: list
    n_iter: int
    converged: bool


def _objective(stats: ExpertsStatistics, params: ExpertsParams, penalties: Penalties, n_features: int) -> float:
    """The penalised log-likelihood ``F`` per unit of sample weight."""
    return (stats.log_likelihood - penalties.value(params, n_features)) / stats.weight_sum


def run_experts_em(engine, params: ExpertsParams, penalties: Penalties, n_features: int, covariance_type: str, *,
                   tol: float, max_iter: int) -> ExpertsFit:
    """Generalised EM from ``params`` until the objective changes by less than ``tol`` per unit weight
    (:class:`ExpertsFamily` on :func:`gaussmix.fitting.driver.drive`); the trace starts with the objective of ``params``."""
    family = ExpertsFamily(engine, penalties, n_features, covariance_type)
    stats = expect_all(family, engine, params)
    objective = family.objective(stats, params)
    result = drive(family, engine, params, tol=tol, max_iter=max_iter, previous_objective=objective,
                   start_statistics=stats)
    return ExpertsFit(result.state, result.objective, [objective, *result.trace], result.n_iter, result.converged)


class ExpertsFamily:
    """The mixture of experts as a :class:`~gaussmix.fitting.driver.Family`: a generalised EM (Jordan & Jacobs 1994).

    The M-step solves each expert's weighted least squares in closed form and takes one Newton step for the
    softmax gate, halved until the penalised log-likelihood ``F`` does not decrease (step 0, the experts alone,
    cannot decrease it). Its line search evaluates the new parameters, so their statistics and ``F`` come with
    the step and the next iteration makes no extra pass.
    """

    centred = True
    monotone = False  # every step is an ascent step by its line search
    final_e_step = False  # the objective comes with each step, of the parameters it returns
    held_statistics = None
    converged = staticmethod(change_below_tol)
    expect: Callable[..., ExpertsStatistics]  # set per instance: a partial of expect_experts (travels to workers)

    def __init__(self, engine, penalties: Penalties, n_features: int, covariance_type: str):
        self.engine, self.penalties, self.n_features, self.covariance_type = engine, penalties, n_features, covariance_type
        self.expect = functools.partial(expect_experts, n_features=n_features)  # what travels to Dask's workers

    def objective(self, stats: ExpertsStatistics, params: ExpertsParams) -> float:
        return _objective(stats, params, self.penalties, self.n_features)

    def maximize(self, stats: ExpertsStatistics, params: ExpertsParams) -> Step:
        coef, covariances, precisions_cholesky = maximize_experts(stats, params, self.penalties, self.n_features,
                                                                  self.covariance_type)
        direction = newton_direction(stats.gate_gradient, stats.gate_hessian, params.gate, self.penalties.gate,
                                     self.n_features)
        objective = self.objective(stats, params)
        for step in [2.0 ** -i for i in range(MAX_STEP_HALVINGS + 1)] + [0.0]:
            candidate = ExpertsParams(params.gate + step * direction, coef, covariances, precisions_cholesky)
            candidate_stats = expect_all(self, self.engine, candidate)
            candidate_objective = self.objective(candidate_stats, candidate)
            # step 0 is the experts-only M-step: F cannot decrease (GEM), whatever rounding says.
            if candidate_objective >= objective or step == 0.0:
                break
        return Step(candidate, objective=candidate_objective, statistics=candidate_stats)

    def recover(self, step: Step, params: ExpertsParams) -> ExpertsParams:
        raise AssertionError("the experts' M-step flags no component")




# ------------------------------------------------------------------------------------ initialisation
def initial_experts(engine, scaled_engine, scale: np.ndarray, n_experts: int, n_features: int, method: str,
                    random_state, penalties: Penalties, covariance_type: str) -> ExpertsParams:
    """Start from a clustering of the standardised ``[x, y]`` rows.

    ``scaled_engine`` holds the rows of ``engine`` divided by ``scale`` (the columns' standard
    deviations) with the offset divided likewise, so its centred chunks are ``engine``'s over ``scale``.

    Experts: one exact M-step from the hard cluster assignments.
    Gate: the posterior of a Gaussian classifier with a shared spherical covariance on ``x``, which is
    linear in ``x``: ``V_k = mu_k / s^2``, ``c_k = log pi_k - ||mu_k||^2 / (2 s^2)`` with the cluster
    means ``mu_k`` of ``x`` and the pooled within-cluster variance ``s^2``.
    """
    centers = initial_centers(scaled_engine, n_experts, "kmeans" if method == "kmeans" else "random_from_data",
                              random_state)
    n_targets = engine.n_features - n_features
    zero = ExpertsParams(np.zeros((n_experts, n_features + 1)), np.zeros((n_experts, n_features + 1, n_targets)),
                         np.repeat(np.diag(scale[n_features:] ** 2)[None], n_experts, axis=0), None)

    def hard_statistics(chunk, weights):
        # Hard responsibilities, moments about zero coefficients (the residuals are the centred y).
        labels, _ = assign(chunk / scale, centers)
        weighted = np.zeros((chunk.shape[0], n_experts))
        weighted[np.arange(chunk.shape[0]), labels] = weights
        design, targets = _split(chunk, n_features)
        return ExpertsStatistics(float(weights.sum()), 0.0,
                                 *_expert_moments(design, _residuals(design, targets, zero.coef), weighted),
                                 zero.gate, np.zeros((n_experts, n_features + 1, n_experts, n_features + 1)))

    stats = engine.reduce(hard_statistics)
    # An empty cluster keeps the zero expert (the mean of y) with the variance of y; the gate ignores it.
    coef, covariances, precisions_cholesky = maximize_experts(stats, zero, penalties, n_features, covariance_type)
    return ExpertsParams(_linear_gate(stats, n_features), coef, covariances, precisions_cholesky)


def _linear_gate(stats: ExpertsStatistics, n_features: int) -> np.ndarray:
    """The shared-spherical-Gaussian classifier of the clusters in ``x``, as softmax logits (K, p)."""
    counts = np.maximum(stats.counts, 1e-300)
    means = stats.gram[:, :n_features, n_features] / counts[:, None]
    second_moments = np.einsum("kii->k", stats.gram[:, :n_features, :n_features])
    within = (second_moments.sum() - counts @ np.sum(means ** 2, axis=1)) / (stats.weight_sum * n_features)
    within = within if within > 0 else 1.0
    gate = np.empty((stats.counts.shape[0], n_features + 1))
    gate[:, :n_features] = means / within
    gate[:, n_features] = np.log(counts / stats.weight_sum) - 0.5 * np.sum(means ** 2, axis=1) / within
    return gate - gate.mean(axis=0)


