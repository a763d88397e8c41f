"""The demo job: model selection on Old Faithful (bundled), printed as a readable summary."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .covariance import STRUCTURE_NAMES
from .exceptions import DegenerateComponentError
from .datasets import load_faithful
from .gaussian_mixture import GaussianMixture

__all__ = ["run_demo"]


def run_demo(max_components: int = 6, random_state: int = 0, stream=None, records: list | None = None) -> GaussianMixture:
    """Fit K = 1..max_components for every covariance structure on Old Faithful and report the BIC winner.

    Returns the chosen fitted model. When ``records`` is a list, one dict per candidate is appended to it
    (the keys of ``select_model(...).records``; the CLI's demo turns them into the report's selection table).
    """
    stream = stream or sys.stdout
    X, names = load_faithful()

    def say(line=""):
        print(line, file=stream)

    say(f"gaussmix demo: Old Faithful geyser, {X.shape[0]} eruptions x {X.shape[1]} features ({', '.join(names)})")
    say()
    say("BIC (lower is better; mclust reports -BIC) for each covariance structure and K:")
    header = "  K " + "".join(f"{name:>14}" for name in STRUCTURE_NAMES)
    say(header)
    best = None
    for n_components in range(1, max_components + 1):
        row = f"{n_components:>3} "
        for covariance_type in STRUCTURE_NAMES:
            model = GaussianMixture(n_components, covariance_type=covariance_type, n_init=5, tol=1e-6,
                                    max_iter=500, random_state=random_state)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    model.fit(X)
                except DegenerateComponentError as error:
                    row += f"{'failed':>13}{'!':1}"
                    _record(records, model, X, failed=str(error).splitlines()[0])
                    continue
            bic = model.bic(X)
            _record(records, model, X)
            flag = "*" if caught else " "
            row += f"{bic:>13.2f}{flag}"
            if best is None or bic < best[0]:
                best = (bic, model)
        say(row)
    say("  (* = a warning was raised: not converged, or a degenerate component was re-seeded;")
    say("   failed! = components kept collapsing onto tied values or single points, so no valid fit)")
    bic, model = best
    say()
    say(f"Chosen by BIC: covariance_type={model.covariance_type!r}, K={model.n_components}, "
        f"BIC={bic:.2f} (mclust sign: {-bic:.2f})")
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
    return model


def _record(records: list | None, model: GaussianMixture, X: np.ndarray, failed: str = "") -> None:
    if records is not None:
        records.append(candidate_record(model, X, failed=failed))


def candidate_record(model: GaussianMixture, X: np.ndarray, sample_weight=None, failed: str = "") -> dict:
    """One model-selection record (the keys of ``select_model(...).records``, CONTRACTS.md section 1).

    ``failed`` is the reason a candidate could not be fitted ("" for a fitted ``model``).
    """
    record = {"covariance_type": model.covariance_type, "n_components": int(model.n_components),
              "failed": bool(failed), "reason": failed, "heldout_log_likelihood": None}
    if failed:
        record.update(log_likelihood=None, n_parameters=None, bic=None, mclust_bic=None, icl=None, aic=None,
                      converged=False, n_iter=0)
        return record
    from .selection import _criteria  # one implementation of the criteria, shared with select_model

    weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    record.update(_criteria(model, X, weights))
    return record
