"""MixtureOfExperts and select_experts: the estimator on top of :mod:`gaussmix.families.experts` (the model family: its
statistics, E- and M-steps and the family run by the driver)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._floating import as_float64, data_dtype, fitted, output_dtype
from .._validation import check_int, check_nonnegative_float, check_sample_weight, check_shared_settings
from ..covariance.full import matrix_cholesky_of_precisions
from ..engines import InMemoryEngine, as_engine, initialisation_engine, make_engine
from ..engines.dask import is_dask_array
from ..engines.ooc import IterableDataset
from ..exceptions import ConvergenceWarning, DataError, DegenerateComponentError
from ..families.em import feature_variance
from ..families.experts import (_DENSE_COVARIANCES, EXPERT_COVARIANCE_TYPES, INIT_METHODS, ExpertsFit, ExpertsParams,
                                Penalties, _split, gate_probabilities, initial_experts, log_joint, run_experts_em)
from ..fitting.starts import best_of_starts

__all__ = ["MixtureOfExperts"]


# ------------------------------------------------------------------------------------ chunked inputs
def _chunk_pairs(X) -> list | None:
    """``X`` as a list of ``(X_chunk, y_chunk)`` pairs, or None when it is not one."""
    if (isinstance(X, (list, tuple)) and len(X) > 0
            and all(isinstance(pair, tuple) and len(pair) == 2 for pair in X)):
        return list(X)
    return None


def _as_2d_targets(y, n_rows: int, where: str):
    """``y`` (n,) or (n, m) as (n, m): a ValueError naming ``where`` for other shapes."""
    if y.ndim not in (1, 2) or y.shape[0] != n_rows:
        raise ValueError(f"{where}: y has shape {tuple(y.shape)}, expected ({n_rows},) or ({n_rows}, n_targets)")
    return y.reshape(n_rows, -1)


class _PairedChunks:
    """The rows ``[x, y]`` of a list of ``(X_chunk, y_chunk)`` pairs, one float64 array per pair.

    Re-iterable (EM reads the data once per iteration); each array is made when it is read, so only one
    pair's rows are copied at a time.
    """

    def __init__(self, pairs: list):
        self.pairs = pairs

    def __iter__(self):
        for x, y in self.pairs:
            x = np.asarray(x)
            yield np.hstack([np.asarray(x, dtype=np.float64),
                             _as_2d_targets(np.asarray(y, dtype=np.float64), x.shape[0], "a chunk pair")])


def _paired_chunks(pairs: list, y) -> tuple:
    """``(rows, n_features, y_ndim, x_dtype)`` for a list of chunk pairs (shapes checked before any work)."""
    if y is not None:
        raise ValueError("X is a list of (X_chunk, y_chunk) pairs, so y must be None (the targets are in the pairs)")
    n_features = n_targets = y_ndim = None
    for i, (x, target) in enumerate(pairs):
        x, target = np.asarray(x), np.asarray(target)
        if x.ndim != 2:
            raise DataError(f"chunk pair {i}: X has shape {x.shape}, expected (rows, n_features)")
        width = _as_2d_targets(target, x.shape[0], f"chunk pair {i}").shape[1]
        if n_features is None:
            n_features, n_targets, y_ndim, x_dtype = x.shape[1], width, target.ndim, x.dtype
        elif (x.shape[1], width, target.ndim) != (n_features, n_targets, y_ndim):
            raise DataError(f"chunk pair {i} has {x.shape[1]} features and {width} targets (y {target.ndim}-D), "
                            f"unlike the first pair's {n_features} and {n_targets} (y {y_ndim}-D)")
    return IterableDataset(_PairedChunks(pairs), name="chunk pairs"), n_features, y_ndim, x_dtype


def _dask_rows(X, y) -> tuple:
    """``(rows, n_features, y_ndim, x_dtype)``: the dask array ``[X, y]`` in float64, blocks of X's rows."""
    import dask.array as da

    X = X if is_dask_array(X) else da.from_array(np.asarray(X))
    if any(np.isnan(size) for size in X.shape):
        X = X.compute_chunk_sizes()
    if X.ndim != 2:
        raise DataError(f"dask array: expected 2-D X (rows, features), got shape {X.shape}")
    y = y if is_dask_array(y) else da.from_array(np.asarray(y))
    if any(np.isnan(size) for size in y.shape):
        y = y.compute_chunk_sizes()
    for name, array in (("X", X), ("y", y)):
        if array.dtype.kind not in "biuf":
            raise DataError(f"dask array: {name} must be numeric, got dtype {array.dtype}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, {y.shape[0]}]")
    targets = _as_2d_targets(y, X.shape[0], "dask array").rechunk((X.chunks[0], -1))
    rows = da.concatenate([X.rechunk({1: -1}).astype(np.float64), targets.astype(np.float64)], axis=1)
    return rows, X.shape[1], y.ndim, X.dtype


