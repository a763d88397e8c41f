"""The EM progress bar: drawn on a terminal, silent otherwise, fed by the estimator's callback."""

import io

import numpy as np

from gaussmix import GaussianMixture
from gaussmix.cli.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def data():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(-2, 1, (200, 2)), rng.normal(3, 0.5, (100, 2))])


def test_draws_iteration_loglik_and_change_on_a_terminal():
    stream = Terminal()
    calls = []
    bar = ProgressBar(stream, max_iter=50, min_interval=0.0)

    def callback(*values):
        calls.append(values)
        bar(*values)

    model = GaussianMixture(2, max_iter=50, tol=1e-8, random_state=0, callback=callback).fit(data())
    bar.close()
    text = stream.getvalue()
    assert len(calls) == model.n_iter_ >= 2
    last_iteration, last_loglik, last_change = calls[-1]
    assert text.endswith("\n") and text.count("\r") == len(calls) + 1  # one redraw per call, plus close()
    final_line = text.rsplit("\r", 1)[1]
    assert f"iteration {last_iteration}/50" in final_line
    assert f"log-likelihood {last_loglik:.6f}/sample" in final_line
    assert f"change {last_change:+.2e}" in final_line
    # the callback receives what the trace records: the change is the difference of consecutive values
    assert calls[1][2] == calls[1][1] - calls[0][1]


def test_silent_when_not_a_terminal_or_disabled():
    for stream, enabled in [(io.StringIO(), None), (Terminal(), False)]:
        bar = ProgressBar(stream, enabled=enabled, min_interval=0.0)
        GaussianMixture(2, random_state=0, callback=bar).fit(data())
        bar.close()
        assert stream.getvalue() == ""


def test_counts_restarts_as_separate_fits():
    stream = Terminal()
    bar = ProgressBar(stream, min_interval=0.0)
    GaussianMixture(2, n_init=3, random_state=0, callback=bar).fit(data())
    assert bar.n_runs == 3
    assert "fit 3" in stream.getvalue().rsplit("\r", 1)[1]


def test_clones_share_the_bar_and_standard_streams_pickle():
    import pickle
    import sys

    from sklearn.base import clone

    stream = Terminal()
    bar = ProgressBar(stream, min_interval=0.0)
    model = GaussianMixture(2, random_state=0, callback=bar)
    copy = clone(model)  # deep-copies parameters: a bar holding a stream must survive that
    assert copy.get_params()["callback"] is bar
    copy.fit(data())
    model.fit(data())
    assert bar.n_runs == 2 and stream.getvalue()  # both fits drawn by the one bar
    restored = pickle.loads(pickle.dumps(ProgressBar(max_iter=5)))
    assert restored.stream is sys.stderr and restored.max_iter == 5
