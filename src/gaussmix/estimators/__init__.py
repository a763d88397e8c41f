"""The estimators: scikit-learn's API on top of the model families (thin: options, starts, the driver)."""
