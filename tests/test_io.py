"""Model files: exact round trip, no pickle, atomic writes, and refusal of anything invalid.

Corrupt files are built by loading the arrays of a good file and rewriting them with ``np.savez``.
"""

import json
import os

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture, KMeans, ModelFileError

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def make_data(n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(3, n_features))
    scales = rng.uniform(0.5, 2.0, size=(3, n_features))
    return np.vstack([c + s * rng.normal(size=(70, n_features)) for c, s in zip(centres, scales)])


@pytest.fixture(scope="module")
def X():
    return make_data()


def fitted_mixture(X, covariance_type, **params):
    return GaussianMixture(3, covariance_type=covariance_type, random_state=0, **params).fit(X)


def assert_same_array(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit-identical, NaN-safe


def assert_same_params(loaded, original):
    original_params, loaded_params = original.get_params(), loaded.get_params()
    assert set(loaded_params) == set(original_params)
    for name, value in original_params.items():
        if value is None or isinstance(value, (str, bool, int, float)):
            assert loaded_params[name] == value and type(loaded_params[name]) is type(value), name
        else:
            np.testing.assert_array_equal(np.asarray(loaded_params[name]), np.asarray(value), err_msg=name)


# ----------------------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_round_trip_is_exact(tmp_path, X, covariance_type):
    model = fitted_mixture(X, covariance_type, tol=1e-5, reg_covar=1e-5, n_init=2,
                           means_init=None, weights_init=[0.2, 0.3, 0.5])
    path = gaussmix.save(model, tmp_path / "model.npz")
    loaded = gaussmix.load(path)
    assert type(loaded) is GaussianMixture
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_same_array(getattr(loaded, name), getattr(model, name))
    for name in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_", "n_reseeded_"):
        assert getattr(loaded, name) == getattr(model, name), name
    assert_same_params(loaded, model)
    new = make_data(seed=1)
    assert_same_array(loaded.predict(new), model.predict(new))
    assert_same_array(loaded.predict_proba(new), model.predict_proba(new))
    assert_same_array(loaded.score_samples(new), model.score_samples(new))
    assert loaded.score(new) == model.score(new)
    assert loaded.bic(new) == model.bic(new)
    assert_same_array(loaded.sample(50)[0], model.sample(50)[0])  # same random_state, same draws


def test_round_trip_keeps_array_parameters(tmp_path, X):
    means_init = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [-5.0, 0.0, 5.0]])
    model = fitted_mixture(X, "full", means_init=means_init)
    loaded = gaussmix.load(gaussmix.save(model, tmp_path / "model.npz"))
    assert_same_params(loaded, model)
    assert_same_array(loaded.means_, model.means_)
    # The loaded estimator refits exactly like the original (all parameters survived).
    assert_same_array(loaded.fit(X).means_, model.fit(X).means_)


def test_kmeans_round_trip_is_exact(tmp_path, X):
    model = KMeans(n_clusters=4, init="random", n_init=3, tol=1e-6, random_state=3).fit(X)
    loaded = gaussmix.load(gaussmix.save(model, tmp_path / "kmeans.npz"))
    assert type(loaded) is KMeans
    assert_same_array(loaded.cluster_centers_, model.cluster_centers_)
    assert_same_array(loaded.labels_, model.labels_)
    for name in ("converged_", "n_iter_", "inertia_", "n_features_in_"):
        assert getattr(loaded, name) == getattr(model, name), name
    assert_same_params(loaded, model)
    new = make_data(seed=2)
    assert_same_array(loaded.predict(new), model.predict(new))
    assert_same_array(loaded.transform(new), model.transform(new))
    assert loaded.score(new) == model.score(new)


def _dataframe(X, columns):
    """A dataframe from any library scikit-learn understands, or skip (pandas is not installed here)."""
    for module in ("pandas", "polars", "pyarrow"):
        try:
            library = __import__(module)
        except ImportError:
            continue
        data = {name: X[:, i] for i, name in enumerate(columns)}
        if module == "pandas":
            return library.DataFrame(data)
        if module == "polars":
            return library.DataFrame(data)
        return library.table(data)
    pytest.skip("no dataframe library (pandas, polars, pyarrow) installed: cannot fit with feature names")


