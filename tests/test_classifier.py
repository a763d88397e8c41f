"""GaussianMixtureClassifier: EDDA against linear discriminant analysis and exact per-class Gaussians, MclustDA
against select_model per class, semi-supervised EM (MclustSSC), priors, small classes, scikit-learn's API."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import select_model
from gaussmix.estimators.classifier import GaussianMixtureClassifier
from gaussmix.exceptions import DataError

DATA = "../shared/data"


def load(name):
    from pathlib import Path

    frame = pd.read_csv(Path(__file__).resolve().parents[2] / "shared" / "data" / f"{name}.csv")
    return frame.drop(columns="label").to_numpy(float), frame["label"].to_numpy()


@pytest.fixture(scope="module")
def iris():
    return load("iris")


@pytest.fixture(scope="module")
def wine():
    return load("wine")


@parametrize_with_checks([GaussianMixtureClassifier(),
                          GaussianMixtureClassifier(n_components=(1, 2), covariance_type="VVI", model_type="MclustDA")])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # structures skipped for tiny classes
        check(estimator)


def test_edda_with_a_shared_covariance_is_linear_discriminant_analysis(iris):
    X, y = iris
    ours = GaussianMixtureClassifier(covariance_type="EEE", reg_covar=0.0).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), lda.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), lda.predict(X))


def test_edda_vvv_is_one_maximum_likelihood_gaussian_per_class(iris):
    X, y = iris
    model = GaussianMixtureClassifier(covariance_type="VVV", reg_covar=0.0).fit(X, y)
    joint = []
    for label in model.classes_:
        rows = X[y == label]
        covariance = np.cov(rows, rowvar=False, bias=True)
        joint.append(np.log(np.mean(y == label)) + multivariate_normal(rows.mean(axis=0), covariance).logpdf(X))
    joint = np.column_stack(joint)
    expected = np.exp(joint - np.logaddexp.reduce(joint, axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(model.priors_, [1 / 3] * 3)


def test_edda_chooses_the_lowest_bic_of_every_structure(wine):
    X, y = wine
    model = GaussianMixtureClassifier().fit(X, y)
    assert len(model.candidates_) == 14
    fitted = [c for c in model.candidates_ if not c["failed"]]
    assert model.covariance_type_ == min(fitted, key=lambda c: c["bic"])["covariance_type"]
    assert model.bic() == min(c["bic"] for c in fitted)
    # The BIC is -2 log L + p log n with the complete-data log-likelihood of the labelled rows.
    p = {"EEE": 13 * 14 // 2}.get(model.covariance_type_)
    if p is not None:
        assert model.bic() == pytest.approx(-2 * model.log_likelihood_ + (p + 3 * 13 + 2) * np.log(len(y)))


def test_edda_by_cross_validation_picks_the_most_accurate_structure(iris):
    X, y = iris
    model = GaussianMixtureClassifier(covariance_type=["EEE", "VVV", "EII"], selection="cv", random_state=0).fit(X, y)
    accuracies = {c["covariance_type"]: c["cv_accuracy"] for c in model.candidates_}
    assert model.covariance_type_ == max(accuracies, key=lambda name: accuracies[name])
    assert accuracies["EII"] < accuracies["EEE"]


def test_mclustda_fits_each_class_as_select_model_does(iris):
    X, y = iris
    model = GaussianMixtureClassifier(n_components=range(1, 3), covariance_type=["VVV", "EEE"], random_state=0).fit(X, y)
    assert model.model_type_ == "MclustDA"
    for label, class_model in zip(model.classes_, model.models_):
        reference = select_model(X[y == label], n_components=range(1, 3), covariance_types=["VVV", "EEE"],
                                 random_state=0, reg_covar=1e-6)
        assert class_model.covariance_type == reference.best_params_["covariance_type"]
        assert class_model.n_components == reference.best_params_["n_components"]
        np.testing.assert_allclose(class_model.means_, reference.best_estimator_.means_, rtol=1e-10)
    joint = np.log(model.priors_) + np.column_stack([m.score_samples(X) for m in model.models_])
    np.testing.assert_allclose(model.predict_log_proba(X), joint - np.logaddexp.reduce(joint, axis=1, keepdims=True),
                               atol=1e-10)


def test_a_list_gives_each_class_its_own_components(iris):
    X, y = iris
    model = GaussianMixtureClassifier(n_components=[1, 2, (1, 3)], covariance_type="VVI", random_state=0).fit(X, y)
    assert model.n_components_[:2] == [1, 2] and model.n_components_[2] in (1, 3)
    with pytest.raises(ValueError, match="one entry per class: expected 3, got 2"):
        GaussianMixtureClassifier(n_components=[1, 2]).fit(X, y)


@pytest.mark.parametrize("name", ["iris", "wine", "thyroid", "banknote", "diabetes"])
def test_cross_validated_accuracy_is_within_two_points_of_the_better_of_lda_and_qda(name):
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    X, y = load(name)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    ours = cross_val_score(GaussianMixtureClassifier(), X, y, cv=folds).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = max(cross_val_score(LinearDiscriminantAnalysis(), X, y, cv=folds).mean(),
                   cross_val_score(QuadraticDiscriminantAnalysis(), X, y, cv=folds).mean())
    assert ours >= best - 0.02, (ours, best)


def _six_labelled_per_class(y, seed):
    rng = np.random.default_rng(seed)
    labelled = np.concatenate([rng.choice(np.flatnonzero(y == c), 6, replace=False) for c in np.unique(y)])
    partial = np.full_like(y, -1)
    partial[labelled] = y[labelled]
    return partial, labelled


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_semi_supervised_wine_beats_the_labelled_rows_alone(wine, seed):
    X, y = wine
    partial, labelled = _six_labelled_per_class(y, seed)
    unlabelled = partial == -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        semi = GaussianMixtureClassifier(unlabelled_label=-1).fit(X, partial)
        alone = GaussianMixtureClassifier().fit(X[labelled], y[labelled])
    semi_accuracy = np.mean(semi.predict(X[unlabelled]) == y[unlabelled])
    assert semi_accuracy >= 0.90
    assert semi_accuracy > np.mean(alone.predict(X[unlabelled]) == y[unlabelled])
    trace = np.asarray(semi.mixture_.lower_bounds_)
    assert len(trace) > 1 and np.all(np.diff(trace) >= 0)  # the semi-supervised objective never goes down
    np.testing.assert_array_equal(semi.classes_, [0, 1, 2])


def test_semi_supervised_keeps_labelled_rows_in_their_class(wine):
    """The labelled rows' responsibilities are fixed: refitting with their labels permuted among themselves
    moves the class means with them."""
    X, y = wine
    partial, labelled = _six_labelled_per_class(y, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = GaussianMixtureClassifier(covariance_type="VVI", unlabelled_label=-1).fit(X, partial)
    # Every class mean is closer to its labelled rows' mean than to another class's labelled mean.
    for c in range(3):
        labelled_mean = X[partial == c].mean(axis=0)
        distances = [np.linalg.norm(model.mixture_.means_[k] - labelled_mean) for k in range(3)]
        assert int(np.argmin(distances)) == c


def test_minus_one_is_a_class_unless_it_is_declared_unlabelled(iris):
    X, y = iris
    signs = np.where(y == "setosa", -1, 1)
    model = GaussianMixtureClassifier(covariance_type="EEE").fit(X, signs)
    np.testing.assert_array_equal(model.classes_, [-1, 1])
    with pytest.raises(ValueError, match="at least two classes"):
        GaussianMixtureClassifier(unlabelled_label=-1).fit(X, signs)


def test_all_rows_labelled_is_the_supervised_fit(iris):
    X, y = iris
    codes = np.unique(y, return_inverse=True)[1]
    supervised = GaussianMixtureClassifier(covariance_type="VEV").fit(X, codes)
    assert supervised.n_iter_ == 1 and supervised.converged_
    np.testing.assert_allclose(supervised.mixture_.means_,
                               [X[codes == c].mean(axis=0) for c in range(3)], rtol=1e-12)


def test_semi_supervised_needs_one_component_per_class(iris):
    X, y = iris
    partial = np.unique(y, return_inverse=True)[1]
    partial[::2] = -1
    with pytest.raises(ValueError, match="one Gaussian per class"):
        GaussianMixtureClassifier(n_components=2, unlabelled_label=-1).fit(X, partial)


def test_given_priors_shift_the_decision(iris):
    X, y = iris
    even = GaussianMixtureClassifier(covariance_type="VVV").fit(X, y)
    tilted = GaussianMixtureClassifier(covariance_type="VVV", priors=[0.01, 0.01, 0.98]).fit(X, y)
    np.testing.assert_allclose(tilted.priors_, [0.01, 0.01, 0.98])
    assert np.sum(tilted.predict(X) == "virginica") > np.sum(even.predict(X) == "virginica")
    with pytest.raises(ValueError, match="priors must sum to one"):
        GaussianMixtureClassifier(priors=[0.5, 0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="priors must be 3 positive numbers"):
        GaussianMixtureClassifier(priors=[0.5, 0.5]).fit(X, y)


def test_a_class_too_small_for_every_model_is_named_with_the_minimum(iris):
    X, y = iris
    keep = np.concatenate([np.flatnonzero(y != "setosa"), np.flatnonzero(y == "setosa")[:3]])
    with pytest.raises(DataError, match=r"class 'setosa' has 3 rows; the smallest model tried needs 5"):
        GaussianMixtureClassifier(n_components=(1, 2), covariance_type="VVV").fit(X[keep], y[keep])


def test_edda_skips_structures_a_small_class_cannot_support_with_a_warning(iris):
    X, y = iris
    keep = np.concatenate([np.flatnonzero(y != "setosa"), np.flatnonzero(y == "setosa")[:3]])
    with pytest.warns(UserWarning, match="skipped the structures"):
        model = GaussianMixtureClassifier().fit(X[keep], y[keep])
    skipped = [c for c in model.candidates_ if c["failed"]]
    assert any(c["covariance_type"] == "VVV" and "5 per class" in c["reason"] for c in skipped)
    assert get_shared(model.covariance_type_) or model.covariance_type_ in {"EII", "VII", "EEI", "VEI", "EVI", "VVI"}


def get_shared(name):
    from gaussmix.covariance import get_structure

    return get_structure(name).shared


def test_pipeline_and_grid_search_with_string_labels(iris):
    X, y = iris
    search = GridSearchCV(make_pipeline(StandardScaler(), GaussianMixtureClassifier()),
                          {"gaussianmixtureclassifier__covariance_type": ["EEE", "VVV"]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert set(search.predict(X)) == {"setosa", "versicolor", "virginica"}


def test_bad_settings_are_named(iris):
    X, y = iris
    with pytest.raises(ValueError, match="model_type must be one of"):
        GaussianMixtureClassifier(model_type="QDA").fit(X, y)
    with pytest.raises(ValueError, match="model_type='EDDA' fits one component per class"):
        GaussianMixtureClassifier(n_components=2, model_type="EDDA").fit(X, y)
    with pytest.raises(ValueError, match="at least two classes"):
        GaussianMixtureClassifier().fit(X, np.zeros(len(X)))


@pytest.mark.parametrize("settings", [dict(), dict(n_components=(1, 2), covariance_type="VVV", random_state=0)])
def test_a_saved_classifier_loads_and_predicts_the_same(iris, tmp_path, settings):
    from gaussmix import load, save

    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = GaussianMixtureClassifier(**settings).fit(frame, y)
    save(model, tmp_path / "classifier.npz")
    loaded = load(tmp_path / "classifier.npz")
    assert type(loaded) is GaussianMixtureClassifier and loaded.model_type_ == model.model_type_
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_array_equal(loaded.feature_names_in_, ["a", "b", "c", "d"])
    assert loaded.bic() == model.bic()


def test_a_tampered_classifier_file_is_refused(iris, tmp_path):
    import json

    from gaussmix import load, save
    from gaussmix.exceptions import ModelFileError

    X, y = iris
    path = tmp_path / "classifier.npz"
    save(GaussianMixtureClassifier(covariance_type="EEE").fit(X, y), path)
    with np.load(path, allow_pickle=False) as archive:
        contents = {name: archive[name] for name in archive.files}
    meta = json.loads(str(contents["__meta__"]))

    def write(meta, **arrays):
        broken = tmp_path / "broken.npz"
        np.savez(broken, **{**contents, **arrays, "__meta__": np.array(json.dumps(meta))})
        return broken

    with pytest.raises(ModelFileError, match="priors_ is not a probability vector"):
        load(write(meta, priors_=np.array([0.5, 0.5, 0.5])))
    with pytest.raises(ModelFileError, match="classes_ is not a list"):
        load(write({**meta, "attributes": {**meta["attributes"], "classes_": ["setosa"]}}))
    with pytest.raises(ModelFileError, match="members are not"):
        load(write({**meta, "members": []}))
    with pytest.raises(ModelFileError, match="weights_ are not a probability vector"):
        load(write(meta, **{"mixture.weights_": np.array([0.9, 0.9, 0.9])}))


@pytest.mark.parametrize("kind", ["npy", "chunks", "dask"])
def test_semi_supervised_on_a_chunked_source_equals_in_memory(wine, tmp_path, kind):
    X, y = wine
    partial, _ = _six_labelled_per_class(y, 0)
    if kind == "npy":
        np.save(tmp_path / "wine.npy", X)
        source = str(tmp_path / "wine.npy")
    elif kind == "chunks":
        source = [X[start:start + 50] for start in range(0, X.shape[0], 50)]
    else:
        da = pytest.importorskip("dask.array")
        source = da.from_array(X, chunks=(50, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        in_memory = GaussianMixtureClassifier(covariance_type=["VVI", "EEE"], unlabelled_label=-1).fit(X, partial)
        chunked = GaussianMixtureClassifier(covariance_type=["VVI", "EEE"], unlabelled_label=-1).fit(source, partial)
    assert chunked.covariance_type_ == in_memory.covariance_type_
    np.testing.assert_allclose(chunked.mixture_.means_, in_memory.mixture_.means_, rtol=1e-8)
    np.testing.assert_allclose(chunked.predict_proba(X), in_memory.predict_proba(X), atol=1e-8)
    np.testing.assert_array_equal(chunked.predict(source), in_memory.predict(X))


def test_mclustda_needs_the_data_in_memory(wine):
    X, y = wine
    with pytest.raises(ValueError, match="need the data in memory"):
        GaussianMixtureClassifier(n_components=(1, 2)).fit([X[:100], X[100:]], y)
