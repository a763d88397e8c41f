"""The one multi-start runner: ``n_init`` starts in turn, the best by objective, failed starts dropped by one policy.

Every estimator's ``n_init`` goes through :func:`best_of_starts`. The starts run one after the other and share one
random generator in order (start ``i`` sees the generator as start ``i - 1`` left it), so results do not depend on
``n_jobs``, which parallelises the passes over the data within each start instead: with the few, long starts of
EM that is where both cores help (and per-start generators would change every existing fit).
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterable, Optional, TypeVar

__all__ = ["best_of_starts"]

Result = TypeVar("Result")


def best_of_starts(starts: Iterable[int], fit_start: Callable[[int, Optional[Result]], Result],
                   objective: Callable[[Result], float], *,
                   best: Optional[Result] = None, droppable: tuple[type[Exception], ...] = (),
                   on_finished: Optional[Callable[[int, Result], object]] = None,
                   dropped_warning: Optional[type[Warning]] = None) -> Result:
    """Fit each start and return the result with the highest objective (the first of equal ones).

    Parameters
    ----------
    starts : iterable of int
        The indices of the starts to run (``range(n_init)``, or the rest of them when a fit resumes).
    fit_start : callable
        ``fit_start(index, best) -> result``: one complete fit from the ``index``-th start (``best``: the best
        result so far, or None, for checkpoints that record it).
    objective : callable
        ``objective(result) -> float``: higher is better (the log-likelihood, the bound, minus the distortion).
    best : result, optional
        The best result so far (a resumed fit's).
    droppable : tuple of exception types
        A start raising one of these is dropped, with a warning of category ``dropped_warning``, as long as
        another start succeeds; when none does, the first such error is raised. Empty: every error propagates.
    on_finished : callable, optional
        ``on_finished(index, result)`` after each successful start (verbose output, checkpoint bookkeeping).

    Raises
    ------
    Exception
        The first dropped error, when every start failed.
    """
    dropped: list[Exception] = []
    for index in starts:
        try:
            result = fit_start(index, best)
        except droppable as error:
            dropped.append(error)
            warnings.warn(f"Initialization {index} dropped: {error}", dropped_warning, stacklevel=3)
            continue
        if on_finished is not None:
            on_finished(index, result)
        if best is None or objective(result) > objective(best):
            best = result
    if best is None:
        raise dropped[0]
    return best
