"""dtypes (issue 17, item 6): float32 data give float32 fitted arrays and outputs, as scikit-learn's
GaussianMixture does; everything else gives float64; the statistics are float64 inside either way."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix
from gaussmix import BayesianGaussianMixture, GaussianMixture, MixtureOfExperts, MixtureOfFactorAnalyzers
from gaussmix.exceptions import ModelFileError

GAUSSIAN_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
BAYESIAN_ARRAYS = GAUSSIAN_ARRAYS + ("mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_")
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical", "VVV", "EEE", "VEV", "EII")


def make_data(n_samples=1500, seed=0):
    """Three clusters with correlated, unequal spreads, away from the origin (float64)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [8.0, 3.0, -4.0], [-6.0, 7.0, 5.0]])
    spreads = [np.array([[1.0, 0.0, 0.0], [0.6, 0.5, 0.0], [0.2, -0.3, 0.8]]),
               np.diag([2.0, 0.7, 1.2]), np.array([[0.5, 0.0, 0.0], [0.0, 1.5, 0.0], [0.4, 0.4, 0.3]])]
    labels = rng.integers(0, 3, n_samples)
    noise = rng.standard_normal((n_samples, 3))
    X = np.stack([centres[k] + noise[n] @ spreads[k].T for n, k in enumerate(labels)])
    return X * np.array([1.0, 10.0, 0.1]) + np.array([50.0, -200.0, 3.0])


X64 = make_data()
X32 = X64.astype(np.float32)
MEANS_INIT = X64[[0, 1, 2]]  # both dtypes start EM from the same means


def sorted_by_first_mean(model, values):
    return np.asarray(values)[np.argsort(np.asarray(model.means_)[:, 0], kind="stable")]


def assert_float32_and_finite(model, names):
    for name in names:
        value = getattr(model, name)
        if isinstance(value, float):  # a Python float (e.g. the spherical covariance_prior_) stays one
            continue
        assert value.dtype == np.float32, f"{name} is {value.dtype}"
        assert np.all(np.isfinite(value)), f"{name} is not finite"


def assert_outputs(model, X, dtype):
    """predict_proba, score_samples and sample in ``dtype``; labels integers; scores Python floats."""
    proba, log_density = model.predict_proba(X), model.score_samples(X)
    assert proba.dtype == dtype and log_density.dtype == dtype
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(log_density))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=10 * np.finfo(dtype).eps)
    assert model.predict(X).dtype.kind == "i"
    assert isinstance(model.score(X), float) and isinstance(model.bic(X), float)


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def gaussian_fits(request):
    kwargs = dict(n_components=3, covariance_type=request.param, means_init=MEANS_INIT, tol=1e-10, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(**kwargs).fit(X64), GaussianMixture(**kwargs).fit(X32)


def test_gaussian_mixture_float32_fit_gives_float32_attributes_close_to_float64(gaussian_fits):
    fit64, fit32 = gaussian_fits
    assert_float32_and_finite(fit32, GAUSSIAN_ARRAYS)
    for name in GAUSSIAN_ARRAYS:
        assert getattr(fit64, name).dtype == np.float64
        expected = getattr(fit64, name)
        # float32 data carry 7 digits; EM in float64 on them lands within a few float32 steps of the float64 fit.
        np.testing.assert_allclose(getattr(fit32, name), expected, rtol=2e-4,
                                   atol=1e-5 * np.max(np.abs(expected)), err_msg=name)
    assert isinstance(fit32.lower_bound_, float)
    assert fit32.lower_bound_ == pytest.approx(fit64.lower_bound_, rel=1e-5)


def test_gaussian_mixture_outputs_follow_the_data_and_model_dtypes(gaussian_fits):
    fit64, fit32 = gaussian_fits
    assert_outputs(fit32, X32, np.float32)
    # As scikit-learn: float64 data on a float32 model, or float32 data on a float64 model, give float64.
    assert_outputs(fit32, X64, np.float64)
    assert_outputs(fit64, X32, np.float64)
    assert_outputs(fit64, X64, np.float64)
    # (float32 rounding of the data and of the fitted parameters: log-densities agree to ~1e-4)
    np.testing.assert_allclose(fit32.score_samples(X32), fit64.score_samples(X64), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(fit32.predict_proba(X32), fit64.predict_proba(X64), rtol=0, atol=1e-3)
    draws, labels = fit32.sample(50)
    assert draws.dtype == np.float32 and labels.dtype.kind == "i" and np.all(np.isfinite(draws))


def test_float32_outputs_are_as_accurate_as_float32_allows():
    """float32 data are centred and evaluated in float32 (float32 BLAS), the rest in float64: the float32
    outputs are within a few float32 steps of the same model evaluated on the data widened to float64."""
    fit32 = GaussianMixture(3, means_init=MEANS_INIT).fit(X32)
    np.testing.assert_allclose(fit32.score_samples(X32), fit32.score_samples(X32.astype(np.float64)), rtol=1e-5)


def test_integer_and_float16_data_give_float64_models():
    rounded = np.round(X64).astype(np.int64)
    assert GaussianMixture(3, means_init=MEANS_INIT).fit(rounded).means_.dtype == np.float64
    assert GaussianMixture(3, means_init=MEANS_INIT).fit(X64.astype(np.float16)).means_.dtype == np.float64


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_dtypes_match_scikit_learn(covariance_type):
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X32)
    theirs = SklearnGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X32)
    for name in GAUSSIAN_ARRAYS:
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == np.float32, name
    for X in (X32, X64):
        assert ours.predict_proba(X).dtype == theirs.predict_proba(X).dtype
        assert ours.score_samples(X).dtype == theirs.score_samples(X).dtype
    # (scikit-learn's sample() returns float64 from a float32 model; ours keeps the model's dtype.)


