"""Model selection: fit a grid of (covariance structure, number of components) and rank it by a criterion.

Like mclust's ``Mclust``/``mclustBIC``: every candidate is fitted (in parallel with joblib), a failed
candidate is recorded with its reason (mclust's ``NA``) instead of stopping the search, and the whole
table is returned beside the best fitted estimator.

Sign conventions (``n`` is the number of samples, or the sum of ``sample_weight``; ``p`` the number of
free parameters; ``log L`` the maximised log-likelihood)::

    bic        = -2 log L + p log n          lower is better (scikit-learn's sign)
    mclust_bic =  2 log L - p log n = -bic   higher is better (mclust's sign)
    icl        =  bic - 2 sum_n w_n log max_k z_nk   lower is better; mclust's icl() is -icl
    aic        = -2 log L + 2 p              lower is better

Everything the package shows (summaries, progress lines, the command line, its JSON, the report and its
plots) uses scikit-learn's sign, the one of ``GaussianMixture.bic()``, and says so in each heading
(:func:`criterion_label`). ``mclust_bic`` is only a record field, for comparing numbers with R.

``icl`` penalises the BIC by the entropy of the hard (MAP) classification, exactly as mclust's
``icl()`` does (``bic + 2 * sum(C * log(z))`` in mclust's sign, with ``C`` the MAP indicator matrix).
"""

from __future__ import annotations

import logging
import numbers
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.utils import check_array, check_random_state
from threadpoolctl import threadpool_limits

from ._validation import check_int, check_n_jobs, check_sample_weight
from .covariance import get_structure, model_names
from .estimators.gaussian_mixture import GaussianMixture
from .exceptions import ConvergenceWarning, DataError, DegenerateComponentError

__all__ = ["CRITERIA", "MARKS_LEGEND", "RECORD_SIGNS", "SELECTION_DEFAULTS", "CandidateProgress", "SelectionResult",
           "candidate_label", "candidate_marks", "criterion_label", "select_experts", "select_model"]

logger = logging.getLogger("gaussmix.selection")

CRITERIA = ("bic", "icl", "aic", "heldout")

CRITERION_KEYS = {"bic": "bic", "icl": "icl", "aic": "aic", "heldout": "heldout_log_likelihood"}
"""The record key holding each criterion's value."""

_SHOWN = {  # criterion: (name, formula, which way is better)
    "bic": ("BIC", "-2 log L + p log n", "lower"),
    "icl": ("ICL", "BIC - 2 sum log max_k z_nk", "lower"),
    "aic": ("AIC", "-2 log L + 2 p", "lower"),
    "heldout": ("held-out log-likelihood", "cross-validated", "higher"),
}


def criterion_label(criterion: str, formula: bool = False) -> str:
    """How every table, line and plot axis names a criterion: ``'BIC (lower is better)'``, and with ``formula``
    ``'BIC = -2 log L + p log n (lower is better)'``."""
    name, definition, better = _SHOWN[criterion]
    joiner = ", " if criterion == "heldout" else " = "
    return f"{name}{joiner + definition if formula else ''} ({better} is better)"


RECORD_SIGNS = {
    "bic": "-2 log L + p log n (lower is better)",
    "mclust_bic": "-bic, mclust's sign (higher is better; for comparing with R only)",
    "icl": "bic - 2 sum log max_k z_nk (lower is better)",
    "aic": "-2 log L + 2 p (lower is better)",
    "heldout_log_likelihood": "cross-validated held-out log-likelihood (higher is better)",
}
"""Each criterion field of a record and its sign: written beside the records in the command line's JSON."""

CHOSEN_MARK = "*"
NOT_CONVERGED_MARK = "!"
FAILED_TEXT = "failed"
MARKS_LEGEND = (f"{CHOSEN_MARK} chosen model;  {NOT_CONVERGED_MARK} did not converge within max_iter (its value may "
                f"still improve);  {FAILED_TEXT}: no valid fit (reason listed)")
"""The footnote of every selection table: ``*`` has one meaning, the chosen model."""

SELECTION_DEFAULTS = {"init_params": "hc", "tol": 2e-5, "max_iter": 500, "detect_collapse": "strict",
                      "acceleration": "squarem"}
