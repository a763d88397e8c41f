"""Inference after the fit (issue 19): how many components (bootstrap likelihood-ratio test), how certain the
parameters are (bootstrap standard errors and intervals), which components form one cluster (entropy merging),
which directions show the clusters (MclustDR), and density tools.

Each function lives in its own module (``bootstrap``, ``merging``, ``directions``); the public names are
importable from :mod:`gaussmix` itself.
"""
