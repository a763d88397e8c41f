"""Warm-started, early-stopped M-steps of mclust's iterative models (VEI, VEE, EVE, VVE, VEV).

An EM run asks the structure for ``with_em_tolerance(tol)``: its M-steps start from the previous iteration's
parameters and stop at a tolerance tied to EM's. Oracles: the M-step objective
``F = sum_k n_k log det C_k + tr(W_k C_k^{-1})`` computed here from the dense matrices (it must never rise
above its value at the previous parameters: a generalised M-step), the model's constraints, the cold M-step
solved to 1e-10, and whole EM fits with cold M-steps.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constrained_models import constraint_violation, perturb, random_constrained

from gaussmix import GaussianMixture, _numba
from gaussmix.covariance import get_structure
from gaussmix.covariance import eigen
from gaussmix.covariance.eigen import EigenDecomposed

ITERATIVE = ("VEI", "VEE", "EVE", "VVE", "VEV")


def storage(structure, dense):
    """Dense (K, d, d) matrices in the structure's own storage (diagonals for VEI)."""
    k, d, _ = dense.shape
    return np.diagonal(dense, axis1=1, axis2=2).copy() if structure.covariance_shape(k, d) == (k, d) else dense


def dense_of(structure, stored):
    k, d = stored.shape[:2]
    return structure.dense_covariances(stored, k, d)


def objective(scatter, counts, covariances):
    """``F`` from dense matrices: ``sum_k n_k log det C_k + tr(W_k C_k^{-1})`` (solves, no inverse)."""
    _, logdet = np.linalg.slogdet(covariances)
    traces = np.trace(np.linalg.solve(covariances, scatter), axis1=1, axis2=2)
    return float(counts @ logdet + traces.sum())


