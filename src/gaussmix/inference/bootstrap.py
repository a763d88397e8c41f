"""Bootstrap inference after the fit: how many components, and how certain the parameters are.

Two functions, both parallel over bootstrap replicates (joblib's loky processes) and both reproducible: every
replicate draws from its own generator, spawned from ``random_state`` by :class:`numpy.random.SeedSequence`, so
the results do not depend on ``n_jobs`` or on the order in which replicates finish.

:func:`bootstrap_lrt`
    The parametric bootstrap of the likelihood-ratio statistic for ``K`` against ``K + 1`` components
    (McLachlan 1987), as mclust's ``mclustBootstrapLRT``. Under the null the statistic is not chi-squared (the
    ``K``-component model lies on the boundary of the ``K + 1``-component one), so its null distribution is
    simulated: samples drawn from the fitted ``K``-component model are refitted with ``K`` and ``K + 1``
    components.
:func:`bootstrap_parameters`
    Standard errors and percentile intervals of the weights, means and covariances, as mclust's
    ``MclustBootstrap``: nonparametric (rows resampled), parametric (samples from the fitted model) or
    weighted-likelihood (Bayesian) bootstrap; each replicate is refitted from the fitted parameters and its
    components matched to the original ones (label switching).

References
----------
McLachlan, G. J. (1987). On bootstrapping the likelihood ratio test statistic for the number of components in a
normal mixture. *Journal of the Royal Statistical Society C (Applied Statistics)* 36(3), 318-324.

Basford, K. E., Greenway, D. R., McLachlan, G. J. and Peel, D. (1997). Standard errors of fitted component means
of normal mixtures. *Computational Statistics* 12, 1-17.

Newton, M. A. and Raftery, A. E. (1994). Approximate Bayesian inference with the weighted likelihood bootstrap.
*Journal of the Royal Statistical Society B* 56(1), 3-48.

O'Hagan, A., Murphy, T. B., Scrucca, L. and Gormley, I. C. (2019). Investigation of parameter uncertainty in
clustering using a Gaussian mixture model via jackknife, bootstrap and weighted likelihood bootstrap.
*Computational Statistics* 34, 1779-1813.

Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016). mclust 5: clustering, classification and density
estimation using Gaussian finite mixture models. *The R Journal* 8(1), 289-317.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

__all__ = ["BOOTSTRAP_METHODS", "BootstrapLRTResult", "BootstrapParametersResult", "bootstrap_lrt",
           "bootstrap_parameters"]

BOOTSTRAP_METHODS = ("nonparametric", "parametric", "weighted")
"""How :func:`bootstrap_parameters` makes a replicate data set: rows drawn with replacement; a sample from the
fitted model; or every row kept with a Dirichlet(1, ..., 1) weight (the Bayesian or weighted-likelihood bootstrap;
mclust's ``"bs"``, ``"pb"`` and ``"wlbs"``)."""

PARAMETER_NAMES = ("weights", "means", "covariances")
"""The keys of :attr:`BootstrapParametersResult.standard_errors` and of its ``replicates`` and ``intervals``."""

REJECTION_LEVEL = 0.05
"""The level at which :meth:`BootstrapLRTResult.summary` reads the sequence of tests."""


# ---------------------------------------------------------------------------------------------- results
@dataclass
class BootstrapLRTResult:
    """Bootstrap likelihood-ratio tests of ``K`` against ``K + 1`` components, ``K = 1 .. max_components - 1``.

    Attributes
    ----------
    covariance_type : str
    n_components : ndarray of int, shape (n_tests,)
        ``K`` of each test (the null hypothesis: ``K`` components; the alternative: ``K + 1``).
    statistics : ndarray of shape (n_tests,)
        The observed statistic ``-2 log(L_K / L_{K+1}) = 2 (log L_{K+1} - log L_K)`` (never negative).
    p_values : ndarray of shape (n_tests,)
        ``(1 + #{replicates >= observed}) / (n_kept + 1)``, with ``n_kept`` the replicates that fitted.
    n_bootstrap : int
        Replicates drawn per test.
    replicates : list of ndarray
        Per test, the statistics of the replicates that fitted: draws from its null distribution.
    n_failed : ndarray of int, shape (n_tests,)
        Replicates dropped per test because a fit failed (a degenerate component in every start).
    log_likelihoods : ndarray of shape (max_components,)
        The maximised log-likelihood of ``X`` with ``1 .. max_components`` components.
    """

    covariance_type: str
    n_components: np.ndarray
    statistics: np.ndarray
    p_values: np.ndarray
    n_bootstrap: int
    replicates: list = field(repr=False)
    n_failed: np.ndarray
    log_likelihoods: np.ndarray

    def summary(self, level: float = REJECTION_LEVEL) -> str:
        """A table like mclust's ``print(mclustBootstrapLRT(...))``: one row per test, and how to read it.

        ``level`` is the significance level of the last line, which reads the tests in sequence as mclust
        does: the number of components is the first ``K`` whose test does not reject ``K`` in favour of
        ``K + 1``.
        """
        rows = [(f"{k} vs {k + 1}", f"{statistic:.3f}", f"{p_value:.3f}", f"{len(kept)}")
                for k, statistic, p_value, kept in zip(self.n_components, self.statistics, self.p_values,
                                                       self.replicates)]
        header = ("K vs K+1", "LRT statistic", "p-value", "replicates")
        widths = [max(len(text) for text in column) for column in zip(header, *rows)]
        lines = [f"Bootstrap likelihood-ratio tests for the number of components ({self.covariance_type}; "
                 f"{self.n_bootstrap} parametric bootstrap replicates per test)", ""]
        lines += ["  ".join(text.rjust(width) for text, width in zip(row, widths)) for row in [header, *rows]]
        lines += ["", "LRT statistic = -2 log(L_K / L_{K+1}), with L_K the maximised likelihood of K components.",
                  "p-value = (1 + replicates at least as large) / (1 + replicates), the replicates being the "
                  "statistics of samples drawn from the fitted K-component model.",
                  f"How to read it: a small p-value (below {level:g}) says that K components are too few; the number "
                  f"of components is the first K that is not rejected: {self.selected_n_components(level)}."]
        if self.n_failed.any():
            lines.append("Replicates dropped (a fit failed in every start): "
                         + ", ".join(f"{failed} of {k} vs {k + 1}" for k, failed in zip(self.n_components,
                                                                                         self.n_failed) if failed))
        return "\n".join(lines)

    def selected_n_components(self, level: float = REJECTION_LEVEL) -> int:
        """The first ``K`` whose test does not reject it at ``level`` (``max_components`` if every test rejects)."""
        not_rejected = np.flatnonzero(self.p_values >= level)
        return int(self.n_components[not_rejected[0]]) if not_rejected.size else int(self.n_components[-1] + 1)

    def __str__(self) -> str:
        return self.summary()


@dataclass
class BootstrapParametersResult:
    """Bootstrap replicates of a fitted mixture's parameters, with components matched to the original ones.

    Attributes
    ----------
    method : {'nonparametric', 'parametric', 'weighted'}
    n_bootstrap : int
        Replicates drawn.
    estimates : dict of ndarray
        The original estimator's ``weights_``, ``means_`` and ``covariances_`` (keys ``"weights"``, ``"means"``,
        ``"covariances"``).
    replicates : dict of ndarray
        The same keys: the replicates' parameters stacked along a first axis of length ``n_kept``, e.g.
        ``replicates["means"]`` of shape (n_kept, n_components, n_features); covariances keep the estimator's
        own shape (``covariance_type``), e.g. (n_kept, n_features, n_features) for a shared ('tied') covariance.
        Component ``k`` of every replicate is matched to component ``k`` of the original fit.
    n_failed : int
        Replicates dropped because their fit failed (a degenerate component); ``n_kept = n_bootstrap - n_failed``.
    """

    method: str
    n_bootstrap: int
    estimates: dict = field(repr=False)
    replicates: dict = field(repr=False)
    n_failed: int = 0

    @property
    def standard_errors(self) -> dict:
        """Bootstrap standard errors: the standard deviation over replicates (``ddof=1``, as R's ``sd``), shaped like
        the estimator's ``weights_``, ``means_`` and ``covariances_``."""
        return {name: values.std(axis=0, ddof=1) for name, values in self.replicates.items()}

    def intervals(self, level: float = 0.95) -> dict:
        """Percentile intervals: ``{name: (lower, upper)}``, each array shaped like the estimator's parameter.

        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the replicates (linear interpolation,
        R's default ``type = 7``, as mclust's ``summary(..., what = "ci")``).
        """
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
            raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
        tails = [(1 - level) / 2, (1 + level) / 2]
        return {name: tuple(np.quantile(values, tails, axis=0)) for name, values in self.replicates.items()}


# ----------------------------------------------------------------------------------- likelihood-ratio test
def bootstrap_lrt(X, covariance_type: str = "full", max_components: int = 5, n_bootstrap: int = 99,
                  random_state=None, n_jobs: Optional[int] = None) -> BootstrapLRTResult:
    """Test ``K`` against ``K + 1`` components by a parametric bootstrap of the likelihood-ratio statistic.

    For each ``K = 1 .. max_components - 1`` (all of them: unlike mclust without ``maxG`` the sequence does not
    stop at the first test that does not reject), the observed statistic ``2 (log L_{K+1} - log L_K)`` is set
    against ``n_bootstrap`` replicates: a sample of ``n_samples`` rows drawn from the fitted ``K``-component
    model, refitted with ``K`` and ``K + 1`` components (McLachlan 1987; mclust's ``mclustBootstrapLRT``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str, default='full'
        Any structure of :class:`~gaussmix.GaussianMixture` ('full', 'tied', 'diag', 'spherical' or one of
        mclust's 'EII' ... 'VVV'); mclust's ``modelName``.
    max_components : int, default=5
        The largest number of components fitted; the last test is ``max_components - 1`` against
        ``max_components`` (mclust's ``maxG`` is ``max_components - 1``).
    n_bootstrap : int, default=99
        Replicates per test. The smallest attainable p-value is ``1 / (n_bootstrap + 1)``.
    random_state : int, RandomState instance or None
        Seeds a :class:`numpy.random.SeedSequence` from which every fit and every replicate gets its own stream.
    n_jobs : int or None, default=None
        Worker processes over replicates (None or -1: all cores; 1: in this process). Results do not depend on it.

    Returns
    -------
    BootstrapLRTResult
        ``statistics``, ``p_values``, the replicates' statistics per test, and ``summary()``.

    Raises
    ------
    ValueError
        For bad arguments (before any fitting); when a model with ``K <= max_components`` components cannot
        be fitted to ``X``; when every replicate of a test failed.

    Notes
    -----
    Every fit uses :data:`gaussmix.selection.SELECTION_DEFAULTS` (mclust's hierarchical start, ``tol=1e-5``,
    ``max_iter=500``, components held up by ``reg_covar`` alone are degenerate). EM finds local maxima, and a
    ``K + 1``-component fit below the ``K``-component one would make the statistic negative and the test
    meaningless; so each number of components is fitted from several starts and the best kept:

    * for ``X``, the hierarchical agglomeration (as :func:`~gaussmix.select_model`); for a replicate, mclust's
      starts instead: the null model it was drawn from for ``K`` components, the observed ``K + 1``-component
      fit for ``K + 1`` (recomputing the agglomeration for every sample would take four fifths of the time);
    * the best ``K``-component fit with one component split in two along its principal axis (its
      responsibilities divided by the side of the axis each row falls on), each component in turn, so that
      ``log L_{K+1}`` starts near ``log L_K``.

    The statistic is then clipped at zero. A replicate whose ``K`` or ``K + 1``-component fit fails in every
    start (every component keeps degenerating) is dropped and counted in ``n_failed``; the p-value counts
    only the replicates kept.

    References
    ----------
    McLachlan (1987), JRSS C 36, 318-324; Scrucca et al. (2016), The R Journal 8, 289-317 (section 2.3).

    Examples
    --------
    >>> import numpy as np, gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 6])
    >>> result = gaussmix.bootstrap_lrt(X, max_components=3, n_bootstrap=39, random_state=0, n_jobs=1)
    >>> result.p_values, result.selected_n_components()
    (array([0.025, 0.175]), 2)
    """
    from sklearn.utils import check_array

    from .._validation import check_int, check_n_jobs
    from ..covariance import get_structure

    X = check_array(X, dtype=[np.float64, np.float32])
    get_structure(covariance_type)  # raises ValueError naming the valid types
    max_components = check_int("max_components", max_components, 2)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, 1)
    check_n_jobs(n_jobs)
    if X.shape[0] <= max_components:
        raise ValueError(f"max_components={max_components} needs more than {max_components} samples, "
                         f"got {X.shape[0]}")
    root = _seed_sequence(random_state)
    observed_seed, *test_seeds = root.spawn(max_components)

    counts = range(1, max_components + 1)
    observed = _best_fits(X, counts, covariance_type, observed_seed)
    for count, model in zip(counts, observed):
        if model is None:
            raise ValueError(f"no {covariance_type} model with {count} components could be fitted to X (every start "
                             f"degenerated); lower max_components to {max(count - 1, 2)} or choose another "
                             "covariance_type")
    log_likelihoods = X.shape[0] * np.array([model.lower_bound_ for model in observed], dtype=np.float64)

    tasks = [(index, replicate_seed) for index, test_seed in enumerate(test_seeds)
             for replicate_seed in test_seed.spawn(n_bootstrap)]
    outcomes = _run_parallel(_replicate_statistic, [
        (X.shape[0], covariance_type, observed[index], observed[index + 1], seed) for index, seed in tasks], n_jobs)

    n_tests = max_components - 1
    replicates = [np.array([s for (index, _), s in zip(tasks, outcomes) if index == test and s is not None])
                  for test in range(n_tests)]
    statistics = np.maximum(0.0, 2.0 * np.diff(log_likelihoods))
    for test, kept in enumerate(replicates):
        if kept.size == 0:
            raise ValueError(f"every bootstrap replicate of {test + 1} vs {test + 2} components failed to fit; lower "
                             f"max_components to {max(test + 1, 2)} or choose another covariance_type")
    p_values = np.array([(1 + np.count_nonzero(kept >= statistic)) / (kept.size + 1)
                         for kept, statistic in zip(replicates, statistics)])
    return BootstrapLRTResult(
        covariance_type=covariance_type, n_components=np.arange(1, max_components), statistics=statistics,
        p_values=p_values, n_bootstrap=n_bootstrap, replicates=replicates,
        n_failed=np.array([n_bootstrap - kept.size for kept in replicates]), log_likelihoods=log_likelihoods)


