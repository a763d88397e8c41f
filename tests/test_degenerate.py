"""Degenerate components: a fit never crashes or returns NaN; it re-seeds with a warning or raises advice.

Every scenario here makes a component empty, singular or collapsed on purpose. The contract
(docs/architecture.md: "a degenerate component raises a named error ..."): either the component is re-seeded
with a ``DegenerateComponentWarning`` and the returned model is finite, or a ``DegenerateComponentError``
names the component, the reason and what the user can change.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from gaussmix import DegenerateComponentError, DegenerateComponentWarning, GaussianMixture
from gaussmix.datasets import load_faithful

DATA = Path(__file__).parent / "data"
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(autouse=True)
def _single_blas_thread():
    # Many tiny BLAS/LAPACK calls per EM iteration: on a busy 2-core machine OpenBLAS worker threads
    # make them 10-50x slower. Results do not depend on it.
    with threadpool_limits(1):
        yield


def fit_recording_warnings(model, X, sample_weight=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, sample_weight=sample_weight)
    return model, caught


def assert_finite_model(model, X):
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.isfinite(model.lower_bound_)
    np.testing.assert_allclose(model.weights_.sum(), 1.0, rtol=1e-12)
    assert np.all(np.isfinite(model.score_samples(X)))
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)


def assert_actionable(error):
    message = str(error)
    assert "reg_covar" in error.advice and "reg_covar" in message
    assert "n_components" in error.advice
    assert error.reason in ("empty", "singular", "collapsed")
    assert error.component in error.components
    assert f"component {error.component}" in message


def two_blobs_and_an_isolated_point(n_isolated):
    """Two Gaussian blobs and ``n_isolated`` identical rows far from both: k-means puts a centre there."""
    rng = np.random.default_rng(0)
    return np.vstack([
        rng.normal(size=(100, 2)),
        rng.normal(size=(100, 2)) + [10.0, 0.0],
        np.tile([[0.0, 100.0]], (n_isolated, 1)),
    ])


# ------------------------------------------------------------- (a) a component collapses onto one point
@pytest.mark.parametrize("n_isolated", [1, 5])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_sklearn_fails_where_a_component_sits_on_one_point(covariance_type, n_isolated):
    # The reference behaviour we improve on: scikit-learn gives up on this data for every seed.
    X = two_blobs_and_an_isolated_point(n_isolated)
    for random_state in range(3):
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            SklearnGaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0,
                                   random_state=random_state).fit(X)


@pytest.mark.parametrize("n_isolated", [1, 5])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_component_on_one_point_is_reseeded_with_a_warning(covariance_type, n_isolated):
    X = two_blobs_and_an_isolated_point(n_isolated)
    model, caught = fit_recording_warnings(
        GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0, random_state=0), X)
    degenerate = [w for w in caught if issubclass(w.category, DegenerateComponentWarning)]
    assert degenerate, [str(w.message) for w in caught]
    message = str(degenerate[0].message)
    assert "re-seeded" in message and "reg_covar" in message
    assert any(reason in message for reason in ("singular", "collapsed", "empty"))
    assert_finite_model(model, X)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_reseeded_fit_returns_an_em_fixed_point(covariance_type):
    # Whatever the policy does along the way, what fit() returns as converged must be a fixed point of
    # EM: the mixing weights equal the mean responsibilities under the returned parameters (up to tol).
    # Re-seeding is allowed to end in DegenerateComponentError, never in an inconsistent model.
    X = two_blobs_and_an_isolated_point(1)
    model = GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0, tol=1e-8, max_iter=500,
                            random_state=0)
    try:
        model, _ = fit_recording_warnings(model, X)
    except DegenerateComponentError as error:
        assert_actionable(error)
        return
    assert_finite_model(model, X)
    if model.converged_:
        np.testing.assert_allclose(model.weights_, model.predict_proba(X).mean(axis=0), atol=1e-3)


# --------------------------------------------------------------------------- (b) on_degenerate='raise'
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_raise_policy_names_the_component_and_advises(covariance_type):
    X = two_blobs_and_an_isolated_point(1)
    # Component 1 starts on the isolated point, so it is the one that degenerates.
    means_init = np.array([[0.0, 0.0], [0.0, 100.0], [10.0, 0.0]])
    model = GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0, means_init=means_init,
                            on_degenerate="raise", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateComponentWarning)  # 'raise' must not re-seed first
        with pytest.raises(DegenerateComponentError) as info:
            model.fit(X)
    error = info.value
    assert error.component == 1
    assert error.components == (1,)
    assert error.reason in ("singular", "collapsed")
    assert isinstance(error, ValueError)
    assert_actionable(error)
    assert not hasattr(model, "weights_")


# ------------------------------------------------------------------------ (c) an empty component
def three_blobs():
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([c + rng.normal(size=(100, 2)) for c in centres])
    return X, np.repeat([0, 1, 2], 100)


def far_narrow_start(covariance_type):
    """Components 0 and 1 on two blobs; component 2 far from all data and very narrow, so it gets no
    responsibility at all (a broad one would instead capture the third blob)."""
    precisions = {
        "full": np.array([np.eye(2), np.eye(2), 1e6 * np.eye(2)]),
        "tied": np.eye(2),
        "diag": np.array([[1.0, 1.0], [1.0, 1.0], [1e6, 1e6]]),
        "spherical": np.array([1.0, 1.0, 1e6]),
    }[covariance_type]
    return dict(weights_init=[0.4, 0.4, 0.2], means_init=[[0.0, 0.0], [10.0, 0.0], [1000.0, 1000.0]],
                precisions_init=precisions)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_component_is_reseeded(covariance_type):
    X, _ = three_blobs()
    model, caught = fit_recording_warnings(
        GaussianMixture(3, covariance_type=covariance_type, random_state=0, **far_narrow_start(covariance_type)), X)
    messages = [str(w.message) for w in caught if issubclass(w.category, DegenerateComponentWarning)]
    assert any("component 2" in m and "empty" in m and "re-seeded" in m for m in messages), messages
    assert model.n_reseeded_ >= 1
    assert_finite_model(model, X)
    # The re-seeded component is back in use: far from (1000, 1000) and explaining a real share of data.
    assert np.all(np.abs(model.means_) < 50)
    assert model.weights_.min() > 0.01


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_component_given_only_means_init_is_reseeded(covariance_type):
    X, _ = three_blobs()
    model, caught = fit_recording_warnings(
        GaussianMixture(3, covariance_type=covariance_type, means_init=[[0.0, 0.0], [10.0, 0.0], [1000.0, 1000.0]],
                        random_state=0), X)
    messages = [str(w.message) for w in caught if issubclass(w.category, DegenerateComponentWarning)]
    assert any("component 2" in m and "empty" in m for m in messages), messages
    assert_finite_model(model, X)
    assert model.weights_.min() > 0.01


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_reseeding_an_empty_component_recovers_the_orphaned_blob(covariance_type):
    # Re-seeding is meant to put the component "where the model is worst". Before the re-seed, the
    # third blob (around (0, 10)) is explained by no component of the parameters that produced the
    # statistics, so that is where the empty component belongs; three well-separated blobs must then
    # be recovered exactly.
    X, y = three_blobs()
    model, _ = fit_recording_warnings(
        GaussianMixture(3, covariance_type=covariance_type, random_state=0, **far_narrow_start(covariance_type)), X)
    assert adjusted_rand_score(y, model.predict(X)) == pytest.approx(1.0)


# ---------------------------------------------------------------- (d) every component singular at once
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_identical_rows_raise_advice(covariance_type):
    X = np.tile([[1.5, -2.0, 3.0]], (30, 1))
    model = GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.0, random_state=0)
    with pytest.raises(DegenerateComponentError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateComponentWarning)
            model.fit(X)
    error = info.value
    assert error.reason == "singular"
    assert set(error.components) == {0, 1}
    assert_actionable(error)
    assert "duplicated rows" in error.advice and "constant" in error.advice
    assert not hasattr(model, "weights_")


@pytest.mark.parametrize("covariance_type", ["tied", "full"])
def test_constant_feature_without_regularisation_raises_advice(covariance_type):
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=(60, 2)), np.full(60, 3.0)])
    with pytest.raises(DegenerateComponentError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateComponentWarning)
            GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.0, random_state=0).fit(X)
    assert info.value.reason == "singular"
    assert_actionable(info.value)
    # The advice works: regularising the constant feature gives a finite fit.
    model = GaussianMixture(2, covariance_type=covariance_type, reg_covar=1e-6, random_state=0).fit(X)
    assert_finite_model(model, X)


# --------------------------------------------------------------------- (e) Old Faithful, tied values
# The demo's settings (tol=1e-6, max_iter=500). With them, 5 diagonal components put one component on
# the tied (integer) waiting times: its waiting variance is reg_covar itself, ~5e-9 of the data's
# variance (scikit-learn returns exactly that spurious fit too). With the default tol=1e-3 EM stops
# before the collapse, so that setting would test nothing.
FAITHFUL_DIAG_5 = dict(n_components=5, covariance_type="diag", n_init=5, random_state=0, tol=1e-6, max_iter=500)


def test_faithful_diag_collapses_onto_tied_values_without_detection():
    X, _ = load_faithful()
    model, _ = fit_recording_warnings(GaussianMixture(detect_collapse=False, **FAITHFUL_DIAG_5), X)
    relative = model.covariances_ / X.var(axis=0)
    component, feature = np.unravel_index(np.argmin(relative), relative.shape)
    assert relative[component, feature] < 1e-8
    assert model.covariances_[component, feature] == pytest.approx(model.reg_covar, rel=1e-3)
    mean = model.means_[component, feature]
    assert mean == pytest.approx(round(mean), abs=1e-6)  # it sits on one tied (integer) value


def test_faithful_diag_collapse_is_detected():
    X, _ = load_faithful()
    data_variance = X.var(axis=0)
    try:
        model, caught = fit_recording_warnings(GaussianMixture(**FAITHFUL_DIAG_5), X)
    except DegenerateComponentError as error:
        assert error.reason == "collapsed"
        assert_actionable(error)
        return
    assert any(issubclass(w.category, DegenerateComponentWarning) and "collapsed" in str(w.message) for w in caught)
    assert_finite_model(model, X)
    # The meaningful property: no returned component has a variance below 1e-8 x the data's.
    assert np.all(model.covariances_ >= 1e-8 * data_variance)


def test_faithful_diag_collapse_with_raise_policy():
    X, _ = load_faithful()
    with pytest.raises(DegenerateComponentError) as info:
        GaussianMixture(on_degenerate="raise", **FAITHFUL_DIAG_5).fit(X)
    assert info.value.reason == "collapsed"
    assert "tied values" in str(info.value)
    assert_actionable(info.value)


# ------------------------------------------------------------------ (f) digits: constant pixels, d=64
@pytest.fixture(scope="module")
def digits():
    # tests/data/digits.csv: scikit-learn's load_digits (1797 x 64 pixels + 'label'), copied from
    # /work/shared/data. pixel_0_0, pixel_4_0 and pixel_4_7 are always 0; many more are constant
    # within one digit class.
    with open(DATA / "digits.csv", encoding="utf-8") as stream:
        header = stream.readline().strip().split(",")
    table = np.loadtxt(DATA / "digits.csv", delimiter=",", skiprows=1)
    features = [i for i, name in enumerate(header) if name != "label"]
    X = table[:, features]
    assert X.shape == (1797, 64)
    assert np.sum(X.var(axis=0) == 0) >= 3
    return X


def test_digits_full_default_settings_raise_advice_or_fit_finite(digits):
    model = GaussianMixture(10, covariance_type="full", max_iter=20, random_state=0)
    try:
        model, caught = fit_recording_warnings(model, digits)
    except DegenerateComponentError as error:
        assert_actionable(error)
        return
    assert_finite_model(model, digits)


def test_digits_full_with_regularisation_fits(digits):
    model, caught = fit_recording_warnings(
        GaussianMixture(10, covariance_type="full", reg_covar=1e-2, max_iter=20, random_state=0), digits)
    assert not any(issubclass(w.category, DegenerateComponentWarning) for w in caught)
    assert_finite_model(model, digits)
    assert len(np.unique(model.predict(digits))) >= 5


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_digits_without_regularisation_raise_advice(digits, covariance_type):
    # Constant pixels make every unregularised covariance singular: nothing to re-seed from.
    with pytest.raises(DegenerateComponentError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateComponentWarning)
            GaussianMixture(10, covariance_type=covariance_type, reg_covar=0.0, max_iter=20, random_state=0).fit(digits)
    assert info.value.reason == "singular"
    assert_actionable(info.value)


def _run_em_failing_on(module, calls_to_fail):
    calls = []
    original = module.run_em

    def run_em(*args, **kwargs):
        calls.append(len(calls))
        if calls[-1] in calls_to_fail:
            raise DegenerateComponentError(0, "singular", "advice")
        return original(*args, **kwargs)

    return run_em, calls


def test_a_restart_that_keeps_degenerating_is_dropped(monkeypatch):
    """With several starts, one whose re-seeding budget runs out is dropped (mclust would report NA)."""
    import gaussmix.estimators.gaussian_mixture as module

    X = np.vstack([np.random.default_rng(0).normal(size=(60, 2)), np.random.default_rng(1).normal(5, 1, (60, 2))])
    first_start_alone = GaussianMixture(2, random_state=0).fit(X)
    run_em, calls = _run_em_failing_on(module, {1})
    monkeypatch.setattr(module, "run_em", run_em)
    with pytest.warns(DegenerateComponentWarning, match="Initialization 1 dropped"):
        gm = GaussianMixture(2, n_init=3, random_state=0).fit(X)
    assert calls == [0, 1, 2]
    assert gm.lower_bound_ >= first_start_alone.lower_bound_ - 1e-12  # the best of the surviving starts


@pytest.mark.parametrize("settings", [dict(n_init=1), dict(n_init=3, on_degenerate="raise")])
def test_a_degenerate_start_is_an_error_with_one_start_or_the_raise_policy(monkeypatch, settings):
    import gaussmix.estimators.gaussian_mixture as module

    run_em, _ = _run_em_failing_on(module, {0})
    monkeypatch.setattr(module, "run_em", run_em)
    with pytest.raises(DegenerateComponentError):
        GaussianMixture(2, random_state=0, **settings).fit(np.random.default_rng(2).normal(size=(50, 2)))


def test_every_start_degenerating_is_an_error(monkeypatch):
    import gaussmix.estimators.gaussian_mixture as module

    run_em, calls = _run_em_failing_on(module, {0, 1, 2})
    monkeypatch.setattr(module, "run_em", run_em)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        with pytest.raises(DegenerateComponentError):
            GaussianMixture(2, n_init=3, random_state=0).fit(np.random.default_rng(2).normal(size=(50, 2)))
    assert calls == [0, 1, 2]
