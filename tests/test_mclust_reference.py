"""Our fits against mclust's published outputs (tests/mclust_reference.py: every value and its source).

Settings are mclust's: EM starts from model-based hierarchical agglomeration (``init_params='hc'``), no ridge
on the covariances (``reg_covar=0``), and EM runs at least as long: mclust stops when the log-likelihood's
relative change is below 1e-5, i.e. when the per-sample mean log-likelihood changes by less than 1e-5 times
its size (over 1.2e-5 on all these data sets); we stop at an absolute change of 1e-8, with up to 2000
iterations (mclust's default has no cap).

The claims, per data set: for every (model, G) mclust published, our best fit has a BIC (mclust's sign) at
least mclust's, to within half the last digit printed; and the selection over the same grid chooses mclust's
model where mclust's fit is sound. mclust fits each candidate once, from its own agglomeration; ours differs
in details (regularisation, ties), so a single start can end in another basin. Where it ends below mclust's
value the candidate is refitted with more initialisations (``RESTARTS``: the agglomeration, then other kinds
of start) and the best is kept; refitting only those cells gives the same verdict as refitting all, at a
fraction of the time. Where we end above mclust, mclust's EM stopped in a poorer local maximum (or earlier).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import mclust_reference as ref
from gaussmix import GaussianMixture, select_model
from gaussmix.covariance import get_structure
from gaussmix.datasets import load_faithful

MCLUST_LIKE = dict(init_params="hc", tol=1e-8, max_iter=2000, reg_covar=0.0)
RESTARTS = (10, 60)
"""Initialisations (``n_init``) of a refitted candidate: the agglomeration, then random responsibilities,
random rows and k-means in turn; 60 where 10 were not enough (the first 10 of the 60 are the same)."""

DATA = Path(__file__).parent / "data"  # copies of ../shared/data/*.csv


@pytest.fixture(autouse=True)
def _single_blas_thread():
    with threadpool_limits(1):
        yield


def load(name: str) -> np.ndarray:
    """A data set's feature columns (every column but ``label``), shape (n_samples, n_features)."""
    if name == "faithful":
        return load_faithful()[0]
    path = DATA / f"{name}.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    columns = [i for i, column in enumerate(header) if column != "label"]
    X = np.loadtxt(path, delimiter=",", skiprows=1, usecols=columns)
    return X[:, None] if X.ndim == 1 else X


def fit_grid(X, models, components, **params) -> dict:
    """mclust's procedure: one start per candidate. ``{(model, G): record}`` of :func:`select_model`."""
    result = select_model(X, n_components=components, covariance_types=list(models), random_state=0,
                          **MCLUST_LIKE, **params)
    return {(r["covariance_type"], r["n_components"]): r for r in result.records}


def refitted_bic(X, model: str, g: int, published: float) -> float:
    """Our best BIC (mclust's sign) over RESTARTS initialisations, stopping once ``published`` is reached."""
    value = -np.inf
    for n_init in RESTARTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                gm = GaussianMixture(g, covariance_type=model, n_init=n_init, random_state=0, **MCLUST_LIKE).fit(X)
            except ValueError:  # DegenerateComponentError in every start
                continue
        value = max(value, -gm.bic(X))
        if not below(value, published):
            break
    return value


def ours(record) -> float:
    return -np.inf if record["failed"] else record["mclust_bic"]


def below(value: float, published: float) -> bool:
    return value < published - ref.printed_tolerance(published) - 1e-9


def assert_at_least_mclusts(X, grid: dict, published: dict) -> dict:
    """Every published cell: ours >= mclust's (refitting the cells a single start left below). Returns our best per cell."""
    best = {key: ours(record) for key, record in grid.items()}
    shortfalls = []
    for (model, g), value in published.items():
        if value is None:  # mclust: NA
            continue
        if below(best[model, g], value):
            best[model, g] = max(best[model, g], refitted_bic(X, model, g, value))
        if below(best[model, g], value):
            shortfalls.append(f"{model},{g}: ours {best[model, g]:.2f} < mclust {value}")
    assert not shortfalls, "; ".join(shortfalls)
    return best


def assert_choice(grid: dict, model: str, g: int, published_bic: float):
    chosen = max(grid, key=lambda key: ours(grid[key]))
    assert chosen == (model, g), f"chose {chosen} ({ours(grid[chosen]):.2f}), mclust {model},{g} ({published_bic})"
    assert not below(ours(grid[chosen]), published_bic)