def random_problem(seed, model, k, d, n_rows=40):
    """Scatter about the means of random rows with random soft weights, and random previous covariances."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n_rows, d)) * np.exp(rng.uniform(-1, 1, d))
    weights = rng.dirichlet(np.ones(k), size=n_rows)
    counts = weights.sum(axis=0)
    means = (weights.T @ rows) / counts[:, None]
    scatter = np.stack([(weights[:, j, None] * (rows - means[j])).T @ (rows - means[j]) for j in range(k)])
    previous = random_constrained(rng, model, k, d)
    return scatter, counts, previous


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), model=st.sampled_from(ITERATIVE), k=st.integers(1, 4), d=st.integers(2, 5),
       em_tol=st.sampled_from([1e-2, 1e-4, 1e-8]), reg_covar=st.sampled_from([0.0, 1e-6, 1e-2]))
def test_warm_m_step_never_raises_the_objective_above_the_previous_parameters(seed, model, k, d, em_tol, reg_covar):
    scatter, counts, previous = random_problem(seed, model, k, d)
    structure = get_structure(model).with_em_tolerance(em_tol)
    shifts = np.zeros((k, d))
    previous_stored = storage(structure, previous + reg_covar * np.eye(d))
    scatter_stored = storage(structure, scatter)
    new = dense_of(structure, structure.update_covariances(scatter_stored, counts, shifts, reg_covar, previous_stored))
    new -= reg_covar * np.eye(d)
    within = scatter if model[2] != "I" else np.stack([np.diag(np.diag(w)) for w in scatter])
    before, after = objective(within, counts, previous), objective(within, counts, new)
    assert after <= before + 1e-9 * (1.0 + abs(before))
    assert constraint_violation(model, new) < 1e-6


@pytest.mark.parametrize("model", ITERATIVE)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_warm_start_near_the_cold_solution_returns_to_it(model, seed):
    scatter, counts, _ = random_problem(seed, model, 3, 4)
    cold_structure = get_structure(model)
    structure = cold_structure.with_em_tolerance(1e-12)
    shifts = np.zeros((3, 4))
    scatter_stored = storage(cold_structure, scatter)
    cold = dense_of(cold_structure, cold_structure.estimate_covariances(scatter_stored, counts, shifts, 0.0))
    rng = np.random.default_rng(seed)
    nearby = perturb(rng, model, cold, 0.05, "orientation" if model[2] == "E" else "volume")
    nearby = perturb(rng, model, nearby, 0.05, "volume")
    warm = dense_of(cold_structure, structure.update_covariances(scatter_stored, counts, shifts, 0.0,
                                                                 storage(cold_structure, nearby)))
    within = scatter if model[2] != "I" else np.stack([np.diag(np.diag(w)) for w in scatter])
    assert objective(within, counts, warm) == pytest.approx(objective(within, counts, cold), rel=1e-8)
    # F is flat along the common axes: equal objectives, covariances equal only to the inner tolerance
    np.testing.assert_allclose(warm, cold, atol=1e-2 * np.abs(cold).max())


@pytest.mark.parametrize("model", ["VEE", "EVE", "VVE", "VEV", "VEI"])
def test_em_with_warm_m_steps_reaches_the_fit_of_cold_m_steps(model, monkeypatch):
    from sklearn.datasets import load_iris

    X = load_iris().data
    settings_ = dict(covariance_type=model, init_params="hc", tol=1e-7, max_iter=2000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm = GaussianMixture(3, **settings_).fit(X)
        monkeypatch.setattr(EigenDecomposed, "with_em_tolerance", lambda self, tol: self)  # cold, to 1e-10
        cold = GaussianMixture(3, **settings_).fit(X)
    assert warm.lower_bound_ == pytest.approx(cold.lower_bound_, abs=1e-5)
    np.testing.assert_allclose(np.sort(warm.weights_), np.sort(cold.weights_), atol=1e-3)


@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_rotation_sweep_equals_its_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    scatter, counts, previous = random_problem(seed, "VVE", 4, 6)
    axes = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    variances = np.exp(rng.uniform(-1, 1, size=(4, 6)))
    compiled = axes.copy()
    _numba.rotation_sweep(axes.T @ scatter @ axes, np.ascontiguousarray(1.0 / variances), compiled)
    twin = eigen._pairwise_rotated_axes(scatter, variances, axes)
    np.testing.assert_allclose(compiled, twin, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(compiled.T @ compiled, np.eye(6), atol=1e-12)


@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("model", ["VEI", "VEE", "EVE", "VVE", "VEV", "EEI", "EVI", "EEV", "EVV"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_m_steps_equal_their_numpy_twins(model, seed, monkeypatch):
    """The compiled M-steps (:func:`gaussmix._numba.eigen.dense_eigen_covariances` and
    :func:`~gaussmix._numba.eigen.constrained_variances`, with the whole warm loop of VEE/EVE/VVE) take the NumPy
    path's steps, warm and cold. EVE and VVE rotate ``D^T W_k D`` along with ``D`` where the twin
    recomputes it, so rounding may move their stop by an iteration: there the M-step objectives agree to
    the inner tolerance, elsewhere the covariances agree to rounding."""
    scatter, counts, previous = random_problem(seed, model, 4, 5)
    structure = get_structure(model).with_em_tolerance(1e-8)
    shifts = np.zeros((4, 5))
    previous_stored = storage(structure, previous + 1e-6 * np.eye(5))
    scatter_stored = storage(structure, scatter)
    steps = {
        "warm": lambda: structure.update_covariances(scatter_stored, counts, shifts, 1e-6, previous_stored),
        "cold": lambda: structure.estimate_covariances(scatter_stored, counts, shifts, 1e-6),  # solved to 1e-10
    }
    for name, step in steps.items():
        compiled = step()
        with monkeypatch.context() as patch:
            patch.setattr(_numba, "AVAILABLE", False)
            twin = step()
        if model in ("EVE", "VVE"):
            tolerance = 10 * eigen.INNER_TOL_FRACTION * 2 * 1e-8 * counts.sum() if name == "warm" else 0.0
            assert objective(scatter, counts, dense_of(structure, compiled)) == pytest.approx(
                objective(scatter, counts, dense_of(structure, twin)), abs=tolerance, rel=1e-9), name
        else:
            np.testing.assert_allclose(compiled, twin, rtol=1e-8, atol=1e-12, err_msg=name)
