"""Compiled kernels (numba, a dependency of gaussmix), loaded on first use.

Each kernel is serial and releases the GIL (``nogil=True``): the engine's worker threads run chunks in
parallel, so there is no second thread pool to oversubscribe the cores. Every kernel has a NumPy twin
that computes the same statistics (the code path taken where numba cannot be imported); set
``GAUSSMIX_DISABLE_NUMBA=1`` to use the twins.

- :mod:`.numerics`: the shared pieces (a vectorisable ``exp``, row normalisation, scatter tiles).
- :mod:`.estep`: the whole E-step of a chunk for the four base covariance structures, fused.
- :mod:`.kmeans`: one Lloyd pass over a chunk.
- :mod:`.linalg`: the M-step's small dense linear algebra over a stack of K matrices (Cholesky factors of
  precisions, the collapse test, symmetrising the kernels' lower triangles).
- :mod:`.eigen`: the inner iteration of mclust's common-orientation M-steps (VEE, EVE, VVE).

Importing this package is free: numba (about 0.3 s) is imported the first time ``AVAILABLE`` or a kernel is
looked up, which happens inside the first E- or M-step, never at ``import gaussmix``. The kernels are compiled
on their first call and cached on disk (numba's ``cache=True``: next to these sources, or under
``NUMBA_CACHE_DIR``), so only the first run on a machine pays the compile time, some seconds per kernel. When
that happens the logger ``gaussmix`` says so once, at level WARNING so that it is seen without any logging set
up (as matplotlib announces building its font cache)::

    gaussmix: compiling the numba kernels for this machine (once, up to a minute; cached for later runs)

Silence it with ``logging.getLogger("gaussmix").setLevel(logging.ERROR)``. Once means once per process, and
once for all the worker processes of a parallel model selection (the first of them to compile says it).
"""

from __future__ import annotations

import atexit
import importlib
import logging
import multiprocessing
import os
import tempfile
import threading

__all__ = ["AVAILABLE", "COMPILE_NOTICE", "common_orientation_descent", "constrained_variances",
           "dense_eigen_covariances", "diag_statistics", "full_statistics", "full_kernel_arguments",
           "has_direction_below", "kmeans_chunk_statistics", "precision_factors", "rotation_sweep",
           "spherical_statistics", "symmetric_from_lower", "tied_statistics", "variable_volume_equal_shape"]

COMPILE_NOTICE = ("gaussmix: compiling the numba kernels for this machine "
                  "(once, up to a minute; cached for later runs)")

_KERNELS = {  # name -> the module of this package that defines it
    "diag_statistics": "estep", "full_statistics": "estep", "spherical_statistics": "estep",
    "tied_statistics": "estep", "rotation_sweep": "eigen", "common_orientation_descent": "eigen",
    "variable_volume_equal_shape": "eigen", "constrained_variances": "eigen", "dense_eigen_covariances": "eigen",
    "full_kernel_arguments": "linalg", "has_direction_below": "linalg", "precision_factors": "linalg",
    "symmetric_from_lower": "linalg", "kmeans_chunk_statistics": "kmeans",
}
_lock = threading.Lock()


def _disabled() -> bool:
    return os.environ.get("GAUSSMIX_DISABLE_NUMBA", "").strip() not in ("", "0")


def _load() -> None:
    """Import numba and the kernels (or find that they cannot be used) and bind them as module globals, so
    that every later lookup is an ordinary attribute and :func:`__getattr__` runs once."""
    with _lock:
        if "AVAILABLE" in globals():
            return
        kernels = dict.fromkeys(_KERNELS)
        try:
            if _disabled():
                raise ImportError("disabled by GAUSSMIX_DISABLE_NUMBA")
            import numba  # noqa: F401
        except ImportError:
            available = False
        else:
            _announce_compiles()
            kernels = {name: getattr(importlib.import_module(f".{module}", __name__), name)
                       for name, module in _KERNELS.items()}
            available = True
        globals().update(kernels)
        globals()["AVAILABLE"] = available  # last: its presence says the loading is complete


def __getattr__(name: str):
    if name == "AVAILABLE" or name in _KERNELS:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _announce_compiles() -> None:
    """Log :data:`COMPILE_NOTICE` when the first of our kernels starts compiling in this process.

    numba broadcasts the ``"numba:compile"`` event only on a cache miss (a signature found neither in the
    process nor in the on-disk cache), just before compiling it, so the line comes before the pause it explains.
    """
    from numba.core import event

    class _Notice(event.Listener):
        said = False  # once per process (it stays registered: removing it while numba iterates would skip others)

        def on_start(self, ev):
            dispatcher = (ev.data or {}).get("dispatcher")
            module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
            if not self.said and module.startswith(__name__ + "."):
                self.said = True
                if _first_to_announce():
                    logging.getLogger("gaussmix").warning(COMPILE_NOTICE)

        def on_end(self, ev):
            pass

    event.register("numba:compile", _Notice())


def _marker(main_pid: int) -> str:
    return os.path.join(tempfile.gettempdir(), f"gaussmix-compile-notice-{main_pid}")


def _first_to_announce() -> bool:
    """Whether neither this process nor its parent nor a sibling (the worker processes of joblib's loky or of
    multiprocessing) has announced a compile: the first creates a marker file named after the main process
    and removes it when it exits."""
    parent = multiprocessing.parent_process()
    marker = _marker(os.getpid() if parent is None else parent.pid)
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:  # no temporary folder to write: rather twice than never
        return True
    atexit.register(_remove, marker)
    if parent is not None:  # a worker ends in os._exit, after multiprocessing's finalizers but not atexit's
        from multiprocessing.util import Finalize

        Finalize(None, _remove, args=(marker,), exitpriority=0)
    return True


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