"""The :class:`~gaussmix.GaussianMixture` settings of every candidate unless given otherwise.

Like mclust's ``Mclust``, every candidate starts from one model-based hierarchical agglomeration of the data
(``init_params='hc'``; the tree is computed once per process and shared by every model and K). Where EM crawls
(an EM step gains under 3e-4 per sample), each iteration is a SQUAREM cycle of up to three EM steps
(``acceleration='squarem'``, :mod:`gaussmix.fitting.acceleration`), and the run stops once an iteration gains
less than 2e-5 per sample: near convergence that is a cycle, so about 1e-5 per EM step. (mclust stops at a
relative change of the total below 1e-5, which is looser wherever the mean log-likelihood exceeds 1 in size.)
A grid compares BICs, which are totals: with plain EM and 1e-4 per sample, slow runs stopped early enough to
leave 8 % of the (model, K) cells on ../shared/data more than 0.5 below mclust's BIC from the same start
(faithful's EEE,4 by 16); plain EM at 1e-5 left 1.6 %, this default 1.7 % with more cells above mclust's, in
0.8 of the time (``make bench-selection``: 0.59 of mclust's time, then 0.48, with the same code otherwise).
Components held up by ``reg_covar`` alone are degenerate (``detect_collapse='strict'``; see the Notes of
:func:`select_model`)."""

# Candidate fits that fail with these are recorded as failed (mclust's NA); anything else is a bug and raised.
CANDIDATE_FAILURES = (DegenerateComponentError, DataError, ValueError, FloatingPointError, np.linalg.LinAlgError)

_RESERVED_PARAMS = ("n_components", "covariance_type", "n_init", "random_state")


@dataclass
class SelectionResult:
    """The fitted grid: one record per candidate, the best estimator and the criterion that chose it.

    :func:`select_model` returns it for Gaussian mixtures, :func:`gaussmix.select_experts` for mixtures of experts
    (each record's ``n_components`` is then its number of experts, also under ``n_experts``).

    Attributes
    ----------
    records : list of dict
        One per candidate, in grid order (covariance types as given, then increasing ``n_components``).
        Keys: ``covariance_type``, ``n_components``, ``family`` ('gaussian' or 't'), ``log_likelihood`` (total,
        weighted), ``n_parameters``,
        ``bic``, ``mclust_bic``, ``icl``, ``aic``, ``heldout_log_likelihood`` (None unless
        ``criterion='heldout'``), ``converged``, ``n_iter``, ``failed``, ``reason`` ("" unless failed).
        Criteria of failed candidates are None.
    best_estimator_ : GaussianMixture
        The fitted estimator of the best candidate (not refitted).
    best_params_ : dict
        ``{"covariance_type": ..., "n_components": ...}`` of the best candidate.
    criterion : str
    """

    records: list
    best_estimator_: GaussianMixture
    best_params_: dict
    criterion: str
    _best_index: int = field(repr=False, default=0)

    @property
    def best_record(self) -> dict:
        """The record of the chosen candidate (the one marked ``*`` in every table)."""
        return self.records[self._best_index]

    @property
    def table(self):
        """The records as a ``pandas.DataFrame`` (needs pandas: ``pip install 'gaussmix[pandas]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "SelectionResult.table needs pandas; install it with `pip install 'gaussmix[pandas]'` "
                "or use SelectionResult.records (a list of dicts)"
            ) from None
        return pd.DataFrame.from_records(self.records, columns=list(_RECORD_KEYS))

    def summary(self) -> str:
        """A table like mclust's: one row per number of components K, one column per covariance type.

        Every criterion in scikit-learn's sign (the heading says which way is better, see
        :func:`criterion_label`); a footnote explains the marks: ``*`` the chosen model, ``!`` a candidate that
        did not converge, ``failed`` one with no valid fit (its reason is listed).
        """
        column = CRITERION_KEYS[self.criterion]
        types = list(dict.fromkeys(candidate_label(r) for r in self.records))
        counts = sorted({r["n_components"] for r in self.records})
        chosen = self.best_record
        cells = {}
        for record in self.records:
            text = FAILED_TEXT if record["failed"] else f"{record[column]:.2f}"
            cells[candidate_label(record), record["n_components"]] = text + candidate_marks(record, record is chosen)
        width = 2 + max(len(text) for text in [*cells.values(), *types])
        # Marks hang to the right of the numbers, so the decimal points line up.
        lines = [criterion_label(self.criterion, formula=True), "", "   K" + "".join(f"{t:>{width}}  " for t in types)]
        for count in counts:
            lines.append(f"{count:>4}" + "".join(_hanging(cells.get((name, count), ""), width) for name in types))
        lines += ["", MARKS_LEGEND, ""]
        ranked = sorted((r for r in self.records if not r["failed"]), key=_ranking_key(self.criterion))
        top = ", ".join(f"{candidate_label(r)},{r['n_components']} ({r[column]:.2f}{candidate_marks(r, r is chosen)})"
                        for r in ranked[:3])
        lines.append(f"Best: {top}" if top else "Best: none")
        failed = [r for r in self.records if r["failed"]]
        lines.append(f"Failed candidates: {len(failed)}")
        lines += [f"  {candidate_label(r)},{r['n_components']}: {r['reason']}" for r in failed]
        return "\n".join(line.rstrip() for line in lines)


def candidate_label(record: dict) -> str:
    """A candidate's column in every table and plot: its covariance type, prefixed ``t:`` for Student-t components."""
    family = record.get("family") or "gaussian"
    return record["covariance_type"] if family == "gaussian" else f"{family}:{record['covariance_type']}"


