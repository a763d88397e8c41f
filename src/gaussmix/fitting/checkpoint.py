"""Checkpoints of a running fit: written after every EM iteration, so an interrupted fit can resume.

A checkpoint is a pickle-free ``.npz`` archive (like a model file, written atomically through
:func:`gaussmix.io.atomic.write_npz_atomically`) holding the state of the current EM run (:class:`~gaussmix.families.em.EMState`),
the best finished run of earlier initialisations, the random generator's state after the current run was
initialised, and a fingerprint of the data and settings. Resuming from it gives the model the
uninterrupted fit would have given: EM is deterministic given its state.

What a resume checks
--------------------
* **The data** (:func:`data_fingerprint`): their shape and total weight, the offset (the mean of the
  first chunk), the weighted variance of every feature over all rows (the fit computes it anyway, so any
  changed value shows) and a digest of a few rows spread from the first to the last (catches reordered
  rows). Reading those rows is free in memory, for ``.npy`` files and for Dask; on streamed sources
  (CSV, Parquet, iterables) it costs one pass at the start of a checkpointed fit.
* **Every setting that changes the result**, initial arrays included (as digests, :func:`value_digest`),
  and the rows per chunk (they fix the order in which statistics are added). The engine is not one of
  them: a fit interrupted in memory may resume out of core (the results agree to rounding).
* **max_iter** is not part of the fingerprint: EM's path does not depend on it, only where it stops. A
  resume may change it when the fit it gives is the one the new ``max_iter`` gives uninterrupted
  (:func:`max_iter_conflict`): every finished initialisation converged within it and the run in
  progress has not passed it. So a fit interrupted before its limit can be continued with a larger one;
  a fit whose earlier initialisation stopped at the limit without converging cannot.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..families.em import EMResult, EMState
from ..io.atomic import _without_pickle_advice, write_npz_atomically
from ..params import MixtureParams

__all__ = ["FitCheckpoint", "save_checkpoint", "load_checkpoint", "data_fingerprint", "value_digest",
           "fingerprint_differences", "max_iter_conflict"]

FORMAT = "gaussmix-checkpoint"
FORMAT_VERSION = 2
SPREAD_ROWS = 17
"""Rows, evenly spread from the first to the last, whose digest identifies the data (with their moments)."""
FLOAT_RTOL = 1e-12
"""Fingerprint numbers equal to this relative tolerance are the same: another engine may add in another order."""
_PARAM_FIELDS = ("weights", "means", "covariances", "precisions_cholesky", "offset")


@dataclass(frozen=True)
class FitCheckpoint:
    """Everything needed to continue a fit from the end of an EM iteration.

    Attributes
    ----------
    fingerprint : dict
        JSON values identifying the data and the settings that change the result; a checkpoint is only
        resumed by a fit with an equal fingerprint.
    run : int
        Index of the initialisation in progress (``0 <= run < n_init``).
    state : EMState
        The run's state after its latest iteration.
    best : EMResult or None
        Best finished run among initialisations ``0 .. run - 1``.
    random_state : tuple
        ``RandomState.get_state()`` right after run ``run`` was initialised.
    max_iter : int
        The limit the fit ran under.
    finished : tuple of (int, bool)
        ``(n_iter, converged)`` of each finished initialisation ``0 .. run - 1``.
    """

    fingerprint: dict
    run: int
    state: EMState
    best: Optional[EMResult]
    random_state: tuple
    max_iter: int
    finished: tuple = ()

    def random_generator(self) -> np.random.RandomState:
        """A new generator in the saved state. Never the caller's: setting the state of numpy's global
        generator (``random_state=None``) or of a user's instance would rewind it under other code."""
        generator = np.random.RandomState()
        generator.set_state(self.random_state)
        return generator


def value_digest(value) -> Optional[str]:
    """A hex digest of an array-like, or of a dataclass of numbers and arrays; None stays None.

    Arrays are compared as float64 values with their shape, so a list and an array of the same numbers
    have the same digest.
    """
    if value is None:
        return None
    hasher = hashlib.sha256()
    _feed(hasher, value)
    return hasher.hexdigest()[:32]


def _feed(hasher, value) -> None:
    if dataclasses.is_dataclass(value):
        hasher.update(type(value).__name__.encode())
        for field in dataclasses.fields(value):
            hasher.update(field.name.encode())
            _feed(hasher, getattr(value, field.name))
        return
    array = np.ascontiguousarray(value, dtype=np.float64)
    hasher.update(repr(array.shape).encode())
    hasher.update(array.tobytes())


def data_fingerprint(engine, feature_variance: np.ndarray) -> dict:
    """JSON values that identify the data an engine reads, at the cost of reading :data:`SPREAD_ROWS` rows.

    Parameters
    ----------
    engine
        Any engine (memory, out of core, Dask).
    feature_variance : ndarray of shape (n_features,)
        The weighted variance of each feature over all rows (the fit's collapse floor needs it anyway).
    """
    n_samples = engine.n_samples
    positions = np.unique(np.linspace(0, n_samples - 1, num=min(n_samples, SPREAD_ROWS)).round().astype(np.int64))
    return {"n_samples": int(n_samples), "n_features": int(engine.n_features), "weight_sum": float(engine.weight_sum),
            "offset": [float(value) for value in engine.offset],
            "feature_variance": [float(value) for value in feature_variance],
            "spread_rows": value_digest(engine.rows(positions))}


