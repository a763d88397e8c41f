"""mclust's eigen-decomposed family: ``Sigma_k = lambda_k D_k A_k D_k^T`` (Celeux & Govaert 1995).

A model is named by three letters, for the volume ``lambda_k`` (a scalar), the shape ``A_k`` (diagonal,
``det A_k = 1``) and the orientation ``D_k`` (orthogonal): ``E`` equal across components, ``V`` variable,
``I`` the identity. The 14 models are EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV and
VVV; in one dimension every model is either ``E`` (equal variances) or ``V`` (variable variances).

Storage follows the smallest existing structure that can hold the family, so the log-density, sampling,
model files and degeneracy checks are inherited unchanged: spherical models (``*II``) store one variance
per component ``(K,)``, diagonal models (``**I``) a vector ``(K, d)``, models with an orientation dense
matrices ``(K, d, d)``. VII, VVI, EEE and VVV are scikit-learn's 'spherical', 'diag', 'tied' and 'full'
under mclust's names (same code).

The M-step
----------
Given per-component scatter ``W_k`` about the new means and counts ``n_k``, every model minimises

    F = sum_k [ n_k log det Sigma_k + tr(W_k Sigma_k^{-1}) ]

over its constrained set (``-F / 2`` is the covariance part of the expected complete-data
log-likelihood). Writing ``C_k = lambda_k A_k`` (a positive vector), all models reduce to a *diagonal
problem* on a vector ``w_k`` of variances along fixed axes:

- orientation ``I``: ``D = I`` and ``w_k = diag(W_k)``;
- orientation ``V``: ``D_k`` are the eigenvectors of ``W_k`` (eigenvalues in decreasing order paired with
  decreasing ``C_k``, optimal for any ``C_k`` by von Neumann's trace inequality), ``w_k`` the eigenvalues;
- orientation ``E``: ``D`` is common; alternate the diagonal problem on ``w_k = diag(D^T W_k D)`` with
  an update of ``D``: for shape ``E`` the eigenvectors of ``sum_k W_k / lambda_k`` (exact), for shape
  ``V`` (EVE, VVE) one sweep of exact plane rotations of pairs of axes (Jacobi / Flury-Gautschi style),
  each of which never increases ``F``. (Browne & McNicholas' (2014) majorisation-minimisation step for ``D``
  also descends, but alone it takes hundreds of steps per M-step where the rotations take tens, and adding it
  to them changed no fit of the 14-model grids on ../shared/data.)

The diagonal problem has closed forms except for shape ``E`` with volume ``V`` (VEI, VEE, VEV), solved by
alternating ``A = normalise(sum_k w_k / lambda_k)`` and ``lambda_k = sum_j (w_kj / A_j) / (d n_k)``.
VEE is block-coordinate descent over volumes, shape and axes (one exact step of each per iteration).
Every iterative step decreases ``F``; iterations stop when the relative decrease is below ``tol`` or after
``max_iter`` (constructor arguments; defaults 1e-10 and 1000). That is how a standalone M-step (and EM's first,
from the start) is solved: cold, from the eigenvectors of the pooled scatter, like mclust's every M-step.

Inside EM (:meth:`EigenDecomposed.with_em_tolerance`) the inner iteration is warm-started from the previous EM
iteration's axes and volumes and stops once an iteration would raise
the mean log-likelihood by less than :data:`INNER_TOL_FRACTION` of EM's ``tol``. Every step still lowers ``F``
below its value at the previous parameters, so each M-step is a generalised one and EM stays monotone; what
remains of the inner optimisation is carried into the next EM iteration instead of being solved to 1e-10 in
every one (34 s to 1.4 s for the 14-model grid on wine).

MAP estimation passes prior-augmented scatter and counts (see :mod:`gaussmix.families.priors`); the same code
then finds the posterior mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import _numba

from .diag import Diag
from .full import Full
from .spherical import Spherical
from .tied import Tied

__all__ = [
    "MCLUST_MODEL_NAMES", "EigenDecomposed", "constrained_covariances", "constrained_variances",
    "eigen_n_parameters", "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV",
    "VEV", "EVV", "VVV", "E", "V",
]

MCLUST_MODEL_NAMES: tuple[str, ...] = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                                       "EEV", "VEV", "EVV", "VVV")
"""mclust's 14 multivariate models in mclust's own order."""

DEFAULT_TOL = 1e-10
DEFAULT_MAX_ITER = 1000


def eigen_n_parameters(letters: str, n_components: int, n_features: int) -> int:
    """Free covariance parameters of model ``letters`` (mclust's ``nVarParams``).

    Volume: 1 (E) or G (V); shape: 0 (I), d - 1 (E) or G (d - 1) (V); orientation: 0 (I),
    d (d - 1) / 2 (E) or G d (d - 1) / 2 (V).
    """
    g, d = n_components, n_features
    volume = {"E": 1, "V": g}[letters[0]]
    shape = {"I": 0, "E": d - 1, "V": g * (d - 1)}[letters[1]]
    orientation = {"I": 0, "E": d * (d - 1) // 2, "V": g * d * (d - 1) // 2}[letters[2]]
    return volume + shape + orientation


# ------------------------------------------------------------------------------------- the diagonal problem
_SHAPE_CODES = {"I": 0, "E": 1, "V": 2}
"""The shape letter as the compiled kernels take it."""


def _geometric_mean(values: np.ndarray) -> np.ndarray:
    """Geometric mean along the last axis (``det(diag(v))^{1/d}``); zero if any entry is zero (or, by rounding
    of a zero scatter, slightly negative)."""
    with np.errstate(divide="ignore"):
        return np.exp(np.log(np.maximum(values, 0.0)).mean(axis=-1))


def constrained_variances(w: np.ndarray, counts: np.ndarray, volume: str, shape: str,
                          tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER,
                          volumes: np.ndarray | None = None, absolute_tol: float = 0.0) -> np.ndarray:
    """Minimise ``sum_k [n_k sum_j log C_kj + sum_j w_kj / C_kj]`` over ``C_k = lambda_k A_k``.

    Parameters
    ----------
    w : ndarray of shape (n_components, n_features)
        Non-negative scatter along fixed axes (diagonals or eigenvalues of ``W_k``).
    counts : ndarray of shape (n_components,)
        Positive ``n_k``.
    volume, shape : {'E', 'V'} and {'I', 'E', 'V'}
    tol, max_iter, absolute_tol
        Stopping rule of the one iterative case, VE* (see :func:`constrained_covariances`).
    volumes : ndarray of shape (n_components,), optional
        Warm start of VE*: the previous EM iteration's volumes.

    Returns
    -------
    ndarray of shape (n_components, n_features)
        ``C_k``; non-finite or zero entries where ``w`` is degenerate (flagged singular by the caller).
    """
    n_components, n_features = w.shape
    if _numba.AVAILABLE:  # the same arithmetic compiled: a dozen small-array calls fewer per M-step
        if volumes is None:
            volumes = w.sum(axis=1) / (n_features * counts)
        return _numba.constrained_variances(
            np.ascontiguousarray(w, dtype=np.float64), np.ascontiguousarray(counts, dtype=np.float64),
            volume == "E", _SHAPE_CODES[shape], np.ascontiguousarray(volumes, dtype=np.float64), float(tol),
            float(absolute_tol), int(max_iter))
    total = counts.sum()
    if shape == "I":
        traces = w.sum(axis=1)
        volumes = traces.sum() / (n_features * total) if volume == "E" else traces / (n_features * counts)
        return np.broadcast_to(np.reshape(volumes, (-1, 1)), w.shape).copy()
    if shape == "V":
        if volume == "V":
            return w / counts[:, None]
        scale = _geometric_mean(w)  # det(W_k restricted)^{1/d}: the optimal A_k is w_k / scale_k
        with np.errstate(divide="ignore", invalid="ignore"):
            return (scale.sum() / total) * w / scale[:, None]
    if volume == "E":
        return np.broadcast_to(w.sum(axis=0) / total, w.shape).copy()
    return _variable_volume_equal_shape(w, counts, tol, max_iter, volumes, absolute_tol)


def _variable_volume_equal_shape(w, counts, tol, max_iter, volumes=None, absolute_tol=0.0):
    """VE*: alternate the common shape and the volumes (each step is exact, so F never increases).

    ``volumes`` (n_components,) warm-starts the alternation (default: each component's own VII volume).
    """
    n_features = w.shape[1]
    if volumes is None:
        volumes = w.sum(axis=1) / (n_features * counts)
    objective = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            shape = (w / volumes[:, None]).sum(axis=0)
            shape /= _geometric_mean(shape)
            volumes = (w / shape).sum(axis=1) / (n_features * counts)
            # With the volumes just optimised, F = d sum_k n_k log lambda_k + d sum_k n_k.
            new_objective = n_features * (counts @ np.log(volumes))
            if _stalled(objective, new_objective, tol, absolute_tol):
                break
            objective = new_objective
        return volumes[:, None] * shape


# --------------------------------------------------------------------------------------- dense models
def _descending_eigh(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(matrices)
    return np.maximum(values[..., ::-1], 0.0), vectors[..., ::-1]


def constrained_covariances(scatter: np.ndarray, counts: np.ndarray, letters: str,
                            tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER,
                            start: "InnerStart | None" = None, absolute_tol: float = 0.0) -> np.ndarray:
    """The M-step of model ``letters`` on per-component scatter about the new means.

    Parameters
    ----------
    scatter : ndarray of shape (n_components, n_features, n_features)
        ``W_k``, symmetric positive semi-definite.
    counts : ndarray of shape (n_components,)
        Positive ``n_k``.
    letters : str
        Model name such as ``'VEV'``.
    tol, max_iter : float and int
        Iterative models stop when ``F`` decreases by less than ``tol * (1 + |F|)`` in an iteration, or
        after ``max_iter`` iterations.
    start : InnerStart, optional
        Warm start of the iterative models (the previous EM iteration's axes and volumes); default: cold,
        from the eigenvectors of the pooled scatter and each component's own volume.
    absolute_tol : float, default=0
        Iterative models also stop when ``F`` decreases by at most this much in an iteration.

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features)
        The covariances minimising ``sum_k n_k log det Sigma_k + tr(W_k Sigma_k^{-1})``.
    """
    return _dense_solution(scatter, counts, letters, tol, max_iter, start, absolute_tol)[0]


def _dense_solution(scatter, counts, letters, tol, max_iter, start, absolute_tol) -> tuple[np.ndarray, "InnerStart"]:
    """:func:`constrained_covariances` and the solution's own axes and volumes (the next M-step's warm start)."""
    volume, shape, orientation = letters
    start = start or InnerStart()
    if orientation == "I":
        w = np.diagonal(scatter, axis1=1, axis2=2)
        variances = constrained_variances(w, counts, volume, shape, tol, max_iter, start.volumes, absolute_tol)
        return variances[:, :, None] * np.eye(scatter.shape[1]), _solved_start(letters, variances)
    if orientation == "V":
        w, axes = _descending_eigh(scatter)
        variances = constrained_variances(w, counts, volume, shape, tol, max_iter, start.volumes, absolute_tol)
    else:
        axes, variances = _common_orientation(scatter, counts, volume, shape, tol, max_iter, start, absolute_tol)
    covariances = (axes * variances[:, None, :]) @ np.swapaxes(axes, -1, -2)
    return covariances, _solved_start(letters, variances, axes[0] if orientation == "E" else None)


def _solved_start(letters: str, variances: np.ndarray, axes: np.ndarray | None = None) -> "InnerStart":
    """The warm start that a solution with these variances (and common axes) gives the next M-step."""
    return InnerStart(axes, _geometric_mean(variances) if letters[:2] == "VE" else None)


@dataclass(frozen=True)
class InnerStart:
    """Where an iterative M-step starts: the previous EM iteration's solution (None: a cold start).

    Attributes
    ----------
    axes : ndarray of shape (n_features, n_features), optional
        The common orientation ``D`` (models ``*?E``).
    volumes : ndarray of shape (n_components,), optional
        ``lambda_k`` (models ``VE?``).
    """

    axes: np.ndarray | None = None
    volumes: np.ndarray | None = None


def _stalled(objective: float, new_objective: float, tol: float, absolute_tol: float) -> bool:
    """Whether an inner iteration that moved ``F`` from ``objective`` to ``new_objective`` should be the last."""
    decrease = objective - new_objective
    return not np.isfinite(new_objective) or decrease <= max(tol * (1.0 + abs(new_objective)), absolute_tol)


def _common_orientation(scatter, counts, volume, shape, tol, max_iter, start, absolute_tol):
    """**E models: alternate the variances along common axes ``D`` with an update of ``D``.

    Started from ``start.axes`` (the previous EM iteration's ``D``, whose variances are re-optimised first; cold:
    the eigenvectors of the pooled scatter), every step lowers ``F`` from its value at the start: a generalised
    M-step however few iterations run. ``D`` moves by exact steps: the eigenvectors of ``sum_k W_k / lambda_k``
    for a common shape (VEE), sweeps of plane rotations for variable shapes (EVE, VVE). Compiled where numba is
    installed (:func:`gaussmix._numba.eigen.common_orientation_descent`); this loop is its NumPy twin.
    """
    axes = start.axes if start.axes is not None else _pooled_axes(scatter)
    volumes = start.volumes if start.volumes is not None else _own_volumes(scatter, counts)
    if _numba.AVAILABLE and (volume, shape) != ("E", "E"):
        axes = np.array(axes, dtype=np.float64, order="C")  # rotated in place
        variances = _numba.common_orientation_descent(
            np.ascontiguousarray(scatter, dtype=np.float64), np.ascontiguousarray(counts, dtype=np.float64), axes,
            np.ascontiguousarray(volumes, dtype=np.float64), volume == "E", shape == "E", float(tol),
            float(absolute_tol), int(max_iter))
        return np.broadcast_to(axes, scatter.shape), variances
    objective = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            w = np.diagonal(axes.T @ scatter @ axes, axis1=1, axis2=2)  # diag(D^T W_k D)
            if volume == "V" and shape == "E":
                # VEE: one exact shape-then-volume step from the current volumes; with the exact axes step
                # below this is block-coordinate descent over (lambda, A, D), no nested iteration.
                variances = _variable_volume_equal_shape(w, counts, tol, 1, volumes)
                volumes = _geometric_mean(variances)
            else:
                variances = constrained_variances(w, counts, volume, shape, tol, max_iter)
            if shape == "E" and volume == "E":
                break  # EEE: the eigenvectors of sum_k W_k are already optimal
            new_objective = float(counts @ np.log(variances).sum(axis=1) + (w / variances).sum())
            if _stalled(objective, new_objective, tol, absolute_tol):
                break
            objective = new_objective
            axes = (_shared_shape_axes(scatter, variances) if shape == "E"
                    else _pairwise_rotated_axes(scatter, variances, axes))
        axes = axes[None] if axes.ndim == 2 else axes
    return np.broadcast_to(axes, scatter.shape), variances


def _pooled_axes(scatter: np.ndarray) -> np.ndarray:
    """The cold start of a common orientation: the eigenvectors of ``sum_k W_k`` (decreasing eigenvalues)."""
    return _descending_eigh(scatter.sum(axis=0))[1]


def _own_volumes(scatter: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each component's own volume ``tr(W_k) / (d n_k)`` (VII's): the cold start of the volumes of VE* models."""
    return _total_scatter(scatter) / (scatter.shape[-1] * counts)


def _shared_shape_axes(scatter, variances):
    """Optimal ``D`` for ``C_k = lambda_k A``: eigenvectors of ``sum_k W_k / lambda_k`` paired with ``A``."""
    volumes = variances[:, 0]  # proportional to lambda_k: all rows share the shape A
    _, axes = _descending_eigh(np.einsum("kij,k->ij", scatter, 1.0 / volumes))
    order = np.argsort(-variances[0], kind="stable")  # largest eigenvalue to the axis of largest A
    paired = np.empty_like(axes)
    paired[:, order] = axes
    return paired


def _pairwise_rotated_axes(scatter, variances, axes):
    """One sweep of exact plane rotations of ``D`` (Jacobi / Flury-Gautschi style); never increases F.

    Rotating axes ``i, j`` by ``theta`` changes ``sum_k tr(D^T W_k D Psi_k)`` by
    ``a cos 2 theta + b sin 2 theta`` + const with ``a = sum_k (psi_ki - psi_kj)(B_kii - B_kjj) / 2`` and
    ``b = sum_k (psi_ki - psi_kj) B_kij`` (``B_k = D^T W_k D``), minimised at ``2 theta = atan2(-b, -a)``.
    The NumPy twin of :func:`gaussmix._numba.eigen.rotation_sweep`, which the compiled M-steps run.
    """
    inverse = 1.0 / variances
    rotated = axes.T @ scatter @ axes  # B_k = D^T W_k D
    axes = axes.copy()
    n_features = axes.shape[0]
    for i in range(n_features - 1):
        for j in range(i + 1, n_features):
            weight = inverse[:, i] - inverse[:, j]
            a = 0.5 * weight @ (rotated[:, i, i] - rotated[:, j, j])
            b = weight @ rotated[:, i, j]
            if a * a + b * b == 0.0:
                continue
            # Minimiser of a cos 2t + b sin 2t; compare with t = 0 so a rounding error never makes it worse.
            angle = 0.5 * np.arctan2(-b, -a)
            if a * np.cos(2 * angle) + b * np.sin(2 * angle) >= a:
                continue
            c, s = np.cos(angle), np.sin(angle)
            rotation = np.array([[c, -s], [s, c]])
            pair = [i, j]
            axes[:, pair] = axes[:, pair] @ rotation
            rotated[:, :, pair] = rotated[:, :, pair] @ rotation
            rotated[:, pair, :] = np.swapaxes(rotation, 0, 1) @ rotated[:, pair, :]
    return axes


def _total_scatter(scatter: np.ndarray) -> np.ndarray:
    """Trace of each component's scatter, stored as traces (K,), diagonals (K, d) or matrices (K, d, d)."""
    if scatter.ndim == 1:
        return scatter
    if scatter.ndim == 2:
        return scatter.sum(axis=1)
    return np.einsum("kii->k", scatter)


# ------------------------------------------------------------------------------------------ structures
class EigenDecomposed:
    """Mixin for the mclust models: letters, parameter counts and the inner-iteration settings.

    Parameters
    ----------
    tol : float, default=1e-10
        Relative decrease of the M-step objective below which iterative M-steps (VEI, VEE, EVE, VVE,
        VEV) stop.
    max_iter : int, default=1000
        Cap on those iterations.
    em_tol : float or None, default=None
        Set by :meth:`with_em_tolerance` for the M-steps of an EM run: they start from the previous
        iteration's solution and also stop once an inner iteration would raise the mean log-likelihood by
        less than :data:`INNER_TOL_FRACTION` ``* em_tol``.
    """

    letters: ClassVar[str]

    def __init__(self, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER, em_tol: float | None = None):
        self.tol = tol
        self.max_iter = max_iter
        self.em_tol = em_tol
        # (covariances returned by the last M-step, the InnerStart they were built from), or (None, None). Only
        # ever read back for that very array, so a structure shared by several runs cannot mix them up.
        self._last_solution: tuple = (None, None)

    def n_parameters(self, n_components, n_features):
        return eigen_n_parameters(self.letters, n_components, n_features)

    def with_em_tolerance(self, em_tol: float):
        return type(self)(self.tol, self.max_iter, em_tol)

    def update_covariances(self, scatter, counts, shifts, reg_covar, previous):
        """The M-step of an EM iteration: iterative models start from ``previous`` (warm) and stop early.

        Warm, the inner iteration starts at the previous parameters' axes with re-optimised variances, so
        each of its steps lowers ``F`` below its value at the previous parameters: a generalised M-step,
        and EM stays monotone however few inner iterations run. Their number is tied to EM's tolerance
        (:meth:`with_em_tolerance`); without one, or at initialisation, the M-step is solved to ``tol``.
        """
        if previous is None or self.em_tol is None or not self.iterative_m_step:
            return self.estimate_covariances(scatter, counts, shifts, reg_covar)
        # The axes and volumes that gave `previous` where this structure computed it (an EM run's last M-step),
        # else read back from the matrices (an eigen-decomposition per M-step, a tenth of a grid's time).
        returned, solution = self._last_solution
        start = solution if previous is returned else _warm_start(self, previous, reg_covar)
        return self._estimate(scatter, counts, shifts, reg_covar, start,
                              INNER_TOL_FRACTION * 2.0 * self.em_tol * float(counts.sum()))

    def estimate_covariances(self, scatter, counts, shifts, reg_covar):
        return self._estimate(scatter, counts, shifts, reg_covar, InnerStart(), 0.0)

    @property
    def iterative_m_step(self) -> bool:
        volume, shape, orientation = self.letters
        return (volume == "V" and shape == "E") or orientation == "E"  # (EEE is Tied: closed form)

    def _remember(self, covariances: np.ndarray, solutions: list) -> np.ndarray:
        """Keep the inner solution behind ``covariances`` for the next M-step, where it covers every component
        (None where some had no count or no scatter); return ``covariances``."""
        whole = len(solutions) == 1 and solutions[0] is not None
        self._last_solution = (covariances, solutions[0]) if whole and self.iterative_m_step else (None, None)
        return covariances

    def _solvable(self, scatter: np.ndarray, counts: np.ndarray) -> np.ndarray | None:
        """The components :meth:`_solve` solves jointly: a positive count and, with variable volumes, some scatter;
        None where the scatter is not finite (overflowed statistics: no solver meets NaN)."""
        if not np.isfinite(scatter).all():
            return None
        active = counts > 0
        return active & (_total_scatter(scatter) > 0) if self.letters[0] == "V" else active

    def _solve(self, scatter: np.ndarray, counts: np.ndarray, solver) -> np.ndarray:
        """Run ``solver(scatter, counts, solvable)`` on the non-empty components; empty ones get their mean.

        ``solvable`` is the boolean mask of the components passed. With variable volumes, a component whose
        points coincide (no scatter at all, e.g. a singleton of the hierarchical start) is degenerate on its
        own: its volume goes to 0. It gets a zero covariance, flagged singular by the caller (and
        re-seeded), and the others are solved without it. Solving it jointly would spread its ``0 / 0``
        through the shared shape (VEI, VEE, VEV) or axes (VVE) to every component, leaving no healthy one to
        re-seed from.
        """
        solvable = self._solvable(scatter, counts)
        if solvable is None:  # overflowed statistics (data near the limits of double precision)
            return np.full_like(scatter, np.nan)  # flagged singular by the caller
        if solvable.all():
            return solver(scatter, counts, solvable)
        result = np.zeros_like(scatter)
        if not solvable.any():
            return result
        solved = solver(scatter[solvable], counts[solvable], solvable)
        result[solvable] = solved
        result[counts <= 0] = solved.mean(axis=0)
        return result

    def __repr__(self):
        return f"{type(self).__name__}(tol={self.tol!r}, max_iter={self.max_iter!r}, em_tol={self.em_tol!r})"


INNER_TOL_FRACTION = 0.01
"""In an EM run, an iterative M-step stops once an inner iteration would raise the mean log-likelihood by
less than this fraction of EM's own ``tol``: a smaller gain could not change when EM stops."""


def _warm_start(structure: EigenDecomposed, previous: np.ndarray, reg_covar: float) -> InnerStart:
    """The previous EM iteration's axes and volumes, read back from its (regularised) covariances.

    ``D`` is taken from the eigenvectors of ``sum_k c_k Sigma_k`` with distinct generic weights ``c_k``: all
    ``Sigma_k = D (C_k + reg I) D^T`` share them, and unlike one component's they are unique unless two
    axes have the same variances in every component (then any basis of that plane is as good). Returns
    a cold start where the covariances are not positive definite without the regularisation.
    """
    if previous.ndim == 1:  # spherical storage: no iterative model
        return InnerStart()
    n_components = previous.shape[0]
    axes = None
    if previous.ndim == 2:
        variances = previous - reg_covar
    elif structure.letters[2] == "V":
        variances = np.linalg.eigvalsh(previous) - reg_covar
    else:
        weights = 1.0 + np.arange(n_components) / (np.pi * n_components)
        _, axes = np.linalg.eigh(np.einsum("k,kij->ij", weights, previous))
        variances = np.diagonal(axes.T @ previous @ axes, axis1=1, axis2=2) - reg_covar
    if not (np.all(np.isfinite(variances)) and np.all(variances > 0)):
        return InnerStart()
    volumes = _geometric_mean(variances) if structure.letters[:2] == "VE" else None
    return InnerStart(axes, volumes)


class SphericalEigen(EigenDecomposed, Spherical):
    """``*II`` models: ``lambda_k I``, stored as one variance per component (K,)."""

    def _estimate(self, scatter, counts, shifts, reg_covar, start, absolute_tol):
        n_features = shifts.shape[1]
        traces = scatter - counts * np.einsum("kd,kd->k", shifts, shifts)
        equal = self.letters[0] == "E"
        # lambda I: the pooled variance (EII), or each component's own (VII's closed form)
        return self._solve(traces, counts, lambda t, n, _: (np.full(len(n), t.sum() / (n_features * n.sum())) if equal
                                                              else t / (n_features * n))) + reg_covar


class DiagonalEigen(EigenDecomposed, Diag):
    """``**I`` models: ``lambda_k A_k``, stored as a vector of variances per component (K, d)."""

    def _estimate(self, scatter, counts, shifts, reg_covar, start, absolute_tol):
        w = scatter - counts[:, None] * shifts * shifts
        volume, shape = self.letters[:2]
        solutions = []

        def solver(w_, n, solvable):
            variances = constrained_variances(w_, n, volume, shape, self.tol, self.max_iter,
                                              _subset(start, solvable).volumes, absolute_tol)
            solutions.append(_solved_start(self.letters, variances) if solvable.all() else None)
            return variances

        return self._remember(self._solve(w, counts, solver) + reg_covar, solutions)


class DenseEigen(EigenDecomposed, Full):
    """Models with an orientation: dense covariances (K, d, d)."""

    def _estimate(self, scatter, counts, shifts, reg_covar, start, absolute_tol):
        within = scatter - counts[:, None, None] * shifts[:, :, None] * shifts[:, None, :]
        within = 0.5 * (within + np.swapaxes(within, 1, 2))
        solvable = self._solvable(within, counts)
        if _numba.AVAILABLE and solvable is not None and solvable.all():
            return self._compiled_estimate(within, counts, reg_covar, start, absolute_tol)
        solutions = []

        def solver(w, n, solvable):
            covariances, solution = _dense_solution(w, n, self.letters, self.tol, self.max_iter,
                                                    _subset(start, solvable), absolute_tol)
            solutions.append(solution if solvable.all() else None)
            return covariances

        covariances = self._solve(within, counts, solver)
        covariances = 0.5 * (covariances + np.swapaxes(covariances, 1, 2))
        return self._remember(covariances + reg_covar * np.eye(scatter.shape[1]), solutions)

    def _compiled_estimate(self, within, counts, reg_covar, start, absolute_tol):
        """The M-step in one compiled call (:func:`gaussmix._numba.eigen.dense_eigen_covariances`): the same
        arithmetic as the NumPy path (:func:`_dense_solution`), without its two dozen small-array calls."""
        volume, shape, orientation = self.letters
        common = orientation == "E"
        axes = (start.axes if start.axes is not None else _pooled_axes(within)) if common else np.eye(within.shape[1])
        volumes = start.volumes if start.volumes is not None else _own_volumes(within, counts)
        axes = np.array(axes, dtype=np.float64, order="C")  # updated in place (orientation E)
        covariances, variances = _numba.dense_eigen_covariances(
            np.ascontiguousarray(within), np.ascontiguousarray(counts, dtype=np.float64), volume == "E",
            _SHAPE_CODES[shape], common, axes, np.ascontiguousarray(volumes, dtype=np.float64), float(self.tol),
            float(absolute_tol), int(self.max_iter), float(reg_covar))
        return self._remember(covariances, [_solved_start(self.letters, variances, axes if common else None)])


def _subset(start: InnerStart, solvable: np.ndarray) -> InnerStart:
    """The warm start of the components being solved."""
    return InnerStart(start.axes, None if start.volumes is None else start.volumes[solvable])


def _equal(letters: str) -> bool:
    """Volume, shape and orientation all equal (E) or the identity (I): one covariance for every component."""
    return set(letters) <= {"E", "I"}


def _model(base, letters, doc):
    # mclust's models are maximum-likelihood (and MAP) structures: not scikit-learn covariance types, and
    # without scikit-learn's variational posterior, even where they inherit its storage and E-step.
    return type(letters, (base,), {"name": letters, "letters": letters, "equal_covariances": _equal(letters),
                                   "sklearn_name": None, "variational": False, "__doc__": doc})


def _alias(base, letters):
    """scikit-learn's structure under mclust's name: the same (closed-form) code."""
    return _model(base, letters, f"mclust's {letters}: scikit-learn's {base.name!r} under another name.")


EII = _model(SphericalEigen, "EII", "Equal spherical covariances ``lambda I``.")
VII = _alias(Spherical, "VII")
EEI = _model(DiagonalEigen, "EEI", "One diagonal covariance shared by all components ``lambda A``.")
VEI = _model(DiagonalEigen, "VEI", "Diagonal ``lambda_k A``: variable volume, common shape (iterative).")
EVI = _model(DiagonalEigen, "EVI", "Diagonal ``lambda A_k``: equal volume, variable shape.")
VVI = _alias(Diag, "VVI")
EEE = _alias(Tied, "EEE")
VEE = _model(DenseEigen, "VEE", "``lambda_k D A D^T``: variable volume, common shape and orientation (iterative).")
EVE = _model(DenseEigen, "EVE", "``lambda D A_k D^T``: common orientation by majorisation-minimisation.")
VVE = _model(DenseEigen, "VVE", "``lambda_k D A_k D^T``: common orientation by majorisation-minimisation.")
EEV = _model(DenseEigen, "EEV", "``lambda D_k A D_k^T``: equal volume and shape, variable orientation.")
VEV = _model(DenseEigen, "VEV", "``lambda_k D_k A D_k^T``: common shape (iterative).")
EVV = _model(DenseEigen, "EVV", "``lambda D_k A_k D_k^T``: equal volume, otherwise unconstrained.")
VVV = _alias(Full, "VVV")


class _OneDimensional:
    """mclust's names for univariate data; any other dimension is refused with advice."""

    def covariance_shape(self, n_components, n_features):
        if n_features != 1:
            raise ValueError(
                f"covariance_type {self.name!r} is for one-dimensional data, got {n_features} features; "
                f"use {self.name}II or another of {list(MCLUST_MODEL_NAMES)}"
            )
        return super().covariance_shape(n_components, n_features)


E = type("E", (_OneDimensional, EII), {"name": "E", "letters": "EII", "__doc__": "Univariate, equal variances."})
V = type("V", (_OneDimensional, _alias(Spherical, "VII")), {"name": "V", "letters": "VII",
                                                             "__doc__": "Univariate, variable variances."})

MCLUST_STRUCTURES: tuple = (EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV, E, V)