def _replicate_statistic(n_samples: int, covariance_type: str, null_model, alternative_model,
                         seed: np.random.SeedSequence) -> Optional[float]:
    """One draw of the statistic under the null: refit ``K`` and ``K + 1`` components to a sample of the fitted
    ``K``-component model; None when either fit fails."""
    rng = np.random.default_rng(seed)
    sample = _sample(null_model, n_samples, rng)
    count = null_model.means_.shape[0]
    fits = _best_fits(sample, (count, count + 1), covariance_type, rng,
                      warm_starts={count: null_model, count + 1: alternative_model})
    if any(model is None for model in fits):
        return None
    # lower_bound_ is the per-sample mean log-likelihood of the returned parameters
    return max(0.0, 2.0 * n_samples * float(fits[1].lower_bound_ - fits[0].lower_bound_))


def _best_fits(X: np.ndarray, counts: Sequence[int], covariance_type: str, seed,
               warm_starts: Optional[dict] = None) -> list:
    """The best fit (highest log-likelihood) of each number of components in ``counts`` (increasing), or None
    where every start failed.

    Starts: the parameters of ``warm_starts[count]`` (a fitted model) when given, else the hierarchical
    agglomeration; and the best fit of ``count - 1`` components (when in ``counts``) with each component in turn
    split in two. On a replicate of a few hundred rows the agglomeration (recomputed for each new sample) took
    four fifths of the time; its warm starts, the model it was drawn from and the observed fit, cost little.
    """
    from ..selection import CANDIDATE_FAILURES, SELECTION_DEFAULTS

    rng, warm_starts = np.random.default_rng(seed), warm_starts or {}
    best = {}
    for count in counts:
        starts = [_parameters_init(warm_starts[count]) if count in warm_starts else {}]
        if best.get(count - 1) is not None:
            starts += [{"responsibilities_init": responsibilities}
                       for responsibilities in _split_responsibilities(best[count - 1], X)]
        fits = []
        for start in starts:
            model = _mixture(count, covariance_type, seed=int(rng.integers(2 ** 31 - 1)), **SELECTION_DEFAULTS,
                             **start)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # convergence and re-seeding: the best start is what counts
                    fits.append(model.fit(X))
            except CANDIDATE_FAILURES:
                continue
        best[count] = max(fits, key=lambda model: model.lower_bound_, default=None)
    return [best[count] for count in counts]


