"""Contract suite for mclust's 14 eigen-decomposed models (``gaussmix.covariance.eigen``).

Oracles: scipy's multivariate normal on the dense covariances; mclust's documented parameter-count
formulas; optimality of the M-step against random perturbations *within the model* (the M-step must
maximise the expected complete-data log-likelihood over its constrained set); the nesting of the models;
mclust's published BIC on faithful and iris.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from constrained_models import (MODELS, constraint_violation, expected_complete_log_likelihood, mclust_n_var_params,
                                perturb, random_constrained)

import gaussmix
from gaussmix.datasets import load_faithful
from gaussmix import GaussianMixture
from gaussmix.covariance import ALL_MODEL_NAMES, get_structure, model_names
from gaussmix.covariance.eigen import constrained_covariances
from gaussmix.families.em import maximize, statistics_from_responsibilities
from gaussmix.params import MixtureParams

K, D = 3, 4


def to_storage(structure, dense_covariances):
    """The structure's own storage of dense covariances that obey its constraints."""
    k, d, _ = dense_covariances.shape
    shape = structure.covariance_shape(k, d)
    if shape == (k,):
        return dense_covariances[:, 0, 0].copy()
    if shape == (k, d):
        return np.diagonal(dense_covariances, axis1=1, axis2=2).copy()
    if shape == (d, d):
        return dense_covariances[0].copy()
    return dense_covariances


def random_params(model, seed, k=K, d=D):
    rng = np.random.default_rng(seed)
    structure = get_structure(model)
    dense = random_constrained(rng, model, k, d)
    covariances = to_storage(structure, dense)
    factors, singular = structure.cholesky_of_precisions(covariances)
    assert not singular.any()
    return MixtureParams(rng.dirichlet(np.full(k, 5.0)), 4.0 * rng.standard_normal((k, d)), covariances, factors,
                         np.zeros(d)), dense


def sample(rng, params, dense, n):
    labels = rng.choice(len(params.weights), size=n, p=params.weights)
    return np.stack([rng.multivariate_normal(params.means[j], dense[j]) for j in labels])


def test_names_are_registered():
    assert ALL_MODEL_NAMES == MODELS
    assert model_names(1) == ("E", "V") and model_names(3) == MODELS
    for name in MODELS + ("E", "V"):
        assert get_structure(name).name == name


# ----------------------------------------------------------------------------------- densities, counts
@pytest.mark.parametrize("model", MODELS)
def test_log_density_matches_scipy_on_dense_covariances(model):
    params, dense = random_params(model, seed=MODELS.index(model))
    structure = get_structure(model)
    np.testing.assert_allclose(structure.dense_covariances(params.covariances, K, D), dense, rtol=1e-12)
    rng = np.random.default_rng(1)
    X = np.vstack([sample(rng, params, dense, 200), 8.0 * rng.standard_normal((20, D))])
    expected = np.column_stack([multivariate_normal(m, c).logpdf(X) for m, c in zip(params.means, dense)])
    np.testing.assert_allclose(structure.log_gaussian_density(X, params.means, params.precisions_cholesky), expected,
                               rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("g, d", [(1, 1), (1, 5), (3, 2), (4, 6), (7, 3)])
def test_parameter_counts_follow_mclust(model, g, d):
    assert get_structure(model).n_parameters(g, d) == mclust_n_var_params(model, g, d)


def test_one_dimensional_names():
    assert get_structure("E").n_parameters(4, 1) == 1 and get_structure("V").n_parameters(4, 1) == 4
    with pytest.raises(ValueError, match="one-dimensional"):
        GaussianMixture(2, covariance_type="E").fit(np.random.default_rng(0).standard_normal((30, 2)))


def test_every_model_reduces_to_E_or_V_in_one_dimension():
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(0, 1, 150), rng.normal(6, 3, 100)])[:, None]
    fits = {name: GaussianMixture(2, covariance_type=name, random_state=0, tol=1e-10, max_iter=500).fit(X)
            for name in MODELS + ("E", "V")}
    for name in MODELS:
        reference = fits["E" if name[0] == "E" else "V"]
        np.testing.assert_allclose(fits[name].score(X), reference.score(X), rtol=1e-8)
        assert fits[name].bic(X) == pytest.approx(reference.bic(X), rel=1e-8)


# ---------------------------------------------------------------------------------------- the M-step
def m_step_problem(model, seed):
    """Data from a model, random soft responsibilities and sample weights."""
    params, dense = random_params(model, seed)
    rng = np.random.default_rng(seed + 50)
    X = sample(rng, params, dense, 300) + 0.3 * rng.standard_normal((300, D))
    w = rng.uniform(0.2, 2.0, 300)
    gamma = rng.dirichlet(np.full(K, 0.7), size=300)
    return X, w, gamma


