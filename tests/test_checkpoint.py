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


def _interrupted(path, X, **settings):
    """Run a fit with a checkpoint until ``settings['callback']`` interrupts it; the checkpoint stays."""
    with pytest.raises(Interrupt):
        GaussianMixture(**settings, checkpoint=path).fit(X)
    assert path.exists()


@pytest.mark.parametrize("source", ["npy", "dask"])
def test_out_of_core_and_dask_fits_resume_to_the_uninterrupted_model(tmp_path, source):
    X = _data(2)
    np.save(tmp_path / "X.npy", X)
    if source == "npy":
        data = str(tmp_path / "X.npy")
    else:
        data = pytest.importorskip("dask.array").from_array(X, chunks=(150, -1))
    settings = dict(n_components=4, n_init=2, random_state=3, tol=1e-6, chunk_size=100)
    reference = GaussianMixture(**settings).fit(data)
    path = tmp_path / "fit.ckpt.npz"
    _interrupted(path, data, **settings, callback=_interrupt_at(3, run_to_interrupt=1))
    _assert_same_model(GaussianMixture(**settings, checkpoint=path).fit(data), reference)
    # A fit interrupted in memory resumes from the same data out of core (or on Dask): the engine is not
    # part of the fingerprint, and every engine cuts the same chunks. Equal to rounding (Dask adds in a tree).
    _interrupted(path, X, **settings, callback=_interrupt_at(3, run_to_interrupt=1))
    resumed = GaussianMixture(**settings, checkpoint=path).fit(data)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(resumed, name), getattr(reference, name), rtol=1e-10)
    assert resumed.n_iter_ == reference.n_iter_ and not path.exists()


@pytest.mark.parametrize("name", ["means_init", "weights_init", "precisions_init"])
def test_a_checkpoint_with_other_initial_arrays_is_refused(tmp_path, name):
    X = _data()
    start = dict(means_init=X[[0, 100, 200]], weights_init=[0.2, 0.3, 0.5],
                 precisions_init=np.stack([np.eye(3)] * 3))
    path = tmp_path / "fit.ckpt.npz"
    _interrupted(path, X, n_components=3, covariance_type="full", callback=_interrupt_at(2), **start)
    changed = dict(start)
    changed[name] = {"means_init": X[[1, 100, 200]], "weights_init": [0.3, 0.3, 0.4],
                     "precisions_init": np.stack([2.0 * np.eye(3)] * 3)}[name]
    with pytest.raises(ValueError, match=f"other data or settings \\(differs in {name}\\)"):
        GaussianMixture(3, covariance_type="full", checkpoint=path, **changed).fit(X)
    # The same arrays given as lists are the same settings: the fit resumes.
    same = {key: np.asarray(value).tolist() for key, value in start.items()}
    reference = GaussianMixture(3, covariance_type="full", **start).fit(X)
    _assert_same_model(GaussianMixture(3, covariance_type="full", checkpoint=path, **same).fit(X), reference)


def test_a_checkpoint_of_changed_data_is_refused_even_with_the_same_size_weight_and_first_chunk(tmp_path):
    X = _data()
    settings = dict(n_components=3, random_state=0, chunk_size=100)
    path = tmp_path / "fit.ckpt.npz"
    _interrupted(path, X, **settings, callback=_interrupt_at(2))
    one_value_changed = X.copy()
    one_value_changed[250, 1] += 0.5  # after the first chunk (the offset), not one of the spread-out rows
    with pytest.raises(ValueError, match=r"differs in feature_variance\)"):
        GaussianMixture(**settings, checkpoint=path).fit(one_value_changed)
    reordered = X.copy()
    reordered[[300, 599]] = reordered[[599, 300]]  # the same rows (same moments), the last one moved
    with pytest.raises(ValueError, match=r"differs in spread_rows\)"):
        GaussianMixture(**settings, checkpoint=path).fit(reordered)
    with pytest.raises(ValueError, match=r"differs in chunk_size, offset"):  # chunks fix the offset
        GaussianMixture(**dict(settings, chunk_size=150), checkpoint=path).fit(X)
    assert path.exists()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter is deliberately small
def test_max_iter_may_change_on_resume_only_where_the_uninterrupted_fit_would_agree(tmp_path):
    X = _data()
    path = tmp_path / "fit.ckpt.npz"
    settings = dict(n_components=4, random_state=1, tol=1e-10)
    # Interrupted in iteration 4 of 6 (the checkpoint holds iteration 3): continuing with a larger limit is the
    # fit with that limit ...
    _interrupted(path, X, **settings, max_iter=6, callback=_interrupt_at(4))
    reference = GaussianMixture(**settings, max_iter=40).fit(X)
    assert reference.n_iter_ > 6
    _assert_same_model(GaussianMixture(**settings, max_iter=40, checkpoint=path).fit(X), reference)
    # ... and with a smaller one not yet reached, the fit with that limit; one already passed is refused.
    _interrupted(path, X, **settings, max_iter=40, callback=_interrupt_at(4))
    with pytest.raises(ValueError, match=r"max_iter=2: the fit had already reached iteration 3.*max_iter >= 3"):
        GaussianMixture(**settings, max_iter=2, checkpoint=path).fit(X)
    _assert_same_model(GaussianMixture(**settings, max_iter=5, checkpoint=path).fit(X),
                       GaussianMixture(**settings, max_iter=5).fit(X))
    # An earlier initialisation that stopped at the limit would have run on under a larger one: refused.
    _interrupted(path, X, **settings, n_init=2, max_iter=6, callback=_interrupt_at(2, run_to_interrupt=1))
    with pytest.raises(ValueError, match=r"initialisation 0 stopped at max_iter=6 without converging.*max_iter=6"):
        GaussianMixture(**settings, n_init=2, max_iter=40, checkpoint=path).fit(X)
    _assert_same_model(GaussianMixture(**settings, n_init=2, max_iter=6, checkpoint=path).fit(X),
                       GaussianMixture(**settings, n_init=2, max_iter=6).fit(X))


def test_resuming_with_random_state_none_leaves_numpy_global_generator_alone(tmp_path):
    X = _data(4)
    settings = dict(n_components=3, n_init=3, tol=1e-5)  # random_state=None: numpy's global generator
    np.random.seed(12)
    reference = GaussianMixture(**settings).fit(X)
    path = tmp_path / "fit.ckpt.npz"
    np.random.seed(12)
    _interrupted(path, X, **settings, callback=_interrupt_at(2, run_to_interrupt=1))
    np.random.seed(99)  # other code goes on drawing numbers; the resume must neither see nor rewind that
    before = np.random.get_state()
    resumed = GaussianMixture(**settings, checkpoint=path).fit(X)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
    # The third initialisation drew from the state saved in the checkpoint, as in the uninterrupted fit.
    _assert_same_model(resumed, reference)


def test_a_checkpoint_of_an_older_format_is_refused_with_advice(tmp_path):
    from gaussmix.io.model_files import write_npz_atomically

    path = tmp_path / "old.ckpt.npz"
    write_npz_atomically(path, {"format": "gaussmix-checkpoint", "format_version": 1}, {})
    with pytest.raises(ValueError, match="checkpoint format 1 from another version.*delete the file"):
        GaussianMixture(2, checkpoint=path).fit(_data())
