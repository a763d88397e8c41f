"""Checkpoints: an interrupted fit resumes to exactly the model of the uninterrupted fit."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.covariance import STRUCTURE_NAMES


class Interrupt(Exception):
    pass


def _data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [0.5, 4.0, 2.0], [-3.0, 2.0, 1.0]])
    X = centres[rng.integers(0, 4, n)] + rng.standard_normal((n, 3)) * [1.0, 0.7, 1.3]
    return X + 1e4  # a large offset: the checkpoint must restore the centred coordinates exactly


def _interrupt_at(iteration, run_to_interrupt=0):
    runs = {"run": 0}

    def callback(n_iter, mean_log_likelihood, change):
        if n_iter == 1:
            runs["run"] += 1
        if runs["run"] - 1 == run_to_interrupt and n_iter == iteration:
            raise Interrupt

    return callback


def _assert_same_model(resumed, reference):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name))
    assert resumed.lower_bounds_ == reference.lower_bounds_
    assert resumed.lower_bound_ == reference.lower_bound_
    assert (resumed.n_iter_, resumed.converged_) == (reference.n_iter_, reference.converged_)


def _recorder():
    runs = []

    def callback(n_iter, mean_log_likelihood, change):
        if n_iter == 1 or not runs:
            runs.append([])
        runs[-1].append(mean_log_likelihood)

    return runs, callback


@pytest.mark.parametrize("name", STRUCTURE_NAMES)
def test_interrupted_fit_resumes_to_the_uninterrupted_model(tmp_path, name):
    X = _data()
    settings = dict(n_components=4, covariance_type=name, n_init=3, random_state=7, tol=1e-6, max_iter=200)
    reference_runs, record = _recorder()
    reference = GaussianMixture(**settings, callback=record).fit(X)
    path = tmp_path / "fit.ckpt.npz"
    # Interrupt the second initialisation: the resumed fit needs the first one's result and the random
    # generator's state to initialise the third exactly as the uninterrupted fit did.
    with pytest.raises(Interrupt):
        GaussianMixture(**settings, checkpoint=path, callback=_interrupt_at(3, run_to_interrupt=1)).fit(X)
    assert path.exists()
    resumed_runs, record = _recorder()
    resumed = GaussianMixture(**settings, checkpoint=path, callback=record).fit(X)
    _assert_same_model(resumed, reference)
    # The rest of the second run and the whole third run repeat the uninterrupted fit's iterations.
    assert resumed_runs[0] == reference_runs[1][2:]
    assert resumed_runs[1] == reference_runs[2]
    assert not path.exists(), "a finished fit removes its checkpoint"


def test_fit_killed_in_another_process_resumes_here(tmp_path):
    X = _data(1)
    np.save(tmp_path / "X.npy", X)
    path = tmp_path / "fit.ckpt.npz"
    script = textwrap.dedent(f"""
        import os, numpy as np
        from gaussmix import GaussianMixture
        def die(n_iter, ll, change):
            if n_iter == 4:
                os._exit(3)  # no clean-up, like a killed process
        GaussianMixture(4, random_state=0, tol=1e-8, checkpoint={str(path)!r}, callback=die).fit(
            np.load({str(tmp_path / 'X.npy')!r}))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 3, completed.stderr
    assert path.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    resumed = GaussianMixture(4, random_state=0, tol=1e-8, checkpoint=path).fit(X)
    _assert_same_model(resumed, GaussianMixture(4, random_state=0, tol=1e-8).fit(X))


def test_checkpoint_of_another_fit_is_refused(tmp_path):
    X = _data()
    path = tmp_path / "fit.ckpt.npz"
    with pytest.raises(Interrupt):
        GaussianMixture(3, random_state=0, checkpoint=path, callback=_interrupt_at(2)).fit(X)
    with pytest.raises(ValueError, match="other data or settings.*n_components"):
        GaussianMixture(4, random_state=0, checkpoint=path).fit(X)
    with pytest.raises(ValueError, match="other data or settings.*offset"):
        GaussianMixture(3, random_state=0, checkpoint=path).fit(X + 1.0)
    assert path.exists(), "a refused checkpoint is left alone"


def test_unreadable_checkpoint_and_bad_path_give_clear_errors(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not a readable gaussmix checkpoint"):
        GaussianMixture(2, checkpoint=path).fit(_data())
    with pytest.raises(ValueError, match="checkpoint must be a file path"):
        GaussianMixture(2, checkpoint=3).fit(_data())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter is deliberately small
def test_checkpoint_is_rewritten_every_iteration_without_temporary_files(tmp_path):
    path = tmp_path / "fit.ckpt.npz"
    seen = []

    def watch(n_iter, mean_log_likelihood, change):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))

    GaussianMixture(3, random_state=0, tol=0, max_iter=5, checkpoint=path, callback=watch).fit(_data())
    # The callback runs before the iteration's checkpoint is written: from the second iteration on the
    # previous one's file is there, and never a temporary file.
    assert seen[0] == [] and all(names == ["fit.ckpt.npz"] for names in seen[1:])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter is deliberately small
def test_mixture_of_factor_analysers_resumes_too(tmp_path):
    from gaussmix import MixtureOfFactorAnalyzers

    X = np.random.default_rng(3).standard_normal((400, 6)) @ np.random.default_rng(4).standard_normal((6, 6))
    settings = dict(n_components=2, n_factors=2, random_state=0, tol=1e-8, max_iter=60)
    reference = MixtureOfFactorAnalyzers(**settings).fit(X)
    path = tmp_path / "mfa.ckpt.npz"
    with pytest.raises(Interrupt):
        MixtureOfFactorAnalyzers(**settings, checkpoint=path, callback=_interrupt_at(5)).fit(X)
    resumed = MixtureOfFactorAnalyzers(**settings, checkpoint=path).fit(X)
    # Equal to rounding, not bit for bit: restored arrays can be laid out in memory unlike the running
    # fit's packed factors, and BLAS then sums in another order.
    np.testing.assert_allclose(resumed.loadings_, reference.loadings_, rtol=1e-10)
    np.testing.assert_allclose(resumed.noise_variance_, reference.noise_variance_, rtol=1e-10)
    np.testing.assert_allclose(resumed.lower_bounds_, reference.lower_bounds_, rtol=1e-12)