@pytest.mark.parametrize("model", MODELS)
def test_m_step_obeys_the_constraints_and_beats_perturbations(model):
    X, w, gamma = m_step_problem(model, seed=10 + MODELS.index(model))
    structure = get_structure(model)
    template = MixtureParams(np.full(K, 1 / K), np.zeros((K, D)), None, None, np.zeros(D))
    result = maximize(statistics_from_responsibilities(X, w, gamma, template.means, structure), template, structure)
    dense = structure.dense_covariances(result.covariances, K, D)
    assert constraint_violation(model, dense) < 1e-8

    best = expected_complete_log_likelihood(X, w, gamma, result.weights, result.means, dense)
    rng = np.random.default_rng(0)
    for size in (1e-4, 1e-2, 0.3):
        for part in ("volume", "shape", "orientation"):
            for _ in range(4):
                other = perturb(rng, model, dense, size, part)
                assert constraint_violation(model, other) < 1e-8
                assert expected_complete_log_likelihood(X, w, gamma, result.weights, result.means, other) <= best + 1e-9
        moved = result.means + size * rng.standard_normal(result.means.shape)
        assert expected_complete_log_likelihood(X, w, gamma, result.weights, moved, dense) <= best + 1e-9


@pytest.mark.parametrize("model", MODELS)
def test_nested_models_fit_no_better_than_their_generalisations(model):
    """``F = sum_k n_k log det S_k + tr(W_k S_k^-1)`` of a model is >= that of every model containing it."""
    rng = np.random.default_rng(4)
    scatter = np.stack([a @ a.T for a in rng.standard_normal((K, D, 12)) * rng.uniform(0.3, 3.0, (K, D, 1))])
    counts = np.array([12.0, 20.0, 7.0])

    def objective(letters):
        covariances = constrained_covariances(scatter, counts, letters)
        return sum(n * np.linalg.slogdet(c)[1] + np.trace(np.linalg.solve(c, s))
                   for n, c, s in zip(counts, covariances, scatter))

    order = {"I": 0, "E": 1, "V": 2}
    value = objective(model)
    for other in MODELS:
        # Letter-wise I <= E <= V is containment: each letter constrains one factor independently.
        if other != model and all(order[a] <= order[b] for a, b in zip(model, other)):
            assert objective(other) <= value + 1e-8 * abs(value), other


def test_generic_solver_agrees_with_the_closed_forms():
    rng = np.random.default_rng(8)
    scatter = np.stack([a @ a.T for a in rng.standard_normal((K, D, 9))])
    counts = np.array([9.0, 4.5, 13.0])
    np.testing.assert_allclose(constrained_covariances(scatter, counts, "VVV"), scatter / counts[:, None, None],
                               rtol=1e-10)
    np.testing.assert_allclose(constrained_covariances(scatter, counts, "EEE")[1], scatter.sum(0) / counts.sum(),
                               rtol=1e-10)
    diagonals = np.diagonal(scatter, axis1=1, axis2=2)
    np.testing.assert_allclose(np.diagonal(constrained_covariances(scatter, counts, "VVI"), axis1=1, axis2=2),
                               diagonals / counts[:, None], rtol=1e-12)
    lam = diagonals.sum() / (D * counts.sum())   # EII by hand
    np.testing.assert_allclose(constrained_covariances(scatter, counts, "EII"), lam * np.broadcast_to(np.eye(D), scatter.shape))
    # EVV by hand: lambda = sum_k det(W_k)^(1/d) / n, Sigma_k = lambda W_k / det(W_k)^(1/d)
    roots = np.linalg.det(scatter) ** (1 / D)
    np.testing.assert_allclose(constrained_covariances(scatter, counts, "EVV"),
                               roots.sum() / counts.sum() * scatter / roots[:, None, None], rtol=1e-10)


# ------------------------------------------------------------------------------------------- fitting
def blobs(seed=0, d=3):
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal((n, d)) @ random_factor + centre for n, random_factor, centre in
             [(120, np.diag([1.0, 0.3, 2.0][:d]), 0.0), (90, rng.standard_normal((d, d)), 5.0),
              (60, 0.5 * np.eye(d), -5.0)]]
    return np.vstack(parts)


