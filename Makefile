# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-slow bench bench-quick bench-scale bench-models bench-selection bench-beyond clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m gaussmix demo

test: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_em.py
	$(PY) benchmarks/bench_memory.py

bench-quick: $(VENV)/.installed
	$(PY) benchmarks/bench_em.py --quick --json benchmarks/results/bench_em_quick.json

# Out-of-core fit of a 2.5 GB .npy file (created in a temporary directory, deleted afterwards) and Dask's
# overhead on a 2-worker LocalCluster; needs ~3 GB free disk and RAM, takes several minutes.
bench-scale: $(VENV)/.installed
	$(PY) benchmarks/bench_scale.py

# The measured tables of the model families in docs/ (model-selection.md, mclust-models.md, factor-analyzers.md,
# missing-values.md, mixture-of-experts.md, bayesian.md): selection timing on 2,000 x 10, mclust's models on
# faithful, iris and thyroid beside mclust's published BIC (wine and acidity: see docs/mclust-models.md),
# factor analysers on digits, missing values against mean imputation, mixture of experts,
# BayesianGaussianMixture's effective components on faithful.
bench-models: $(VENV)/.installed
	$(PY) benchmarks/bench_selection.py
	$(PY) benchmarks/mclust_table.py faithful --markdown
	$(PY) benchmarks/mclust_table.py iris --markdown
	$(PY) benchmarks/mclust_table.py thyroid
	$(PY) benchmarks/bench_mfa.py
	$(PY) benchmarks/bench_missing.py --seeds 5
	$(PY) benchmarks/experts_heldout.py
	$(PY) benchmarks/bayes_faithful.py

# The full model-selection grid (14 models x K = 1..9) on the data sets of ../shared/data beside R's
# Mclust(G = 1:9) in the same run (mclust's columns are left empty where Rscript with mclust is not installed).
bench-selection: $(VENV)/.installed
	$(PY) benchmarks/bench_selection_mclust.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis gaussmix-demo-report.html

# Beyond clustering, each beside its peer (R's mclust and mixtools where installed, skipped cleanly otherwise):
# the classifier against LDA, QDA and cvMclustDA; Student-t mixtures against GaussianMixture and studenttmixture
# (pip install studenttmixture); bootstrap inference against mclustBootstrapLRT/MclustBootstrap; mixtures of
# experts against regmixEM.
bench-beyond: $(VENV)/.installed
	$(PY) benchmarks/bench_classifier.py --semi-supervised
	$(PY) benchmarks/bench_student_t.py
	$(PY) benchmarks/bench_bootstrap_mclust.py
	$(PY) benchmarks/bench_experts_mixtools.py
