"""StudentTMixture: the estimator on top of :mod:`gaussmix.families.student_t` (the model family: its
statistics, E- and M-steps and the family run by the driver)."""

from __future__ import annotations

import numbers

import numpy as np

from ..families.em import ParameterEstimate
from ..families.student_t import (INITIAL_DOF, MAX_DOF, MIN_DOF, StudentTStatistics, _fixed_dof, expect_student_t,
                                  expect_student_t_with_missing, update_dof)
from ..params import MixtureParams
from .gaussian_mixture import GaussianMixture

__all__ = ["StudentTMixture"]


class StudentTMixture(GaussianMixture):
    """Mixture of multivariate Student-t distributions fitted by ECM: robust to outliers.

    Everything :class:`~gaussmix.GaussianMixture` does (every covariance structure -- scikit-learn's four and
    mclust's 14 --, sample weights, every engine, multiple starts, checkpoints, BIC/AIC/ICL, ``select_model``
    candidates) with t components; see :mod:`gaussmix.families.student_t` for the algorithm.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default='full'
    dof : 'learn' or float, default='learn'
        Degrees of freedom ``nu``: estimated (a CM-step per iteration, starting from ``dof_init``), or fixed.
    dof_shared : bool, default=False
        One ``nu`` for all components (estimated from all of them) instead of one each.
    dof_init : float, default=10.0
        Starting value of learned degrees of freedom.
    init_params : default='trimmed-kmeans'
        As for GaussianMixture, but trimmed k-means by default (:func:`gaussmix.fitting.init.trimmed_kmeans`): k-means
        and the agglomeration put a centre among gross outliers, a local optimum EM does not leave (on the
        benchmark's data, ``benchmarks/bench_student_t.py``, every k-means or 'hc' start did).
    **kwargs
        :class:`~gaussmix.GaussianMixture`'s other parameters (``tol``, ``max_iter``, ``n_init``,
        ``init_params``, ``reg_covar``, ``random_state``, ``missing``, ``engine``, ...). A prior, a noise
        component, frozen parameters and hard assignment are not available for t components yet.
    missing : {'error', 'em'}, default='error'
        'em': NaN entries are missing at random; EM uses each row's observed coordinates, on which a t component
        is t with the same degrees of freedom (:func:`incomplete_student_t_statistics`).

    Attributes
    ----------
    dof_ : ndarray of shape (n_components,)
        Fitted (or fixed) degrees of freedom.
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        As for GaussianMixture; ``covariances_`` are the t scale matrices (the covariance of component k is
        ``nu_k / (nu_k - 2)`` times it, for ``nu_k > 2``).
    lower_bound_, lower_bounds_
        Mean log-likelihood (of the t mixture) of the returned parameters and per iteration; never decreasing.
    """

    # GaussianMixture's options that t components do not offer yet (fit reads them).
    prior = None
    noise = None
    freeze = ()
    assignment = "soft"
    responsibilities_init = None

    def __init__(self, n_components=1, *, covariance_type="full", dof="learn", dof_shared=False, dof_init=INITIAL_DOF,
                 tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1, init_params="trimmed-kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False, verbose=0,
                 verbose_interval=10, on_degenerate="reseed", detect_collapse=True, chunk_size=None, n_jobs=None,
                 callback=None, checkpoint=None, missing="error", engine="auto"):
        super().__init__(n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
                         max_iter=max_iter, n_init=n_init, init_params=init_params, weights_init=weights_init,
                         means_init=means_init, precisions_init=precisions_init, random_state=random_state,
                         warm_start=warm_start, verbose=verbose, verbose_interval=verbose_interval,
                         on_degenerate=on_degenerate, detect_collapse=detect_collapse, chunk_size=chunk_size,
                         n_jobs=n_jobs, callback=callback, checkpoint=checkpoint, missing=missing, engine=engine)
        self.dof = dof
        self.dof_shared = dof_shared
        self.dof_init = dof_init

    def _check_parameters(self):
        super()._check_parameters()
        if isinstance(self.dof, str):
            if self.dof != "learn":
                raise ValueError(f"dof must be 'learn' or a positive number, got {self.dof!r}")
        elif not (isinstance(self.dof, numbers.Real) and MIN_DOF <= self.dof <= MAX_DOF):
            raise ValueError(f"dof must be 'learn' or a number in [{MIN_DOF}, {MAX_DOF}], got {self.dof!r}")
        if not (isinstance(self.dof_init, numbers.Real) and MIN_DOF <= self.dof_init <= MAX_DOF):
            raise ValueError(f"dof_init must be a number in [{MIN_DOF}, {MAX_DOF}], got {self.dof_init!r}")
        if not isinstance(self.dof_shared, (bool, np.bool_)):
            raise ValueError(f"dof_shared must be True or False, got {self.dof_shared!r}")

    # The hooks of GaussianMixture's fit: the E-step, the M-step's extra part and the start's dof.
    def _expect(self, has_missing: bool):
        return expect_student_t_with_missing if has_missing else expect_student_t

    def _start(self, params: MixtureParams) -> MixtureParams:
        fixed = _fixed_dof(self.dof, params.n_components)
        return params.replace(dof=np.full(params.n_components, float(self.dof_init)) if fixed is None else fixed)

    def _maximize_hook(self):
        if not isinstance(self.dof, str):
            return None  # fixed degrees of freedom: the mixture's M-step is the whole M-step

        def update(stats: StudentTStatistics, params: MixtureParams, estimate: ParameterEstimate) -> ParameterEstimate:
            dof = update_dof(params.dof, stats.counts, stats.dof_terms, params.n_features, self.dof_shared)
            return ParameterEstimate(estimate.weights, estimate.means, estimate.covariances,
                                     estimate.precisions_cholesky, estimate.offset, estimate.degenerate, dof)
        return update

    def _set_fitted(self, params: MixtureParams, structure, dtype):
        super()._set_fitted(params, structure, dtype)
        self.dof_ = np.asarray(params.dof, dtype=np.float64).copy()

    def _fitted_params(self, offset: np.ndarray) -> MixtureParams:
        return super()._fitted_params(offset).replace(dof=np.asarray(self.dof_, dtype=np.float64))

    def _n_parameters(self) -> int:
        learned = 0 if not isinstance(self.dof, str) else (1 if self.dof_shared else self.means_.shape[0])
        return super()._n_parameters() + learned

    def _draw(self, n_samples: int, rng, caller: str):
        """t draws: Gaussian draws divided by ``sqrt(u)``, ``u ~ Gamma(nu/2, rate nu/2)`` per draw."""
        draws, labels = super()._draw(n_samples, rng, caller)
        means = np.asarray(self.means_, dtype=np.float64)[labels]
        dof = self.dof_[labels]
        scale = rng.gamma(0.5 * dof, 2.0 / dof)
        return means + (draws - means) / np.sqrt(scale)[:, None], labels

    def outlier_scores(self, X, reference=None, n_samples: int = 100_000, random_state=None,
                       kind: str = "density") -> np.ndarray:
        """How much each row looks like an outlier, shape (n_samples,), in [0, 1]; near 1 for outliers.

        kind='density': the content of the smallest highest-density region through the row, as for every
        mixture (:meth:`gaussmix.GaussianMixture.outlier_scores`; ``reference``, ``n_samples`` and
        ``random_state`` are its). kind='mahalanobis': ``F_{d, nu}(delta^2 / d)``, the distribution function of the
        squared Mahalanobis distance to the row's most probable component, which is ``d F(d, nu)`` distributed
        under that t component: the share of that component's rows that lie closer to its centre.
        kind='weight': ``1 - sum_k tau_k min(u_k, 1)``: how much EM down-weights the row (``u_k`` its expected
        scale weight, ``tau_k`` its responsibilities).
        """
        from scipy.stats import f as f_distribution

        if kind == "density":
            return super().outlier_scores(X, reference, n_samples, random_state)
        if kind not in ("mahalanobis", "weight"):
            raise ValueError(f"kind must be 'density', 'mahalanobis' or 'weight', got {kind!r}")
        responsibilities = self.predict_proba(X)
        X = np.asarray(X, dtype=np.float64)
        params = self._fitted_params(np.zeros(X.shape[1]))
        squared = self._structure.squared_mahalanobis(X, params.means, params.precisions_cholesky)
        n_features = X.shape[1]
        if kind == "weight":
            scale = (self.dof_ + n_features) / (self.dof_ + squared)
            return 1.0 - np.sum(responsibilities * np.minimum(scale, 1.0), axis=1)
        nearest = responsibilities.argmax(axis=1)
        rows = np.arange(X.shape[0])
        return f_distribution.cdf(squared[rows, nearest] / n_features, n_features, self.dof_[nearest])

    def cdf(self, X) -> np.ndarray:
        """Cumulative distribution function of a one-dimensional t mixture, ``sum_k pi_k T_nu_k((x - mu_k) / s_k)``."""
        from scipy.stats import t as t_distribution

        weights, means, scales = self._check_one_dimensional("cdf")
        scalar = np.ndim(X) == 0
        x = np.reshape(np.asarray(X, dtype=np.float64), (-1, 1))
        values = t_distribution.cdf((x - means) / scales, self.dof_) @ weights
        return float(values[0]) if scalar else values

    def ppf(self, q) -> np.ndarray:
        """Quantiles of a one-dimensional t mixture, the inverse of :meth:`cdf`: for each ``q`` the root of
        ``F(x) = q`` by Brent's method between the smallest and largest component quantile (an exact bracket)."""
        from scipy.optimize import brentq
        from scipy.stats import t as t_distribution

        weights, means, scales = self._check_one_dimensional("ppf")
        q = np.asarray(q, dtype=np.float64)
        if np.any(np.isnan(q)) or np.any((q < 0) | (q > 1)):
            raise ValueError("ppf needs probabilities in [0, 1]")
        flat = q.ravel()
        result = np.empty_like(flat)
        for i, p in enumerate(flat):
            if p <= 0.0 or p >= 1.0:
                result[i] = -np.inf if p <= 0.0 else np.inf
                continue
            bounds = means + scales * t_distribution.ppf(p, self.dof_)
            low, high = bounds.min(), bounds.max()
            result[i] = low if low == high else brentq(lambda x: self.cdf(x) - p, low, high, xtol=1e-14, rtol=1e-14)
        return float(result[0]) if q.ndim == 0 else result.reshape(q.shape)
