"""``gaussmix classify`` and a classifier's ``predict`` and ``score``, through a subprocess (issue 16, item 6)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaussmix import GaussianMixtureClassifier, load
from test_cli import assert_user_error, gaussmix

IRIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "iris.csv"


@pytest.fixture()
def work(tmp_path):
    shutil.copy(IRIS, tmp_path / "iris.csv")
    return tmp_path


def test_classify_saves_the_api_s_model_and_reports_accuracy(work):
    completed = gaussmix("classify", "iris.csv", "--label", "label", "-o", "model.npz", "--json", cwd=work)
    summary = json.loads(completed.stdout)
    model = load(work / "model.npz")
    frame = pd.read_csv(IRIS)
    reference = GaussianMixtureClassifier(random_state=0).fit(frame.drop(columns="label").to_numpy(), frame["label"])
    assert summary["model_type"] == "EDDA" and summary["covariance_type"] == reference.covariance_type_
    assert summary["classes"] == ["setosa", "versicolor", "virginica"] and summary["n_unlabelled"] == 0
    np.testing.assert_allclose(model.predict_proba(frame.drop(columns="label")), reference.predict_proba(
        frame.drop(columns="label").to_numpy()), rtol=1e-12, atol=1e-300)
    assert summary["training_accuracy"] == pytest.approx(np.mean(reference.predict(frame.drop(columns="label").to_numpy())
                                                                 == frame["label"]))
    assert np.sum(summary["confusion_matrix"]) == 150
    assert list(model.feature_names_in_) == list(frame.columns[:4])  # the label column is not a feature


def test_predict_writes_the_class_and_one_probability_per_class(work):
    gaussmix("classify", "iris.csv", "--label", "label", "-o", "model.npz", cwd=work)
    gaussmix("predict", "model.npz", "iris.csv", "-o", "classes.csv", cwd=work)
    written = pd.read_csv(work / "classes.csv")
    assert list(written.columns) == ["class", "probability_setosa", "probability_versicolor", "probability_virginica"]
    np.testing.assert_allclose(written.iloc[:, 1:].sum(axis=1), 1.0, rtol=1e-12)
    assert (written["class"] == pd.read_csv(IRIS)["label"]).mean() > 0.95
    assert_user_error(gaussmix("predict", "model.npz", "iris.csv", "-o", "classes.npy", cwd=work, check=False),
                      "holds text")


def test_score_gives_accuracy_and_the_confusion_matrix(work):
    gaussmix("classify", "iris.csv", "--label", "label", "--covariance", "EEE", "-o", "model.npz", cwd=work)
    summary = json.loads(gaussmix("score", "model.npz", "iris.csv", "--label", "label", "--json", cwd=work).stdout)
    assert 0.95 < summary["accuracy"] <= 1.0
    assert np.trace(summary["confusion_matrix"]) == round(summary["accuracy"] * 150)
    assert_user_error(gaussmix("score", "model.npz", "iris.csv", cwd=work, check=False), "--label")


def test_an_empty_label_is_an_unlabelled_row(work):
    frame = pd.read_csv(IRIS)
    partial = frame.copy()
    partial.loc[partial.index % 5 != 0, "label"] = ""
    partial.to_csv(work / "partial.csv", index=False)
    summary = json.loads(gaussmix("classify", "partial.csv", "--label", "label", "-o", "model.npz", "--json",
                                  cwd=work).stdout)
    assert summary["n_labelled"] == 30 and summary["n_unlabelled"] == 120
    model = load(work / "model.npz")
    assert np.mean(model.predict(frame.drop(columns="label")) == frame["label"]) > 0.9


def test_mclustda_from_a_range_of_components(work):
    summary = json.loads(gaussmix("classify", "iris.csv", "--label", "label", "-k", "1-2", "--covariance", "VVV,EEE",
                                  "-o", "model.npz", "--json", cwd=work).stdout)
    assert summary["model_type"] == "MclustDA" and len(summary["n_components"]) == 3


def test_classifier_files_are_refused_where_a_mixture_is_needed(work):
    gaussmix("classify", "iris.csv", "--label", "label", "-o", "model.npz", cwd=work)
    assert_user_error(gaussmix("sample", "model.npz", "-n", "5", "-o", "draws.csv", cwd=work, check=False),
                      "a classifier", "gaussmix fit")
    assert_user_error(gaussmix("classify", "iris.csv", "--label", "nope", "-o", "m2.npz", cwd=work, check=False),
                      "no column named 'nope'")


def test_report_of_a_classifier_has_the_cross_validated_confusion_matrix(work):
    gaussmix("classify", "iris.csv", "--label", "label", "--covariance", "EEE,VVV", "-o", "model.npz", cwd=work)
    gaussmix("report", "iris.csv", "--model", "model.npz", "--label", "label", "-o", "report.html", cwd=work)
    text = (work / "report.html").read_text(encoding="utf-8")
    assert "Cross-validated confusion matrix" in text and "5-fold stratified cross-validation" in text
    assert "Each class's model" in text and "setosa" in text and "BIC (lower is better)" in text
    assert text.count("<table>") >= 4 and "data:image/png;base64," in text
    assert_user_error(gaussmix("report", "iris.csv", "--model", "model.npz", "-o", "r2.html", cwd=work, check=False),
                      "--label")


def test_the_cross_validated_matrix_is_that_of_the_api(work):
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from gaussmix.cli.report import build_classifier_report

    frame = pd.read_csv(IRIS)
    X, y = frame.drop(columns="label").to_numpy(), frame["label"].to_numpy()
    model = GaussianMixtureClassifier(covariance_type="VVV").fit(X, y)
    text = build_classifier_report(model, X, y, plots=False, seed=3)
    predicted = cross_val_predict(clone(model), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=3))
    assert f"accuracy {np.mean(predicted == y):.3f} on 150" in text