def test_round_trip_with_feature_names(tmp_path, X):
    frame = _dataframe(X, ["alpha", "beta", "gamma"])
    model = GaussianMixture(3, random_state=0).fit(frame)
    assert list(model.feature_names_in_) == ["alpha", "beta", "gamma"]
    loaded = gaussmix.load(gaussmix.save(model, tmp_path / "named.npz"))
    assert list(loaded.feature_names_in_) == ["alpha", "beta", "gamma"]
    assert_same_array(loaded.predict(frame), model.predict(frame))


# ------------------------------------------------------------------------------------ not a pickle
def test_file_is_a_plain_npz_without_pickle(tmp_path, X):
    model = fitted_mixture(X, "full", callback=lambda *args: None)
    path = gaussmix.save(model, tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as archive:  # would raise on any object array
        names = set(archive.files)
        arrays = {name: archive[name] for name in names}
    assert {"__meta__", "weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"} <= names
    assert all(array.dtype != object for array in arrays.values())
    meta = json.loads(str(arrays["__meta__"]))
    assert meta["format"] == "gaussmix-model" and meta["format_version"] == 1
    assert meta["estimator"] == "GaussianMixture"
    assert gaussmix.load(path).get_params()["callback"] is None  # callables are not stored


def test_saving_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        gaussmix.save(GaussianMixture(2), tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ atomic writes
def test_saving_over_an_existing_file_replaces_it_and_leaves_no_temporaries(tmp_path, X):
    first = fitted_mixture(X, "full")
    second = fitted_mixture(X, "tied")
    path = tmp_path / "model.npz"
    gaussmix.save(first, path)
    gaussmix.save(second, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    loaded = gaussmix.load(path)
    assert loaded.covariance_type == "tied"
    assert_same_array(loaded.means_, second.means_)


def test_save_can_refuse_to_replace_a_file(tmp_path, X):
    path = tmp_path / "model.npz"
    gaussmix.save(fitted_mixture(X, "full"), path, overwrite=False)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        gaussmix.save(fitted_mixture(X, "tied"), path, overwrite=False)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temporary file's 0600


def test_failed_write_leaves_the_old_file_intact(tmp_path, X, monkeypatch):
    first = fitted_mixture(X, "full")
    path = tmp_path / "model.npz"
    gaussmix.save(first, path)
    before = path.read_bytes()

    def crash_mid_write(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        gaussmix.save(fitted_mixture(X, "diag"), path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert path.read_bytes() == before
    assert_same_array(gaussmix.load(path).means_, first.means_)


def test_failed_rename_leaves_the_old_file_intact(tmp_path, X, monkeypatch):
    first = fitted_mixture(X, "full")
    path = tmp_path / "model.npz"
    gaussmix.save(first, path)
    before = path.read_bytes()

    def interrupted(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gaussmix.save(fitted_mixture(X, "diag"), path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------------------ refusals
@pytest.fixture
def good_file(tmp_path, X):
    path = gaussmix.save(fitted_mixture(X, "full"), tmp_path / "good.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return path, arrays


def rewrite(tmp_path, arrays, name="corrupt.npz", **changes):
    contents = {**arrays, **changes}
    contents = {key: value for key, value in contents.items() if value is not None}
    path = tmp_path / name
    np.savez(path, **contents)
    return path


def with_meta(arrays, edit):
    meta = json.loads(str(arrays["__meta__"]))
    edit(meta)
    return np.array(json.dumps(meta))


def test_good_file_loads(good_file):
    # The corruptions below start from this file, so it must itself be valid.
    path, arrays = good_file
    assert isinstance(gaussmix.load(rewrite(path.parent, arrays, name="copy.npz")), GaussianMixture)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        gaussmix.load(tmp_path / "nothing-here.npz")


def test_text_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("weights_,means_\n0.5,1.0\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not a gaussmix model file"):
        gaussmix.load(path)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.95])
def test_truncated_file(good_file, tmp_path, fraction):
    path, _ = good_file
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match="not a gaussmix model file"):
        gaussmix.load(truncated)


def test_npz_without_metadata(good_file, tmp_path):
    _, arrays = good_file
    with pytest.raises(ModelFileError, match="metadata"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=None))


def test_metadata_that_is_not_json(good_file, tmp_path):
    _, arrays = good_file
    with pytest.raises(ModelFileError, match="metadata"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=np.array("{'format': 'gaussmix-model'")))


def test_wrong_format_tag(good_file, tmp_path):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m.update(format="someone-elses-model"))
    with pytest.raises(ModelFileError, match="format tag"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


@pytest.mark.parametrize("version", [2, 99, 0, "1", None])
def test_unsupported_format_version(good_file, tmp_path, version):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m.update(format_version=version))
    with pytest.raises(ModelFileError, match="format version"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


def test_unknown_estimator(good_file, tmp_path):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m.update(estimator="DirichletMixture"))
    with pytest.raises(ModelFileError, match="unknown estimator"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))
    # A known kind (BayesianGaussianMixture has files since issue 15) whose arrays are not in the file.
    meta = with_meta(arrays, lambda m: m.update(estimator="BayesianGaussianMixture"))
    with pytest.raises(ModelFileError, match="missing arrays"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


def test_unknown_constructor_parameter(good_file, tmp_path):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m["params"].update(n_clusters=3))
    with pytest.raises(ModelFileError, match="parameters"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


def test_missing_array(good_file, tmp_path):
    _, arrays = good_file
    with pytest.raises(ModelFileError, match=r"missing arrays.*precisions_cholesky_"):
        gaussmix.load(rewrite(tmp_path, arrays, precisions_cholesky_=None))


def test_missing_required_attribute_in_metadata(good_file, tmp_path):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m["attributes"].pop("n_features_in_"))
    with pytest.raises(ModelFileError):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


@pytest.mark.parametrize("names", [["a"], ["a", "b", 3], "abc", [["a", "b", "c"]]])
def test_feature_names_must_be_one_string_per_feature(good_file, tmp_path, names):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m["attributes"].update(feature_names_in_=names))
    with pytest.raises(ModelFileError, match="feature_names_in_"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


@pytest.mark.parametrize("name", ["__class__", "predict", "_structure"])
def test_metadata_cannot_set_arbitrary_attributes(good_file, tmp_path, name):
    # Only the documented fitted attributes belong in a model file; anything else is refused or ignored,
    # never allowed to replace a method or break the object.
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m["attributes"].update({name: "overwritten"}))
    path = rewrite(tmp_path, arrays, __meta__=meta)
    try:
        loaded = gaussmix.load(path)
    except ModelFileError:
        return
    assert type(loaded) is GaussianMixture
    assert callable(loaded.predict)
    loaded.predict(make_data(seed=5))