def test_statistics_are_accumulated_in_float64():
    """EM on float32 data equals EM on the same values widened to float64, to float32 rounding of the
    result: only the per-chunk products run in float32, never the sums over all rows."""
    rng = np.random.default_rng(5)
    X = np.repeat(X32, 40, axis=0) + rng.standard_normal((X32.shape[0] * 40, 3)).astype(np.float32)  # 60,000 rows
    kwargs = dict(n_components=3, means_init=MEANS_INIT, tol=0.0, max_iter=5, chunk_size=4096)
    fit32 = GaussianMixture(**kwargs).fit(X)
    fit64 = GaussianMixture(**kwargs).fit(X.astype(np.float64))
    for name in GAUSSIAN_ARRAYS:
        np.testing.assert_allclose(getattr(fit32, name), getattr(fit64, name), rtol=2e-5,
                                   atol=2e-6 * np.max(np.abs(getattr(fit64, name))), err_msg=name)


def test_partial_fit_and_warm_start_keep_float32():
    model = GaussianMixture(3, means_init=MEANS_INIT).fit(X32)
    model.partial_fit(X32[:300])
    assert_float32_and_finite(model, GAUSSIAN_ARRAYS)
    model.set_params(warm_start=True).fit(X32)
    assert_float32_and_finite(model, GAUSSIAN_ARRAYS)
    # A new fit on float64 data gives a float64 model.
    assert model.set_params(warm_start=False).fit(X64).means_.dtype == np.float64


def test_float32_npy_source_gives_float32_model(tmp_path):
    path = tmp_path / "x32.npy"
    np.save(path, X32)
    model = GaussianMixture(3, means_init=MEANS_INIT).fit(str(path))
    assert_float32_and_finite(model, GAUSSIAN_ARRAYS)
    assert model.predict_proba(str(path)).dtype == np.float32
    in_memory = GaussianMixture(3, means_init=MEANS_INIT).fit(X32)
    np.testing.assert_allclose(model.means_, in_memory.means_, rtol=1e-6)


def test_conditioning_and_imputation_keep_float32():
    model = GaussianMixture(3, means_init=MEANS_INIT).fit(X32)
    conditional = model.condition([0], [50.0])
    assert_float32_and_finite(conditional, GAUSSIAN_ARRAYS)
    assert model.predict_conditional(X32[:5, :1], [0]).dtype == np.float32
    assert model.predict_conditional(X64[:5, :1], [0]).dtype == np.float64
    holes = X32[:20].copy()
    holes[::2, 1] = np.nan
    filled = model.impute(holes)
    assert filled.dtype == np.float32 and np.all(np.isfinite(filled))
    observed = ~np.isnan(holes)
    np.testing.assert_array_equal(filled[observed], holes[observed])


