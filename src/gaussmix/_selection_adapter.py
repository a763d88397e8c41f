"""Private stand-in for ``gaussmix.select_model`` (CONTRACTS.md section 1) until branch ``selection`` lands.

Delete this module once ``gaussmix.select_model`` exists: :func:`select_model` below already forwards to it
when it is importable, so the CLI, the report and the plots are written against the contract only.
The stand-in fits every (covariance type, K) candidate and fills the contract's record keys.
"""

from __future__ import annotations

import warnings

from .covariance import STRUCTURE_NAMES
from .demo import candidate_record
from .gaussian_mixture import GaussianMixture

__all__ = ["select_model"]


def select_model(X, n_components=range(1, 10), covariance_types="all", criterion="bic", sample_weight=None,
                 n_init=1, random_state=None, n_jobs=None, **estimator_params):
    """``gaussmix.select_model`` when available, else the stand-in below (same arguments and result)."""
    try:
        from . import select_model as library_select_model
    except ImportError:
        library_select_model = None
    if library_select_model is not None:
        return library_select_model(X, n_components=n_components, covariance_types=covariance_types,
                                    criterion=criterion, sample_weight=sample_weight, n_init=n_init,
                                    random_state=random_state, n_jobs=n_jobs, **estimator_params)
    if criterion not in ("bic", "icl", "aic"):
        raise ValueError(f"criterion must be one of ['bic', 'icl', 'aic'] here, got {criterion!r}")
    names = list(STRUCTURE_NAMES) if covariance_types == "all" else list(covariance_types)
    records, fitted = [], {}
    for covariance_type in names:
        for k in n_components:
            model = GaussianMixture(k, covariance_type=covariance_type, n_init=n_init, random_state=random_state,
                                    **estimator_params)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X, sample_weight=sample_weight)
            except ValueError as error:  # degenerate beyond recovery, or too few samples for K
                records.append(candidate_record(model, X, failed=str(error).splitlines()[0]))
                continue
            records.append(candidate_record(model, X, sample_weight))
            fitted[(covariance_type, int(k))] = model
    usable = [r for r in records if not r["failed"]]
    if not usable:
        raise ValueError("every candidate model failed to fit: " + records[0]["reason"])
    best = min(usable, key=lambda r: r[criterion])
    key = (best["covariance_type"], best["n_components"])
    return _Selection(records, fitted[key], {"covariance_type": key[0], "n_components": key[1]}, criterion)


class _Selection:
    def __init__(self, records, best_estimator, best_params, criterion):
        self.records = records
        self.best_estimator_ = best_estimator
        self.best_params_ = best_params
        self.criterion = criterion

    @property
    def table(self):
        import pandas as pd

        return pd.DataFrame(self.records)

    def summary(self) -> str:
        structures = list(dict.fromkeys(r["covariance_type"] for r in self.records))
        values = {(r["covariance_type"], r["n_components"]): r for r in self.records}
        lines = [f"{self.criterion.upper()} (lower is better), * = best",
                 "  K " + "".join(f"{name:>14}" for name in structures)]
        for k in sorted({r["n_components"] for r in self.records}):
            row = f"{k:>3} "
            for name in structures:
                record = values.get((name, k))
                if record is None or record["failed"]:
                    row += f"{'failed':>14}"
                else:
                    best = (name, k) == (self.best_params_["covariance_type"], self.best_params_["n_components"])
                    row += f"{record[self.criterion]:>13.2f}{'*' if best else ' '}"
            lines.append(row)
        return "\n".join(lines)