def candidate_marks(record: dict, chosen: bool) -> str:
    """The marks of a candidate's cell in a selection table (see :data:`MARKS_LEGEND`): '', '*', '!' or '*!'."""
    converged = record["failed"] or record["converged"]
    return (CHOSEN_MARK if chosen else "") + ("" if converged else NOT_CONVERGED_MARK)


def _hanging(text: str, width: int) -> str:
    """``text`` right-aligned in ``width`` columns, its marks (at most two) hanging past the right edge."""
    value = text.rstrip(CHOSEN_MARK + NOT_CONVERGED_MARK)
    return f"{value:>{width}}{text[len(value):]:<2}"


_RECORD_KEYS = ("covariance_type", "n_components", "family", "log_likelihood", "n_parameters", "bic", "mclust_bic", "icl",
                "aic", "heldout_log_likelihood", "converged", "n_iter", "failed", "reason")

def _ranking_key(criterion: str):
    """Sort key: best first; ties go to fewer parameters, then to grid order (stable sort)."""
    if criterion == "heldout":
        return lambda r: (-r["heldout_log_likelihood"], r["n_parameters"])
    return lambda r: (r[criterion], r["n_parameters"])


@dataclass(frozen=True)
class CandidateProgress:
    """What :func:`select_model` reports after each finished candidate (to ``progress`` and the log).

    Attributes
    ----------
    done, total : int
        Finished candidates so far, and in the grid.
    record : dict
        The candidate's record (see :class:`SelectionResult`).
    elapsed : float
        Seconds since the grid started.
    remaining : float
        Estimated seconds left: the elapsed time scaled by the estimated cost of the candidates still to run.
    criterion : str
    """

    done: int
    total: int
    record: dict
    elapsed: float
    remaining: float
    criterion: str

    def line(self) -> str:
        """``[12/126] VVE K=4  BIC 6912.3  0:04 elapsed, ~0:20 left`` (scikit-learn's sign, as every table).

        A candidate that did not converge says so after its value; a failed one gives the error's name.
        """
        record = self.record
        name = _SHOWN[self.criterion][0]
        if record["failed"]:
            value = f"failed ({record['reason'].split(':')[0]})"
        else:
            value = f"{name} {record[CRITERION_KEYS[self.criterion]]:.1f}"
            if not record["converged"]:
                value += " (not converged)"
        width = len(str(self.total))
        return (f"[{self.done:>{width}}/{self.total}] {candidate_label(record)} K={record['n_components']}  {value}  "
                f"{_clock(self.elapsed)} elapsed, ~{_clock(self.remaining)} left")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def select_model(X, n_components=range(1, 10), covariance_types="all", criterion: str = "bic", *,
                 family="gaussian",
                 sample_weight=None, n_init: int = 1, random_state=None, n_jobs=None, cv=5,
                 progress: Optional[Callable[[CandidateProgress], object]] = None,
                 **estimator_params) -> SelectionResult:
    """Fit every (covariance type, number of components) candidate and pick the best by ``criterion``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int or iterable of int, default=range(1, 10)
    covariance_types : 'all', str or iterable of str, default='all'
        'all' means mclust's 14 models (:data:`gaussmix.covariance.ALL_MODEL_NAMES`), or 'E' and 'V' for
        one-dimensional data, where the 14 reduce to those two.
    family : {'gaussian', 't'} or a list of both, default='gaussian'
        The component family: Gaussian (:class:`~gaussmix.GaussianMixture`), multivariate Student-t
        (:class:`~gaussmix.StudentTMixture`, degrees of freedom learned per component), or both side by side in
        one table (the t columns are headed ``t:VVV`` and so on). t candidates start from trimmed k-means
        unless ``init_params`` is given.
    criterion : {'bic', 'icl', 'aic', 'heldout'}, default='bic'
        'bic', 'icl' and 'aic' are minimised (scikit-learn's sign; see the module docstring for mclust's).
        'heldout' maximises the cross-validated log-likelihood: the candidate is refitted on the
        training part of each of ``cv`` shuffled folds and the held-out rows' weighted log-density
        summed, so every row is scored once by a model that did not see it.
    sample_weight : array-like of shape (n_samples,), optional
        ``n`` in the criteria is the sum of the weights.
    n_init : int, default=1
        Initialisations per candidate: the agglomeration, then (with ``init_params='hc'``) random
        responsibilities, random rows and k-means in turn.
    random_state : int, RandomState instance or None
        Every candidate starts from the same seed (drawn once from a RandomState instance), so the
        table does not depend on ``n_jobs`` or on the order of the grid.
    n_jobs : int or None, default=None
        Worker processes across candidates (None or -1: all cores available to this process; 1: in this
        process). The most expensive candidates (many components, iterative M-steps) are started first;
        each candidate's fit uses one thread (chunks and BLAS), so the cores are not oversubscribed. The
        results do not depend on ``n_jobs``.
    cv : int or cross-validation splitter, default=5
        Folds for ``criterion='heldout'`` (an int means ``KFold(cv, shuffle=True)`` seeded by
        ``random_state``); ignored otherwise.
    progress : callable, optional
        ``progress(CandidateProgress)`` after each finished candidate, in the order they finish; its
        ``line()`` is the text the command line prints. Each is also logged (logger ``gaussmix.selection``,
        level INFO).
    **estimator_params
        Passed to every :class:`~gaussmix.GaussianMixture` (``tol``, ``max_iter``, ``reg_covar``,
        ``init_params``, ...); :data:`SELECTION_DEFAULTS` unless given.

    Notes
    -----
    **Degenerate and spurious candidates.** A component is degenerate when it is empty, when its covariance
    is singular, or when its covariance *without* ``reg_covar`` is below ``1e-8`` times the data's variance
    in some direction (scaled per feature): it sits on one point, on tied values or in a subspace, and only
    the regularisation keeps its likelihood finite, so its BIC would be spurious. Such a component is re-seeded
    during EM; a candidate whose components keep degenerating is recorded as failed with the reason (mclust's
    ``NA``) and is never chosen.

    Returns
    -------
    SelectionResult

    Raises
    ------
    ValueError
        For bad arguments (before any fitting), or when every candidate failed.

    Warns
    -----
    ConvergenceWarning
        When the chosen candidate did not converge within ``max_iter`` (candidates' own warnings are not
        shown: the table marks each candidate that did not converge with ``!``).
    """
    X_checked = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2,
                            ensure_all_finite="allow-nan" if estimator_params.get("missing") == "em" else True)
    weights = check_sample_weight(sample_weight, X_checked.shape[0])
    grid = _candidate_grid(n_components, covariance_types, X_checked.shape[1], family)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    check_int("n_init", n_init, 1)
    check_n_jobs(n_jobs)
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable or None, got {progress!r}")
    _check_estimator_params(estimator_params)
    seed = _candidate_seed(random_state)
    splits = _folds(cv, X_checked.shape[0], seed) if criterion == "heldout" else None
    params = dict(SELECTION_DEFAULTS, **estimator_params, n_init=n_init, random_state=seed)
    workers = _workers(n_jobs, len(grid))
    if workers > 1:
        params.setdefault("n_jobs", 1)  # candidates run in parallel; do not oversubscribe the cores

    records, estimators = _fit_grid(X, X_checked, weights, grid, params, splits, workers, criterion, progress)
    best = best_candidate(records, criterion, lambda r: f"{candidate_label(r)}, K={r['n_components']}")
    best_record = records[best]
    chosen = {"covariance_type": best_record["covariance_type"], "n_components": best_record["n_components"]}
    if best_record["family"] != "gaussian":
        chosen["family"] = best_record["family"]
    return SelectionResult(records, estimators[best], chosen, criterion, best)