def _split_responsibilities(model, X: np.ndarray) -> list[np.ndarray]:
    """Starts for ``K + 1`` components from a fitted ``K``-component ``model``, one per component split in two:
    its responsibilities for ``X`` divided between itself and a new last component by the side of its principal
    axis each row lies on (the other components unchanged). Each start's log-likelihood is close to the
    ``K``-component model's, so EM from it ends above that in all but degenerate cases; which split gains most
    is not known beforehand (on overfitted data the gains differ by several units of log L), so all are tried."""
    from ..covariance import get_structure

    responsibilities = model.predict_proba(X).astype(np.float64)
    n_components, n_features = model.means_.shape
    dense = get_structure(model.covariance_type).dense_covariances(np.asarray(model.covariances_, dtype=np.float64),
                                                                   n_components, n_features)
    principal_axes = np.linalg.eigh(dense)[1][:, :, -1]  # eigenvalues ascend: the last column
    starts = []
    for split, axis in enumerate(principal_axes):
        new_column = responsibilities[:, split] * ((X - model.means_[split]) @ axis > 0)
        start = np.column_stack([responsibilities, new_column])
        start[:, split] -= new_column
        starts.append(start)
    return starts


# ---------------------------------------------------------------------------------------- standard errors
def bootstrap_parameters(estimator, X, n_bootstrap: int = 99, method: str = "nonparametric", random_state=None,
                         n_jobs: Optional[int] = None) -> BootstrapParametersResult:
    """Bootstrap standard errors and percentile intervals of a fitted mixture's weights, means and covariances.

    Each replicate data set is refitted from the estimator's own fitted parameters (``weights_init``,
    ``means_init``, ``precisions_init``: few EM iterations, and the components keep their order), then its
    components are matched to the original ones by the assignment that minimises the total Kullback-Leibler
    divergence (Hungarian algorithm), so a replicate whose EM swapped components is put back in order
    (label switching). As mclust's ``MclustBootstrap`` (O'Hagan et al. 2019).

    Parameters
    ----------
    estimator : GaussianMixture
        Fitted, with any ``covariance_type``; its other settings (``reg_covar``, ``tol``, priors, ...) are kept
        for the refits. A noise component is not supported.
    X : array-like of shape (n_samples, n_features)
        The data the estimator was fitted to (the parametric bootstrap uses only their number of rows).
    n_bootstrap : int, default=99
        Replicates (at least 2: a standard deviation needs two).
    method : {'nonparametric', 'parametric', 'weighted'}, default='nonparametric'
        'nonparametric': ``n_samples`` rows drawn with replacement (Basford et al. 1997; mclust's ``"bs"``).
        'parametric': ``n_samples`` rows drawn from the fitted model (mclust's ``"pb"``).
        'weighted': every row kept, weighted by ``n_samples`` times a Dirichlet(1, ..., 1) draw as
        ``sample_weight`` (the Bayesian bootstrap of Rubin 1981, the weighted likelihood bootstrap of Newton &
        Raftery 1994; mclust's ``"wlbs"``): no row is left out, so no component can lose all its rows.
    random_state : int, RandomState instance or None
        Seeds a :class:`numpy.random.SeedSequence` spawned into one stream per replicate.
    n_jobs : int or None, default=None
        Worker processes over replicates (None or -1: all cores; 1: in this process). Results do not depend on it.

    Returns
    -------
    BootstrapParametersResult
        ``standard_errors`` and ``intervals(level)``: dicts with keys ``"weights"``, ``"means"``,
        ``"covariances"`` and arrays shaped like ``weights_``, ``means_``, ``covariances_``; ``replicates``.

    Raises
    ------
    ValueError
        For bad arguments (before any fitting); NotFittedError (a ValueError) for an unfitted estimator; when
        fewer than two replicates could be fitted.

    References
    ----------
    Basford et al. (1997), Computational Statistics 12, 1-17; O'Hagan et al. (2019), Computational Statistics
    34, 1779-1813; Newton & Raftery (1994), JRSS B 56, 3-48; Rubin, D. B. (1981). The Bayesian bootstrap.
    *The Annals of Statistics* 9(1), 130-134.

    Examples
    --------
    >>> import numpy as np, gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6])
    >>> model = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    >>> result = gaussmix.bootstrap_parameters(model, X, n_bootstrap=49, random_state=0, n_jobs=1)
    >>> result.standard_errors["means"].shape, bool(np.all(result.standard_errors["means"] < 0.15))
    ((2, 2), True)
    """
    from sklearn.utils import check_array
    from sklearn.utils.validation import check_is_fitted

    from .._validation import check_int, check_n_jobs
    from ..estimators.gaussian_mixture import GaussianMixture

    if not isinstance(estimator, GaussianMixture):
        raise ValueError(f"estimator must be a fitted gaussmix.GaussianMixture, got {type(estimator).__name__}")
    check_is_fitted(estimator)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, 2)
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {list(BOOTSTRAP_METHODS)}, got {method!r}")
    check_n_jobs(n_jobs)
    if estimator.noise is not None:
        raise ValueError("bootstrap_parameters does not support a noise component: its weight has no component "
                         "to match, and the parametric bootstrap cannot sample it")
    X = check_array(X, dtype=[np.float64, np.float32],
                    ensure_all_finite="allow-nan" if estimator.missing == "em" else True)
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but the estimator was fitted with "
                         f"{estimator.n_features_in_}")

    seeds = _seed_sequence(random_state).spawn(n_bootstrap)
    outcomes = _run_parallel(_refitted_parameters, [(estimator, X, method, seed) for seed in seeds], n_jobs)
    kept = [parameters for parameters in outcomes if parameters is not None]
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} of {n_bootstrap} bootstrap replicates could be fitted (the others "
                         "degenerated); a simpler covariance_type or fewer components may be better supported")
    return BootstrapParametersResult(
        method=method, n_bootstrap=n_bootstrap, estimates=_parameters(estimator),
        replicates={name: np.stack([parameters[name] for parameters in kept]) for name in PARAMETER_NAMES},
        n_failed=n_bootstrap - len(kept))


