"""The optional compiled kernels compute what their NumPy twins compute, and the fallback works."""

import os
import subprocess
import sys

import numpy as np
import pytest

from gaussmix import _numba
from gaussmix.families.kmeans import expect_kmeans, expect_kmeans_numpy

needs_numba = pytest.mark.skipif(not _numba.AVAILABLE, reason="numba is not installed")


def fresh_interpreter_output(code: str, timeout: float = 600, **environment: str) -> str:
    """Standard output of ``code`` run by a new Python interpreter with these environment variables."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, **environment), timeout=timeout, check=True).stdout


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
    outputs = [fresh_interpreter_output(code, timeout=300, GAUSSMIX_DISABLE_NUMBA=disabled).split(" ", 1)
               for disabled in ("1", "0")]
    assert outputs[0][0] == "False"
    inertia_numpy, inertia_default = (float(out[1].split(" ", 1)[0]) for out in outputs)
    assert inertia_default == pytest.approx(inertia_numpy, rel=1e-10)
    assert outputs[0][1].split(" ", 1)[1] == outputs[1][1].split(" ", 1)[1]


# ------------------------------------------------------------------------------ the fused E-step kernels
from gaussmix.families import em  # noqa: E402
from gaussmix.covariance import get_structure  # noqa: E402
from gaussmix.params import MixtureParams  # noqa: E402

from random_models import random_covariances  # noqa: E402

STRUCTURES = ["full", "tied", "diag", "spherical", "VEV", "EEI", "EII"]


def numpy_statistics(chunk, sample_weight, params, structure):
    """The NumPy composition that :func:`gaussmix.families.em.expect` uses without a compiled kernel."""
    log_norm, responsibilities = em.log_responsibilities(chunk, params, structure)
    return em.statistics_from_responsibilities(chunk, sample_weight, responsibilities, params.means, structure,
                                               log_likelihood=float(sample_weight @ log_norm))


def random_params(rng, name, n_components, n_features, weights=None):
    structure = get_structure(name)
    base = {"VEV": "full", "EEI": "diag", "EII": "spherical"}.get(name, name)
    covariances = random_covariances(rng, base, n_components, n_features)
    if name == "EEI":
        covariances = np.repeat(covariances[:1], n_components, axis=0)
    if name == "EII":
        covariances = np.full(n_components, covariances[0])
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert not singular.any()
    weights = rng.dirichlet(np.ones(n_components)) if weights is None else np.asarray(weights, float)
    means = 3.0 * rng.standard_normal((n_components, n_features))
    return structure, MixtureParams(weights, means, covariances, factors, np.zeros(n_features))


@needs_numba
@pytest.mark.parametrize("name", STRUCTURES)
@pytest.mark.parametrize("n_rows, n_features, n_components", [(1000, 5, 3), (257, 1, 1), (600, 9, 7), (3, 2, 4)])
def test_fused_statistics_equal_numpy_twin(name, n_rows, n_features, n_components):
    # Sizes straddle the kernels' 256-row blocks and their 4-wide feature tiles; weights include zeros.
    rng = np.random.default_rng(n_rows + 10 * n_features + n_components)
    structure, params = random_params(rng, name, n_components, n_features)
    chunk = params.means[rng.integers(0, n_components, n_rows)] + 2.0 * rng.standard_normal((n_rows, n_features))
    weights = rng.integers(0, 3, n_rows).astype(float) * rng.random(n_rows)
    fused = structure.fused_statistics(chunk, weights, params)
    twin = numpy_statistics(chunk, weights, params, structure)
    assert fused is not None
    assert fused.weight_sum == pytest.approx(twin.weight_sum, rel=1e-15)
    assert fused.log_likelihood == pytest.approx(twin.log_likelihood, rel=1e-12)
    for field in ("counts", "sums", "scatter"):
        ours, theirs = getattr(fused, field), getattr(twin, field)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10 * np.abs(theirs).max(), err_msg=field)


@needs_numba
@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical"])
def test_fused_statistics_in_float32_match_float64(name):
    rng = np.random.default_rng(11)
    structure, params = random_params(rng, name, 4, 6)
    chunk = params.means[rng.integers(0, 4, 2000)] + rng.standard_normal((2000, 6))
    weights = rng.random(2000)
    exact = numpy_statistics(chunk, weights, params, structure)
    single = structure.fused_statistics(chunk.astype(np.float32), weights, params)
    assert single.log_likelihood == pytest.approx(exact.log_likelihood, rel=1e-5)
    for field in ("counts", "sums", "scatter"):
        ours, theirs = getattr(single, field), getattr(exact, field)
        assert ours.dtype == np.float64  # float64 statistics from float32 data
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max(), err_msg=field)


@needs_numba
@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical"])
def test_fused_statistics_with_a_zero_weight_component(name):
    # log(0) = -inf is a legitimate log-density: that component gets exactly nothing.
    rng = np.random.default_rng(5)
    structure, params = random_params(rng, name, 3, 4, weights=[0.5, 0.0, 0.5])
    chunk = 2.0 * rng.standard_normal((700, 4))
    fused = structure.fused_statistics(chunk, np.ones(700), params)
    twin = numpy_statistics(chunk, np.ones(700), params, structure)
    assert fused.counts[1] == 0.0 and np.all(fused.sums[1] == 0.0)
    assert fused.log_likelihood == pytest.approx(twin.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(fused.scatter, twin.scatter, rtol=1e-10, atol=1e-10 * np.abs(twin.scatter).max())


@needs_numba
@pytest.mark.parametrize("name", ["full", "tied", "diag", "spherical"])
def test_fused_statistics_raise_like_numpy_for_a_sample_of_zero_density(name):
    rng = np.random.default_rng(2)
    structure, params = random_params(rng, name, 2, 3)
    chunk = rng.standard_normal((300, 3))
    chunk[123] = 1e200  # underflows to zero density (overflowing distance) under every component
    for compute in (structure.fused_statistics, lambda c, w, p: numpy_statistics(c, w, p, structure)):
        with pytest.raises(FloatingPointError, match="zero density"), np.errstate(over="ignore"):
            compute(chunk, np.ones(300), params)


@needs_numba
def test_vectorised_exp_is_accurate_and_flushes_below_the_floor():
    from gaussmix._numba.numerics import exp_nonpositive

    values = np.concatenate([-np.logspace(-12, np.log10(699.999), 20000), [0.0, -0.5, -np.log(2.0), -1e-300, -700.0]])
    out = np.empty_like(values)
    exp_nonpositive(values, out, np.empty(values.size, np.int64), -700.0)
    exact = np.exp(values)
    ulp = np.spacing(exact)
    assert np.max(np.abs(out - exact) / ulp) <= 2.0
    below = np.array([-700.5, -745.0, -1000.0, -np.inf])
    flushed = np.empty_like(below)
    exp_nonpositive(below, flushed, np.empty(4, np.int64), -700.0)
    assert np.all(flushed == 0.0)


def test_mixture_without_numba_gives_the_same_fit():
    # The NumPy E-step, forced in a fresh interpreter, must reproduce the compiled path's fit.
    code = (
        "import numpy as np, gaussmix\n"
        "from gaussmix import _numba\n"
        "rng = np.random.default_rng(3)\n"
        "X = np.vstack([rng.normal(c, 1.0 + c / 6, size=(400, 3)) for c in (0.0, 6.0, 12.0)])\n"
        "out = [str(_numba.AVAILABLE)]\n"
        "for kind in ('full', 'tied', 'diag', 'spherical', 'VEV'):\n"
        "    m = gaussmix.GaussianMixture(3, covariance_type=kind, random_state=0, tol=1e-10, max_iter=50).fit(X)\n"
        "    out.append(repr(m.lower_bound_)); out.append(repr(float(np.abs(m.means_).sum())))\n"
        "print(' '.join(out))\n"
    )
    outputs = [fresh_interpreter_output(code, GAUSSMIX_DISABLE_NUMBA=disabled).split() for disabled in ("1", "0")]
    assert outputs[0][0] == "False"
    assert outputs[1][0] == str(_numba.AVAILABLE)
    np.testing.assert_allclose([float(v) for v in outputs[0][1:]], [float(v) for v in outputs[1][1:]], rtol=1e-9)


@needs_numba
def test_fits_are_bitwise_the_same_whether_kernels_are_compiled_or_loaded_from_cache(tmp_path):
    # A process that compiles the kernels and one that loads them from numba's cache must give the same
    # bits: a checkpointed fit resumed in another process, or a rerun, depends on it. Helpers called
    # across compiled libraries used to resolve to differently optimised copies (last-bit differences).
    code = (
        "import hashlib, numpy as np, gaussmix\n"
        "rng = np.random.default_rng(1)\n"
        "X = rng.standard_normal((700, 3)) * [1.0, 2.0, 0.5] + 1e4\n"
        "digests = []\n"
        "for dtype in (np.float64, np.float32):\n"
        "    for name in ('full', 'diag', 'spherical', 'tied'):\n"
        "        m = gaussmix.GaussianMixture(4, covariance_type=name, random_state=0, tol=0, max_iter=6)\n"
        "        m.fit(X.astype(dtype))\n"
        "        digests.append(hashlib.sha1(m.means_.tobytes() + m.covariances_.tobytes()).hexdigest())\n"
        "    k = gaussmix.KMeans(4, random_state=0, tol=0, max_iter=6).fit(X.astype(dtype))\n"
        "    digests.append(hashlib.sha1(k.cluster_centers_.tobytes()).hexdigest())\n"
        "print(' '.join(digests))\n"
    )
    environment = dict(NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"), PYTHONWARNINGS="ignore")
    compiled, cached = (fresh_interpreter_output(code, **environment) for _ in range(2))
    assert any((tmp_path / "numba-cache").rglob("*.nbc")), "the first run wrote the cache"
    assert compiled.split() == cached.split()


@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("n_components, n_features", [(1, 1), (3, 4), (5, 9), (40, 17), (2, 33)])
def test_compiled_m_step_linear_algebra_equals_its_numpy_twins(n_components, n_features):
    """Precision factors, the collapse test, symmetrising and the full kernel's arguments: compiled against the
    NumPy code they replace."""
    from gaussmix.covariance import full
    from gaussmix.covariance._base import LOG_2PI, CovarianceStructure
    from gaussmix.params import MixtureParams

    rng = np.random.default_rng(n_components * 100 + n_features)
    roots = rng.normal(size=(n_components, n_features, n_features + 2))
    covariances = roots @ roots.transpose(0, 2, 1) / n_features
    covariances[0] = np.outer(roots[0, :, 0], roots[0, :, 0])  # singular (rank one) unless d = 1
    factors, singular = _numba.precision_factors(covariances)
    for k in range(n_components):
        try:
            lower = np.linalg.cholesky(covariances[k])
        except np.linalg.LinAlgError:
            assert singular[k] and np.array_equal(factors[k], np.eye(n_features))
            continue
        assert not singular[k]
        np.testing.assert_allclose(factors[k], np.linalg.inv(lower).T, rtol=1e-9, atol=1e-12 * np.abs(factors[k]).max())

    floor = np.abs(rng.normal(size=n_features)) * 0.5
    floor[-1] = 0.0  # a constant feature is left out
    scale = 1.0 / np.sqrt(floor[:-1])
    shifted = covariances[:, :-1, :-1] - 0.01 * np.eye(n_features - 1)
    expected = np.array([np.linalg.eigvalsh(c * scale[:, None] * scale[None, :])[0] < 1.0 if n_features > 1 else False
                         for c in shifted])
    assert np.array_equal(_numba.has_direction_below(covariances, floor, 0.01), expected)

    lower = np.tril(rng.normal(size=(n_components, n_features + 3, n_features + 3)))
    symmetric = _numba.symmetric_from_lower(lower, n_features)
    twin = np.tril(lower[:, :n_features, :n_features]) + np.swapaxes(np.tril(lower[:, :n_features, :n_features], -1), 1, 2)
    np.testing.assert_array_equal(symmetric, twin)

    good = np.stack([np.linalg.cholesky(np.linalg.inv(c + np.eye(n_features))).T.copy() for c in covariances])
    good = np.triu(good)
    weights = rng.dirichlet(np.ones(n_components))
    weights[0] = 0.0
    params = MixtureParams(weights, rng.normal(size=(n_components, n_features)), None, good, np.zeros(n_features))
    bounds = full.panel_bounds(n_features)
    group = full.components_per_group(n_components, n_features, cache_bytes=2 * 8 * n_features * 256)
    packed, whitened, constants = _numba.full_kernel_arguments(good, params.means, weights, bounds, group,
                                                                -0.5 * n_features * LOG_2PI)
    np.testing.assert_array_equal(packed, full.pack_factors(good, bounds, group, np.float64))
    np.testing.assert_allclose(whitened, np.einsum("kd,kde->ke", params.means, good), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(constants, CovarianceStructure.log_weighted_constants(full.Full(), params), rtol=1e-12)