# ---------------------------------------------------------------------------------- other estimators
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
def test_bayesian_mixture_float32(covariance_type, prior_type):
    kwargs = dict(n_components=4, covariance_type=covariance_type, weight_concentration_prior_type=prior_type,
                  random_state=0, max_iter=300, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit64 = BayesianGaussianMixture(**kwargs).fit(X64)
        fit32 = BayesianGaussianMixture(**kwargs).fit(X32)
    assert_float32_and_finite(fit32, BAYESIAN_ARRAYS)
    concentration = fit32.weight_concentration_
    for array in (concentration if isinstance(concentration, tuple) else (concentration,)):
        assert array.dtype == np.float32
    assert fit32.n_components_ == fit64.n_components_
    for name in ("weights_", "means_") + (("covariances_",) if covariance_type != "tied" else ()):
        expected = sorted_by_first_mean(fit64, getattr(fit64, name))
        np.testing.assert_allclose(sorted_by_first_mean(fit32, getattr(fit32, name)), expected, rtol=2e-3,
                                   atol=1e-4 * np.max(np.abs(expected)), err_msg=name)
    assert_outputs(fit32, X32, np.float32)
    assert_outputs(fit32, X64, np.float64)
    assert fit32.score_samples(X32, predictive=True).dtype == np.float32
    assert fit32.sample(10)[0].dtype == np.float32
    assert fit32.weight_credible_intervals().dtype == np.float32


def test_factor_analyzers_float32():
    rng = np.random.default_rng(3)
    X = np.hstack([X64, X64 @ rng.normal(size=(3, 3)) + 0.3 * rng.standard_normal((X64.shape[0], 3))])
    kwargs = dict(n_components=3, n_factors=2, means_init=X[[0, 1, 2]], tol=1e-10, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit64 = MixtureOfFactorAnalyzers(**kwargs).fit(X)
        fit32 = MixtureOfFactorAnalyzers(**kwargs).fit(X.astype(np.float32))
    assert_float32_and_finite(fit32, ("weights_", "means_", "loadings_", "noise_variance_"))
    np.testing.assert_allclose(fit32.means_, fit64.means_, rtol=1e-4, atol=1e-4 * np.abs(fit64.means_).max())
    np.testing.assert_allclose(fit32.get_covariance(), fit64.get_covariance(), rtol=1e-3,
                               atol=1e-4 * np.abs(fit64.get_covariance()).max())
    X32_ = X.astype(np.float32)
    assert_outputs(fit32, X32_, np.float32)
    for values in (fit32.transform(X32_), fit32.posterior_factors(X32_), fit32.sample(10)[0], fit32.get_covariance(),
                   fit32.get_precision()):
        assert values.dtype == np.float32 and np.all(np.isfinite(values))
    assert fit32.transform(X).dtype == np.float64
    assert fit64.transform(X32_).dtype == np.float64


def test_mixture_of_experts_float32():
    rng = np.random.default_rng(4)
    X = rng.uniform(-3, 3, size=(800, 2))
    y = np.where(X[:, 0] > 0, 2.0 * X[:, 1] + 1.0, -X[:, 1] - 2.0) + 0.1 * rng.standard_normal(800)
    fit64 = MixtureOfExperts(2, random_state=0).fit(X, y)
    fit32 = MixtureOfExperts(2, random_state=0).fit(X.astype(np.float32), y.astype(np.float32))
    arrays = ("coef_", "intercept_", "gate_coef_", "gate_intercept_", "covariances_")
    assert_float32_and_finite(fit32, arrays)
    order64, order32 = np.argsort(fit64.intercept_[:, 0]), np.argsort(fit32.intercept_[:, 0])
    for name in ("coef_", "intercept_", "covariances_"):
        np.testing.assert_allclose(getattr(fit32, name)[order32], getattr(fit64, name)[order64], rtol=1e-3, atol=1e-4,
                                   err_msg=name)
    X32 = X.astype(np.float32)
    for values in (fit32.predict(X32), fit32.predict_proba(X32), fit32.predict_gate(X32), fit32.score_samples(X32, y),
                   fit32.predict_expert_proba(X32, y), fit32.sample(X32)[0]):
        assert values.dtype == np.float32 and np.all(np.isfinite(values))
    assert fit32.predict(X).dtype == np.float64 and fit64.predict(X32).dtype == np.float64
    np.testing.assert_allclose(fit32.predict(X32), fit64.predict(X), rtol=1e-3, atol=1e-3)


# --------------------------------------------------------------------------------------- model files
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VVV", "EEE", "VEV"])
def test_float32_model_file_round_trips_dtype_and_predictions(covariance_type, tmp_path):
    model = GaussianMixture(3, covariance_type=covariance_type, means_init=MEANS_INIT).fit(X32)
    path = gaussmix.save(model, tmp_path / "m.npz")
    loaded = gaussmix.load(path)
    for name in GAUSSIAN_ARRAYS:
        assert getattr(loaded, name).dtype == np.float32
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    np.testing.assert_array_equal(loaded.predict_proba(X32), model.predict_proba(X32))
    np.testing.assert_array_equal(loaded.score_samples(X32), model.score_samples(X32))
    assert loaded.predict_proba(X32).dtype == np.float32


def _tampered(model, path, **changes):
    arrays = {name: getattr(model, name) for name in GAUSSIAN_ARRAYS}
    for name, value in changes.items():
        arrays[name] = value
    for name, value in arrays.items():
        setattr(model, name, value)
    gaussmix.save(model, path)


@pytest.mark.parametrize("change", ["weights", "precisions", "covariances", "mixed dtypes"])
def test_damaged_float32_model_file_is_refused(change, tmp_path):
    model = GaussianMixture(3, covariance_type="full", means_init=MEANS_INIT).fit(X32)
    path = tmp_path / "m.npz"
    changes = {
        "weights": {"weights_": model.weights_ * np.float32(1 + 1e-4)},
        "precisions": {"precisions_": model.precisions_ * np.float32(1.001)},
        "covariances": {"covariances_": model.covariances_ * np.float32(1.01)},
        "mixed dtypes": {"means_": model.means_.astype(np.float64)},
    }[change]
    _tampered(model, path, **changes)
    with pytest.raises(ModelFileError, match="invalid model"):
        gaussmix.load(path)
