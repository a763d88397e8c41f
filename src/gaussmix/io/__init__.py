"""Files: model files (``save``/``load``), tabular readers and writers, atomic writes (temporary file, then rename)."""