@pytest.mark.parametrize("model", MODELS)
def test_em_trace_is_monotone(model):
    X = blobs()
    gm = GaussianMixture(3, covariance_type=model, reg_covar=0.0, tol=0.0, max_iter=25, init_params="random",
                         random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gaussmix.exceptions.ConvergenceWarning)
        gm.fit(X)
    trace = np.array(gm.lower_bounds_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:])), np.diff(trace).min()
    assert gm.lower_bound_ >= trace[-1] - 1e-9
    assert constraint_violation(model, get_structure(model).dense_covariances(gm.covariances_, 3, 3)) < 1e-7


@pytest.mark.parametrize("alias, name", [("VVV", "full"), ("EEE", "tied"), ("VVI", "diag"), ("VII", "spherical")])
def test_sklearn_names_are_mclust_models(alias, name):
    X = blobs(1)
    fits = [GaussianMixture(3, covariance_type=n, random_state=2).fit(X) for n in (alias, name)]
    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(fits[0], attribute), getattr(fits[1], attribute))
    assert fits[0].bic(X) == fits[1].bic(X)


@pytest.mark.parametrize("model", ["EEI", "VEE", "EVE", "VEV"])
def test_sample_moments_match_the_fitted_covariance(model):
    gm = GaussianMixture(1, covariance_type=model, random_state=0).fit(blobs(2)[:120])
    draws, _ = gm.sample(40000)
    dense = get_structure(model).dense_covariances(gm.covariances_, 1, 3)[0]
    standard_error = np.sqrt((dense**2 + np.outer(np.diag(dense), np.diag(dense))) / 40000)
    assert np.all(np.abs(np.cov(draws, rowvar=False) - dense) < 5 * standard_error)


@pytest.mark.parametrize("model", MODELS)
def test_model_file_round_trip(model, tmp_path):
    X = blobs(3)
    gm = GaussianMixture(2, covariance_type=model, random_state=0).fit(X)
    loaded = gaussmix.load(gaussmix.save(gm, tmp_path / f"{model}.npz"))
    assert loaded.covariance_type == model
    np.testing.assert_array_equal(loaded.covariances_, gm.covariances_)
    np.testing.assert_array_equal(loaded.predict_proba(X), gm.predict_proba(X))


# ---------------------------------------------------------------------------------- real data, mclust
def iris():
    from pathlib import Path
    path = Path(__file__).parent / "data" / "iris.csv"
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(4))


def mclust_bic(gm, X):
    """mclust's sign: 2 log L - p log n (higher is better)."""
    return -gm.bic(X)


# mclust's best models (tests/mclust_reference.py, with sources; mclust's sign): Mclust(faithful) -> EEE with
# 3 components, BIC -2314.3; Mclust(iris[, 1:4]) -> VEV with 2 components, BIC -561.7285. Here from k-means
# starts; tests/test_mclust_reference.py compares every published cell from mclust-like starts.
@pytest.mark.parametrize("data, model, g, published", [("faithful", "EEE", 3, -2314.3), ("iris", "VEV", 2, -561.7285)])
def test_bic_on_real_data_is_at_least_mclusts(data, model, g, published):
    X = load_faithful()[0] if data == "faithful" else iris()
    gm = GaussianMixture(g, covariance_type=model, n_init=4, random_state=0, tol=1e-7, max_iter=500,
                         reg_covar=0.0).fit(X)
    printed_half_unit = 0.00005 if data == "iris" else 0.05
    assert mclust_bic(gm, X) >= published - printed_half_unit


@pytest.mark.filterwarnings("ignore::gaussmix.exceptions.ConvergenceWarning")  # tol=0: runs to max_iter
@pytest.mark.parametrize("model", MODELS)
def test_a_large_offset_changes_nothing(model):
    """Data centred once: shifting every row by 1e8 (timestamps, prices) gives the same fit."""
    X = blobs(4)
    fits = [GaussianMixture(3, covariance_type=model, random_state=0, max_iter=20, tol=0.0).fit(X + shift)
            for shift in (0.0, 1e8)]
    np.testing.assert_allclose(fits[1].means_ - 1e8, fits[0].means_, atol=1e-6)
    np.testing.assert_allclose(fits[1].covariances_, fits[0].covariances_, rtol=1e-6, atol=1e-9)