# ------------------------------------------------------------------------------ parameter counts (df)
@pytest.mark.parametrize("fit, d", [(ref.FAITHFUL_BEST, 2), (ref.THYROID_BEST, 5), (ref.WINE_BEST, 13),
                                    (ref.IRIS_BEST, 4), (ref.IRIS_BEST_G3, 4), (ref.DIABETES_BEST, 3),
                                    *[(fit, 1) for fit in ref.ACIDITY_FITS]])
def test_parameter_counts_are_mclusts_df(fit, d):
    g = fit["G"]
    covariance = get_structure(fit["model"]).n_parameters(g, d)
    assert covariance + g * d + (g - 1) == fit["df"]


# --------------------------------------------------------------------------------- fast representatives
def test_faithful_leading_models():
    """mclust's top three (EEE,3, VVE,2, VEE,3) and the unconstrained model, G = 1..3."""
    X = load("faithful")
    grid = fit_grid(X, ["EEE", "VVE", "VEE", "VVV"], range(1, 4))
    assert_choice(grid, "EEE", 3, -2314.3)
    assert_at_least_mclusts(X, grid, {key: ref.FAITHFUL_BIC[key] for key in grid})
    # mclust's best fit to more digits (RSTATISTICS): ours is the same maximum, reached more precisely.
    assert -1126.361 <= grid["EEE", 3]["log_likelihood"] < -1126.361 + 0.2


def test_iris_leading_models():
    """mclust chooses VEV,2 (BIC -561.7285) and, among G = 3 models, VEV,3 (-562.55)."""
    X = load("iris")
    grid = fit_grid(X, ["VEV", "VVV", "EEV"], range(1, 5))
    assert_choice(grid, "VEV", 2, ref.IRIS_BEST["bic"])
    for fit in (ref.IRIS_BEST, ref.IRIS_BEST_G3):
        record = grid[fit["model"], fit["G"]]
        assert record["n_parameters"] == fit["df"]
        # The same maxima as mclust's: equal to the digits printed.
        assert record["mclust_bic"] == pytest.approx(fit["bic"], abs=ref.printed_tolerance(fit["bic"]) + 1e-9)
    # (RSTATISTICS's log-likelihood for VEV,2, -215.7259, is not the one its BIC implies, -215.72599; only
    # the book's pair is consistent, and ours matches it.)
    assert grid["VEV", 3]["log_likelihood"] == pytest.approx(ref.IRIS_BEST_G3["log_likelihood"], abs=0.005 + 1e-9)


def test_acidity_every_published_value():
    """One-dimensional: mclust's E and V models, G = 1..9; mclust chooses E,2."""
    X = load("acidity")
    grid = fit_grid(X, ["E", "V"], range(1, 10))
    assert_choice(grid, "E", 2, -392.07)
    assert_at_least_mclusts(X, grid, {(model, g): value for model, g, value in ref.ACIDITY_BIC_TOP5})
    for fit in ref.ACIDITY_FITS:
        record = grid[fit["model"], fit["G"]]
        assert record["n_parameters"] == fit["df"]
        assert not below(record["log_likelihood"], fit["log_likelihood"])
    # mclust's E,2 is the same maximum as ours (to the printed digits).
    assert grid["E", 2]["log_likelihood"] == pytest.approx(-185.95, abs=0.005 + 1e-9)


def test_diabetes_leading_models():
    """mclust's top three on its 3-variable diabetes (VVV,3, VVE,3, EVE,4; vignettes 5.2 and 5.0.0), G = 1..4."""
    X = load("diabetes")
    grid = fit_grid(X, ["VVV", "VVE", "EVE"], range(1, 5))
    assert_choice(grid, "VVV", 3, ref.DIABETES_BEST["bic"])
    for top in ref.DIABETES_BIC_TOP3.values():
        assert_at_least_mclusts(X, grid, {(model, g): value for model, g, value in top})
    assert grid["VVV", 3]["n_parameters"] == ref.DIABETES_BEST["df"]
    assert not below(grid["VVV", 3]["log_likelihood"], ref.DIABETES_BEST["log_likelihood"])


def test_faithful_two_components_same_maxima_and_icl():
    """At G = 2 our single start reaches mclust's maximum for most models; there the ICL agrees too.

    ICL = BIC + 2 sum log max_k z_nk (mclust's sign) depends on the fitted posteriors, so equal ICLs check
    that ours is mclust's ``icl()`` (sign, MAP entropy) on mclust's own fits (BOOK, Example 3.5).
    """
    X = load("faithful")
    grid = fit_grid(X, ref.MODELS, [2])
    same = [key for key in grid if abs(ours(grid[key]) - ref.FAITHFUL_BIC[key]) <= 0.05 + 1e-9]
    assert len(same) >= 12, same
    for key in same:
        assert -grid[key]["icl"] == pytest.approx(ref.FAITHFUL_ICL[key], abs=0.05 + 1e-9), key
    assert_at_least_mclusts(X, grid, {key: ref.FAITHFUL_BIC[key] for key in grid})


