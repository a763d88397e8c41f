"""Optional compiled kernels (numba), used when numba is installed (``pip install gaussmix[fast]``).

Each kernel is serial and releases the GIL (``nogil=True``): the engine's worker threads run chunks in
parallel, so there is no second thread pool to oversubscribe the cores. Every kernel has a NumPy twin
that computes the same statistics (the code path taken without numba); set ``GAUSSMIX_DISABLE_NUMBA=1``
to use the twins.

- :mod:`.numerics`: the shared pieces (a vectorisable ``exp``, row normalisation, scatter tiles).
- :mod:`.estep`: the whole E-step of a chunk for the four base covariance structures, fused.
- :mod:`.kmeans`: one Lloyd pass over a chunk.
- :mod:`.linalg`: the M-step's small dense linear algebra over a stack of K matrices (Cholesky factors of
  precisions, the collapse test, symmetrising the kernels' lower triangles).
- :mod:`.eigen`: the plane-rotation sweep of mclust's common-orientation M-steps (EVE, VVE).
"""

from __future__ import annotations

import os

__all__ = ["AVAILABLE", "diag_statistics", "full_statistics", "full_kernel_arguments", "has_direction_below", "kmeans_chunk_statistics", "precision_factors", "rotation_sweep",
           "spherical_statistics", "symmetric_from_lower",
           "tied_statistics"]

try:
    if os.environ.get("GAUSSMIX_DISABLE_NUMBA", "").strip() not in ("", "0"):
        raise ImportError("disabled by GAUSSMIX_DISABLE_NUMBA")
    import numba  # noqa: F401
except ImportError:
    numba = None

AVAILABLE = numba is not None

if AVAILABLE:
    from .estep import diag_statistics, full_statistics, spherical_statistics, tied_statistics
    from .eigen import rotation_sweep
    from .linalg import full_kernel_arguments, has_direction_below, precision_factors, symmetric_from_lower
    from .kmeans import kmeans_chunk_statistics
else:
    diag_statistics = full_statistics = spherical_statistics = tied_statistics = kmeans_chunk_statistics = None
    rotation_sweep = has_direction_below = precision_factors = symmetric_from_lower = full_kernel_arguments = None
