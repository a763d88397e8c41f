"""The one multi-start runner (gaussmix.fitting.starts.best_of_starts): best by objective, the first of equals, a
shared generator in order, failed starts dropped only where allowed."""

import numpy as np
import pytest

from gaussmix import DegenerateComponentError, DegenerateComponentWarning, GaussianMixture, KMeans
from gaussmix.fitting.starts import best_of_starts


def test_highest_objective_wins_and_the_first_of_equal_ones():
    values = {0: 1.0, 1: 3.0, 2: 3.0, 3: 2.0}
    chosen = best_of_starts(range(4), lambda index, best: (index, values[index]), lambda result: result[1])
    assert chosen == (1, 3.0)


def test_each_start_sees_the_best_so_far_and_the_generator_in_order():
    rng = np.random.default_rng(0)
    seen = []

    def fit_start(index, best):
        seen.append(None if best is None else best[0])
        return index, rng.random()

    best_of_starts(range(3), fit_start, lambda result: result[1])
    reference = np.random.default_rng(0).random(3)
    assert seen[0] is None and seen[1] == 0
    assert seen[2] == int(np.argmax(reference[:2]))


def test_failed_starts_are_dropped_only_when_allowed_and_the_first_error_is_raised_when_all_fail():
    def fit_start(index, best):
        if index != 2:
            raise DegenerateComponentError(0, "empty")
        return index

    with pytest.warns(DegenerateComponentWarning, match="Initialization [01] dropped"):
        assert best_of_starts(range(3), fit_start, float, droppable=(DegenerateComponentError,),
                              dropped_warning=DegenerateComponentWarning) == 2
    with pytest.raises(DegenerateComponentError):
        best_of_starts(range(3), fit_start, float)  # nothing droppable: the first error propagates
    with pytest.warns(DegenerateComponentWarning), pytest.raises(DegenerateComponentError, match="component 0"):
        best_of_starts([0, 1], fit_start, float, droppable=(DegenerateComponentError,),
                       dropped_warning=DegenerateComponentWarning)


def test_estimators_keep_the_best_of_their_starts():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(60, 2)) + shift for shift in ([0, 0], [5, 5], [0, 6])])
    single = GaussianMixture(3, n_init=1, init_params="random", random_state=0).fit(X)
    several = GaussianMixture(3, n_init=4, init_params="random", random_state=0).fit(X)
    assert several.lower_bound_ >= single.lower_bound_ - 1e-12  # the first start is the single fit's
    kmeans = KMeans(3, n_init=1, init="random", random_state=0).fit(X)
    assert KMeans(3, n_init=5, init="random", random_state=0).fit(X).inertia_ <= kmeans.inertia_ + 1e-9