def test_the_rotation_sweep_never_increases_the_objective():
    """The EVE/VVE axes update, a sweep of plane rotations, is a descent step and keeps the axes orthonormal."""
    from gaussmix.covariance.eigen import _pairwise_rotated_axes

    rng = np.random.default_rng(9)
    scatter = np.stack([a @ a.T for a in rng.standard_normal((K, D, 15)) * rng.uniform(0.2, 4.0, (K, D, 1))])
    variances = np.exp(rng.uniform(-1.0, 2.0, (K, D)))

    def objective(axes):
        return np.einsum("ji,kjl,li,ki->", axes, scatter, axes, 1.0 / variances)

    axes = np.linalg.qr(rng.standard_normal((D, D)))[0]
    for _ in range(40):
        new_axes = _pairwise_rotated_axes(scatter, variances, axes)
        np.testing.assert_allclose(new_axes.T @ new_axes, np.eye(D), atol=1e-12)
        assert objective(new_axes) <= objective(axes) * (1 + 1e-13)
        axes = new_axes


def test_a_structure_object_with_its_own_tolerance_is_saved_by_name(tmp_path):
    from gaussmix.covariance.eigen import VEV

    X = blobs(5)
    gm = GaussianMixture(2, covariance_type=VEV(tol=1e-12, max_iter=50), random_state=0).fit(X)
    loaded = gaussmix.load(gaussmix.save(gm, tmp_path / "vev.npz"))
    assert loaded.covariance_type == "VEV"
    assert loaded.bic(X) == pytest.approx(gm.bic(X), rel=1e-12)


@pytest.mark.parametrize("model", MODELS + ("full", "tied", "diag", "spherical"))
def test_equal_covariances_says_whether_components_share_one_covariance(model):
    """The flag the report uses to print one matrix: EII, EEI and EEE (tied) give every component the same."""
    X, w, gamma = m_step_problem(model if model in MODELS else "VVV", seed=7)
    structure = get_structure(model)
    template = MixtureParams(np.full(K, 1 / K), np.zeros((K, D)), None, None, np.zeros(D))
    result = maximize(statistics_from_responsibilities(X, w, gamma, template.means, structure), template, structure)
    dense = structure.dense_covariances(result.covariances, K, D)
    spread = np.abs(dense - dense[0]).max() / np.abs(dense).max()
    assert structure.equal_covariances == (spread < 1e-12), spread
    assert structure.equal_covariances == (model in ("EII", "EEI", "EEE", "tied"))
    assert get_structure("E").equal_covariances and not get_structure("V").equal_covariances


def _scatter_in_storage(structure, within):
    """Per-component scatter (K, d, d) in what the structure's M-step reads: traces, diagonals or matrices."""
    k, d, _ = within.shape
    shape = structure.covariance_shape(k, d)
    if shape == (k,):
        return np.einsum("kii->k", within)
    if shape == (k, d):
        return np.diagonal(within, axis1=1, axis2=2).copy()
    return within


@pytest.mark.parametrize("model", [model for model in MODELS if model[0] == "V"])
def test_a_component_without_scatter_is_degenerate_alone(model):
    """A singleton (zero scatter) under variable volumes: its covariance is 0, the others' are unaffected.

    Before, VEI, VEE and VEV estimated the common shape with the singleton's 0 / 0 in it, so every
    component came out NaN and re-seeding had no healthy component left (faithful, G = 9, hc start).
    """
    rng = np.random.default_rng(3)
    within = np.stack([(lambda a: a @ a.T)(rng.standard_normal((D, D + 3))) * (k + 1) for k in range(K)])
    within[1] = 0.0
    counts = np.array([40.0, 1.0, 25.0])
    structure = get_structure(model)
    shifts = np.zeros((K, D))
    dense = structure.dense_covariances(
        structure.estimate_covariances(_scatter_in_storage(structure, within), counts, shifts, 0.0), K, D)
    assert np.all(dense[1] == 0.0)
    healthy = [0, 2]
    alone = structure.dense_covariances(structure.estimate_covariances(
        _scatter_in_storage(structure, within[healthy]), counts[healthy], shifts[healthy], 0.0), 2, D)
    np.testing.assert_allclose(dense[healthy], alone, rtol=1e-9, atol=1e-12)
    assert np.linalg.eigvalsh(dense[healthy]).min() > 0


@pytest.mark.parametrize("model", ["VEI", "VEE", "VEV"])
def test_faithful_nine_components_from_the_agglomeration_fit(model):
    """mclust fits these (BIC -2398.2, -2406.7, -2446.7). (A start with a singleton component is re-seeded
    alone: test_a_component_without_scatter_is_degenerate_alone.)"""
    X = load_faithful()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(9, covariance_type=model, init_params="hc", reg_covar=0.0, tol=1e-6, max_iter=2000).fit(X)
    assert np.isfinite(gm.bic(X))
