"""Bad input is refused with a clear ValueError before any work starts.

"Before any work" is shown through observable behaviour: a progress callback that records every EM
iteration is never called, and the estimator gains no fitted attribute.
"""

import numpy as np
import pytest

from gaussmix import DataError, GaussianMixture, KMeans


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + [6.0, 0.0]])


class RecordingCallback:
    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)


def assert_refused_before_work(X, match, sample_weight=None, **params):
    """Fit must raise ValueError matching ``match``, without a single EM iteration or fitted attribute."""
    callback = RecordingCallback()
    params.setdefault("n_components", 2)
    model = GaussianMixture(callback=callback, random_state=0, **params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, sample_weight=sample_weight)
    assert callback.calls == []
    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_", "converged_", "lower_bound_"):
        assert not hasattr(model, attribute), attribute
    return model


def test_recording_callback_is_called_on_good_input(X):
    # Makes the "never called" assertions below meaningful.
    callback = RecordingCallback()
    GaussianMixture(2, callback=callback, random_state=0).fit(X)
    assert len(callback.calls) >= 1


# ----------------------------------------------------------------------------------------- data: fit
@pytest.mark.parametrize("value, match", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")])
def test_non_finite_X_in_fit(X, value, match):
    X = X.copy()
    X[17, 1] = value
    assert_refused_before_work(X, match)
    with pytest.raises(ValueError, match=match):
        KMeans(2).fit(X)


def test_fewer_samples_than_components(X):
    model = assert_refused_before_work(X[:3], r"n_samples.*n_components", n_components=5)
    with pytest.raises(DataError, match=r"n_samples.*n_components.*got n_samples=3"):
        model.fit(X[:3])
    with pytest.raises(ValueError, match=r"n_samples.*n_clusters"):
        KMeans(5).fit(X[:3])


def test_one_dimensional_X(X):
    assert_refused_before_work(X[:, 0], "Expected 2D array")
    with pytest.raises(ValueError, match="Expected 2D array"):
        KMeans(2).fit(X[:, 0])


@pytest.mark.parametrize("shape, match", [((0, 2), r"0 sample\(s\)"), ((10, 0), r"0 feature\(s\)")])
def test_empty_X(shape, match):
    assert_refused_before_work(np.empty(shape), match, n_components=1)
    with pytest.raises(ValueError, match=match):
        KMeans(1).fit(np.empty(shape))


# ---------------------------------------------------------------------------------- data: prediction
@pytest.fixture
def fitted(X):
    return GaussianMixture(2, random_state=0).fit(X)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score"])
@pytest.mark.parametrize("value, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_X_at_prediction(fitted, X, method, value, match):
    X = X.copy()
    X[3, 0] = value
    with pytest.raises(ValueError, match=match):
        getattr(fitted, method)(X)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score"])
@pytest.mark.parametrize("n_features", [1, 3])
def test_wrong_number_of_features_at_prediction(fitted, method, n_features):
    with pytest.raises(ValueError, match=rf"X has {n_features} features.*expecting 2 features"):
        getattr(fitted, method)(np.ones((4, n_features)))


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_kmeans_wrong_number_of_features_at_prediction(X, method):
    kmeans = KMeans(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X has 3 features.*expecting 2 features"):
        getattr(kmeans, method)(np.ones((4, 3)))


# -------------------------------------------------------------------------------------- sample_weight
def _weights_with(n, index, value):
    weights = np.ones(n)
    weights[index] = value
    return weights


@pytest.mark.parametrize("make_weights, match", [
    (lambda n: _weights_with(n, 5, -1.0), "[Nn]egative"),
    (lambda n: _weights_with(n, 5, np.nan), "NaN"),
    (lambda n: _weights_with(n, 5, np.inf), "infinity"),
    (lambda n: np.ones(n - 1), r"sample_weight.*shape.*expected"),
    (lambda n: np.ones((n, 1)), r"sample_weight.*shape.*expected"),
    (lambda n: np.zeros(n), "sums to zero"),
    (lambda n: np.r_[1.0, np.zeros(n - 1)], r"at least that many samples with positive"),
])
def test_bad_sample_weight(X, make_weights, match):
    sample_weight = make_weights(X.shape[0])
    assert_refused_before_work(X, match, sample_weight=sample_weight)
    kmeans = KMeans(2)
    with pytest.raises(ValueError, match=match):
        kmeans.fit(X, sample_weight=sample_weight)
    assert not hasattr(kmeans, "cluster_centers_")


def test_fewer_positive_weights_than_components(X):
    sample_weight = np.zeros(X.shape[0])
    sample_weight[[0, 1, 2]] = [1.0, 2.0, 0.5]
    assert_refused_before_work(X, r"n_components=4 needs at least.*positive.*got 3", sample_weight=sample_weight,
                               n_components=4)
    with pytest.raises(ValueError, match=r"n_clusters=4 needs at least.*positive.*got 3"):
        KMeans(4).fit(X, sample_weight=sample_weight)
    # Exactly as many positive weights as clusters is allowed: each cluster gets one of those rows.
    kmeans = KMeans(3, random_state=0).fit(X, sample_weight=sample_weight)
    np.testing.assert_allclose(np.sort(kmeans.cluster_centers_, axis=0), np.sort(X[:3], axis=0))


# ----------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("params, match", [
    (dict(n_components=0), r"n_components must be an integer >= 1"),
    (dict(n_components=1.5), r"n_components must be an integer >= 1"),
    (dict(n_components=-2), r"n_components must be an integer >= 1"),
    (dict(covariance_type="bogus"), r"covariance_type must be one of.*'bogus'"),
    (dict(tol=-1e-3), r"tol must be a non-negative"),
    (dict(tol=np.nan), r"tol must be a non-negative finite"),
    (dict(reg_covar=-1e-6), r"reg_covar must be a non-negative"),
    (dict(max_iter=-1), r"max_iter must be an integer >= 0"),
    (dict(n_init=0), r"n_init must be an integer >= 1"),
    (dict(init_params="bogus"), r"init_params must be one of.*'bogus'"),
    (dict(on_degenerate="bogus"), r"on_degenerate must be one of.*'bogus'"),
])
def test_invalid_parameters(X, params, match):
    assert_refused_before_work(X, match, **{"n_components": 2, **params})


def test_invalid_parameters_are_checked_before_the_data(X):
    # A bad parameter is reported even when the data are bad too (parameters come first).
    X = X.copy()
    X[0, 0] = np.nan
    assert_refused_before_work(X, "covariance_type", covariance_type="bogus")


def test_constructor_does_not_validate_and_fit_does_not_change_parameters(X):
    model = GaussianMixture(n_components=0, covariance_type="bogus")  # sklearn convention: no checks in __init__
    assert model.get_params()["covariance_type"] == "bogus"
    with pytest.raises(ValueError):
        model.fit(X)
    assert model.get_params()["n_components"] == 0


# ------------------------------------------------------------------------------- initial parameters
@pytest.mark.parametrize("weights_init, match", [
    ([1.0], r"weights_init has shape \(1,\), expected \(2,\)"),
    ([[0.5, 0.5]], r"weights_init has shape"),
    ([1.5, -0.5], r"weights_init must be in \[0, 1\]"),
    ([0.3, 0.3], r"weights_init must sum to 1"),
    ([np.nan, 0.5], r"weights_init contains NaN"),
])
def test_bad_weights_init(X, weights_init, match):
    assert_refused_before_work(X, match, weights_init=weights_init)


@pytest.mark.parametrize("means_init", [np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(2)])
def test_bad_means_init_shape(X, means_init):
    assert_refused_before_work(X, r"means_init has shape .*expected \(2, 2\)", means_init=means_init)


def test_non_finite_means_init(X):
    assert_refused_before_work(X, r"means_init contains NaN", means_init=[[0.0, np.nan], [1.0, 1.0]])


@pytest.mark.parametrize("covariance_type, precisions_init, match", [
    ("full", np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]), r"precisions_init\[1\] is not symmetric positive definite"),
    ("full", np.array([np.eye(2), -np.eye(2)]), r"precisions_init\[1\] is not symmetric positive definite"),
    ("full", np.array([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]]), r"precisions_init\[1\] is not symmetric"),
    ("full", np.ones((2, 2)), r"precisions_init has shape \(2, 2\), expected \(2, 2, 2\)"),
    ("tied", np.array([[1.0, 2.0], [2.0, 1.0]]), r"precisions_init.* is not symmetric positive definite"),
    ("tied", np.array([[1.0, 0.3], [0.0, 1.0]]), r"precisions_init.* is not symmetric"),
    ("tied", np.eye(3), r"precisions_init has shape \(3, 3\), expected \(2, 2\)"),
    ("diag", np.array([[1.0, 1.0], [1.0, -1.0]]), r"precisions_init must be finite and strictly positive"),
    ("diag", np.array([[1.0, 1.0], [1.0, 0.0]]), r"precisions_init must be finite and strictly positive"),
    ("diag", np.ones(2), r"precisions_init has shape \(2,\), expected \(2, 2\)"),
    ("spherical", np.array([1.0, -1.0]), r"precisions_init must be finite and strictly positive"),
    ("spherical", np.ones(3), r"precisions_init has shape \(3,\), expected \(2,\)"),
    ("full", np.array([np.eye(2), np.full((2, 2), np.nan)]), r"precisions_init contains NaN"),
])
def test_bad_precisions_init(X, covariance_type, precisions_init, match):
    assert_refused_before_work(X, match, covariance_type=covariance_type, precisions_init=precisions_init)


