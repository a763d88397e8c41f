"""GaussianMixture: maximum-likelihood Gaussian mixtures by EM, a drop-in for scikit-learn's."""

from __future__ import annotations

import logging
import numbers
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._floating import data_dtype, fitted
from .._sources import fit_engine
from .._validation import (check_data_scale, check_nonnegative_float, check_predict_data, check_sample_weight,
                           check_shared_settings)
from ..covariance import get_structure
from ..engines import initialisation_engine, is_chunked_source, make_engine
from ..exceptions import ConvergenceWarning, DegenerateComponentError, DegenerateComponentWarning
from ..families.em import (COLLAPSE_RELATIVE_VARIANCE, FrozenParameters, degenerate_error, estimate_parameters, expect,
                           expect_hard, feature_variance, run_em)
from ..families.missing import (MeanFilledRows, check_missing_pattern, expect_with_missing, initialisation_data,
                                observed_summary, with_noise_box)
from ..families.noise import NOISE_INITIAL_WEIGHT, check_noise, noise_box, noise_log_volume
from ..families.online import expected_statistics, recentred, step_size, stepwise_average
from ..families.priors import resolve_prior
from ..fitting.acceleration import ACCELERATIONS
from ..fitting.checkpoint import (FitCheckpoint, data_fingerprint, fingerprint_differences, load_checkpoint,
                                  max_iter_conflict, save_checkpoint, value_digest)
from ..fitting.degeneracy import degeneracy_advice, reseed_degenerate
from ..fitting.init import INIT_METHODS, initial_params, method_for_run
from ..fitting.starts import best_of_starts
from ..params import MixtureParams
from ._base import BaseMixture, progress_callback
from .conditioning import ConditioningMixin
from .convert import copy_from_sklearn, to_sklearn

__all__ = ["GaussianMixture", "from_sklearn"]

logger = logging.getLogger("gaussmix")

ON_DEGENERATE = ("reseed", "raise")
FREEZABLE = ("weights", "means", "covariances")
ASSIGNMENTS = ("soft", "hard")