def _same(saved, current) -> bool:
    if isinstance(saved, list) and isinstance(current, list):
        return len(saved) == len(current) and all(_same(a, b) for a, b in zip(saved, current))
    if isinstance(saved, float) and isinstance(current, float):  # integers (sizes, seeds) compare exactly
        return bool(np.isclose(saved, current, rtol=FLOAT_RTOL, atol=0.0)) or saved == current
    return saved == current


def fingerprint_differences(saved: dict, current: dict) -> list:
    """Sorted keys whose values differ (numbers to :data:`FLOAT_RTOL`), including keys only one side has."""
    return sorted(key for key in set(saved) | set(current)
                  if key not in saved or key not in current or not _same(saved[key], current[key]))


def max_iter_conflict(checkpoint: FitCheckpoint, max_iter: int) -> Optional[str]:
    """Why resuming ``checkpoint`` with ``max_iter`` would not give the fit ``max_iter`` gives uninterrupted;
    None when it would (always, for the checkpoint's own ``max_iter``)."""
    if max_iter == checkpoint.max_iter:
        return None
    stopped = [run for run, (_, converged) in enumerate(checkpoint.finished) if not converged]
    if stopped:
        return (f"initialisation {stopped[0]} stopped at max_iter={checkpoint.max_iter} without converging, and "
                f"would have run differently with max_iter={max_iter}: resume with max_iter={checkpoint.max_iter}")
    reached = max([checkpoint.state.n_iter] + [n_iter for n_iter, _ in checkpoint.finished])
    if max_iter < reached:
        return (f"the fit had already reached iteration {reached}, past max_iter={max_iter}: resume with "
                f"max_iter >= {reached}")
    return None


def _params_arrays(prefix: str, params: MixtureParams) -> dict:
    arrays = {f"{prefix}{name}": np.asarray(getattr(params, name)) for name in _PARAM_FIELDS}
    if params.dof is not None:  # Student-t components
        arrays[f"{prefix}dof"] = np.asarray(params.dof)
    return arrays


def _params_from(prefix: str, arrays: dict) -> MixtureParams:
    return MixtureParams(*(arrays[f"{prefix}{name}"] for name in _PARAM_FIELDS), arrays.get(f"{prefix}dof"))


def save_checkpoint(path, checkpoint: FitCheckpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (an existing checkpoint is replaced only by a complete one)."""
    state, best = checkpoint.state, checkpoint.best
    name, keys, position, has_gauss, cached_gaussian = checkpoint.random_state
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": checkpoint.fingerprint,
        "run": checkpoint.run,
        "state": {"trace": list(state.trace),
                  # JSON has no -inf: None stands for "no previous value" (start, or after a re-seed).
                  "previous": state.previous if np.isfinite(state.previous) else None, "n_iter": state.n_iter,
                  "n_reseeded": state.n_reseeded, "converged": state.converged},
        "best": None if best is None else {"log_likelihood": best.log_likelihood, "trace": list(best.trace),
                                           "n_iter": best.n_iter, "converged": best.converged,
                                           "n_reseeded": best.n_reseeded},
        "random_state": {"name": name, "position": int(position), "has_gauss": int(has_gauss),
                         "cached_gaussian": float(cached_gaussian)},
        "max_iter": int(checkpoint.max_iter),
        "finished": [[int(n_iter), bool(converged)] for n_iter, converged in checkpoint.finished],
    }
    arrays = {**_params_arrays("state_", state.params), "random_keys": np.asarray(keys)}
    if state.entering is not None:  # the parameters before the latest M-step (to undo it if it lowered the objective)
        arrays.update(_params_arrays("entering_", state.entering))
    if best is not None:
        arrays.update(_params_arrays("best_", best.params))
    return write_npz_atomically(path, meta, arrays)


def load_checkpoint(path) -> FitCheckpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    ValueError
        If the file is not a readable gaussmix checkpoint of this version.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("__meta__")))
        if meta.get("format") != FORMAT:
            raise ValueError("format tag does not match")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"checkpoint format {meta.get('format_version')!r} from another version of gaussmix, "
                             f"which reads format {FORMAT_VERSION}; delete the file to start afresh")
        state_meta, best_meta, random_meta = meta["state"], meta["best"], meta["random_state"]
        previous = -np.inf if state_meta["previous"] is None else float(state_meta["previous"])
        entering = _params_from("entering_", arrays) if "entering_weights" in arrays else None
        state = EMState(_params_from("state_", arrays), tuple(state_meta["trace"]), previous,
                        int(state_meta["n_iter"]), int(state_meta["n_reseeded"]), bool(state_meta["converged"]),
                        entering)
        best = None if best_meta is None else EMResult(
            _params_from("best_", arrays), float(best_meta["log_likelihood"]), list(best_meta["trace"]),
            int(best_meta["n_iter"]), bool(best_meta["converged"]), int(best_meta["n_reseeded"]))
        random_state = (random_meta["name"], arrays["random_keys"], random_meta["position"],
                        random_meta["has_gauss"], random_meta["cached_gaussian"])
        finished = tuple((int(n_iter), bool(converged)) for n_iter, converged in meta["finished"])
        return FitCheckpoint(meta["fingerprint"], int(meta["run"]), state, best, random_state, int(meta["max_iter"]),
                             finished)
    except Exception as error:  # noqa: BLE001 - whatever the damage, the file is not a checkpoint we can resume from
        raise ValueError(f"{path} is not a readable gaussmix checkpoint ({_without_pickle_advice(error)})") from None