def best_candidate(records: list, criterion: str, describe: Callable[[dict], str]) -> int:
    """The index of the best record by ``criterion`` (ties: fewer parameters, then grid order).

    Raises a ValueError naming the first failures when every candidate failed; warns (ConvergenceWarning) when the
    chosen one did not converge. ``describe(record)`` names a candidate in those messages.
    """
    succeeded = [i for i, record in enumerate(records) if not record["failed"]]
    if not succeeded:
        reasons = "; ".join(f"{describe(r)}: {r['reason']}" for r in records[:5])
        raise ValueError(f"every candidate failed to fit ({reasons})")
    key = _ranking_key(criterion)
    best = min(succeeded, key=lambda i: key(records[i]))  # min keeps the first of equal keys: grid order
    if not records[best]["converged"]:
        warnings.warn(f"the chosen model ({describe(records[best])}) did not converge in {records[best]['n_iter']} "
                      f"iterations: its {criterion.upper()} may still improve; raise max_iter (or tol) and select "
                      "again", ConvergenceWarning, stacklevel=3)
    return best


def _workers(n_jobs, n_candidates: int) -> int:
    """Processes for the grid: all available cores by default, never more than candidates."""
    from .engines import resolve_n_jobs

    return max(1, min(resolve_n_jobs(n_jobs), n_candidates))


