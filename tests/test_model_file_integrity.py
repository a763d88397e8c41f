"""The model-file loader is total: every damaged, truncated, foreign or tampered file raises ModelFileError
naming what is wrong, and a file either loads as the model that was saved or not at all (issue 18)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix.exceptions import ModelFileError


def rows(seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(80, 3)), rng.normal(size=(80, 3)) * 0.5 + 4.0])


@pytest.fixture(scope="module", params=["VEV", "full-noise", "kmeans", "classifier-EDDA", "classifier-MclustDA",
                                                "bayesian", "factor-analyzers", "experts"])
def saved(request, tmp_path_factory):
    X = rows()
    y = np.repeat(["a", "b"], 80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = {"VEV": gaussmix.GaussianMixture(2, covariance_type="VEV", random_state=0),
                 "full-noise": gaussmix.GaussianMixture(2, noise="auto", random_state=0),
                 "kmeans": gaussmix.KMeans(2, random_state=0),
                 "classifier-EDDA": gaussmix.GaussianMixtureClassifier(covariance_type=["EEE", "VVV"]),
                 "classifier-MclustDA": gaussmix.GaussianMixtureClassifier(n_components=(1, 2), covariance_type="VVI",
                                                                           random_state=0),
                 "bayesian": gaussmix.BayesianGaussianMixture(3, random_state=0),
                 "factor-analyzers": gaussmix.MixtureOfFactorAnalyzers(2, n_factors=1, random_state=0),
                 "experts": gaussmix.MixtureOfExperts(2, random_state=0),
                 }[request.param]
        if request.param == "experts":
            y = np.where(X[:, 0] > 2, 2.0 * X[:, 1], -X[:, 2]) + 0.1 * np.random.default_rng(1).normal(size=len(X))
        needs_y = request.param.startswith("classifier") or request.param == "experts"
        model = model.fit(X, y) if needs_y else model.fit(X)
    path = tmp_path_factory.mktemp("models") / f"{request.param}.npz"
    gaussmix.save(model, path)
    return path, model, X


def signature(model, X):
    arrays = getattr(model, "weights_", getattr(model, "cluster_centers_", getattr(model, "priors_",
                                                                                 getattr(model, "coef_", None))))
    return model.predict(X), getattr(model, "n_iter_", None), arrays


def test_every_single_bit_flip_is_refused_or_loads_the_same_model(saved, tmp_path):
    path, model, X = saved
    raw = path.read_bytes()
    expected = signature(model, X)
    rng = np.random.default_rng(0)
    damaged = tmp_path / "damaged.npz"
    outcomes = {"refused": 0, "same": 0}
    for _ in range(300):
        data = bytearray(raw)
        position = int(rng.integers(len(data)))
        data[position] ^= 1 << int(rng.integers(8))
        damaged.write_bytes(bytes(data))
        try:
            loaded = gaussmix.load(damaged)
        except ModelFileError as error:
            assert str(error)
            outcomes["refused"] += 1
            continue
        got = signature(loaded, X)  # a flip the archive does not read (a timestamp, padding): the same model
        np.testing.assert_array_equal(got[0], expected[0])
        assert got[1] == expected[1]
        np.testing.assert_array_equal(got[2], expected[2])
        outcomes["same"] += 1
    assert outcomes["refused"] > 200


@pytest.mark.parametrize("cut", [0, 10, 100, 0.5, -20, -1])
def test_truncated_files_are_refused(saved, tmp_path, cut):
    path, _, _ = saved
    raw = path.read_bytes()
    end = int(len(raw) * cut) if isinstance(cut, float) else cut
    (tmp_path / "cut.npz").write_bytes(raw[:end])
    with pytest.raises(ModelFileError):
        gaussmix.load(tmp_path / "cut.npz")


def rewrite(path, out, change_meta=None, change_arrays=None):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    if change_meta:
        change_meta(meta)
    if change_arrays:
        change_arrays(arrays)
    np.savez(out, __meta__=np.array(json.dumps(meta)), **arrays)
    return out


@pytest.mark.parametrize("name, value, words", [
    ("n_iter_", "abc", "n_iter_"), ("converged_", 1, "converged_"), ("n_features_in_", 2.5, "n_features_in_"),
    ("lower_bound_", None, "lower_bound_"),
])
def test_tampered_scalar_metadata_is_refused(tmp_path, name, value, words):
    path = tmp_path / "m.npz"
    gaussmix.save(gaussmix.GaussianMixture(2, random_state=0).fit(rows()), path)

    def tamper(meta):
        meta["attributes"][name] = value

    with pytest.raises(ModelFileError, match=words):
        gaussmix.load(rewrite(path, tmp_path / "t.npz", change_meta=tamper))


@pytest.mark.parametrize("name, value", [("max_iter", "abc"), ("tol", -1.0), ("covariance_type", "banana")])
def test_tampered_parameters_are_refused(tmp_path, name, value):
    path = tmp_path / "m.npz"
    gaussmix.save(gaussmix.GaussianMixture(2, random_state=0).fit(rows()), path)

    def tamper(meta):
        meta["params"][name] = value

    with pytest.raises(ModelFileError, match="parameters"):
        gaussmix.load(rewrite(path, tmp_path / "t.npz", change_meta=tamper))


def test_weights_that_do_not_sum_to_one_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    gaussmix.save(gaussmix.GaussianMixture(2, covariance_type="diag", random_state=0).fit(rows()), path)

    def tamper(arrays):
        arrays["weights_"] = arrays["weights_"] * (1 + 5e-6)

    with pytest.raises(ModelFileError, match="probability vector"):
        gaussmix.load(rewrite(path, tmp_path / "t.npz", change_arrays=tamper))


@pytest.mark.parametrize("labels", [np.array([0, 1, 7]), np.array([0.5, 1.0]), np.array([-1, 0])])
def test_kmeans_labels_are_validated(tmp_path, labels):
    path = tmp_path / "k.npz"
    gaussmix.save(gaussmix.KMeans(2, random_state=0).fit(rows()), path)

    def tamper(arrays):
        arrays["labels_"] = labels

    with pytest.raises(ModelFileError, match="labels_"):
        gaussmix.load(rewrite(path, tmp_path / "t.npz", change_arrays=tamper))


def test_pickled_garbage_is_refused_without_advice_to_allow_pickles(tmp_path):
    garbage = tmp_path / "garbage.npz"
    np.savez(garbage, __meta__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError) as raised:
        gaussmix.load(garbage)
    assert "allow_pickle" not in str(raised.value)
    from gaussmix.fitting.checkpoint import load_checkpoint

    with pytest.raises(ValueError) as raised:
        load_checkpoint(garbage)
    assert "allow_pickle" not in str(raised.value) and "pickle" in str(raised.value)


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04" + b"\x00" * 40, "a,b\n1,2\n".encode()])
def test_foreign_files_and_directories_are_refused(tmp_path, content):
    foreign = tmp_path / "foreign.npz"
    foreign.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a gaussmix model file"):
        gaussmix.load(foreign)
    with pytest.raises(ModelFileError, match="directory"):
        gaussmix.load(tmp_path)


@pytest.mark.parametrize("content, says", [
    ("a,b\n1,2\n".encode(), "this file is not an archive"),
    (b"", "this file is not an archive"),
    (b"\x80\x04\x95 pickled", "pickled data"),
])
def test_a_file_that_is_no_archive_is_called_what_it_is(tmp_path, content, says):
    """numpy calls anything that is neither .npy nor .npz pickled data; a CSV given as a model is not that."""
    foreign = tmp_path / "model.npz"
    foreign.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a gaussmix model file") as raised:
        gaussmix.load(foreign)
    assert says in str(raised.value)
    if says != "pickled data":
        assert "pickle" not in str(raised.value)
