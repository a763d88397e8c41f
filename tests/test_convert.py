"""from_sklearn / to_sklearn: the same model in both libraries, identical predictions both ways."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix
from gaussmix import GaussianMixture, from_sklearn

STRUCTURES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(1)
    # unequal, non-unit, correlated components, so that a covariance/precision mix-up cannot pass
    return np.vstack([rng.multivariate_normal([0, 0, 0], [[2.0, 0.6, 0], [0.6, 0.5, 0.1], [0, 0.1, 1.5]], 300),
                      rng.multivariate_normal([4, -1, 2], [[0.3, 0, 0], [0, 1.2, -0.4], [0, -0.4, 0.8]], 200)])


def assert_same_predictions(a, b, X):
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_to_sklearn(covariance_type, X):
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=500).fit(X)
    theirs = ours.to_sklearn()
    assert isinstance(theirs, SklearnGaussianMixture)
    assert theirs.get_params()["covariance_type"] == covariance_type
    assert_same_predictions(ours, theirs, X)
    assert theirs.bic(X) == pytest.approx(ours.bic(X), rel=1e-12)
    assert theirs.means_ is not ours.means_  # a copy: changing one model does not change the other


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_from_sklearn(covariance_type, X, tmp_path):
    theirs = SklearnGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ours = from_sklearn(theirs)
    assert isinstance(ours, GaussianMixture)
    assert_same_predictions(theirs, ours, X)
    # and it is a complete gaussmix model: it saves, loads and converts back
    gaussmix.save(ours, tmp_path / "m.npz")
    again = gaussmix.load(tmp_path / "m.npz").to_sklearn()
    assert_same_predictions(theirs, again, X)


def test_bad_input():
    with pytest.raises(TypeError, match="sklearn.mixture.GaussianMixture"):
        from_sklearn(GaussianMixture(2))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        from_sklearn(SklearnGaussianMixture(2))
    with pytest.raises(NotFittedError):
        GaussianMixture(2).to_sklearn()


@pytest.mark.parametrize("covariance_type", ["VEV", "EVE", "EEI"])
def test_mclust_structures_convert_to_sklearn_full_with_the_same_densities(covariance_type, X):
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=500).fit(X)
    theirs = ours.to_sklearn()
    assert theirs.get_params()["covariance_type"] == "full"
    assert_same_predictions(ours, theirs, X)


def test_a_noise_component_does_not_convert(X):
    with pytest.raises(ValueError, match="noise component"):
        GaussianMixture(2, noise="auto", random_state=0).fit(X).to_sklearn()
