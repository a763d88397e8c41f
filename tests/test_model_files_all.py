"""Model files of BayesianGaussianMixture, MixtureOfFactorAnalyzers and MixtureOfExperts (issue 15, item 5):
a loaded model predicts bit for bit as the saved one, and a tampered file raises ModelFileError."""

import json
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix.exceptions import ModelFileError


def _data(dtype=np.float64, n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n // 2, 3)), rng.normal(4, 0.7, (n // 2, 3))]).astype(dtype)
    y = (np.where(X[:, 0] > 2, 3.0 * X[:, 1], -X[:, 2]) + 0.1 * rng.normal(size=n)).astype(dtype)
    return X, y


def _fit(model, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X) if y is None else model.fit(X, y)


BAYESIAN = {
    "dp-full": dict(n_components=4, random_state=0),
    "dd-diag": dict(n_components=3, covariance_type="diag", weight_concentration_prior_type="dirichlet_distribution",
                    random_state=0),
    "dp-tied": dict(n_components=3, covariance_type="tied", random_state=0),
    "dp-spherical-pruned": dict(n_components=5, covariance_type="spherical", prune=True, random_state=0),
    "priors": dict(n_components=2, mean_prior=[1.0, 2.0, 3.0], covariance_prior=[[2.0, 0.1, 0], [0.1, 1, 0], [0, 0, 1]],
                   degrees_of_freedom_prior=4.5, weight_concentration_prior=0.3, mean_precision_prior=0.5,
                   random_state=0),
}
FACTORS = {
    "diag": dict(n_components=2, n_factors=1, random_state=0),
    "isotropic-shared": dict(n_components=2, n_factors=2, noise_type="isotropic", shared_noise=True, random_state=0),
}
EXPERTS = {
    "full": dict(n_experts=2, random_state=0),
    "diag": dict(n_experts=2, covariance_type="diag", random_state=0),
    "spherical": dict(n_experts=3, covariance_type="spherical", random_state=0),
}


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def _round_trip(model, tmp_path):
    path = gaussmix.save(model, tmp_path / "model.npz")
    loaded = gaussmix.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params()["random_state"] == model.get_params()["random_state"]
    return loaded


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(BAYESIAN))
def test_bayesian_round_trip_keeps_the_posterior(case, dtype, tmp_path):
    X, _ = _data(dtype)
    model = _fit(gaussmix.BayesianGaussianMixture(**BAYESIAN[case]), X)
    loaded = _round_trip(model, tmp_path)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "mean_precision_",
                 "degrees_of_freedom_", "mean_prior_", "covariance_prior_"):
        _same(getattr(loaded, name), getattr(model, name))
    if isinstance(model.weight_concentration_, tuple):
        assert isinstance(loaded.weight_concentration_, tuple)
        for a, b in zip(loaded.weight_concentration_, model.weight_concentration_):
            _same(a, b)
    else:
        _same(loaded.weight_concentration_, model.weight_concentration_)
    for name in ("n_components_", "n_effective_components_", "elbo_", "elbos_", "lower_bound_", "converged_",
                 "weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"):
        assert getattr(loaded, name) == getattr(model, name), name
    _same(loaded.predict(X), model.predict(X))
    _same(loaded.predict_proba(X), model.predict_proba(X))
    _same(loaded.score_samples(X), model.score_samples(X))
    _same(loaded.score_samples(X, predictive=True), model.score_samples(X, predictive=True))
    _same(loaded.weight_credible_intervals(random_state=1), model.weight_credible_intervals(random_state=1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(FACTORS))
def test_factor_analyzers_round_trip(case, dtype, tmp_path):
    X, _ = _data(dtype)
    model = _fit(gaussmix.MixtureOfFactorAnalyzers(**FACTORS[case]), X)
    loaded = _round_trip(model, tmp_path)
    for name in ("weights_", "means_", "loadings_", "noise_variance_"):
        _same(getattr(loaded, name), getattr(model, name))
    for method in ("predict", "predict_proba", "score_samples", "transform", "posterior_factors"):
        _same(getattr(loaded, method)(X), getattr(model, method)(X))
    _same(loaded.get_covariance(), model.get_covariance())
    _same(loaded.sample(7)[0], model.sample(7)[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(EXPERTS))
def test_experts_round_trip(case, dtype, tmp_path):
    X, y = _data(dtype)
    model = _fit(gaussmix.MixtureOfExperts(**EXPERTS[case]), X, y)
    loaded = _round_trip(model, tmp_path)
    for name in ("coef_", "intercept_", "gate_coef_", "gate_intercept_", "covariances_"):
        _same(getattr(loaded, name), getattr(model, name))
    for method in ("predict", "predict_proba"):
        _same(getattr(loaded, method)(X), getattr(model, method)(X))
    for method in ("score_samples", "predict_expert_proba"):
        _same(getattr(loaded, method)(X, y), getattr(model, method)(X, y))
    assert loaded.bic(X, y) == model.bic(X, y)
    _same(loaded.sample(X, random_state=3)[0], model.sample(X, random_state=3)[0])


def test_experts_two_dimensional_targets_stay_two_dimensional(tmp_path):
    X, y = _data()
    Y = np.column_stack([y, X[:, 0] - y])
    model = _fit(gaussmix.MixtureOfExperts(n_experts=2, random_state=0), X, Y)
    loaded = _round_trip(model, tmp_path)
    _same(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).shape == (X.shape[0], 2)
    _same(loaded.score_samples(X, Y), model.score_samples(X, Y))
    column = _round_trip(_fit(gaussmix.MixtureOfExperts(n_experts=2, random_state=0), X, y[:, None]), tmp_path)
    assert column.predict(X).shape == (X.shape[0], 1)


def test_feature_names_are_kept(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    for model in (_fit(gaussmix.BayesianGaussianMixture(n_components=2, random_state=0), frame),
                  _fit(gaussmix.MixtureOfFactorAnalyzers(n_components=2, random_state=0), frame),
                  _fit(gaussmix.MixtureOfExperts(n_experts=2, random_state=0), frame, y)):
        loaded = _round_trip(model, tmp_path)
        assert list(loaded.feature_names_in_) == ["a", "b", "c"]
        _same(loaded.predict(frame), model.predict(frame))


# --------------------------------------------------------------------------------------------- tampering
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One file of each new kind: name -> (meta, arrays)."""
    folder = tmp_path_factory.mktemp("models")
    X, y = _data()
    models = {
        "bayes": _fit(gaussmix.BayesianGaussianMixture(n_components=3, random_state=0), X),
        "bayes-dd": _fit(gaussmix.BayesianGaussianMixture(
            n_components=3, covariance_type="spherical", weight_concentration_prior_type="dirichlet_distribution",
            random_state=0), X),
        "mfa": _fit(gaussmix.MixtureOfFactorAnalyzers(n_components=2, n_factors=1, random_state=0), X),
        "experts": _fit(gaussmix.MixtureOfExperts(n_experts=2, random_state=0), X, y),
        "experts-diag": _fit(gaussmix.MixtureOfExperts(n_experts=2, covariance_type="diag", random_state=0), X, y),
    }
    files = {}
    for name, model in models.items():
        path = gaussmix.save(model, folder / f"{name}.npz")
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        files[name] = (json.loads(str(arrays["__meta__"])), arrays)
    return files


def _tampered(saved, tmp_path, name, *, array=None, value=None, meta=None):
    original_meta, arrays = saved[name]
    meta_copy = json.loads(json.dumps(original_meta))
    arrays = dict(arrays)
    if array is not None:
        arrays[array] = value(arrays[array].copy()) if callable(value) else value
    if meta is not None:
        meta(meta_copy)
    arrays["__meta__"] = np.array(json.dumps(meta_copy))
    path = tmp_path / "tampered.npz"
    np.savez(path, **arrays)
    return path


def _set(array, index, value):
    array[index] = value
    return array


TAMPERINGS = [
    ("bayes", "weight_concentration_", lambda a: _set(a, (0, 1), -1.0), "weight_concentration_"),
    ("bayes", "weight_concentration_", lambda a: a[0], "weight_concentration_"),
    ("bayes-dd", "weight_concentration_", lambda a: _set(a, 0, 0.0), "weight_concentration_"),
    ("bayes", "mean_precision_", lambda a: _set(a, 0, -2.0), "mean_precision_"),
    ("bayes", "mean_precision_", lambda a: a[:2], "mean_precision_"),
    ("bayes", "degrees_of_freedom_", lambda a: _set(a, 0, 1.0), "degrees_of_freedom_"),
    ("bayes", "degrees_of_freedom_", lambda a: _set(a, 1, np.nan), "NaN"),
    ("bayes", "means_", lambda a: a[:, :2], "means_"),
    ("bayes", "weights_", lambda a: a * 1.1, "probability"),
    ("bayes", "precisions_", lambda a: a * 1.01, "precisions_"),
    ("bayes", "mean_prior_", lambda a: a[:2], "mean_prior_"),
    ("bayes", "covariance_prior_", lambda a: -a, "covariance_prior"),
    ("bayes-dd", "covariance_prior_", lambda a: np.asarray(-1.0), "covariance_prior"),
    ("bayes", "covariances_", lambda a: a.astype(np.float32), "float"),
    ("mfa", "loadings_", lambda a: a[:, :, :0], "loadings_"),
    ("mfa", "loadings_", lambda a: _set(a, (0, 0, 0), np.inf), "infinity"),
    ("mfa", "noise_variance_", lambda a: _set(a, (1, 2), 0.0), "noise_variance_"),
    ("mfa", "noise_variance_", lambda a: a[:, :2], "noise_variance_"),
    ("mfa", "weights_", lambda a: _set(a, 0, -0.5), "probability"),
    ("mfa", "means_", lambda a: a.astype(str), "numeric"),
    ("experts", "coef_", lambda a: a[:, :, :2], "coef_"),
    ("experts", "intercept_", lambda a: np.zeros((2, 2)), "intercept_"),
    ("experts", "gate_coef_", lambda a: _set(a, 0, np.nan), "NaN"),
    ("experts", "gate_intercept_", lambda a: a[:1], "gate_intercept_"),
    ("experts", "covariances_", lambda a: -a, "positive definite"),
    ("experts", "covariances_", lambda a: a[:, :, 0], "covariances_"),
    ("experts-diag", "covariances_", lambda a: _set(a, (0, 0), 0.0), "positive"),
]


@pytest.mark.parametrize("name, array, change, message", TAMPERINGS,
                         ids=[f"{t[0]}-{t[1]}-{i}" for i, t in enumerate(TAMPERINGS)])
def test_tampered_arrays_are_refused(saved, tmp_path, name, array, change, message):
    with pytest.raises(ModelFileError, match=message):
        gaussmix.load(_tampered(saved, tmp_path, name, array=array, value=change))


def _attribute(name, value):
    return lambda meta: meta["attributes"].__setitem__(name, value)


def _param(name, value):
    return lambda meta: meta["params"].__setitem__(name, value)


META_TAMPERINGS = [
    ("bayes", _attribute("n_components_", 7), "n_components_"),
    ("bayes", _attribute("n_components_", 2), "shape|n_components"),
    ("bayes", _attribute("n_effective_components_", -1), "n_effective_components_"),
    ("bayes", _attribute("weight_concentration_prior_", 0.0), "weight_concentration_prior_"),
    ("bayes", _attribute("degrees_of_freedom_prior_", 1.0), "degrees_of_freedom_prior_"),
    ("bayes", _attribute("elbo_", "high"), "elbo_"),
    ("bayes", _param("weight_concentration_prior_type", "dirichlet_distribution"), "weight_concentration_"),
    ("bayes", _param("weight_concentration_prior_type", "pitman_yor"), "parameters"),
    ("bayes", _param("mean_prior", [1.0, 2.0]), "parameters"),
    ("bayes", _param("covariance_prior", [[1.0, 0, 0], [0, -1, 0], [0, 0, 1]]), "parameters"),
    ("bayes", _param("covariance_type", "tied"), "shape"),
    ("mfa", _param("n_factors", 2), "loadings_"),
    ("mfa", _param("n_factors", 3), "n_factors"),
    ("mfa", _param("n_factors", -1), "parameters"),
    ("mfa", _param("noise_type", "isotropic"), "isotropic"),
    ("mfa", _param("shared_noise", True), "shared_noise"),
    ("mfa", _param("n_components", 3), "n_components"),
    ("mfa", _attribute("noise_weight_", 0.5), "probability"),
    ("experts", _param("n_experts", 3), "coef_"),
    ("experts", _param("covariance_type", "spherical"), "covariances_"),
    ("experts", _param("covariance_type", "banana"), "parameters"),
    ("experts", _param("gate_penalty", -1.0), "parameters"),
    ("experts", _attribute("_y_ndim", 3), "_y_ndim"),
    ("experts", _attribute("n_features_in_", 4), "coef_"),
    ("experts", _attribute("feature_names_in_", ["a"]), "feature_names_in_"),
    ("experts", _attribute("secret_", 1), "unknown attributes"),
]


@pytest.mark.parametrize("name, change, message", META_TAMPERINGS,
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(META_TAMPERINGS)])
def test_tampered_metadata_is_refused(saved, tmp_path, name, change, message):
    with pytest.raises(ModelFileError, match=message):
        gaussmix.load(_tampered(saved, tmp_path, name, meta=change))


def test_multi_target_experts_refuse_one_dimensional_y(tmp_path):
    X, y = _data()
    model = _fit(gaussmix.MixtureOfExperts(n_experts=2, random_state=0), X, np.column_stack([y, y]))
    path = gaussmix.save(model, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["__meta__"]))
    meta["attributes"]["_y_ndim"] = 1
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(ModelFileError, match="targets"):
        gaussmix.load(tmp_path / "t.npz")


def test_missing_array_is_refused(saved, tmp_path):
    meta, arrays = saved["bayes"]
    arrays = {key: value for key, value in arrays.items() if key != "degrees_of_freedom_"}
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(ModelFileError, match="missing arrays"):
        gaussmix.load(tmp_path / "t.npz")


# ------------------------------------------------------------------------------------------- command line
def test_command_line_uses_the_new_files_or_says_why(tmp_path, capsys):
    from gaussmix.cli.main import main

    X, y = _data()
    data = tmp_path / "data.csv"
    np.savetxt(data, X, delimiter=",", header="a,b,c", comments="")
    bayes = gaussmix.save(_fit(gaussmix.BayesianGaussianMixture(n_components=2, random_state=0), X),
                          tmp_path / "bayes.npz")
    mfa = gaussmix.save(_fit(gaussmix.MixtureOfFactorAnalyzers(n_components=2, random_state=0), X),
                        tmp_path / "mfa.npz")
    experts = gaussmix.save(_fit(gaussmix.MixtureOfExperts(n_experts=2, random_state=0), X, y),
                            tmp_path / "experts.npz")
    for model in (bayes, mfa):
        assert main(["predict", str(model), str(data), "-o", str(tmp_path / f"{model.stem}.csv")]) == 0
        assert main(["score", str(model), str(data)]) == 0
    capsys.readouterr()
    for command in (["predict", str(experts), str(data), "-o", str(tmp_path / "e.csv")],
                    ["score", str(experts), str(data)],
                    ["sample", str(experts), "-n", "3", "-o", str(tmp_path / "s.csv")],
                    ["report", str(data), "--model", str(mfa), "-o", str(tmp_path / "r.html")]):
        with pytest.raises(SystemExit) as exit_:
            raise SystemExit(main(command))
        assert exit_.value.code == 2
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0 and ("cannot use it" in error or "needs a Gaussian mixture" in error), error
