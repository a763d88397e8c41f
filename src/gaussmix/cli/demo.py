"""The demo job: model selection on Old Faithful (bundled), printed as a readable summary."""

from __future__ import annotations

import sys

import numpy as np

from ..covariance import STRUCTURE_NAMES
from ..datasets import load_faithful
from ..selection import SelectionResult, select_model

__all__ = ["run_demo"]


def run_demo(max_components: int = 6, random_state: int = 0, stream=None) -> SelectionResult:
    """Select K = 1..max_components x the four covariance structures on Old Faithful by BIC; print a summary.

    Returns the :class:`~gaussmix.selection.SelectionResult` (its ``best_estimator_`` is the chosen model).
    """
    stream = stream or sys.stdout
    X, names = load_faithful()

    def say(line=""):
        print(line, file=stream)

    say(f"gaussmix demo: Old Faithful geyser, {X.shape[0]} eruptions x {X.shape[1]} features ({', '.join(names)})")
    say()
    selection = select_model(X, n_components=range(1, max_components + 1), covariance_types=STRUCTURE_NAMES,
                             criterion="bic", random_state=random_state, n_init=5, tol=1e-6, max_iter=500)
    say(selection.summary())  # the table `gaussmix select` prints, in the same sign and with the same marks
    model = selection.best_estimator_
    say()
    say(f"Chosen by BIC (lower is better): covariance_type={model.covariance_type!r}, K={model.n_components}, "
        f"BIC {selection.best_record['bic']:.2f}")
    say(f"  log-likelihood {model.lower_bound_ * X.shape[0]:.3f} ({model.lower_bound_:.6f} per sample), "
        f"{model._n_parameters()} free parameters, converged={model.converged_} in {model.n_iter_} iterations")
    say()
    say("Parameters of the chosen model:")
    dense = model._structure.dense_covariances(model.covariances_, *model.means_.shape)
    order = np.argsort(model.means_[:, 0])
    for rank, k in enumerate(order):
        say(f"  component {rank}: weight {model.weights_[k]:.4f}")
        say(f"    mean       {np.array2string(model.means_[k], precision=4)}")
        for i, line in enumerate(np.array2string(dense[k], precision=4).splitlines()):
            say(f"    {'covariance' if i == 0 else '          '} {line.strip()}")
    say()
    say("EM trace of the chosen model (per-sample mean log-likelihood of the parameters entering each iteration):")
    trace = model.lower_bounds_
    shown = range(len(trace)) if len(trace) <= 12 else [*range(6), None, *range(len(trace) - 5, len(trace))]
    for index in shown:
        if index is None:
            say("   ...")
            continue
        change = "" if index == 0 else f"   change {trace[index] - trace[index - 1]:+.3e}"
        say(f"  {index + 1:>4}  {trace[index]:.8f}{change}")
    say(f"  final (returned parameters): {model.lower_bound_:.8f}")
    return selection