def _refitted_parameters(estimator, X: np.ndarray, method: str, seed: np.random.SeedSequence) -> Optional[dict]:
    """The parameters of one replicate, refitted from the estimator's and matched to its components; None when
    the fit fails."""
    from sklearn.base import clone

    from ..selection import CANDIDATE_FAILURES

    rng = np.random.default_rng(seed)
    n_samples = X.shape[0]
    sample_weight = None
    if method == "nonparametric":
        data = X[rng.integers(0, n_samples, size=n_samples)]
    elif method == "parametric":
        data = _sample(estimator, n_samples, rng)
    else:
        data, sample_weight = X, n_samples * rng.dirichlet(np.ones(n_samples))
    model = clone(estimator).set_params(**_parameters_init(estimator), random_state=int(rng.integers(2 ** 31 - 1)),
                                        **_REFIT_SETTINGS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a replicate's convergence or re-seeding is not the user's concern
            model.fit(data, sample_weight=sample_weight)
    except CANDIDATE_FAILURES:
        return None
    return _parameters(model, order=_matching_order(estimator, model))


_REFIT_SETTINGS = {"n_init": 1, "warm_start": False, "responsibilities_init": None, "engine": "memory",
                   "n_jobs": 1, "callback": None, "checkpoint": None, "verbose": 0}
"""What a replicate's refit changes besides its start: one start, in memory, one thread (the replicates
themselves run in parallel), quietly, without the original's checkpoint file."""


def _matching_order(reference, model) -> np.ndarray:
    """``order[k]``: the component of ``model`` matched to component ``k`` of ``reference``, by the assignment
    (``scipy.optimize.linear_sum_assignment``) minimising the sum of ``KL(reference_k || model_j)``.

    The Kullback-Leibler divergence of two Gaussians in closed form (Hershey & Olsen 2007, "Approximating the
    Kullback Leibler divergence between Gaussian mixture models", ICASSP, eq. 2)::

        2 KL(N_0 || N_1) = tr(S_1^{-1} S_0) + (m_1 - m_0)^T S_1^{-1} (m_1 - m_0) - d + log det S_1 - log det S_0

    It sees covariances as well as means, so components that share a centre but differ in spread are told apart.
    """
    from scipy.optimize import linear_sum_assignment

    reference_means, reference_dense = _dense_components(reference)
    means, dense = _dense_components(model)
    n_features = means.shape[1]
    factors = np.linalg.cholesky(dense)  # S_j = L_j L_j^T
    # whitened[k, j] = L_j^{-1} (m_k^ref - m_j), and L_j^{-1} L_k^ref for the trace term
    shifts = reference_means[:, None, :] - means[None, :, :]
    whitened_shifts = np.linalg.solve(factors[None], shifts[..., None])[..., 0]
    whitened_factors = np.linalg.solve(factors[None], np.linalg.cholesky(reference_dense)[:, None])
    log_dets = 2.0 * np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(-1)
    reference_log_dets = np.linalg.slogdet(reference_dense)[1]
    divergence = 0.5 * ((whitened_factors ** 2).sum((-2, -1)) + (whitened_shifts ** 2).sum(-1) - n_features
                        + log_dets[None, :] - reference_log_dets[:, None])
    _, order = linear_sum_assignment(divergence)
    return order


def _dense_components(model) -> tuple[np.ndarray, np.ndarray]:
    """Means (K, d) and full covariance matrices (K, d, d) of a fitted model, float64."""
    from ..covariance import get_structure

    n_components, n_features = model.means_.shape
    dense = get_structure(model.covariance_type).dense_covariances(np.asarray(model.covariances_, dtype=np.float64),
                                                                   n_components, n_features)
    return np.asarray(model.means_, dtype=np.float64), dense


def _parameters(model, order: Optional[np.ndarray] = None) -> dict:
    """``weights_``, ``means_`` and ``covariances_`` (components in ``order``; a shared covariance as it is)."""
    if order is None:
        order = np.arange(model.means_.shape[0])
    covariances = np.asarray(model.covariances_)
    if _per_component(model):
        covariances = covariances[order]
    return {"weights": np.asarray(model.weights_)[order], "means": np.asarray(model.means_)[order],
            "covariances": covariances}


def _per_component(model) -> bool:
    """Whether ``covariances_`` has one entry per component along its first axis (not a shared covariance).

    Decided by the structure's shapes for one and two components: a shared covariance's shape does not change.
    """
    from ..covariance import get_structure

    structure, n_features = get_structure(model.covariance_type), model.means_.shape[1]
    return structure.covariance_shape(1, n_features) != structure.covariance_shape(2, n_features)


# ------------------------------------------------------------------------------------------------ shared
def _seed_sequence(random_state) -> np.random.SeedSequence:
    """The root of every replicate's stream: an int seeds it; a RandomState instance gives one draw; None, fresh
    entropy from the operating system."""
    from sklearn.utils import check_random_state

    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.SeedSequence(int(random_state))
    return np.random.SeedSequence(int(check_random_state(random_state).randint(np.iinfo(np.int32).max)))


def _run_parallel(task: Callable, arguments: list, n_jobs: Optional[int]) -> list:
    """``[task(*a) for a in arguments]``, in that order, over joblib's loky processes (in this process for one
    worker). Each task uses one BLAS thread: the processes, not BLAS, use the cores."""
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    from ..engines import resolve_n_jobs

    workers = max(1, min(resolve_n_jobs(n_jobs), len(arguments)))
    if workers == 1:
        with threadpool_limits(1, user_api="blas"):
            return [task(*args) for args in arguments]
    # Batches of several replicates amortise the inter-process transfer of the data and models.
    return Parallel(n_jobs=workers, backend="loky", batch_size="auto")(delayed(task)(*args) for args in arguments)


def _sample(model, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` rows drawn from a fitted model with a seed taken from ``rng`` (the model is not changed)."""
    seeded = copy.copy(model)  # sample() reads random_state; a shallow copy leaves the caller's estimator alone
    seeded.random_state = np.random.RandomState(int(rng.integers(2 ** 31 - 1)))
    return seeded.sample(n_samples)[0]


def _parameters_init(model) -> dict:
    """A fitted model's parameters as the start of another fit."""
    return {"weights_init": np.asarray(model.weights_, dtype=np.float64),
            "means_init": np.asarray(model.means_, dtype=np.float64),
            "precisions_init": np.asarray(model.precisions_, dtype=np.float64)}


def _mixture(n_components: int, covariance_type: str, seed: int, **params):
    """A GaussianMixture for one start of :func:`bootstrap_lrt`, single-threaded (the replicates are parallel)."""
    from ..estimators.gaussian_mixture import GaussianMixture

    return GaussianMixture(n_components, covariance_type=covariance_type, random_state=seed, n_jobs=1, **params)
