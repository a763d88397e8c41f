"""The optional compiled kernels compute what their NumPy twins compute, and the fallback works."""

import os
import subprocess
import sys

import numpy as np
import pytest

from gaussmix import _numba
from gaussmix.kmeans import expect_kmeans, expect_kmeans_numpy

needs_numba = pytest.mark.skipif(not _numba.AVAILABLE, reason="numba is not installed")


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_kmeans_pass_equals_numpy_twin(dtype, weighted):
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=4.0, size=(9, 5))
    chunk = (centers[rng.integers(0, 9, 3000)] + rng.normal(size=(3000, 5))).astype(dtype)
    weights = rng.integers(0, 4, 3000).astype(np.float64) if weighted else np.ones(3000)
    compiled = expect_kmeans(chunk, weights, centers)
    twin = expect_kmeans_numpy(chunk, weights, centers)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_array_equal(compiled.counts, twin.counts)  # same assignments
    np.testing.assert_allclose(compiled.sums, twin.sums, rtol=rtol, atol=rtol * np.abs(twin.sums).max())
    assert compiled.inertia == pytest.approx(twin.inertia, rel=rtol)
    assert compiled.weight_sum == twin.weight_sum


def test_kmeans_without_numba_gives_the_same_fit():
    # The NumPy path, forced in a fresh interpreter, must reproduce the default path's fit.
    code = (
        "import numpy as np, gaussmix\n"
        "from gaussmix import _numba\n"
        "rng = np.random.default_rng(3)\n"
        "X = np.vstack([rng.normal(c, 1.0, size=(400, 3)) for c in (0.0, 6.0, 12.0)])\n"
        "m = gaussmix.KMeans(3, random_state=0).fit(X)\n"
        "print(_numba.AVAILABLE, repr(m.inertia_), m.labels_[:5].tolist())\n"
    )
    outputs = []
    for disabled in ("1", "0"):
        environment = dict(os.environ, GAUSSMIX_DISABLE_NUMBA=disabled)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                             timeout=300, check=True)
        outputs.append(run.stdout.split(" ", 1))
    assert outputs[0][0] == "False"
    inertia_numpy, inertia_default = (float(out[1].split(" ", 1)[0]) for out in outputs)
    assert inertia_default == pytest.approx(inertia_numpy, rel=1e-10)
    assert outputs[0][1].split(" ", 1)[1] == outputs[1][1].split(" ", 1)[1]