def test_valid_initial_parameters_are_accepted(X):
    # The same shapes with valid values fit fine, so the refusals above are about the values.
    model = GaussianMixture(2, weights_init=[0.5, 0.5], means_init=[[0.0, 0.0], [6.0, 0.0]],
                            precisions_init=np.array([np.eye(2), np.eye(2)]), random_state=0).fit(X)
    assert np.all(np.isfinite(model.means_))


# --------------------------------------------------------------------------------------------- KMeans
@pytest.mark.parametrize("n_clusters", [0, -1, 1.5, "3", None, True])
def test_kmeans_bad_n_clusters(X, n_clusters):
    kmeans = KMeans(n_clusters=n_clusters)
    with pytest.raises(ValueError, match=r"n_clusters must be an integer >= 1"):
        kmeans.fit(X)
    assert not hasattr(kmeans, "cluster_centers_")


@pytest.mark.parametrize("init", [np.zeros((2, 2)), np.zeros((3, 3)), np.zeros(6), np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 0.0]])])
def test_kmeans_bad_init_array(X, init):
    kmeans = KMeans(n_clusters=3, init=init)
    with pytest.raises(ValueError, match=r"init array must be finite with shape \(n_clusters, n_features\) = \(3, 2\)"):
        kmeans.fit(X)
    assert not hasattr(kmeans, "cluster_centers_")


