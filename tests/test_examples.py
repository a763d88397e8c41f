"""The scripts in examples/ run and write their plots (the Old Faithful selection is marked slow)."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from gaussmix.datasets import load_faithful

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_example(name, output_dir, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setattr(sys, "argv", [name, str(output_dir)])
    namespace = runpy.run_path(str(EXAMPLES / name), run_name="example")
    result = namespace["main"](str(output_dir))
    import matplotlib.pyplot as plt

    plt.close("all")
    return result


def assert_png(path):
    assert path.is_file(), path
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000


def test_one_dimensional_three_components(tmp_path, monkeypatch):
    model = run_example("one_dimensional_three_components.py", tmp_path, monkeypatch)
    assert_png(tmp_path / "one_dimensional_three_components.png")
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.means_[order, 0], [-2, 4, 8], atol=0.15)
    np.testing.assert_allclose(model.weights_[order], [0.6, 0.3, 0.1], atol=0.03)


def test_two_dimensional_two_components(tmp_path, monkeypatch):
    model = run_example("two_dimensional_two_components.py", tmp_path, monkeypatch)
    assert_png(tmp_path / "two_dimensional_two_components.png")
    order = np.argsort(model.means_[:, 0])
    # The lecture's parameters, recovered from 3000 samples (standard errors: means <= 0.1, variances <= 0.3).
    np.testing.assert_allclose(model.weights_[order], [2 / 3, 1 / 3], atol=0.03)
    np.testing.assert_allclose(model.means_[order], [[-2, 0], [2, 2]], atol=0.2)
    np.testing.assert_allclose(model.covariances_[order], [[[1, 0], [0, 9]], [[1, 0.8], [0.8, 1]]], atol=0.6)
    np.testing.assert_allclose(model.covariances_[order][:, 0, 0], [1, 1], atol=0.15)


def test_kmeans_limit_of_em(tmp_path, monkeypatch):
    sigmas, distances, hardness = run_example("kmeans_limit_of_em.py", tmp_path, monkeypatch)
    assert_png(tmp_path / "kmeans_limit_of_em.png")
    assert distances[-1] < 1e-8  # at small sigma, fixed-variance EM *is* k-means
    assert hardness[-1] > 1 - 1e-9 and hardness[0] < 0.5
    assert np.all(np.diff(hardness) >= -1e-12)  # responsibilities harden as sigma shrinks


@pytest.mark.slow
def test_old_faithful_model_selection(tmp_path, monkeypatch):
    result = run_example("old_faithful_model_selection.py", tmp_path, monkeypatch)
    assert result.best_params_ == {"covariance_type": "EEE", "n_components": 3}  # mclust's Mclust(faithful)
    X, _ = load_faithful()
    assert -result.best_estimator_.bic(X) == pytest.approx(-2314.3, abs=0.1)  # mclust's BIC for EEE,3
    assert_png(tmp_path / "old_faithful_bic.png")
    assert_png(tmp_path / "old_faithful_clusters.png")
