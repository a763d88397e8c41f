"""A tiny EM progress bar driven by the estimators' ``callback`` (no dependency).

Usage::

    from gaussmix.cli.progress import ProgressBar
    GaussianMixture(5, max_iter=500, callback=ProgressBar()).fit(X)

It rewrites one line on standard error (``\\r``) with the iteration, the per-sample mean log-likelihood and its
change, and is silent when the stream is not a terminal (logs, pipes, CI), so scripts can leave it on.

A bar stands for one line of one terminal, so copying it gives the same bar: ``sklearn.clone`` (which
deep-copies an estimator's parameters, e.g. for the folds of ``select_model(criterion='heldout')``) hands
the clones this bar, and their fits are counted and drawn on the same line. Pickling (joblib worker
processes) keeps ``sys.stderr``/``sys.stdout`` as "the standard stream of the process that unpickles".
"""

from __future__ import annotations

import math
import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """Callable ``(iteration, mean_log_likelihood, change)`` that draws EM progress on a terminal.

    Parameters
    ----------
    stream : text stream, default ``sys.stderr``
    enabled : bool or None, default None
        None: draw only when ``stream.isatty()``. False: never draw (``--quiet``).
    max_iter : int or None
        When given, the line shows ``iteration/max_iter`` and a bar.
    label : str
        Shown at the start of the line (e.g. ``"full K=3"`` during model selection).
    min_interval : float
        Seconds between redraws (the last state is always drawn by :meth:`close`).
    """

    def __init__(self, stream=None, *, enabled: bool | None = None, max_iter: int | None = None, label: str = "",
                 min_interval: float = 0.1):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.max_iter = max_iter
        self.label = label
        self.min_interval = min_interval
        self._last_draw = float("-inf")
        self._pending = None
        self._width = 0
        self.n_runs = 0

    def __call__(self, iteration: int, mean_log_likelihood: float, change: float) -> None:
        if not self.enabled:
            return
        if self._pending is None or iteration <= self._pending[0]:
            self.n_runs += 1  # the iteration count restarted: next initialisation or next candidate model
        self._pending = (iteration, mean_log_likelihood, change)
        now = time.monotonic()
        if now - self._last_draw >= self.min_interval:
            self._draw()
            self._last_draw = now

    def format(self, iteration: int, mean_log_likelihood: float, change: float) -> str:
        """The text of one progress line."""
        prefix = f"{self.label}: " if self.label else ""
        if self.n_runs > 1:
            prefix += f"fit {self.n_runs}  "
        if self.max_iter:
            filled = min(20, round(20 * iteration / self.max_iter))
            counter = f"[{'#' * filled}{'.' * (20 - filled)}] iteration {iteration}/{self.max_iter}"
        else:
            counter = f"iteration {iteration}"
        change_text = f"{change:+.2e}" if math.isfinite(change) else "n/a"  # the first iteration has no change
        return f"{prefix}{counter}  log-likelihood {mean_log_likelihood:.6f}/sample  change {change_text}"

    def _draw(self) -> None:
        text = self.format(*self._pending)
        padding = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled and self._pending is not None:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self._pending = None
        self._width = 0
        self.n_runs = 0

    def __deepcopy__(self, memo) -> "ProgressBar":
        # The stream cannot be copied (a terminal is not data), and a second bar drawing on the same line
        # would garble it: copies share this one.
        return self

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in ("stderr", "stdout"):
            if state["stream"] is getattr(sys, name):
                state["stream"] = name
                break
        return state  # any other stream pickles as itself (or fails as it would)

    def __setstate__(self, state: dict) -> None:
        if isinstance(state["stream"], str):
            state["stream"] = getattr(sys, state["stream"])
        self.__dict__.update(state)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
