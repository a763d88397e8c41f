"""The one fitting loop: every model family supplies ``expect``, ``maximize`` and its objective; :func:`drive` runs them.

A family is the model-specific half of EM (DESIGN.md, "One driver for every model family")::

    stats = engine.reduce(lambda chunk, weights: family.expect(chunk, weights, state))   # additive E-step
    step  = family.maximize(stats, state)                                                # M-step (pure)
    value = family.objective(stats, state)        # or step.objective, for an objective of the new state

and :func:`drive` owns everything around it, once for all families: the iteration count and ``max_iter``, the
trace, convergence on the change of the per-sample objective, undoing an M-step that lowered a monotone
objective, the degenerate-component policy (the family re-seeds or raises), the callback, the state after every
iteration for checkpoints and resuming, and the final E-step that makes the reported objective and statistics
those of the returned state.

Families: :class:`gaussmix.families.em.GaussianFamily` (maximum likelihood, MAP, noise, missing values, frozen parameters,
hard assignments, semi-supervised and Student-t through its options), :class:`gaussmix.families.variational.VariationalFamily`
(variational and Dirichlet-process mixtures), :class:`gaussmix.families.kmeans.LloydFamily` (k-means) and
:class:`gaussmix.families.experts.ExpertsFamily` (mixtures of experts); the factor analysers, the classifier and Student-t
mixtures are options of the Gaussian family.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, runtime_checkable

import numpy as np

__all__ = ["DriverResult", "Family", "RunState", "Step", "change_below_tol", "drive"]

logger = logging.getLogger("gaussmix.fitting.driver")


@dataclass(frozen=True, eq=False)
class Step:
    """What one M-step produced.

    Attributes
    ----------
    state
        The new state (parameters, posterior, centres, ...); a placeholder where ``degenerate`` is not empty.
    degenerate : dict
        Component index -> reason (``'empty'``, ``'singular'``, ``'collapsed'``) for components the M-step could
        not estimate; the driver then asks the family to recover (:meth:`Family.recover`).
    objective : float or None
        For families whose objective belongs to the new state (the variational bound is evaluated after the
        update): its value. None where the objective is that of the state entering the iteration.
    detail
        Anything the family needs again in :meth:`Family.recover` or :meth:`Family.converged` (e.g. the
        Gaussian family's ``ParameterEstimate``).
    statistics
        The new state's E-step statistics where the M-step already computed them (a generalised EM whose line
        search evaluated the new state): the next iteration uses them instead of another pass over the data.
    """

    state: Any
    degenerate: dict = field(default_factory=dict)
    objective: Optional[float] = None
    detail: Any = None
    statistics: Any = None


@runtime_checkable
class Family(Protocol):
    """The model-specific half of a fit.

    Attributes
    ----------
    centred : bool
        Whether :meth:`expect` takes chunks centred by the engine's offset (True) or the rows as stored
        (False; the family centres or compares them itself, e.g. sparse rows that must stay sparse).
    monotone : bool
        Whether the objective never decreases, so that an M-step which lowered it (by rounding, or an inexact
        M-step) is undone and the run stops (EM, for ``tol > 0``).
    final_e_step : bool
        Whether the run ends with one more E-step, so the reported objective and statistics are those of the
        returned state (EM, k-means); a family whose objective belongs to the new state does not need one.
    held_statistics : callable or None
        ``held_statistics(state)``: statistics of rows kept outside the engine whose responsibilities are fixed
        (labelled rows in semi-supervised fitting), added to every E-step; None for none.
    """

    centred: bool
    monotone: bool
    final_e_step: bool
    held_statistics: Optional[Callable[[Any], Any]]

    def expect(self, chunk: np.ndarray, weights: np.ndarray, state: Any) -> Any:
        """Additive statistics of one chunk under ``state`` (``stats(A) + stats(B) == stats(A u B)``).

        It is the one member that travels to the workers of a Dask engine (pickled with the state), so it must not
        reach an engine, an estimator or a connection: a family holding such things binds a small callable
        object here instead of a method."""

    def objective(self, stats: Any, state: Any) -> float:
        """The objective of ``state``, whose E-step gave ``stats``: per unit of weight, so ``tol`` does not
        depend on n."""

    def maximize(self, stats: Any, state: Any) -> Step:
        """The M-step: never raises on a degenerate component, flags it in :attr:`Step.degenerate`."""

    def recover(self, step: Step, state: Any) -> Any:
        """A state to go on from after a degenerate M-step (re-seeded components), or raise
        :class:`~gaussmix.exceptions.DegenerateComponentError`."""

    def converged(self, value: float, previous: float, tol: float, step: Step) -> bool:
        """Whether the run stops after this iteration (usually ``abs(value - previous) < tol``)."""


def change_below_tol(value: float, previous: float, tol: float, step: Step) -> bool:
    """The usual :meth:`Family.converged`: the objective changed by less than ``tol`` in this iteration."""
    return abs(value - previous) < tol


@dataclass(frozen=True)
class RunState:
    """Where a run stands after an iteration: enough to continue it exactly (checkpoints).

    Attributes
    ----------
    params
        The state after the latest M-step (or re-seed).
    trace : tuple of float
        The objective of every iteration so far.
    previous : float
        The value the next iteration's change is measured from (``-inf`` after a re-seed).
    n_iter : int
    n_reseeded : int
    converged : bool
        True once the run has converged; only the final E-step remains.
    entering
        The state entering the latest iteration (its objective is ``trace[-1]``), kept so that an M-step that
        lowered a monotone objective can be undone; None at the start and after a re-seed.
    """

    params: Any
    trace: tuple = ()
    previous: float = -np.inf
    n_iter: int = 0
    n_reseeded: int = 0
    converged: bool = False
    entering: Any = None


@dataclass(frozen=True, eq=False)
class DriverResult:
    """What :func:`drive` returns.

    Attributes
    ----------
    state
        The final state: never worse than any in the trace for a monotone family.
    objective : float
        Its objective (from the final E-step where the family has one, else the last trace value).
    statistics
        The final E-step's statistics (None without one).
    trace : list of float
    n_iter : int
    converged : bool
    n_reseeded : int
        Degenerate components re-seeded along the way.
    """

    state: Any
    objective: float
    statistics: Any
    trace: list
    n_iter: int
    converged: bool
    n_reseeded: int


def expect_all(family: Family, engine, state: Any) -> Any:
    """The E-step over every chunk of ``engine``: the sum of ``family.expect`` per chunk."""
    expect = family.expect  # only this and the state travel to the workers (Dask), not the family
    if family.centred:
        stats = engine.reduce(lambda chunk, weights: expect(chunk, weights, state))
    else:
        stats = engine.reduce(lambda rows, weights: expect(rows, weights, state), centred=False)
    return stats if family.held_statistics is None else stats + family.held_statistics(state)


def drive(family: Family, engine, start: Any, *, tol: float, max_iter: int,
          callback: Optional[Callable[[int, float, float], object]] = None,
          resume: Optional[RunState] = None,
          on_iteration: Optional[Callable[[RunState], object]] = None,
          previous_objective: float = -np.inf, start_statistics: Any = None) -> DriverResult:
    """Run E- and M-steps of ``family`` from ``start`` until :meth:`Family.converged` or ``max_iter``.

    For a monotone family (and ``tol > 0``) the trace never goes down: an M-step after which the objective is
    lower than before it is undone and the run stops, converged if the decrease is below ``tol``, and the
    returned state is never worse than any in the trace. ``tol=0`` runs exactly ``max_iter`` iterations
    (scikit-learn's meaning), rounding and all.

    Parameters
    ----------
    family : Family
    engine
        Supplies ``reduce(function, centred=...)`` over the chunks (any engine of :mod:`gaussmix.engines`).
    start
        The first state.
    tol, max_iter
        Convergence tolerance (the family's :meth:`~Family.converged` reads it) and iteration limit.
    callback : callable, optional
        ``callback(iteration, objective, change)`` after every iteration.
    resume : RunState, optional
        Continue an interrupted run from this state instead of ``start`` (then ignored); the result equals
        that of the uninterrupted run.
    on_iteration : callable, optional
        ``on_iteration(state)`` with the :class:`RunState` after every iteration (e.g. to checkpoint it).
    previous_objective : float, default=-inf
        The objective the first change is measured from: a warm start passes the last trace value of the fit it
        continues, so that a fit of one iteration at a time detects convergence.
    start_statistics : optional
        The E-step statistics of ``start`` where the caller already has them (the first pass is then skipped).
    """
    monotone = family.monotone and tol > 0
    run = resume if resume is not None else RunState(start, previous=previous_objective)
    state, trace, previous = run.params, list(run.trace), run.previous
    n_iter, n_reseeded, converged, entering = run.n_iter, run.n_reseeded, run.converged, run.entering
    pending = start_statistics if resume is None else None  # statistics of `state` already at hand
    while not converged and n_iter < max_iter:
        stats = pending if pending is not None else expect_all(family, engine, state)
        pending = None
        value = None
        if family.final_e_step:  # the objective belongs to the state entering the iteration
            value = family.objective(stats, state)
            if monotone and entering is not None and value < previous:
                # The last M-step lowered the objective: keep the state before it and stop.
                state, entering = entering, None
                converged = previous - value < tol
                break
        n_iter += 1
        step = family.maximize(stats, state)
        if value is None:
            value = step.objective
        trace.append(value)
        entering = state
        change = value - previous
        converged_now = family.converged(value, previous, tol, step)
        previous = value
        if step.degenerate:
            n_reseeded += len(step.degenerate)
            state = family.recover(step, state)
            # The new state did not come from an M-step: convergence is judged afresh from it.
            previous, change, entering, converged_now = -np.inf, np.inf, None, False
        else:
            state, pending = step.state, step.statistics
        logger.debug("%s iteration %d: objective %.10g (change %.3g)", type(family).__name__, n_iter, value, change)
        if callback is not None:
            callback(n_iter, value, change)
        converged = converged_now
        if on_iteration is not None:
            on_iteration(RunState(state, tuple(trace), previous, n_iter, n_reseeded, converged, entering))
    statistics = None
    final = trace[-1] if trace else previous
    if family.final_e_step:
        statistics = expect_all(family, engine, state)
        final = family.objective(statistics, state)
        if monotone and entering is not None and final < trace[-1]:  # the last M-step lowered it: undo it
            state, final, statistics = entering, trace[-1], None
    return DriverResult(state, final, statistics, trace, n_iter, converged, n_reseeded)
