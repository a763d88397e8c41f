"""SQUAREM: EM that crawls, extrapolated, as one more generalised M-step the driver runs unchanged.

Near a maximum EM converges linearly, at the rate of the largest fraction of missing information; where
components overlap that rate is close to one and EM takes hundreds of iterations of ever smaller gains (most of a
model-selection grid's iterations are spent in such runs). SQUAREM (Varadhan & Roland 2008, scheme S3) takes
two EM steps ``theta_1 = M(theta_0)``, ``theta_2 = M(theta_1)``, forms ``r = theta_1 - theta_0`` and
``v = theta_2 - 2 theta_1 + theta_0``, and jumps to ``theta' = theta_0 - 2 a r + a^2 v`` with the step length
``a = -|r| / |v|`` (``a = -1`` gives ``theta_2``: plain EM); one more EM step from ``theta'`` brings the
result back onto the model (every M-step output satisfies the covariance structure's constraints).

:class:`Squarem` wraps a family and is itself a :class:`~gaussmix.fitting.driver.Family`: its ``maximize`` is
that whole cycle, and it hands the new state's E-step statistics back to the driver (as the mixture of experts'
line search does), so one driver iteration is one cycle of up to three EM steps and three passes over the data,
and the driver's trace, convergence test, degeneracy policy and checkpoints apply unchanged. Safeguards:

- monotone: the extrapolated result is kept only where its objective is at least that of ``theta_1``; otherwise
  the cycle returns plain EM's ``theta_2`` (so the trace never goes down);
- feasible: ``a`` is halved towards -1 until ``theta'`` is a valid state (positive weights, positive definite
  covariances), and a degenerate M-step anywhere in the cycle ends it with the last good EM step;
- only where EM crawls: while one EM step still gains more than ``threshold`` per unit of weight the cycle is a
  single plain EM step. Early on, EM is still choosing between maxima and an extrapolation could jump to
  another one; SQUAREM only speeds up the approach to the maximum EM is already heading for.

References
----------
R. Varadhan and C. Roland (2008). Simple and globally convergent methods for accelerating the convergence of any
EM algorithm. Scandinavian Journal of Statistics 35(2), 335-353.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .driver import Step, expect_all

__all__ = ["ACCELERATIONS", "CRAWL_THRESHOLD", "Squarem"]

ACCELERATIONS = (None, "squarem")
"""The values of the estimators' ``acceleration`` setting."""

CRAWL_THRESHOLD = 3e-4
"""Extrapolate only once an EM step gains less than this per unit of weight (see the module docstring). On the
14-model grids of ../shared/data, 3e-4 cut EM steps by a third and left every cell's maximum as good as plain
EM's: from 1e-3 up, some cells jumped to lower maxima."""


class Squarem:
    """A family whose M-step is a SQUAREM cycle of ``family``'s EM steps.

    Parameters
    ----------
    family
        A monotone family with :meth:`to_vector` and :meth:`from_vector` (e.g.
        :class:`gaussmix.families.em.GaussianFamily`): its states as flat vectors, and back (None for a vector
        that is not a valid state).
    engine
        The engine the driver runs on (the cycle's extra E-steps go through it).
    threshold : float, default=CRAWL_THRESHOLD
        Per-unit-weight gain of one EM step below which the cycle extrapolates.
    """

    def __init__(self, family, engine, threshold: float = CRAWL_THRESHOLD):
        self.family, self.engine, self.threshold = family, engine, threshold
        self.centred, self.monotone, self.final_e_step = family.centred, family.monotone, family.final_e_step
        self.held_statistics = family.held_statistics
        self.expect = family.expect  # the one member that travels to Dask's workers: the family's own
        self.objective: Callable[[Any, Any], float] = family.objective
        self.recover = family.recover
        self.converged = family.converged
        self.n_extrapolated = 0  # cycles whose extrapolated state was kept (for tests and diagnostics)

    def _evaluated(self, state) -> tuple[Any, float]:
        statistics = expect_all(self.family, self.engine, state)
        return statistics, self.objective(statistics, state)

    def maximize(self, stats, state) -> Step:
        start_objective = self.objective(stats, state)
        first = self.family.maximize(stats, state)
        if first.degenerate:
            return first
        first_stats, first_objective = self._evaluated(first.state)
        plain = Step(first.state, detail=first.detail, statistics=first_stats)
        if not start_objective <= first_objective <= start_objective + self.threshold:
            return plain  # EM still moves fast (or the step did not ascend: the driver deals with it)
        second = self.family.maximize(first_stats, first.state)
        if second.degenerate:
            return plain
        extrapolated = self._extrapolated(state, first.state, second.state)
        if extrapolated is not None:
            stabilised = self.family.maximize(expect_all(self.family, self.engine, extrapolated), extrapolated)
            if not stabilised.degenerate:
                stabilised_stats, stabilised_objective = self._evaluated(stabilised.state)
                if stabilised_objective >= first_objective:
                    self.n_extrapolated += 1
                    return Step(stabilised.state, detail=stabilised.detail, statistics=stabilised_stats)
        return Step(second.state, detail=second.detail, statistics=expect_all(self.family, self.engine, second.state))

    def _extrapolated(self, start, first, second) -> Optional[Any]:
        """``theta_0 - 2 a r + a^2 v`` for the longest step ``a <= -1`` (halved towards -1) that is a valid state;
        None where only ``a = -1`` (plain EM's ``theta_2``) is."""
        to_vector = self.family.to_vector
        origin = to_vector(start)
        change = to_vector(first) - origin
        curvature = to_vector(second) - 2.0 * to_vector(first) + origin
        curvature_norm = float(np.sqrt(curvature @ curvature))
        if not curvature_norm > 0.0:
            return None
        step = -float(np.sqrt(change @ change)) / curvature_norm
        while step < -1.0 - 1e-3:
            state = self.family.from_vector(origin - 2.0 * step * change + step * step * curvature, start)
            if state is not None:
                return state
            step = 0.5 * (step - 1.0)
        return None
