"""Fitting: the one driver, the starts (k-means, hc, random, given), degeneracy, checkpoints."""