def _relative_cost(name: str, count: int, n_features: int) -> float:
    """A rough relative cost of fitting one candidate: the order in which to start them (longest first).

    Components times the numbers one covariance holds (d^2, d or 1), four times that for an iterative M-step.
    """
    structure = get_structure(name)
    per_covariance = int(np.prod(structure.covariance_shape(1, n_features)))  # of one component
    return count * per_covariance * (4.0 if structure.iterative_m_step else 1.0) + 1.0


def _fit_grid(X, X_checked, weights, grid, params, splits, workers: int, criterion: str, progress):
    """Fit every candidate, longest first, reporting each as it finishes; records in grid order."""
    from joblib import Parallel, delayed  # a dependency of scikit-learn

    n_features = X_checked.shape[1]
    costs = [_relative_cost(name, count, n_features) for _, name, count in grid]
    order = sorted(range(len(grid)), key=lambda i: -costs[i])  # stable: ties keep grid order
    tasks = (delayed(_indexed_candidate)(i, X, X_checked, weights, *grid[i], params, splits) for i in order)
    records, estimators = [None] * len(grid), [None] * len(grid)
    started, spent, total_cost = time.perf_counter(), 0.0, float(sum(costs))
    # In this process (n_jobs=1) one BLAS thread for the whole grid, set once rather than per E-step; joblib's
    # worker processes start with one BLAS thread each (its inner_max_num_threads: cores // workers).
    with (nullcontext() if workers > 1 else threadpool_limits(1, user_api="blas")):
        if workers > 1:
            outcomes = Parallel(n_jobs=workers, return_as="generator_unordered")(tasks)
        else:
            outcomes = (task(*args, **kwargs) for task, args, kwargs in tasks)
        for done, (index, record, estimator) in enumerate(outcomes, start=1):
            records[index], estimators[index] = record, estimator
            spent += costs[index]
            elapsed = time.perf_counter() - started
            report = CandidateProgress(done, len(grid), record, elapsed, elapsed * (total_cost - spent) / spent,
                                       criterion)
            logger.info("%s", report.line())
            if progress is not None:
                progress(report)
    return records, estimators


def _indexed_candidate(index, X, X_checked, sample_weight, family, name, count, params, splits):
    return (index, *_fit_candidate(X, X_checked, sample_weight, family, name, count, params, splits))


