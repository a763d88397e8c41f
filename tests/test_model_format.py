"""Model files of format version 1 written by an earlier gaussmix stay readable and usable.

``tests/data/model-v1-*.npz`` were written once, by gaussmix 0.1.0 (the code is :func:`write_fixtures`), and
are committed. Never regenerate them to make this file pass: a change that cannot read them any more breaks
every user's saved models, and must come with a new ``format_version`` (docs/model-format.md) and a reader for
version 1. The oracle for the mixture is the documented meaning of the stored arrays, evaluated with scipy.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gaussmix
from gaussmix.datasets import load_faithful

DATA = Path(__file__).resolve().parent / "data"
MIXTURE = DATA / "model-v1-VEV-noise.npz"
KMEANS = DATA / "model-v1-kmeans.npz"


def raw(path):
    """The archive as documented: JSON metadata and plain arrays, no pickle."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(str(arrays.pop("__meta__"))), arrays


def test_v1_mixture_file_loads_and_means_what_the_format_says():
    meta, arrays = raw(MIXTURE)
    assert (meta["format"], meta["format_version"], meta["estimator"]) == ("gaussmix-model", 1, "GaussianMixture")
    model = gaussmix.load(MIXTURE)
    assert (model.covariance_type, model.n_components, model.n_features_in_) == ("VEV", 2, 2)
    assert list(model.feature_names_in_) == ["eruptions", "waiting"]
    assert model.noise_weight_ == meta["attributes"]["noise_weight_"] > 0
    assert model.weights_.sum() + model.noise_weight_ == pytest.approx(1.0, abs=1e-12)
    del model.feature_names_in_  # used on plain arrays below

    # The density from the raw arrays, as docs/model-format.md defines them (VEV: dense (K, d, d) covariances),
    # plus the uniform noise term noise_weight_ / noise_volume_.
    X, _ = load_faithful()
    attributes = meta["attributes"]
    terms = [np.log(w) + multivariate_normal(m, c).logpdf(X)
             for w, m, c in zip(arrays["weights_"], arrays["means_"], arrays["covariances_"])]
    terms.append(np.full(len(X), np.log(attributes["noise_weight_"] / attributes["noise_volume_"])))
    expected = logsumexp(np.column_stack(terms), axis=1)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    # The file was fitted to faithful: the stored bound is the mean log-likelihood of these parameters there.
    assert model.score(X) == pytest.approx(attributes["lower_bound_"], rel=1e-10)

    probabilities = model.predict_proba(X)
    assert probabilities.shape == (len(X), 3)  # two Gaussians and the noise
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    labels = model.predict(X)
    assert set(labels) <= {-1, 0, 1} and np.bincount(labels + 1).min() > 0


def test_v1_mixture_file_survives_a_rewrite(tmp_path):
    model = gaussmix.load(MIXTURE)
    again = gaussmix.load(gaussmix.save(model, tmp_path / "again.npz"))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))
    assert list(again.feature_names_in_) == list(model.feature_names_in_)
    assert (again.noise_weight_, again.noise_volume_) == (model.noise_weight_, model.noise_volume_)


def test_v1_kmeans_file_loads_and_is_usable():
    meta, arrays = raw(KMEANS)
    assert (meta["format_version"], meta["estimator"]) == (1, "KMeans")
    model = gaussmix.load(KMEANS)
    X, _ = load_faithful()
    np.testing.assert_array_equal(model.predict(X), arrays["labels_"])  # fitted to faithful
    distances = ((X[:, None, :] - arrays["cluster_centers_"][None]) ** 2).sum(axis=2)
    assert -model.score(X) == pytest.approx(distances.min(axis=1).sum(), rel=1e-12)
    assert -model.score(X) == pytest.approx(meta["attributes"]["inertia_"], rel=1e-10)


def write_fixtures(folder) -> None:
    """How the fixtures were made (gaussmix 0.1.0; pandas gives the column names). Not run by the tests."""
    import pandas as pd

    X, names = load_faithful()
    frame = pd.DataFrame({name: X[:, i] for i, name in enumerate(names)})
    model = gaussmix.GaussianMixture(2, covariance_type="VEV", noise="auto", n_init=1, random_state=0, tol=1e-8,
                                     max_iter=500).fit(frame)
    gaussmix.save(model, Path(folder) / MIXTURE.name, overwrite=False)
    gaussmix.save(gaussmix.KMeans(3, random_state=0, n_init=1).fit(X), Path(folder) / KMEANS.name, overwrite=False)


if __name__ == "__main__":
    write_fixtures(sys.argv[1])
