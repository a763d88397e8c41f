"""Algebra of the E-step's sufficient statistics, for every covariance structure.

Every engine relies on one property: statistics computed under fixed parameters are additive over
rows. These tests state that property and its consequences (order, zero weights, integer weights as
repetitions, scale of the weights) as hypothesis properties, with data drawn from a mixture whose
variances differ by feature and component and whose full covariances are correlated.

The tolerances are relative to the size of the terms being summed (not to the possibly cancelled
result), so rounding from a different summation order passes and any real difference fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from random_models import dense, random_covariances

from gaussmix.covariance import STRUCTURE_NAMES, get_structure
from gaussmix.families.em import expect, maximize
from gaussmix.engines import InMemoryEngine
from gaussmix.params import MixtureParams
from gaussmix.stats import SufficientStatistics

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RTOL = 1e-10


# ------------------------------------------------------------------------------------------ helpers
@dataclass
class Problem:
    name: str
    X: np.ndarray           # centred rows
    w: np.ndarray
    params: MixtureParams
    dense: np.ndarray

    @property
    def structure(self):
        return get_structure(self.name)


def make_problem(name, k, d, n, seed, weight_kind="float"):
    rng = np.random.default_rng(seed)
    structure = get_structure(name)
    covariances = random_covariances(rng, name, k, d)
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert not np.any(singular)
    weights = rng.dirichlet(np.full(k, 5.0))
    means = 3.0 * rng.standard_normal((k, d))
    params = MixtureParams(weights, means, covariances, factors, offset=rng.standard_normal(d))
    dense_cov = dense(name, covariances, k, d)
    labels = rng.choice(k, size=n, p=weights)
    X = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        X[rows] = rng.multivariate_normal(means[j], dense_cov[j], size=rows.sum())
    if weight_kind == "float":
        w = rng.uniform(0.1, 3.0, n)
    elif weight_kind == "ones":
        w = np.ones(n)
    else:
        w = rng.integers(0, 5, n).astype(np.float64)
    return Problem(name, X, w, params, dense_cov)


def row_log_likelihood(problem, X=None):
    """``log p(x_n)`` by scipy, used only to size tolerances."""
    X = problem.X if X is None else X
    p = problem.params
    log_prob = np.column_stack([
        np.log(p.weights[j]) + multivariate_normal(p.means[j], problem.dense[j]).logpdf(X).reshape(-1)
        for j in range(p.n_components)
    ])
    return logsumexp(log_prob, axis=1)


def scales(problem, X=None, w=None):
    """Sizes of the summed terms of each statistic: atol = RTOL * scale."""
    X = problem.X if X is None else X
    w = problem.w if w is None else w
    total = float(np.abs(w).sum())
    reach = np.abs(X).max(initial=0.0) + np.abs(problem.params.means).max()
    return {
        "weight_sum": total,
        "counts": total,
        "sums": total * reach,
        "scatter": total * reach**2,
        "log_likelihood": float(np.abs(w) @ np.abs(row_log_likelihood(problem, X))) if len(X) else 0.0,
    }


FIELDS = ("weight_sum", "log_likelihood", "counts", "sums", "scatter")


def assert_stats_close(actual, expected, scale, factor=1.0, rtol=RTOL):
    """``actual == factor * expected`` field by field, up to ``rtol`` times the size of the summed terms."""
    for field in FIELDS:
        a = np.asarray(getattr(actual, field), dtype=np.float64)
        e = factor * np.asarray(getattr(expected, field), dtype=np.float64)
        assert a.shape == e.shape, field
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * abs(factor) * scale[field] + 1e-300,
                                   err_msg=f"statistic {field!r} differs")


def stats_of(problem, X=None, w=None):
    X = problem.X if X is None else X
    w = problem.w if w is None else w
    return expect(X, w, problem.params, problem.structure)


@st.composite
def problems(draw, min_rows=1, max_rows=60, weight_kind=None):
    name = draw(st.sampled_from(STRUCTURE_NAMES))
    k = draw(st.integers(1, 4))
    d = draw(st.integers(1, 4))
    n = draw(st.integers(min_rows, max_rows))
    kind = weight_kind or draw(st.sampled_from(["float", "ones", "integers"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return make_problem(name, k, d, n, seed, kind)


# ------------------------------------------------------------------------------------------ tests
@SETTINGS
@given(problem=problems(), data=st.data())
def test_any_split_of_rows_sums_to_the_whole(problem, data):
    n = problem.X.shape[0]
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=6), label="cuts")) - {n})
    bounds = [0, *cuts, n]
    pieces = [stats_of(problem, problem.X[a:b], problem.w[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    whole = stats_of(problem)
    total = pieces[0]
    for piece in pieces[1:]:
        total = total + piece
    assert_stats_close(total, whole, scales(problem))
    assert_stats_close(sum(pieces), whole, scales(problem))


@SETTINGS
@given(problem=problems(), chunk_size=st.integers(1, 64))
def test_engine_chunk_size_does_not_change_statistics(problem, chunk_size):
    """``InMemoryEngine.reduce`` with any chunk size matches one big chunk."""
    X_absolute = problem.X + problem.params.offset
    engine = InMemoryEngine(X_absolute, problem.w, offset=problem.params.offset, chunk_size=chunk_size)
    reduced = engine.reduce(lambda chunk, weights: expect(chunk, weights, problem.params, problem.structure))
    # rounding of (x + offset) - offset is at most eps * |offset| per entry
    scale = scales(problem)
    assert_stats_close(reduced, stats_of(problem), scale, rtol=1e-9)


@SETTINGS
@given(problem=problems(min_rows=2), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(problem, seed):
    order = np.random.default_rng(seed).permutation(problem.X.shape[0])
    permuted = stats_of(problem, problem.X[order], problem.w[order])
    assert_stats_close(permuted, stats_of(problem), scales(problem))


@SETTINGS
@given(problem=problems(), n_extra=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_zero_weight_rows_change_nothing(problem, n_extra, seed):
    rng = np.random.default_rng(seed)
    d = problem.X.shape[1]
    # extra rows anywhere, some of them far from every component
    extra = 4.0 * rng.standard_normal((n_extra, d)) + rng.choice([0.0, 25.0], size=(n_extra, 1))
    X = np.vstack([problem.X, extra])
    w = np.concatenate([problem.w, np.zeros(n_extra)])
    order = rng.permutation(X.shape[0])
    padded = stats_of(problem, X[order], w[order])
    assert_stats_close(padded, stats_of(problem), scales(problem))


@SETTINGS
@given(problem=problems(weight_kind="integers"))
def test_integer_weights_equal_repeated_rows(problem):
    counts = problem.w.astype(int)
    repeated = np.repeat(problem.X, counts, axis=0)
    ones = np.ones(repeated.shape[0])
    expanded = stats_of(problem, repeated, ones)
    weighted = stats_of(problem)
    assert_stats_close(weighted, expanded, scales(problem))
    assert weighted.weight_sum == pytest.approx(counts.sum(), rel=1e-15)


@SETTINGS
@given(problem=problems(min_rows=40, max_rows=120, weight_kind="float"),
       log10_c=st.floats(-3.0, 3.0), reg_covar=st.sampled_from([1e-3, 1e-2]))
def test_scaling_weights_scales_statistics_and_leaves_the_m_step_unchanged(problem, log10_c, reg_covar):
    c = 10.0**log10_c
    base = stats_of(problem)
    scaled = stats_of(problem, w=c * problem.w)
    assert_stats_close(scaled, base, scales(problem), factor=c, rtol=1e-9)
    assert scaled.mean_log_likelihood == pytest.approx(base.mean_log_likelihood, rel=1e-9, abs=1e-12)

    structure = problem.structure
    p_base = maximize(base, problem.params, structure, reg_covar)
    p_scaled = maximize(scaled, problem.params, structure, reg_covar)
    for field in ("weights", "means", "covariances", "precisions_cholesky", "offset"):
        np.testing.assert_allclose(getattr(p_scaled, field), getattr(p_base, field), rtol=1e-8, atol=1e-12,
                                   err_msg=f"M-step {field!r} depends on the scale of the weights")
    np.testing.assert_allclose(p_base.weights.sum(), 1.0, rtol=1e-12)


@SETTINGS
@given(problem=problems(min_rows=3), data=st.data())
def test_zero_is_neutral_and_builtin_sum_works(problem, data):
    n = problem.X.shape[0]
    k, d = problem.params.means.shape
    zero = SufficientStatistics.zero(k, d, problem.structure.scatter_shape(k, d))
    whole = stats_of(problem)
    scale = scales(problem)
    # exactly neutral: adding zeros must not even round
    for combined in (zero + whole, whole + zero, zero + zero + whole, sum([zero, whole, zero])):
        for field in FIELDS:
            np.testing.assert_array_equal(getattr(combined, field), getattr(whole, field), err_msg=field)

    a, b = sorted(data.draw(st.lists(st.integers(1, n - 1), min_size=2, max_size=2, unique=True), label="cuts"))
    pieces = [stats_of(problem, problem.X[s], problem.w[s]) for s in (slice(0, a), slice(a, b), slice(b, n))]
    assert_stats_close(sum(pieces), whole, scale)
    assert_stats_close(sum(pieces, zero), whole, scale)
    assert_stats_close(sum(reversed(pieces)), whole, scale)
    # addition does not modify its operands
    before = [piece.counts.copy() for piece in pieces]
    _ = pieces[0] + pieces[1]
    for piece, counts in zip(pieces, before):
        np.testing.assert_array_equal(piece.counts, counts)


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_zero_has_the_shapes_of_real_statistics(name):
    problem = make_problem(name, 3, 2, 10, seed=1)
    stats = stats_of(problem)
    zero = SufficientStatistics.zero(3, 2, problem.structure.scatter_shape(3, 2))
    for field in ("counts", "sums", "scatter"):
        assert getattr(zero, field).shape == getattr(stats, field).shape, field
        assert not np.any(getattr(zero, field))
    assert zero.weight_sum == 0.0 and zero.log_likelihood == 0.0


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_statistics_of_an_empty_chunk_are_zero(name):
    """An engine partition may be empty (e.g. a Dask partition): its statistics must be the zero."""
    problem = make_problem(name, 3, 2, 10, seed=2)
    empty = stats_of(problem, problem.X[:0], problem.w[:0])
    whole = stats_of(problem)
    for field in FIELDS:
        value = np.asarray(getattr(empty, field))
        assert value.shape == np.shape(getattr(whole, field)), field
        assert not np.any(value), field
    assert_stats_close(empty + whole, whole, scales(problem))


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_adding_statistics_of_different_shapes_is_refused(name):
    small = stats_of(make_problem(name, 2, 2, 10, seed=3))
    large = stats_of(make_problem(name, 3, 2, 10, seed=3))
    with pytest.raises(ValueError, match="different shapes"):
        small + large
    with pytest.raises(TypeError):
        small + 1.0