FAMILIES = ("gaussian", "t")


def _candidate_grid(n_components, covariance_types, n_features: int,
                    family="gaussian") -> list[tuple[str, str, int]]:
    """``(family, covariance type, n_components)`` of every candidate, in table order."""
    families = [family] if isinstance(family, str) else list(dict.fromkeys(family))
    for name in families:
        if name not in FAMILIES:
            raise ValueError(f"family must be one of {list(FAMILIES)} or a list of them, got {family!r}")
    if not families:
        raise ValueError("family must name at least one family")
    if isinstance(n_components, numbers.Integral) and not isinstance(n_components, bool):
        n_components = [n_components]
    try:
        counts = [check_int("n_components", count, 1) for count in n_components]
    except TypeError:
        raise ValueError(f"n_components must be an integer or an iterable of integers, got {n_components!r}") from None
    if covariance_types == "all":
        names = list(model_names(n_features))
    elif isinstance(covariance_types, str):
        names = [covariance_types]
    else:
        names = list(covariance_types)
    for name in names:
        get_structure(name)  # raises ValueError naming the valid types
    if not counts or not names:
        raise ValueError("n_components and covariance_types must not be empty")
    names, counts = list(dict.fromkeys(names)), sorted(set(counts))
    return [(kind, name, count) for kind in families for name in names for count in counts]


def _check_estimator_params(estimator_params: dict) -> None:
    reserved = sorted(set(estimator_params) & set(_RESERVED_PARAMS))
    if reserved:
        raise ValueError(f"{reserved} are set by select_model's own arguments; do not pass them as estimator parameters")
    try:
        probe = GaussianMixture(**estimator_params)
    except TypeError as error:
        raise ValueError(f"unknown GaussianMixture parameter: {error}") from None
    probe._check_parameters()  # bad values fail here, not as a column of failed candidates


def _candidate_seed(random_state):
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _folds(cv, n_samples: int, seed) -> list[tuple[np.ndarray, np.ndarray]]:
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        check_int("cv", cv, 2)
        if cv > n_samples:
            raise ValueError(f"cv={cv} folds need at least {cv} samples, got {n_samples}")
        cv = KFold(cv, shuffle=True, random_state=seed)
    if not hasattr(cv, "split"):
        raise ValueError(f"cv must be an integer >= 2 or a splitter with a split() method, got {cv!r}")
    return list(cv.split(np.zeros((n_samples, 1))))


