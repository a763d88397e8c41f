"""The Python examples in the README, and in the docs pages that the README's longer sections moved to, run as
written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Pages whose ```python blocks are complete programs (each block runs on its own, after `import gaussmix`, in an
# empty folder). docs/model-format.md is not one: its block loads a model.npz written elsewhere.
PAGES = ["README.md", "docs/api.md", "docs/degenerate-components.md", "docs/model-selection.md",
         "docs/mclust-models.md", "docs/bayesian.md", "docs/missing-values.md", "docs/factor-analyzers.md",
         "docs/mixture-of-experts.md", "docs/scale.md", "docs/plots-and-reports.md"]
BLOCKS = {page: re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S) for page in PAGES}
EXAMPLES = [(page, index) for page in PAGES for index in range(len(BLOCKS[page]))]


def test_readme_has_python_examples():
    assert len(BLOCKS["README.md"]) >= 1
    assert all(BLOCKS[page] for page in PAGES), [page for page in PAGES if not BLOCKS[page]]


@pytest.mark.parametrize(("page", "index"), EXAMPLES, ids=[f"{page}-{index}" for page, index in EXAMPLES])
def test_readme_example_runs(page, index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the quick start writes model.npz and report.html
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {}
    exec(compile("import gaussmix\n" + BLOCKS[page][index], f"{page} block {index}", "exec"), namespace)
