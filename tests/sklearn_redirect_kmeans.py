"""A pytest plugin (``-p sklearn_redirect_kmeans``) that points scikit-learn's ``KMeans`` at gaussmix's.

Both ``sklearn.cluster.KMeans`` (what the test modules import) and the name inside ``sklearn.cluster._kmeans``
(what scikit-learn's ``k_means`` function builds) become :class:`gaussmix.KMeans`; ``MiniBatchKMeans`` stays
scikit-learn's. Loaded before collection; nothing of scikit-learn's tests is copied here. Used by
tests/test_sklearn_conformance.py.
"""

import sklearn.cluster
import sklearn.cluster._kmeans

import gaussmix

sklearn.cluster.KMeans = gaussmix.KMeans
sklearn.cluster._kmeans.KMeans = gaussmix.KMeans
