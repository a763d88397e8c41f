"""Extreme rows and extreme scales (issue 18): one far row never breaks a batch, data too large for double
precision are refused with the reason, and an absolute reg_covar that swamps small-scale data is reported."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import gaussmix
from gaussmix import ScaleWarning
from gaussmix.exceptions import DataError


def two_blobs(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(120, 2)), rng.normal(size=(80, 2)) * [4.0, 0.5] + [9.0, 0.0]])
    return X, np.repeat([0, 1], [120, 80])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VVE", "EEV"])
def test_one_far_row_gets_minus_infinity_and_the_others_are_unchanged(covariance_type):
    X, _ = two_blobs()
    model = gaussmix.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    far = np.vstack([X[:20], [[1e160, 1e160]], [[-1e200, 0.5]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        log_density = model.score_samples(far)
        probabilities = model.predict_proba(far)
        labels = model.predict(far)
    np.testing.assert_array_equal(log_density[:20], model.score_samples(X[:20]))
    np.testing.assert_array_equal(probabilities[:20], model.predict_proba(X[:20]))
    np.testing.assert_array_equal(labels[:20], model.predict(X[:20]))
    assert np.all(log_density[20:] == -np.inf)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(labels, probabilities.argmax(axis=1))
    assert model.score(far) == -np.inf


def test_a_far_row_belongs_to_the_component_that_is_widest_towards_it():
    """Far out along the first axis, the component with the larger variance there has the larger density."""
    X, _ = two_blobs()
    model = gaussmix.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    wide = int(np.argmax(model.covariances_[:, 0]))
    narrow_in_second = int(np.argmax(model.covariances_[:, 1]))
    assert model.predict([[1e170, 0.0]])[0] == wide
    assert model.predict([[0.0, -1e170]])[0] == narrow_in_second


def test_data_whose_squares_overflow_are_refused_with_the_reason():
    X, _ = two_blobs()
    with pytest.raises(DataError, match="too large for double precision"):
        gaussmix.GaussianMixture(2, random_state=0).fit(X * 1e300)


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_far_but_representable_scales_fit_like_unit_scale(scale):
    X, truth = two_blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScaleWarning)
        model = gaussmix.GaussianMixture(2, random_state=0, reg_covar=1e-6 * scale**2).fit(X * scale)
    assert adjusted_rand_score(truth, model.predict(X * scale)) > 0.9


def test_a_swamping_reg_covar_is_reported_with_the_value_to_use():
    X, truth = two_blobs()
    small = X * 1e-6
    with pytest.warns(ScaleWarning, match=r"reg_covar=1e-06 is .* times the variance of feature") as caught:
        gaussmix.GaussianMixture(2, random_state=0).fit(small)
    advised = float(str(caught[0].message).split("e.g. reg_covar=")[1].split(" ")[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        model = gaussmix.GaussianMixture(2, random_state=0, reg_covar=advised).fit(small)
    assert adjusted_rand_score(truth, model.predict(small)) > 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        gaussmix.GaussianMixture(2, random_state=0).fit(X)  # unit scale: nothing to report


def test_a_constant_feature_is_named_in_a_warning():
    X, _ = two_blobs()
    X = np.column_stack([X, np.full(len(X), 3.0)])
    with pytest.warns(ScaleWarning, match=r"feature 2 is constant .* depend on reg_covar"):
        gaussmix.GaussianMixture(2, random_state=0).fit(X)
    import pandas as pd

    frame = pd.DataFrame(X, columns=["width", "height", "site"])
    with pytest.warns(ScaleWarning, match="feature 'site' is constant"):
        gaussmix.GaussianMixture(2, random_state=0).fit(frame)