def _fit_candidate(X, X_checked, sample_weight, family, name, count, params, splits):
    """Fit one candidate (on ``X`` as given, so feature names are kept; folds on the checked array); return ``(record, estimator or None)``. Failures become records, not exceptions."""
    record = dict.fromkeys(_RECORD_KEYS)
    record.update(covariance_type=name, n_components=count, family=family, failed=False, reason="")
    if family == "t":
        from .estimators.student_t import StudentTMixture

        t_params = {key: value for key, value in params.items() if key in StudentTMixture._get_param_names()}
        if "init_params" not in params or params["init_params"] == SELECTION_DEFAULTS.get("init_params"):
            t_params["init_params"] = "trimmed-kmeans"  # the agglomeration puts centres among outliers
        estimator = StudentTMixture(n_components=count, covariance_type=name, **t_params)
    else:
        estimator = GaussianMixture(n_components=count, covariance_type=name, **params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence and re-seeding are recorded in the table instead
            estimator.fit(X, sample_weight=sample_weight)
            record.update(_criteria(estimator, X_checked, sample_weight))
            if splits is not None:
                record["heldout_log_likelihood"] = _heldout_log_likelihood(estimator, X_checked, sample_weight, splits)
    except CANDIDATE_FAILURES as error:
        record.update(failed=True, reason=f"{type(error).__name__}: {error}")
        return record, None
    return record, estimator


def _criteria(estimator: GaussianMixture, X: np.ndarray, sample_weight: np.ndarray) -> dict:
    """The record's criteria; ``X`` is the array select_model validated."""
    n = float(sample_weight.sum())
    # lower_bound_ is the mean log-likelihood of the returned parameters (the fit's final E-step), except with
    # a prior, where it is the log-posterior: then one more pass.
    if estimator.prior is None:
        log_likelihood = estimator.lower_bound_ * n
    else:
        log_likelihood = estimator.score(X, sample_weight=sample_weight) * n
    n_parameters = int(estimator._n_parameters())
    bic = -2.0 * log_likelihood + n_parameters * np.log(n)
    log_map = estimator._log_map_responsibilities(X, checked=True)
    return {
        "log_likelihood": float(log_likelihood),
        "n_parameters": n_parameters,
        "bic": float(bic),
        "mclust_bic": float(-bic),
        "icl": float(bic - 2.0 * (sample_weight @ log_map)),
        "aic": float(-2.0 * log_likelihood + 2.0 * n_parameters),
        "converged": bool(estimator.converged_),
        "n_iter": int(estimator.n_iter_),
    }


def _heldout_log_likelihood(estimator: GaussianMixture, X: np.ndarray, sample_weight: np.ndarray, splits) -> float:
    """Sum over folds of the held-out rows' weighted log-density under a fit to the other rows."""
    total = 0.0
    for fold, (train, test) in enumerate(splits):
        model = clone(estimator)
        try:
            model.fit(X[train], sample_weight=sample_weight[train])
        except CANDIDATE_FAILURES as error:
            raise ValueError(f"cross-validation fold {fold}: {type(error).__name__}: {error}") from error
        total += float(sample_weight[test] @ model.score_samples(X[test]))
    return total


# ------------------------------------------------------------------------- mixtures of experts
EXPERT_CRITERIA = ("bic", "aic", "icl")

_RESERVED_EXPERT_PARAMS = ("n_experts", "covariance_type", "n_init", "random_state")


def select_experts(X, y, n_experts=range(1, 6), covariance_types="all", criterion: str = "bic", *,
                   n_init: int = 5, random_state=None, n_jobs=None, **estimator_params):
    """Fit :class:`MixtureOfExperts` for every (covariance type, number of experts) and pick the best by
    ``criterion``: :func:`gaussmix.select_model` for the conditional model ``p(y | x)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    n_experts : int or iterable of int, default=range(1, 6)
    covariance_types : 'all', str or iterable of str, default='all'
        Families of the experts' noise covariances ('full', 'diag', 'spherical'). 'all' means the three for
        multi-output ``y``, and 'full' alone for one target, where the three are the same model.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        Minimised; ``MixtureOfExperts.bic`` and ``aic`` (parameters counted there), and ``icl`` = bic
        ``- 2 sum_n log max_k p(k | x_n, y_n)`` (the entropy of the posterior assignment to experts).
    n_init : int, default=5
        Initialisations per candidate. More than one by default: regression lines that cross defeat a
        single k-means start on ``[x, y]`` often enough (two crossing lines are split left/right instead
        of along the lines, a local maximum with a BIC far above the right one).
    random_state : int, RandomState instance or None
        Every candidate starts from the same seed (drawn once from a RandomState instance).
    n_jobs : int or None, default=None
        Worker processes across candidates (None or -1: all cores; 1: in this process).
    **estimator_params
        Passed to every :class:`MixtureOfExperts` (``gate_penalty``, ``tol``, ``max_iter``, ...).

    Returns
    -------
    SelectionResult
        The type :func:`gaussmix.select_model` returns, so ``summary()``, ``table`` and ``best_record`` work
        the same: each record's ``n_components`` is its number of experts (also under ``n_experts``), and
        ``best_params_`` is ``{"covariance_type": ..., "n_experts": ...}``. Candidates that fail (a
        degenerate expert) are recorded as failed with the reason and never chosen.

    Notes
    -----
    A separate function rather than an option of ``select_model``: that grid is the 14 covariance structures
    of :class:`~gaussmix.GaussianMixture` fitted to ``X`` alone, with held-out likelihood and chunked sources;
    this one needs ``y`` and another estimator, and shares the result type, the ranking and the seeding.
    """
    from joblib import Parallel, delayed  # a dependency of scikit-learn

    from .estimators.experts import MixtureOfExperts

    X, y = _checked_pair(X, y)
    grid = _expert_grid(n_experts, covariance_types, 1 if y.ndim == 1 else y.shape[1])
    if criterion not in EXPERT_CRITERIA:
        raise ValueError(f"criterion must be one of {list(EXPERT_CRITERIA)}, got {criterion!r}")
    check_int("n_init", n_init, 1)
    check_n_jobs(n_jobs)
    reserved = sorted(set(estimator_params) & set(_RESERVED_EXPERT_PARAMS))
    if reserved:
        raise ValueError(f"{reserved} are set by select_experts' own arguments; do not pass them as estimator "
                         "parameters")
    try:
        MixtureOfExperts(**estimator_params)._check_parameters()  # bad values fail here, not as failed candidates
    except TypeError as error:
        raise ValueError(f"unknown MixtureOfExperts parameter: {error}") from None
    params = dict(estimator_params, n_init=n_init, random_state=_candidate_seed(random_state))
    workers = _workers(n_jobs, len(grid))
    candidates = (delayed(_fit_expert_candidate)(X, y, name, count, params, CANDIDATE_FAILURES) for name, count in grid)
    outcomes = Parallel(n_jobs=workers)(candidates) if workers > 1 else [task(*a, **k) for task, a, k in candidates]
    records = [record for record, _ in outcomes]
    best = best_candidate(records, criterion, lambda r: f"{r['covariance_type']}, {r['n_experts']} experts")
    return SelectionResult(records, outcomes[best][1], {"covariance_type": records[best]["covariance_type"],
                                                        "n_experts": records[best]["n_experts"]}, criterion, best)


def _checked_pair(X, y) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (2-D) and ``y`` (1-D or 2-D) as finite float arrays of equal length, checked once for the grid."""
    from sklearn.utils import check_X_y

    return check_X_y(X, y, multi_output=True, y_numeric=True, dtype=[np.float64, np.float32])


def _expert_grid(n_experts, covariance_types, n_targets: int) -> list[tuple[str, int]]:
    """(covariance type, number of experts) candidates, types in the order given, then increasing counts."""
    if isinstance(n_experts, numbers.Integral) and not isinstance(n_experts, bool):
        n_experts = [n_experts]
    try:
        counts = sorted({check_int("n_experts", count, 1) for count in n_experts})
    except TypeError:
        raise ValueError(f"n_experts must be an integer or an iterable of integers, got {n_experts!r}") from None
    from .families.experts import EXPERT_COVARIANCE_TYPES

    if covariance_types == "all":
        names = list(EXPERT_COVARIANCE_TYPES) if n_targets > 1 else ["full"]
    else:
        names = list(dict.fromkeys([covariance_types] if isinstance(covariance_types, str) else covariance_types))
    unknown = [name for name in names if name not in EXPERT_COVARIANCE_TYPES]
    if unknown:
        raise ValueError(f"covariance_types must be 'all' or among {list(EXPERT_COVARIANCE_TYPES)}, got {unknown}")
    if not counts or not names:
        raise ValueError("n_experts and covariance_types must not be empty")
    return [(name, count) for name in names for count in counts]


def _fit_expert_candidate(X, y, covariance_type: str, n_experts: int, params: dict, failures: tuple):
    """``(record, fitted estimator or None)`` of one candidate; a failure becomes a record, not an exception."""
    from ._floating import as_float64
    from .estimators.experts import MixtureOfExperts

    record = dict.fromkeys(_RECORD_KEYS)
    record.update(covariance_type=covariance_type, n_components=n_experts, n_experts=n_experts, failed=False,
                  reason="")
    estimator = MixtureOfExperts(n_experts, covariance_type=covariance_type, **params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is recorded in the table instead
            estimator.fit(X, y)
        log_likelihood, n_samples = estimator._log_likelihood(X, y)
        n_parameters = estimator._n_parameters()
        bic = -2.0 * log_likelihood + n_parameters * np.log(n_samples)
        log_map = np.log(np.max(as_float64(estimator.predict_expert_proba(X, y)), axis=1))
    except failures as error:
        record.update(failed=True, reason=f"{type(error).__name__}: {error}")
        return record, None
    record.update(log_likelihood=log_likelihood, n_parameters=n_parameters, bic=float(bic), mclust_bic=float(-bic),
                  icl=float(bic - 2.0 * log_map.sum()), aic=float(-2.0 * log_likelihood + 2.0 * n_parameters),
                  converged=bool(estimator.converged_), n_iter=int(estimator.n_iter_))
    return record, estimator
