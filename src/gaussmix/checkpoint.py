"""Checkpoints of a running fit: written after every EM iteration, so an interrupted fit can resume.

A checkpoint is a pickle-free ``.npz`` archive (like a model file, written atomically through
:func:`gaussmix.io.write_npz_atomically`) holding the state of the current EM run (:class:`~gaussmix.em.EMState`),
the best finished run of earlier initialisations, the random generator's state after the current run was
initialised, and a fingerprint of the data and settings. Resuming from it gives the model the
uninterrupted fit would have given: EM is deterministic given its state.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .em import EMResult, EMState
from .io import write_npz_atomically
from .params import MixtureParams

__all__ = ["FitCheckpoint", "save_checkpoint", "load_checkpoint"]

FORMAT = "gaussmix-checkpoint"
FORMAT_VERSION = 1
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
    """

    fingerprint: dict
    run: int
    state: EMState
    best: Optional[EMResult]
    random_state: tuple


def _params_arrays(prefix: str, params: MixtureParams) -> dict:
    return {f"{prefix}{name}": np.asarray(getattr(params, name)) for name in _PARAM_FIELDS}


def _params_from(prefix: str, arrays: dict) -> MixtureParams:
    return MixtureParams(*(arrays[f"{prefix}{name}"] for name in _PARAM_FIELDS))


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
    }
    arrays = {**_params_arrays("state_", state.params), "random_keys": np.asarray(keys)}
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
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ValueError("format tag or version does not match")
        state_meta, best_meta, random_meta = meta["state"], meta["best"], meta["random_state"]
        previous = -np.inf if state_meta["previous"] is None else float(state_meta["previous"])
        state = EMState(_params_from("state_", arrays), tuple(state_meta["trace"]), previous,
                        int(state_meta["n_iter"]), int(state_meta["n_reseeded"]), bool(state_meta["converged"]))
        best = None if best_meta is None else EMResult(
            _params_from("best_", arrays), float(best_meta["log_likelihood"]), list(best_meta["trace"]),
            int(best_meta["n_iter"]), bool(best_meta["converged"]), int(best_meta["n_reseeded"]))
        random_state = (random_meta["name"], arrays["random_keys"], random_meta["position"],
                        random_meta["has_gauss"], random_meta["cached_gaussian"])
        return FitCheckpoint(meta["fingerprint"], int(meta["run"]), state, best, random_state)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path} is not a readable gaussmix checkpoint ({error})") from None