class GaussianMixture(ConditioningMixin, BaseMixture):
    """Gaussian mixture model fitted by expectation-maximisation.

    Parameters and fitted attributes are scikit-learn's (``sklearn.mixture.GaussianMixture``), plus
    ``sample_weight`` in :meth:`fit`, a policy for degenerate components and a progress callback.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default='full'
        'full', 'tied', 'diag', 'spherical' or one of mclust's models 'EII' ... 'VVV' (and 'E', 'V' for
        one-dimensional data); see :mod:`gaussmix.covariance.eigen`.
    tol : float, default=1e-3
        EM stops when the per-sample mean log-likelihood changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Number of initialisations; the one with the highest final log-likelihood is kept. With
        ``init_params='hc'`` the first starts from the agglomeration, the others in turn from random
        responsibilities, random rows and k-means (the agglomeration would only repeat itself; see
        :data:`gaussmix.fitting.init.HC_RESTART_METHODS`). With ``on_degenerate='reseed'`` a start whose
        components keep degenerating is dropped with a warning if another start succeeds.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc', 'trimmed-kmeans'}, default='kmeans'
        'kmeans' runs k-means (k-means++ seeding); 'k-means++' and 'random_from_data' take seed points
        and assign every sample to the nearest (scikit-learn gives each seed a single point instead);
        'random' draws random responsibilities.
        'hc' is mclust's default: model-based hierarchical agglomeration (unconstrained Gaussian
        criterion) on at most 1000 randomly chosen rows, whose partition into ``n_components``
        clusters gives the starting parameters (:mod:`gaussmix.fitting.hierarchical`; the tree is mclust's
        ``hc``, and one-dimensional data start from quantile classes, as in mclust); unlike k-means it
        follows elongated, anisotropic clusters. 'trimmed-kmeans' is k-means that leaves out the 10% of
        the weight farthest from the centres at every step (:func:`gaussmix.fitting.init.trimmed_kmeans`), and starts
        from the kept rows' partition: gross outliers neither hold a centre nor inflate a covariance.
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
        Given means also replace k-means when estimating what was not given.
    precisions_init : array, optional
        Inverse covariances in the ``covariance_type`` shape.
    responsibilities_init : array of shape (n_samples, n_features), optional
        Start from the M-step of these responsibilities (rows non-negative, summing to one; e.g. a hard
        partition as one-hot rows); in-memory data only. ``weights_init``, ``means_init`` and
        ``precisions_init`` still override what they give. One initialisation.
    freeze : iterable of {'weights', 'means', 'covariances'}, default=()
        Parameters held at their ``*_init`` values during EM (the others are maximised given them):
        frozen weights without ``weights_init`` are equal (mclust's ``equalPro``); frozen means need
        ``means_init`` and frozen covariances ``precisions_init``. Frozen means or covariances are not
        re-seeded: a component that degenerates with them raises.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM. 'hard' is classification EM (CEM; Celeux & Govaert 1992): each row belongs wholly to
        its most probable component, and the trace is the classification log-likelihood
        ``sum_n log pi_{z_n} N(x_n | z_n)``, which never decreases. Spherical components with frozen equal
        weights and one frozen variance make CEM exactly k-means from the same start.
    acceleration : {None, 'squarem'}, default=None
        'squarem': once an EM step gains less than 3e-4 per sample, each iteration extrapolates two EM steps
        (SQUAREM; Varadhan & Roland 2008) and takes one more from there, keeping the result only where it is
        at least as good as the first step (so ``lower_bounds_`` still never goes down). Where EM crawls it
        gets further per EM step (200,000 x 6, K = 8, full: plain EM's maximum at ``tol=1e-9`` in 44 iterations
        instead of 508); an iteration (``n_iter_``) is then one such cycle of up to three EM steps. Plain EM
        with a noise component, frozen parameters, ``assignment='hard'`` or ``tol=0``.
        :func:`gaussmix.select_model` uses it by default.
    random_state : int, RandomState instance or None
    warm_start : bool, default=False
        Start from the previous fit's parameters (one initialisation).
    verbose : int, default=0
    verbose_interval : int, default=10
    on_degenerate : {'reseed', 'raise'}, default='reseed'
        When a component becomes empty or singular: re-seed it at the worst-explained samples with a
        :class:`~gaussmix.exceptions.DegenerateComponentWarning`, or raise
        :class:`~gaussmix.exceptions.DegenerateComponentError` with advice.
    detect_collapse : bool or 'strict', default=True
        Treat a component as degenerate when its variance in some direction falls below ``1e-8`` times
        the data's variance along the features (it sits on one point, on tied values or in a subspace).
        ``reg_covar`` keeps such a component finite, but its likelihood is unbounded and the fit spurious.
        'strict' tests the covariance before ``reg_covar`` is added, so that a component held up by the
        regularisation alone is caught however small the floor is next to ``reg_covar`` (what
        :func:`~gaussmix.select_model` uses, so that no such candidate wins); True leaves a deliberately large
        ``reg_covar`` (e.g. on images with pixels constant within a class) to do its work.
        Set False for scikit-learn's behaviour.
    chunk_size : int or None, default=None
        Rows per chunk (None: chosen from a memory budget). Results do not depend on it.
    n_jobs : int or None, default=None
        Threads that process chunks concurrently (None: all cores, -1 likewise); BLAS runs single-threaded
        meanwhile. Results do not depend on it: chunk statistics are always added in the same order.
    callback : callable or None, default=None
        ``callback(iteration, mean_log_likelihood, change)`` after each EM iteration.
    checkpoint : str, path or None, default=None
        A file to which :meth:`fit` writes its state after every EM iteration (atomically; see
        :mod:`gaussmix.fitting.checkpoint`). If the file exists when ``fit`` starts and was written by a fit of the
        same data and settings (initial arrays and chunk size included), the fit resumes from it and ends
        with the model the uninterrupted fit would have returned; a checkpoint of another fit is refused
        with a ValueError naming what differs. ``max_iter`` may change on resume (e.g. grow, for a fit
        interrupted before its limit) as long as the result stays that of the uninterrupted fit with the
        new value; otherwise the checkpoint is refused too. Resuming never rewinds the caller's random
        generator (numpy's global one for ``random_state=None``). The file is deleted when the fit finishes.
    learning_decay, learning_offset : float, default=0.7 and 1.0
        Step sizes of :meth:`partial_fit` (stepwise EM): the ``t``-th batch after the first enters the
        running statistics with weight ``(t + learning_offset) ** -learning_decay``;
        ``0.5 < learning_decay <= 1`` guarantees convergence (see :mod:`gaussmix.families.online`).
    prior : None, 'default' or ConjugatePrior, default=None
        MAP estimation with conjugate priors (:mod:`gaussmix.families.priors`); 'default' is mclust's
        ``priorControl()`` default computed from the data and ``n_components``. With a prior,
        ``lower_bound_`` and ``lower_bounds_`` are the per-sample log-posterior (log-likelihood plus log
        prior, divided by the weight sum), which EM increases; ``score`` stays the log-likelihood.
    missing : {'error', 'em'}, default='error'
        'error': NaN in X is an error. 'em': NaN entries are values missing at random; EM uses each
        row's observed features and the conditional expectations of the missing ones (Ghahramani &
        Jordan 1994; see :mod:`gaussmix.families.missing`), the reported log-likelihood is that of the observed
        values, and ``score_samples``, ``predict_proba`` and ``predict`` score rows with NaN on their
        observed features. Rows or features with nothing observed are rejected. EM starts from the
        complete rows when there are enough of them, else from column-mean-imputed data. Works on every
        engine: in files NaN, a Parquet null and an empty or ``NA`` CSV field are missing values (with
        'error' they are a DataError naming the row); a source is initialised from its initialisation
        sample's complete rows. A ``prior`` (MAP) and a ``noise`` component work with it; ``assignment='hard'``
        does not yet (see docs/combinations.md). See also :meth:`impute`.
    noise : None, 'auto' or float, default=None
        Add a uniform background component for outliers (mclust's Poisson noise, :mod:`gaussmix.families.noise`)
        with density ``1/V``: 'auto' takes ``V`` from the data (mclust's ``hypvol``), a number is ``V``
        itself. ``weights_`` then sum to ``1 - noise_weight_``, :meth:`predict` labels noise ``-1`` (mclust
        uses 0), :meth:`predict_proba` has a last column for the noise, and BIC counts one more parameter.
        With ``missing='em'`` and NaN in the data the noise is uniform on an axis-aligned box: 'auto' spans each
        feature's observed values, a number ``V`` is that box scaled to volume ``V``; a row is scored on its
        observed coordinates, ``-log V_o = -sum_{j observed} log r_j`` for sides ``r_j`` (the marginal of a
        uniform density on a box is uniform on the projected box).
    engine : {'auto', 'memory', 'ooc', 'dask'}, default='auto'
        Where the data live (see :mod:`gaussmix.engines`); 'auto' decides from the type of ``X``: an
        array is fitted in memory; a path, :func:`~gaussmix.open_dataset`, a list of 2-D arrays or any
        other re-iterable of them out of core (one streaming pass per iteration); a ``dask.array`` on
        Dask's workers. Out-of-core and Dask fits initialise on a uniform sample of at most 100,000 rows
        (unless ``means_init`` is given) and are otherwise identical to the in-memory fit.

    Attributes
    ----------
    The fitted arrays are float32 when ``X`` is float32, else float64 (as scikit-learn's); so are the arrays
    that :meth:`predict_proba`, :meth:`score_samples` and :meth:`sample` return when the model and their data
    are float32. EM accumulates its statistics in float64 either way (see :mod:`gaussmix._floating`).

    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : ndarray in the ``covariance_type`` shape
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Per-sample mean log-likelihood of the *returned* parameters (a final E-step computes it;
        scikit-learn reports that of the parameters one M-step earlier).
    lower_bounds_ : list of float
        Per-sample mean log-likelihood of the parameters entering each iteration of the best
        initialisation (identical to scikit-learn's ``lower_bounds_``).
    n_reseeded_ : int
        Degenerate components re-seeded during the best initialisation's fit.
    n_steps_ : int
        Stepwise-EM updates made by :meth:`partial_fit` since the model was initialised (0 after ``fit``).
    noise_weight_ : float
        Weight of the noise component (0.0 without one).
    noise_volume_ : float or None
        Hypervolume ``V`` of the noise component (None without one).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has string column names
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
                 n_init=1, init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
                 random_state=None, warm_start=False, verbose=0, verbose_interval=10, on_degenerate="reseed",
                 detect_collapse=True, chunk_size=None, n_jobs=None, callback=None, prior=None, checkpoint=None,
                 learning_decay=0.7, learning_offset=1.0, missing="error",
                 noise=None, engine="auto", freeze=(), assignment="soft", responsibilities_init=None,
                 acceleration=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.on_degenerate = on_degenerate
        self.detect_collapse = detect_collapse
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.callback = callback
        self.prior = prior
        self.checkpoint = checkpoint
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.missing = missing
        self.noise = noise
        self.engine = engine
        self.freeze = freeze
        self.assignment = assignment
        self.responsibilities_init = responsibilities_init
        self.acceleration = acceleration

    # ------------------------------------------------------------------------------------ validation
    def _check_parameters(self):
        check_shared_settings(self, INIT_METHODS)
        get_structure(self.covariance_type)
        if self.on_degenerate not in ON_DEGENERATE:
            raise ValueError(f"on_degenerate must be one of {list(ON_DEGENERATE)}, got {self.on_degenerate!r}")
        if not (isinstance(self.detect_collapse, (bool, np.bool_)) or self.detect_collapse == "strict"):
            raise ValueError(f"detect_collapse must be True, False or 'strict', got {self.detect_collapse!r}")
        check_noise(self.noise)
        if self.assignment not in ASSIGNMENTS:
            raise ValueError(f"assignment must be one of {list(ASSIGNMENTS)}, got {self.assignment!r}")
        if self.acceleration not in ACCELERATIONS:
            raise ValueError(f"acceleration must be one of {list(ACCELERATIONS)}, got {self.acceleration!r}")
        frozen = self._frozen_names()
        if self.assignment == "hard" and self.noise is not None:
            raise ValueError("assignment='hard' with a noise component is not supported; use assignment='soft'")
        if self.prior is not None and frozen - {"weights"}:
            raise ValueError("MAP estimation (prior) with frozen means or covariances is not supported; "
                             "freeze only 'weights', or use prior=None")
        if self.noise is not None and "weights" in frozen:
            raise ValueError("frozen weights with a noise component are not supported (the noise weight is "
                             "estimated from them)")

    def _frozen_names(self) -> frozenset:
        names = (self.freeze,) if isinstance(self.freeze, str) else self.freeze
        try:
            names = frozenset(names)
        except TypeError:
            raise ValueError(f"freeze must be an iterable of {list(FREEZABLE)}, got {self.freeze!r}") from None
        unknown = names - set(FREEZABLE)
        if unknown:
            raise ValueError(f"freeze must name some of {list(FREEZABLE)}, got {sorted(unknown)}")
        return names

    def _check_initial_parameters(self, n_samples, n_features):
        n_components = self.n_components
        frozen = self._frozen_names()
        for name, given in (("means", "means_init"), ("covariances", "precisions_init")):
            if name in frozen and getattr(self, given) is None:
                raise ValueError(f"freeze includes {name!r} but {given} is None: frozen {name} need values")
        if self.responsibilities_init is not None:
            responsibilities = _finite_array("responsibilities_init", self.responsibilities_init,
                                             (n_samples, n_components))
            if np.any(responsibilities < 0) or not np.allclose(responsibilities.sum(axis=1), 1.0, rtol=0, atol=1e-6):
                raise ValueError("responsibilities_init must be non-negative with rows that sum to one")
        if self.weights_init is not None:
            weights = _finite_array("weights_init", self.weights_init, (n_components,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError("weights_init must be in [0, 1]")
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(f"weights_init must sum to 1, got sum {weights.sum():.8g}")
        if self.means_init is not None:
            _finite_array("means_init", self.means_init, (n_components, n_features))
        get_structure(self.covariance_type).covariance_shape(n_components, n_features)  # e.g. 'E' is 1-D only
        if self.precisions_init is not None:
            shape = get_structure(self.covariance_type).covariance_shape(n_components, n_features)
            precisions = _finite_array("precisions_init", self.precisions_init, shape)
            get_structure(self.covariance_type).precisions_cholesky_from_precisions(precisions)

    # ------------------------------------------------------------------------------------------- fit
    def _fit(self, X, sample_weight):
        self._check_parameters()
        warm = self.warm_start and hasattr(self, "converged_")
        allow_missing = self.missing == "em"
        if is_chunked_source(X):
            self._check_source_options()
        # X becomes the validated array, or None for a chunked source (never loaded).
        engine, X, sample_weight = fit_engine(
            self, X, sample_weight, n_components=self.n_components, engine=self.engine, chunk_size=self.chunk_size,
            n_jobs=self.n_jobs, allow_missing=allow_missing,
            check_shape=self._check_initial_parameters)
        if X is None and self.responsibilities_init is not None:
            raise ValueError("responsibilities_init needs the data in memory (one row of responsibilities per row)")
        if X is not None and allow_missing:
            check_missing_pattern(X)
            if np.isnan(X).any():
                self._check_missing_supported()

        structure = get_structure(self.covariance_type)
        frozen = self._frozen_parameters(structure, engine.offset)
        data = engine.n_features if X is None else X  # what the data-driven defaults may read
        # One pass for the collapse floor and k-means' tol; with missing='em' it also finds out whether
        # there are missing values at all (a source is not looked at before) and their features' means.
        summary = observed_summary(engine) if allow_missing else None
        has_missing = summary is not None and summary.has_missing
        if has_missing:
            self._check_missing_supported()  # known only now for a source
        data_variance = summary.variance if summary is not None else feature_variance(engine)
        check_data_scale(data_variance, self.reg_covar, getattr(self, "feature_names_in_", None))
        # With missing values the noise is uniform on the box of the observed values (gaussmix.families.noise), so that
        # a row is scored on its observed coordinates; otherwise mclust's hypvol (or the volume given).
        box = noise_box(self.noise, engine) if self.noise is not None and has_missing else None
        log_volume = (box.log_volume if box is not None else
                      None if self.noise is None else noise_log_volume(self.noise, data, sample_weight))
        noise_log_density = None if log_volume is None else -log_volume
        e_step = self._expect(has_missing) if box is None else with_noise_box(self._expect(has_missing), box)
        prior = resolve_prior(self.prior, data, self.n_components, sample_weight)
        floor = COLLAPSE_RELATIVE_VARIANCE * data_variance if self.detect_collapse else None
        callback = self._progress_callback()
        rng = check_random_state(self.random_state)
        seed_engine = init_engine = engine
        if has_missing:
            # Re-seed at mean-imputed rows (read through the engine); initialise in memory on the complete
            # rows (or the mean-imputed rows) of the initialisation sample: all rows of an array, at most
            # INIT_SAMPLE_SIZE rows of a source.
            seed_engine = MeanFilledRows(engine, summary.means)
            if not warm:
                sample = initialisation_engine(engine, rng)
                rows, weights = initialisation_data(sample.X, sample.sample_weight, self.n_components)
                init_engine = make_engine(rows, weights, offset=engine.offset, chunk_size=self.chunk_size,
                                          n_jobs=self.n_jobs, n_components=self.n_components)
        elif not (warm or self.means_init is not None):
            # Out-of-core and Dask data: initialise on a sample (given means need one pass over all the data).
            init_engine = initialisation_engine(engine, rng)
        fingerprint = None if self.checkpoint is None else self._checkpoint_fingerprint(engine, data_variance)
        resumed = self._resumable_checkpoint(fingerprint) if fingerprint is not None and not warm else None
        best, first_run, finished = (None, 0, []) if resumed is None else (resumed.best, resumed.run,
                                                                            list(resumed.finished))
        given_start = warm or self.responsibilities_init is not None

        def fit_start(run, best):
            nonlocal rng
            resume = None
            if resumed is not None and run == resumed.run:
                resume = resumed.state
                rng = resumed.random_generator()  # the caller's generator is never rewound
                recover = self._recovery(seed_engine, structure, reseeds=resume.n_reseeded)
                start = resume.params
            else:
                recover = self._recovery(seed_engine, structure)
                if warm:
                    start = self._fitted_params(engine.offset)
                else:
                    start = initial_params(init_engine, structure, self.n_components,
                                           method=method_for_run(self.init_params, run),
                                           random_state=rng, reg_covar=self.reg_covar, recover=recover,
                                           variance_floor=floor, data_variance=data_variance,
                                           weights_init=self.weights_init, means_init=self.means_init,
                                           precisions_init=self.precisions_init, prior=prior,
                                           responsibilities_init=self.responsibilities_init)
                if frozen is not None:
                    start = frozen.apply(start)
                start = self._start(start)
                if noise_log_density is not None and start.weights.sum() > 1.0 - 1e-6:  # EM needs a noise weight > 0
                    start = start.replace(weights=start.weights * (1.0 - NOISE_INITIAL_WEIGHT))
            on_iteration = self._checkpoint_writer(fingerprint, run, best, tuple(finished), rng.get_state())
            return run_em(engine, start, structure, tol=self.tol, max_iter=self.max_iter,
                          reg_covar=self.reg_covar, variance_floor=floor, recover=recover, callback=callback,
                          prior=prior, resume=resume, on_iteration=on_iteration,
                          expect=e_step, noise_log_density=noise_log_density,
                          frozen=frozen, maximize_hook=self._maximize_hook(),
                          strict_collapse=self.detect_collapse == "strict", acceleration=self.acceleration,
                          # warm: convergence is judged against the last iteration of the fit continued
                          previous_objective=self.lower_bounds_[-1] if warm and self.lower_bounds_ else -np.inf)

        def finished_start(run, result):
            if self.verbose:
                print(f"Initialization {run}: converged={result.converged} after {result.n_iter} iterations, "
                      f"mean log-likelihood {result.log_likelihood:.6f}")
            finished.append((result.n_iter, result.converged))

        # A restart whose components keep degenerating is dropped if another one succeeds (mclust reports NA for
        # its single start); with one start, or on_degenerate='raise', it is an error. (It stopped before
        # max_iter, so a resume with another max_iter drops it again.)
        single = self.on_degenerate == "raise" or self.n_init == 1 or warm
        best = best_of_starts(range(first_run, 1 if given_start else self.n_init), fit_start,
                              lambda result: result.log_likelihood, best=best,
                              droppable=() if single else (DegenerateComponentError,), on_finished=finished_start,
                              dropped_warning=DegenerateComponentWarning)
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, or increase "
                "max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_fitted(best.params, structure, data_dtype(engine.dtype))
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.log_likelihood
        self.lower_bounds_ = list(best.trace)
        self.n_reseeded_ = best.n_reseeded
        self.noise_volume_ = None if log_volume is None else float(np.exp(log_volume) if self.noise == "auto" else self.noise)
        self.noise_weight_ = 0.0 if log_volume is None else max(1.0 - float(best.params.weights.sum()), 0.0)
        self._noise_box = box  # what scores rows with NaN under the noise (noise_volume_ is only its volume)
        self.n_steps_ = 0
        self._online = None
        if self.checkpoint is not None:
            Path(self.checkpoint).unlink(missing_ok=True)
        return self

    def _check_missing_supported(self):
        """Refuse the options EM with missing values does not offer yet (see docs/combinations.md).

        A prior and a noise component work: the MAP M-step acts on the completed statistics, and the noise
        scores each row on its observed coordinates (:class:`gaussmix.families.noise.NoiseBox`).
        """
        if self.assignment == "hard":
            raise ValueError("assignment='hard' is not available with missing values yet; use assignment='soft'")

    def _noise_log_density(self):
        """The fitted noise component: its box when fitted on data with missing values (it scores rows with NaN on
        their observed coordinates), else ``-log V`` (see :meth:`BaseMixture._noise_log_density`)."""
        box = getattr(self, "_noise_box", None)
        return box if box is not None else super()._noise_log_density()

    def _expect(self, has_missing: bool):
        """The E-step: soft (EM), hard (CEM), or over the observed features of rows with missing values."""
        if has_missing:
            return expect_with_missing
        return expect_hard if self.assignment == "hard" else expect

    def _start(self, params: MixtureParams) -> MixtureParams:
        """The start of EM as a model family wants it (Gaussian: as initialised; Student-t adds its dof)."""
        return params

    def _maximize_hook(self):
        """What a model family adds to the mixture's M-step (None for Gaussian components)."""
        return None

    def _frozen_parameters(self, structure, offset: np.ndarray) -> FrozenParameters | None:
        """The parameters ``freeze`` holds, in the engine's coordinates (None when nothing is frozen)."""
        frozen = self._frozen_names()
        if not frozen:
            return None
        weights = means = covariances = precisions_cholesky = None
        if "weights" in frozen:
            weights = (np.full(self.n_components, 1.0 / self.n_components) if self.weights_init is None
                       else np.asarray(self.weights_init, dtype=np.float64))
        if "means" in frozen:
            means = np.asarray(self.means_init, dtype=np.float64) - offset
        if "covariances" in frozen:
            precisions_cholesky = structure.precisions_cholesky_from_precisions(
                np.asarray(self.precisions_init, dtype=np.float64))
            covariances = structure.covariances_from_precisions_cholesky(precisions_cholesky)
        return FrozenParameters(weights, means, covariances, precisions_cholesky)

    def _check_source_options(self):
        """Options that need the data in memory, refused for a chunked source before it is opened."""
        if isinstance(self.noise, str):
            raise ValueError(f"noise={self.noise!r} measures the data's volume in memory; for out-of-core or "
                             "Dask data give the volume as a number")

    def _recovery(self, engine, structure, reseeds: int = 0):
        """The degeneracy policy for one EM run: ``recover(estimate, params) -> params``.

        First try the worst-explained samples; if components keep degenerating (an isolated point
        attracts them again), split heavy components; give up with advice after a budget.
        """
        advice = degeneracy_advice(self.reg_covar, self.n_components)
        max_reseeds = max(10, 2 * self.n_components)

        def recover(estimate, params):
            nonlocal reseeds
            if self.on_degenerate == "raise" or reseeds >= max_reseeds:
                raise degenerate_error(estimate.degenerate, advice)
            strategy = "worst" if reseeds == 0 else "split"
            reseeds += len(estimate.degenerate)
            return reseed_degenerate(estimate, engine, structure, advice, strategy, previous=params)

        return recover

    # ------------------------------------------------------------------------------------ checkpoints
    def _checkpoint_fingerprint(self, engine, data_variance: np.ndarray) -> dict:
        """JSON values that identify the data (:func:`~gaussmix.fitting.checkpoint.data_fingerprint`) and every setting
        that changes the fitted model, except ``max_iter`` (see :mod:`gaussmix.fitting.checkpoint`).

        An integer ``random_state`` is part of it; None or a generator instance cannot be identified, and
        need not be for the resumed run, which continues from the generator state in the checkpoint.
        """
        seed = int(self.random_state) if isinstance(self.random_state, numbers.Integral) else None
        prior = self.prior if self.prior is None or isinstance(self.prior, str) else value_digest(self.prior)
        return {
            **data_fingerprint(engine, data_variance), "chunk_size": int(engine.chunk_size),
            "n_components": self.n_components, "covariance_type": repr(get_structure(self.covariance_type)),
            "init_params": self.init_params, "n_init": self.n_init, "tol": float(self.tol),
            "reg_covar": float(self.reg_covar), "random_state": seed, "detect_collapse": self.detect_collapse if isinstance(self.detect_collapse, str) else bool(self.detect_collapse),
            "on_degenerate": self.on_degenerate, "prior": prior, "missing": self.missing, "noise": self.noise,
            "weights_init": value_digest(self.weights_init), "means_init": value_digest(self.means_init),
            "precisions_init": value_digest(self.precisions_init),
            "freeze": sorted(self._frozen_names()), "assignment": self.assignment,
            "responsibilities_init": value_digest(self.responsibilities_init),
        }

    def _resumable_checkpoint(self, fingerprint: dict):
        """The checkpoint to resume from, or None; refuses one written by a different fit, or one that
        ``max_iter`` would have taken elsewhere."""
        if not Path(self.checkpoint).exists():
            return None
        saved = load_checkpoint(self.checkpoint)
        differing = fingerprint_differences(saved.fingerprint, fingerprint)
        if differing:
            raise ValueError(
                f"checkpoint {self.checkpoint} was written by a fit of other data or settings "
                f"(differs in {', '.join(differing)}); delete it or choose another checkpoint path"
            )
        conflict = max_iter_conflict(saved, self.max_iter)
        if conflict is not None:
            raise ValueError(f"checkpoint {self.checkpoint} cannot be resumed with max_iter={self.max_iter}: "
                             f"{conflict}; or delete it to start afresh")
        logger.info("resuming from checkpoint %s (initialisation %d, iteration %d)", self.checkpoint,
                    saved.run, saved.state.n_iter)
        return saved

    def _checkpoint_writer(self, fingerprint, run, best, finished, random_state):
        if self.checkpoint is None:
            return None
        path, max_iter = self.checkpoint, self.max_iter

        def write(state):
            save_checkpoint(path, FitCheckpoint(fingerprint, run, state, best, random_state, max_iter, finished))

        return write

    # ------------------------------------------------------------------------------------- online EM
    def _check_online_parameters(self):
        decay = check_nonnegative_float("learning_decay", self.learning_decay)
        if not 0.5 < decay <= 1.0:
            raise ValueError(f"learning_decay must be in (0.5, 1], got {self.learning_decay!r}")
        check_nonnegative_float("learning_offset", self.learning_offset)

    def _supports_partial_fit(self) -> bool:
        # Stepwise EM re-centres running statistics through the structure's scatter; structures whose
        # statistics depend on the current parameters (factor analysers) opt out.
        return self._structure.online

    @available_if(_supports_partial_fit)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch of rows: a step of stepwise (online) EM.

        The first call on an unfitted model fits the batch by ordinary EM (initialisation included), so
        it needs at least ``n_components`` rows. Every later call computes the batch's statistics under
        the current parameters, blends them into a running average with weight
        ``eta_t = (t + learning_offset) ** -learning_decay`` and takes one M-step
        (see :mod:`gaussmix.families.online`). A model fitted by :meth:`fit` continues from its parameters.

        ``lower_bounds_`` gains the batch's mean log-likelihood under the parameters *before* the step
        (a progressive-validation score) and ``lower_bound_`` is the latest of these.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_online_parameters()
        if self.prior is not None or self.noise is not None:
            raise ValueError("partial_fit supports neither MAP estimation (prior) nor a noise component (noise) "
                             "yet; use fit, or prior=None and noise=None")
        if self._frozen_names() or self.assignment != "soft" or self.responsibilities_init is not None:
            raise ValueError("partial_fit supports neither freeze, assignment='hard' nor responsibilities_init yet; "
                             "use fit")
        if not hasattr(self, "weights_"):
            self._fit(X, sample_weight)
            return self
        self._check_parameters()
        X = check_predict_data(self, X, allow_nan=self.missing == "em")
        if self.missing == "em":
            check_missing_pattern(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        structure = self._structure
        batch_expect = expect_with_missing if self.missing == "em" and np.isnan(X).any() else expect
        if getattr(self, "_online", None) is None:
            params = self._fitted_params(self._fitted_offset())
            self._online = (params, expected_statistics(params, structure))
        params, running = self._online
        engine = make_engine(X, sample_weight, offset=params.offset, chunk_size=self.chunk_size,
                                n_jobs=self.n_jobs, n_components=self.n_components)
        batch = engine.reduce(lambda chunk, weights: batch_expect(chunk, weights, params, structure))
        step = getattr(self, "n_steps_", 0) + 1
        running = stepwise_average(running, batch, step_size(step, self.learning_decay, self.learning_offset))
        estimate = estimate_parameters(running, params, structure, self.reg_covar)
        if estimate.degenerate:
            new_params = self._recovery(engine, structure)(estimate, params)
            running = expected_statistics(new_params, structure)  # the old statistics describe other components
        else:
            new_params = estimate.to_params()
            running = recentred(running, new_params.means - params.means, structure)
        self._online = (new_params, running)
        self._set_fitted(new_params, structure, self._model_dtype)  # the dtype of the first fit
        self.n_steps_ = step
        self.lower_bound_ = batch.mean_log_likelihood
        self.lower_bounds_ = [*self.lower_bounds_, batch.mean_log_likelihood]
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "em"
        return tags

    def _set_fitted(self, params: MixtureParams, structure, dtype):
        """The fitted attributes from float64 ``params``, in ``dtype`` (float32 for float32 data)."""
        self.weights_ = fitted(params.weights, dtype)
        self.means_ = fitted(params.absolute_means, dtype)
        self.precisions_cholesky_ = fitted(params.precisions_cholesky, dtype)
        covariances = (params.covariances if params.covariances is not None
                       else structure.covariances_from_precisions_cholesky(params.precisions_cholesky))
        self.covariances_ = fitted(covariances, dtype)
        self.precisions_ = fitted(structure.precisions_from_precisions_cholesky(params.precisions_cholesky), dtype)

    def _gaussian_mixture(self, **params) -> "GaussianMixture":
        """An unfitted GaussianMixture (the type of :meth:`condition`'s result, also for subclasses)."""
        return GaussianMixture(**params)

    def to_sklearn(self):
        """This fitted model as a ``sklearn.mixture.GaussianMixture`` (same predictions; see
        :mod:`gaussmix.estimators.convert`)."""
        return to_sklearn(self)

    def _progress_callback(self):
        return progress_callback(self.callback, self.verbose, self.verbose_interval, "mean log-likelihood")


def _finite_array(name, value, shape):
    array = np.asarray(value, dtype=np.float64)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} has shape {array.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity")
    return array


def from_sklearn(estimator) -> GaussianMixture:
    """A fitted :class:`GaussianMixture` from a fitted ``sklearn.mixture.GaussianMixture`` (arrays copied, nothing
    refitted; :mod:`gaussmix.estimators.convert`).

    The result's ``lower_bound_`` is recomputed nowhere: it is scikit-learn's (which describes the parameters
    one M-step before the returned ones; see docs/sklearn-differences.md). Everything else is the same model.
    """
    return copy_from_sklearn(estimator, GaussianMixture)