@pytest.mark.parametrize("params, match", [
    (dict(init="bogus"), r"init must be 'k-means\+\+', 'random', a callable or an array"),
    (dict(n_init=0), r"n_init must be an integer >= 1"),
    (dict(max_iter=0), r"max_iter must be an integer >= 1"),
    (dict(tol=-1.0), r"tol must be a non-negative"),
])
def test_kmeans_bad_parameters(X, params, match):
    kmeans = KMeans(n_clusters=2, **params)
    with pytest.raises(ValueError, match=match):
        kmeans.fit(X)
    assert not hasattr(kmeans, "cluster_centers_")


def test_nan_in_x_names_missing_em():
    from gaussmix import GaussianMixture
    from gaussmix.exceptions import DataError

    X = np.random.default_rng(0).normal(size=(30, 2))
    X[3, 1] = np.nan
    with pytest.raises(DataError, match="missing='em'"):
        GaussianMixture(2).fit(X)
    GaussianMixture(2, missing="em", random_state=0).fit(X)  # and with it, the fit goes through


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    import gaussmix

    model = gaussmix.GaussianMixture(1).fit(np.random.default_rng(0).normal(size=(10, 2)))
    with pytest.raises(FileNotFoundError, match=r"folder .*nowhere does not exist") as caught:
        gaussmix.save(model, tmp_path / "nowhere" / "model.npz")
    assert ".tmp" not in str(caught.value)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        gaussmix.save(model, tmp_path / "a_file" / "model.npz")