def test_weights_not_summing_to_one(good_file, tmp_path):
    _, arrays = good_file
    weights = arrays["weights_"].copy()
    weights[0] += 0.1
    with pytest.raises(ModelFileError, match="weights_ are not a probability vector"):
        gaussmix.load(rewrite(tmp_path, arrays, weights_=weights))


def test_negative_weight(good_file, tmp_path):
    _, arrays = good_file
    weights = arrays["weights_"].copy()
    weights[0], weights[1] = -0.1, weights[1] + weights[0] + 0.1
    with pytest.raises(ModelFileError, match="weights_ are not a probability vector"):
        gaussmix.load(rewrite(tmp_path, arrays, weights_=weights))


@pytest.mark.parametrize("name", ["means_", "weights_", "covariances_", "precisions_cholesky_"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_values(good_file, tmp_path, name, value):
    _, arrays = good_file
    array = arrays[name].copy()
    array.flat[0] = value
    with pytest.raises(ModelFileError, match=rf"{name} contains NaN or infinity"):
        gaussmix.load(rewrite(tmp_path, arrays, **{name: array}))


def test_non_numeric_array(good_file, tmp_path):
    _, arrays = good_file
    means = np.full(arrays["means_"].shape, "x")
    with pytest.raises(ModelFileError, match="not numeric"):
        gaussmix.load(rewrite(tmp_path, arrays, means_=means))


def test_precision_factor_with_negative_diagonal(good_file, tmp_path):
    _, arrays = good_file
    factors = arrays["precisions_cholesky_"].copy()
    factors[1, 0, 0] *= -1.0
    # Keep precisions_ consistent (U U^T does not see the sign), so the diagonal check itself must refuse it.
    precisions = factors @ factors.transpose(0, 2, 1)
    with pytest.raises(ModelFileError, match="not positive definite"):
        gaussmix.load(rewrite(tmp_path, arrays, precisions_cholesky_=factors, precisions_=precisions))


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_non_positive_diagonal_precision_factors(tmp_path, X, covariance_type):
    path = gaussmix.save(fitted_mixture(X, covariance_type), tmp_path / "good.npz")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    factors = arrays["precisions_cholesky_"].copy()
    factors.flat[0] = -factors.flat[0]
    with pytest.raises(ModelFileError, match="not positive definite"):
        gaussmix.load(rewrite(tmp_path, arrays, precisions_cholesky_=factors, precisions_=factors**2))


def test_precision_factor_not_triangular(good_file, tmp_path):
    _, arrays = good_file
    factors = arrays["precisions_cholesky_"].copy()
    factors[0, 2, 0] = 0.25
    with pytest.raises(ModelFileError, match="triangular"):
        gaussmix.load(rewrite(tmp_path, arrays, precisions_cholesky_=factors,
                              precisions_=factors @ factors.transpose(0, 2, 1)))


@pytest.mark.parametrize("name, shape_of", [
    ("weights_", lambda a: a["weights_"][:2]),
    ("means_", lambda a: a["means_"][:, :2]),
    ("means_", lambda a: a["means_"][:2]),
    ("covariances_", lambda a: a["covariances_"][:2]),
    ("precisions_", lambda a: a["precisions_"][:, :2, :2]),
    ("precisions_cholesky_", lambda a: a["precisions_cholesky_"][0]),
], ids=["weights-short", "means-features", "means-components", "covariances-components", "precisions-features",
        "cholesky-dropped-axis"])
def test_wrong_shapes(good_file, tmp_path, name, shape_of):
    _, arrays = good_file
    with pytest.raises(ModelFileError, match="shape"):
        gaussmix.load(rewrite(tmp_path, arrays, **{name: shape_of(arrays)}))


def test_covariance_type_disagreeing_with_arrays(good_file, tmp_path):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m["params"].update(covariance_type="diag"))
    with pytest.raises(ModelFileError, match="shape"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


def test_n_features_in_disagreeing_with_means(good_file, tmp_path):
    _, arrays = good_file
    meta = with_meta(arrays, lambda m: m["attributes"].update(n_features_in_=5))
    with pytest.raises(ModelFileError, match="n_features_in_"):
        gaussmix.load(rewrite(tmp_path, arrays, __meta__=meta))


def test_precisions_inconsistent_with_their_factors(good_file, tmp_path):
    _, arrays = good_file
    with pytest.raises(ModelFileError, match="precisions_ do not match precisions_cholesky_"):
        gaussmix.load(rewrite(tmp_path, arrays, precisions_=arrays["precisions_"] * 1.001))


def test_covariances_inconsistent_with_precisions(good_file, tmp_path):
    # covariances_ drive sample(); precisions_cholesky_ drive every density. A file where they describe
    # different models must not load.
    _, arrays = good_file
    with pytest.raises(ModelFileError, match="covariances_"):
        gaussmix.load(rewrite(tmp_path, arrays, covariances_=arrays["covariances_"] * 2.0))


@pytest.fixture
def good_kmeans_file(tmp_path, X):
    path = gaussmix.save(KMeans(3, random_state=0).fit(X), tmp_path / "kmeans.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return path, arrays


def test_kmeans_non_finite_centres(good_kmeans_file, tmp_path):
    _, arrays = good_kmeans_file
    centres = arrays["cluster_centers_"].copy()
    centres[1, 1] = np.nan
    with pytest.raises(ModelFileError, match="cluster_centers_ contains NaN"):
        gaussmix.load(rewrite(tmp_path, arrays, cluster_centers_=centres))


@pytest.mark.parametrize("shape_of", [
    lambda c: c[:2],
    lambda c: c[:, :2],
    lambda c: np.hstack([c, c[:, :1]]),
    lambda c: c.ravel(),
], ids=["fewer-centres-than-n_clusters", "fewer-features-than-n_features_in_",
        "more-features-than-n_features_in_", "flattened"])
def test_kmeans_wrong_centre_shapes(good_kmeans_file, tmp_path, shape_of):
    _, arrays = good_kmeans_file
    with pytest.raises(ModelFileError, match="shape"):
        gaussmix.load(rewrite(tmp_path, arrays, cluster_centers_=shape_of(arrays["cluster_centers_"])))