# ------------------------------------------------------------------------------- full published tables
@pytest.mark.slow
def test_faithful_every_published_cell():
    """All 14 models x G = 1..9 (BOOK, Example 3.4): ours >= mclust's in all 126 cells; mclust's EEE,3 chosen."""
    X = load("faithful")
    grid = fit_grid(X, ref.MODELS, range(1, 10), n_jobs=2)
    assert not any(record["failed"] for record in grid.values())  # mclust has no NA here either
    assert_choice(grid, "EEE", 3, -2314.3)
    best = assert_at_least_mclusts(X, grid, ref.FAITHFUL_BIC)
    assert max(best, key=best.get) == ("EEE", 3)  # the refitted cells do not overtake it
    # ICL (BOOK, Example 3.5) chooses VVE,2, -2320.8; ours is the same choice at a slightly higher maximum.
    by_icl = max(grid, key=lambda key: -grid[key]["icl"])
    assert by_icl == ("VVE", 2) and -grid[by_icl]["icl"] >= -2320.8 - 0.05


@pytest.mark.slow
def test_thyroid_every_published_cell():
    """BOOK, Example 3.2: ours >= mclust's in all 121 cells it fitted; mclust's VVI,3 chosen."""
    X = load("thyroid")
    grid = fit_grid(X, ref.MODELS, range(1, 10), n_jobs=2)
    assert_choice(grid, "VVI", 3, -4777.9)
    best = assert_at_least_mclusts(X, grid, ref.THYROID_BIC)
    assert max(best, key=best.get) == ("VVI", 3)
    assert grid["VVI", 3]["n_parameters"] == ref.THYROID_BEST["df"]


@pytest.mark.slow
def test_iris_every_model():
    """All 14 models x G = 1..9: mclust's VEV,2 chosen; at G = 3 the best model is VEV (BOOK, Example 6.3)."""
    X = load("iris")
    grid = fit_grid(X, ref.MODELS, range(1, 10), n_jobs=2)
    assert_choice(grid, "VEV", 2, ref.IRIS_BEST["bic"])
    assert max((key for key in grid if key[1] == 3), key=lambda key: ours(grid[key])) == ("VEV", 3)
    assert_at_least_mclusts(X, grid, {("VEV", 2): ref.IRIS_BEST["bic"], ("VEV", 3): ref.IRIS_BEST_G3["bic"]})


@pytest.mark.slow
def test_diabetes_every_model():
    """mclust's 3-variable diabetes, all 14 models x G = 1..9: VVV,3 chosen; its top three met (5.2 and 5.0.0)."""
    X = load("diabetes")
    grid = fit_grid(X, ref.MODELS, range(1, 10), n_jobs=2)
    assert_choice(grid, "VVV", 3, ref.DIABETES_BEST["bic"])
    for version, top in ref.DIABETES_BIC_TOP3.items():
        assert_at_least_mclusts(X, grid, {(model, g): value for model, g, value in top})
    assert not below(grid["VVV", 3]["log_likelihood"], ref.DIABETES_BEST["log_likelihood"])


@pytest.mark.slow
def test_wine_top_models():
    """BOOK, Example 3.3 (13 features): mclust's top three met; one start per candidate chooses VVE,3 as mclust.

    Only mclust's three best cells: the 14 x 9 grid on 13 features takes too long here. Our VVE,3 is a
    higher maximum than mclust's; the restarts needed for EVE,4 and VVE,4 (mclust's poorer maxima) find a
    VVE,4 that scores higher still (docs/mclust-models.md, "mclust's published tables").
    """
    X = load("wine")
    grid = fit_grid(X, ["VVE", "EVE"], [3, 4], n_jobs=2)
    assert_choice(grid, "VVE", 3, ref.WINE_BEST["bic"])
    assert grid["VVE", 3]["n_parameters"] == ref.WINE_BEST["df"]
    assert not below(grid["VVE", 3]["log_likelihood"], ref.WINE_BEST["log_likelihood"])
    assert_at_least_mclusts(X, grid, {(model, g): value for model, g, value in ref.WINE_BIC_TOP3})