# ---------------------------------------------------------------------------------------- estimator
class MixtureOfExperts(RegressorMixin, BaseEstimator):
    """Mixture of linear-Gaussian experts with a softmax gate (a scikit-learn regressor).

    ``p(y | x) = sum_k g_k(x) N(y | W_k x + b_k, Sigma_k)`` with ``g(x) = softmax(V x + c)``, fitted by
    generalised EM on the penalised log-likelihood described in :mod:`gaussmix.families.experts`: experts by
    weighted (ridge) least squares, the gate by a Newton step with a backtracking line search, so the
    objective trace never decreases.

    Parameters
    ----------
    n_experts : int, default=2
    covariance_type : {'full', 'diag', 'spherical'}, default='full'
        Family of the experts' noise covariances (matters only for multi-output ``y``).
    tol : float, default=1e-5
        EM stops when the objective (per unit of sample weight) changes by less than ``tol``.
    max_iter : int, default=200
    n_init : int, default=1
        Initialisations; the fit with the highest final objective is kept.
    init : {'kmeans', 'random'}, default='kmeans'
        Clusters of the standardised ``[x, y]`` rows start the experts and the gate: k-means, or the
        nearest of ``n_experts`` distinct random rows.
    gate_penalty : float, default=1e-2
        L2 penalty ``gate_penalty / 2 ||V||^2`` on the gate slopes (not the intercepts), on the summed
        (not averaged) log-likelihood, like ``1 / C`` in scikit-learn's ``LogisticRegression``. Keeps the
        gate finite when regimes are separable in ``x``. It is in the units of ``x``: scale the inputs
        if their ranges differ wildly.
    reg_coef : float, default=1e-6
        Ridge on the expert slopes (in the ``Sigma_k^{-1}`` metric, intercepts free): guards the weighted
        least squares against collinear inputs.
    reg_covar : float, default=1e-6
        Covariance floor: an expert with its share of the data gets ``reg_covar`` on its diagonal.
    random_state : int, RandomState instance or None
        Seeds the initialisation and :meth:`sample` (when it is given no ``random_state``).
    chunk_size : int or None, default=None
        Rows per chunk in the E-step; results do not depend on it.
    n_jobs : int or None, default=1
        Threads that process chunks concurrently.

    Attributes
    ----------
    gate_coef_ : ndarray of shape (n_experts, n_features)
    gate_intercept_ : ndarray of shape (n_experts,)
        The gate's softmax logits are ``X @ gate_coef_.T + gate_intercept_`` (defined up to a common
        shift; returned with intercepts summing to zero).
    coef_ : ndarray of shape (n_experts, n_targets, n_features)
    intercept_ : ndarray of shape (n_experts, n_targets)
        Expert ``k`` predicts ``X @ coef_[k].T + intercept_[k]``.
    covariances_ : ndarray
        (n_experts, n_targets, n_targets) for 'full', (n_experts, n_targets) for 'diag', (n_experts,)
        for 'spherical'.
    lower_bound_ : float
        Final objective: penalised log-likelihood per unit of sample weight (of the best initialisation).
    lower_bounds_ : list of float
        The objective before the first and after every iteration (non-decreasing).
    converged_ : bool
    n_iter_ : int
    n_features_in_ : int

    Notes
    -----
    dtypes: float32 ``X`` gives float32 fitted arrays, and float32 ``X`` on such a model float32 outputs
    (:meth:`predict`, :meth:`predict_proba`, :meth:`score_samples`, :meth:`sample`, ...); otherwise float64.
    EM runs in float64 either way.

    :meth:`score` is the coefficient of determination R^2 of :meth:`predict` (scikit-learn's regressor
    convention); the log-likelihood is :meth:`score_samples`. :meth:`predict_proba` gives the gate
    probabilities ``g(x)`` (see there why a regressor has it).
    """

    def __init__(self, n_experts=2, *, covariance_type="full", tol=1e-5, max_iter=200, n_init=1, init="kmeans",
                 gate_penalty=1e-2, reg_coef=1e-6, reg_covar=1e-6, random_state=None, chunk_size=None, n_jobs=1):
        self.n_experts = n_experts
        self.covariance_type = covariance_type
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init = init
        self.gate_penalty = gate_penalty
        self.reg_coef = reg_coef
        self.reg_covar = reg_covar
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    def _check_parameters(self):
        check_int("n_experts", self.n_experts, 1)
        if self.covariance_type not in EXPERT_COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {list(EXPERT_COVARIANCE_TYPES)}, "
                             f"got {self.covariance_type!r}")
        check_shared_settings(self)
        if self.init not in INIT_METHODS:
            raise ValueError(f"init must be one of {list(INIT_METHODS)}, got {self.init!r}")
        check_nonnegative_float("gate_penalty", self.gate_penalty)
        check_nonnegative_float("reg_coef", self.reg_coef)

    def fit(self, X, y=None, sample_weight=None):
        """Fit by generalised EM.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features), or a list of ``(X_chunk, y_chunk)``
            In memory; a ``dask.array`` (each E-step then runs on the workers, as for
            :class:`~gaussmix.GaussianMixture`); or a list/tuple of pairs of in-memory chunks, read chunk by
            chunk (out of core), with ``y=None``. Files are not read here: a target cannot ride along in
            :func:`~gaussmix.open_dataset` simply, so load them as dask arrays (``dask.dataframe`` /
            ``dask.array.from_npy_stack``) or as chunk pairs.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets), or None
            None exactly when ``X`` is a list of pairs.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._check_parameters()
        engine, n_features, dtype = self._training_engine(X, y, sample_weight)
        # The initial clustering sees every column in units of its standard deviation.
        scale = np.sqrt(feature_variance(engine))
        scale[scale == 0] = 1.0
        rng = check_random_state(self.random_state)
        # The clustering that starts the experts runs in memory: on the rows themselves when they are in
        # memory, else on a uniform sample of them (all rows up to engines.INIT_SAMPLE_SIZE).
        sample = initialisation_engine(engine, rng)
        scaled_engine = InMemoryEngine(sample.X / scale, sample.sample_weight, offset=engine.offset / scale,
                                       chunk_size=engine.chunk_size, n_jobs=self.n_jobs)
        penalties = Penalties(float(self.gate_penalty), float(self.reg_coef),
                              float(self.reg_covar) * engine.weight_sum / self.n_experts)

        def fit_start(index, best):
            start = initial_experts(engine, scaled_engine, scale, self.n_experts, n_features, self.init, rng, penalties,
                                    self.covariance_type)
            return run_experts_em(engine, start, penalties, n_features, self.covariance_type, tol=self.tol,
                                  max_iter=self.max_iter)

        best = best_of_starts(range(self.n_init), fit_start, lambda result: result.objective)
        if not best.converged and self.max_iter > 0:
            warnings.warn(f"Mixture of experts did not converge in max_iter={self.max_iter} iterations "
                          f"(objective change above tol={self.tol}); increase max_iter or tol.", ConvergenceWarning)
        self._set_fitted(best, engine.offset, n_features, dtype)
        return self

    def _training_engine(self, X, y, sample_weight):
        """``(engine, n_features, dtype)``: the engine over the rows ``[x, y]`` in float64, the number of
        inputs and the dtype of the fitted arrays; every input validated before any work. Sets
        ``n_features_in_`` and ``_y_ndim``."""
        options = dict(chunk_size=self.chunk_size, n_jobs=self.n_jobs, n_components=self.n_experts)
        pairs = _chunk_pairs(X)
        if pairs is not None or is_dask_array(X) or is_dask_array(y):
            rows, n_features, self._y_ndim, x_dtype = (_paired_chunks(pairs, y) if pairs is not None
                                                       else _dask_rows(X, y))
            # Each chunk or block is checked (numeric, finite) by the engine as it is read.
            engine = as_engine(rows, sample_weight, what="n_experts", **options)
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return engine, n_features, data_dtype(x_dtype)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=[np.float64, np.float32])
        dtype = data_dtype(X.dtype)  # of the fitted arrays; the fit itself runs in float64
        X = X.astype(np.float64, copy=False)
        if X.shape[0] < self.n_experts:
            raise DataError(f"Expected n_samples >= n_experts (at least {self.n_experts} samples), "
                            f"got n_samples={X.shape[0]}")
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if np.count_nonzero(sample_weight) < self.n_experts:
            raise ValueError(f"n_experts={self.n_experts} needs at least that many samples with positive "
                             f"sample_weight, got {np.count_nonzero(sample_weight)}")
        self._y_ndim = y.ndim
        targets = y.reshape(y.shape[0], -1).astype(np.float64)
        return make_engine(np.hstack([X, targets]), sample_weight, **options), X.shape[1], dtype

    def _set_fitted(self, result: ExpertsFit, offset: np.ndarray, n_features: int, dtype):
        """Fitted attributes in the user's coordinates (the centring of x and y undone), in ``dtype``."""
        params = result.params
        x_offset, y_offset = offset[:n_features], offset[n_features:]
        slopes = params.coef[:, :n_features].transpose(0, 2, 1)            # (K, m, d)
        gate_coef = params.gate[:, :n_features].copy()
        gate_intercept = params.gate[:, n_features] - gate_coef @ x_offset
        self.coef_ = fitted(np.ascontiguousarray(slopes), dtype)
        self.intercept_ = fitted(params.coef[:, n_features] + y_offset - slopes @ x_offset, dtype)
        self.gate_coef_ = fitted(gate_coef, dtype)
        self.gate_intercept_ = fitted(gate_intercept - gate_intercept.mean(), dtype)
        self.covariances_ = fitted(EXPERT_COVARIANCE_TYPES[self.covariance_type][1](params.covariances), dtype)
        self._set_prediction_factors()
        self.lower_bound_ = float(result.objective)
        self.lower_bounds_ = [float(value) for value in result.trace]
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)

    def _set_prediction_factors(self):
        """The dense covariances and precision factors that prediction uses, from the public ``covariances_``
        (float64): a model is its public attributes, so a loaded model predicts exactly as the saved one.
        For a float64 model these are the fit's own matrices, bit for bit (the projections are exact)."""
        dense = _DENSE_COVARIANCES[self.covariance_type](as_float64(self.covariances_), self.intercept_.shape[1])
        precisions_cholesky, singular = matrix_cholesky_of_precisions(np.ascontiguousarray(dense))
        if singular.any():
            raise DegenerateComponentError(component=int(np.argmax(singular)),
                                           reason="singular")
        self._dense_covariances, self._precisions_cholesky = dense, precisions_cholesky

    # --------------------------------------------------------------------------------- prediction
    def _user_params(self) -> ExpertsParams:
        """The fitted parameters in the user's (uncentred) coordinates, float64."""
        coef = np.concatenate([as_float64(self.coef_).transpose(0, 2, 1), as_float64(self.intercept_)[:, None, :]],
                              axis=1)
        gate = np.hstack([as_float64(self.gate_coef_), as_float64(self.gate_intercept_)[:, None]])
        return ExpertsParams(gate, coef, self._dense_covariances, self._precisions_cholesky)

    def _check_X(self, X) -> tuple[np.ndarray, np.dtype]:
        """``X`` validated and in float64, and the dtype of outputs on it (float32 when ``X`` and the model are)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return X.astype(np.float64, copy=False), output_dtype(X.dtype, self.coef_.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict_proba(self, X) -> np.ndarray:
        """Gate probabilities ``g_k(x_n) = p(expert k | x_n)``, shape (n_samples, n_experts); rows sum to one.

        A regressor with ``predict_proba``: the gate is a soft classifier of the inputs into the experts'
        regimes, ``softmax(X @ gate_coef_.T + gate_intercept_)``, and this is its class probability, as
        ``GaussianMixture.predict_proba`` gives the probability of each component. It needs ``x`` only,
        so it is what routes new inputs; :meth:`predict_expert_proba` is the posterior ``p(k | x, y)``
        once ``y`` is seen. scikit-learn decides that an estimator is a regressor by its type tag, not by
        the methods it has (``sklearn.base.is_regressor(MixtureOfExperts())`` is True), so tools treat it
        as a regressor all the same. Same as :meth:`predict_gate`.
        """
        X, dtype = self._check_X(X)
        return fitted(self._gate(X), dtype)

    def predict_gate(self, X) -> np.ndarray:
        """Gate probabilities ``g_k(x_n)``, shape (n_samples, n_experts): :meth:`predict_proba` by its
        model's name."""
        return self.predict_proba(X)

    def _gate(self, X: np.ndarray) -> np.ndarray:
        return gate_probabilities(_split(X, X.shape[1])[0], self._user_params().gate)[1]

    def _expert_means(self, X: np.ndarray) -> np.ndarray:
        """``W_k x_n + b_k``, shape (n_samples, n_experts, n_targets)."""
        return np.einsum("nd,kmd->nkm", X, as_float64(self.coef_)) + as_float64(self.intercept_)

    def _as_fitted_y(self, targets: np.ndarray) -> np.ndarray:
        return targets[:, 0] if self._y_ndim == 1 else targets

    def predict(self, X) -> np.ndarray:
        """Conditional mean ``E[y | x] = sum_k g_k(x) (W_k x + b_k)``; 1-D when fitted on 1-D ``y``."""
        X, dtype = self._check_X(X)
        return fitted(self._as_fitted_y(np.einsum("nk,nkm->nm", self._gate(X), self._expert_means(X))), dtype)

    def _check_Xy(self, X, y) -> tuple[np.ndarray, np.dtype]:
        """``[X, y]`` in float64, and the dtype of outputs on ``X``."""
        X, dtype = self._check_X(X)
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(y.shape[0], -1) if y.ndim <= 2 else y
        n_targets = self.intercept_.shape[1]
        if y.ndim != 2 or y.shape[1] != n_targets:
            raise ValueError(f"y has shape {np.shape(y)}, expected ({X.shape[0]},) or ({X.shape[0]}, {n_targets})")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and {y.shape[0]}")
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity")
        return np.hstack([X, y]), dtype

    def _map_pairs(self, X, y, function) -> np.ndarray:
        """Row-wise ``function(log_density, responsibilities)`` over chunks of ``[X, y]``."""
        rows, dtype = self._check_Xy(X, y)
        engine = InMemoryEngine(rows, offset=np.zeros(rows.shape[1]), chunk_size=self.chunk_size, n_jobs=self.n_jobs,
                                n_components=self.n_experts)
        params, n_features = self._user_params(), self.n_features_in_
        return fitted(engine.map(lambda chunk, weights: function(*log_joint(chunk, params, n_features))), dtype)

    def score_samples(self, X, y) -> np.ndarray:
        """Conditional log-density ``log p(y_n | x_n)`` of each pair, shape (n_samples,)."""
        return self._map_pairs(X, y, lambda log_density, responsibilities: log_density)

    def _n_parameters(self) -> int:
        """Free parameters ``(K - 1)(d + 1) + K m (d + 1) + K c(m)``: see :meth:`bic`."""
        n_experts, n_targets, n_features = self.coef_.shape
        covariance_parameters = {"full": n_targets * (n_targets + 1) // 2, "diag": n_targets, "spherical": 1}
        return ((n_experts - 1) * (n_features + 1) + n_experts * n_targets * (n_features + 1)
                + n_experts * covariance_parameters[self.covariance_type])

    def _log_likelihood(self, X, y) -> tuple[float, int]:
        """``(sum_n log p(y_n | x_n), n)``: the unpenalised log-likelihood (not ``lower_bound_``), float64."""
        log_density = as_float64(self.score_samples(X, y))
        return float(log_density.sum()), log_density.shape[0]

    def bic(self, X, y) -> float:
        """Bayesian information criterion ``-2 log L + p log n`` of the conditional model (lower is better).

        ``log L = sum_n log p(y_n | x_n)`` (the log-likelihood without the fit's penalties), ``n`` the number
        of rows and ``p`` the free parameters, with ``d`` inputs, ``m`` targets and ``K`` experts::

            gate         (K - 1)(d + 1)    softmax logits [V, c]; adding one vector to every row changes nothing
            experts      K m (d + 1)       slopes W_k and intercepts b_k
            covariances  K m (m + 1) / 2   'full';  K m for 'diag';  K for 'spherical'

        The gate and slope penalties (``gate_penalty``, ``reg_coef``) shrink but do not remove parameters,
        so they are counted in full (as scikit-learn counts a regularised covariance).
        """
        log_likelihood, n_samples = self._log_likelihood(X, y)
        return -2.0 * log_likelihood + self._n_parameters() * np.log(n_samples)

    def aic(self, X, y) -> float:
        """Akaike information criterion ``-2 log L + 2 p`` (lower is better; ``log L`` and ``p`` as in :meth:`bic`)."""
        return -2.0 * self._log_likelihood(X, y)[0] + 2.0 * self._n_parameters()

    def predict_expert_proba(self, X, y) -> np.ndarray:
        """Posterior responsibilities ``p(k | x_n, y_n)`` of the experts, shape (n_samples, n_experts)."""
        return self._map_pairs(X, y, lambda log_density, responsibilities: responsibilities)

    def sample(self, X, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``y`` given each row of ``X``: returns ``(y, experts)``.

        The expert of each row is drawn from the gate, then ``y`` from that expert's Gaussian.
        ``random_state`` defaults to the estimator's.
        """
        X, dtype = self._check_X(X)
        gate = self._gate(X)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        # Inverse-CDF draw of each row's expert from its gate probabilities.
        experts = np.minimum((rng.uniform(size=(X.shape[0], 1)) > np.cumsum(gate, axis=1)).sum(axis=1),
                             gate.shape[1] - 1)
        means = self._expert_means(X)[np.arange(X.shape[0]), experts]
        lower = np.linalg.cholesky(self._dense_covariances)
        draws = means + np.einsum("nml,nl->nm", lower[experts], rng.standard_normal(means.shape))
        return fitted(self._as_fitted_y(draws), dtype), experts
