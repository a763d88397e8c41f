"""A pytest plugin (``-p sklearn_redirect``) that points scikit-learn's mixture estimators at gaussmix's.

Loaded before collection, so scikit-learn's own test modules, which import ``GaussianMixture`` and
``BayesianGaussianMixture`` from ``sklearn.mixture``, test gaussmix's classes instead. Their code is run where
scikit-learn installed it; nothing of it is copied here. Used by tests/test_sklearn_conformance.py.
"""

import sklearn.mixture

import gaussmix

sklearn.mixture.GaussianMixture = gaussmix.GaussianMixture
sklearn.mixture.BayesianGaussianMixture = gaussmix.BayesianGaussianMixture
