"""Files: model files (``save``/``load``), tabular readers and writers, atomic writes, scikit-learn conversion."""
