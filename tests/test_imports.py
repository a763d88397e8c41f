"""A plain install: ``import gaussmix`` and ``gaussmix --help`` load no heavy dependency, every public name is
still there, and the NumPy path runs where numba is missing.

Start-up time itself is measured by benchmarks, not asserted here: these tests check the modules that are
loaded, which is what the time depends on.
"""

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

import gaussmix
from gaussmix import _numba
from subprocess_env import ENV

HEAVY = ("sklearn", "numba", "matplotlib", "scipy", "pyarrow", "dask", "distributed", "pandas", "joblib")
# The CLI's parser lists the covariance structures, which needs numpy and the bare `scipy` package (no
# submodule of it: scipy.linalg alone takes a quarter of a second).
HEAVY_FOR_HELP = tuple(name for name in HEAVY if name != "scipy") + ("scipy.linalg", "scipy.special", "scipy.stats")

LOADED = ("import json, sys\n"
          "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {'sklearn', 'numba', 'matplotlib', "
          "'scipy', 'pyarrow', 'dask', 'distributed', 'pandas', 'joblib'})))\n")


def run_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**ENV, **environment})


def loaded_modules(code: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after ``code`` runs in a fresh interpreter."""
    result = run_python(code + "\n" + LOADED)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def offenders(modules: list[str], heavy: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in heavy)]


def test_import_gaussmix_loads_no_heavy_dependency():
    assert offenders(loaded_modules("import gaussmix"), HEAVY) == []


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["report", "--help"], ["--version"]])
def test_cli_help_loads_no_heavy_dependency(argv):
    code = ("import contextlib, io\n"
            "from gaussmix.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n"
            f"        main({argv!r})\n"
            "    except SystemExit as exit:\n"
            "        assert exit.code == 0, exit.code\n"
            "assert 'gaussmix' in out.getvalue()\n")
    assert offenders(loaded_modules(code), HEAVY_FOR_HELP) == []


# Where each public name was defined before the names were imported lazily: each must still be that object.
DEFINED_IN = {
    "BayesianGaussianMixture": "gaussmix.bayesian_mixture",
    "ConvergenceWarning": "sklearn.exceptions",
    "DataError": "gaussmix.exceptions",
    "DegenerateComponentError": "gaussmix.exceptions",
    "DegenerateComponentWarning": "gaussmix.exceptions",
    "GaussianMixture": "gaussmix.gaussian_mixture",
    "KMeans": "gaussmix.kmeans",
    "MixtureOfExperts": "gaussmix.experts",
    "MixtureOfFactorAnalyzers": "gaussmix.factor_analyzers",
    "ModelFileError": "gaussmix.exceptions",
    "PruningWarning": "gaussmix.exceptions",
    "ScaleWarning": "gaussmix.exceptions",
    "SelectionResult": "gaussmix.selection",
    "from_sklearn": "gaussmix.convert",
    "load": "gaussmix.io",
    "open_dataset": "gaussmix.engines.ooc",
    "save": "gaussmix.io",
    "select_model": "gaussmix.selection",
}


def test_every_public_name_resolves_to_the_same_object():
    assert set(DEFINED_IN) | {"__version__"} <= set(gaussmix.__all__)
    assert set(gaussmix.__all__) <= set(dir(gaussmix))
    for name in gaussmix.__all__:
        assert getattr(gaussmix, name) is not None, name
    for name, module in DEFINED_IN.items():
        assert getattr(gaussmix, name) is getattr(importlib.import_module(module), name), name
    from gaussmix.exceptions import ConvergenceWarning
    assert ConvergenceWarning is gaussmix.ConvergenceWarning
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        gaussmix.not_a_name  # noqa: B018


def test_star_import_and_from_import_in_a_fresh_interpreter():
    code = ("namespace = {}\n"
            "exec('from gaussmix import *', namespace)\n"
            "import gaussmix\n"
            "missing = [n for n in gaussmix.__all__ if namespace.get(n) is not getattr(gaussmix, n)]\n"
            "assert not missing, missing\n"
            "from gaussmix import GaussianMixture, ConvergenceWarning\n"
            "import sklearn.exceptions\n"
            "assert ConvergenceWarning is sklearn.exceptions.ConvergenceWarning\n"
            "assert issubclass(gaussmix.DataError, ValueError)\n"
            "assert gaussmix.progress.ProgressBar  # a submodule, reachable as an attribute without importing it\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------------ without numba at all
def test_without_numba_the_numpy_twins_fit_the_same_model():
    # numba made unimportable (as on a platform without wheels), not merely disabled.
    code = ("import sys\n"
            "sys.modules['numba'] = None  # `import numba` raises ImportError\n"
            "import numpy as np, gaussmix\n"
            "from gaussmix import _numba\n"
            "rng = np.random.default_rng(3)\n"
            "X = np.vstack([rng.normal(c, 1.0 + c / 6, size=(300, 3)) for c in (0.0, 6.0, 12.0)])\n"
            "m = gaussmix.GaussianMixture(3, random_state=0, tol=1e-10, max_iter=50).fit(X)\n"
            "k = gaussmix.KMeans(3, random_state=0).fit(X)\n"
            "print(_numba.AVAILABLE, _numba.full_statistics, repr(m.lower_bound_), repr(k.inertia_))\n")
    result = run_python(code, GAUSSMIX_DISABLE_NUMBA="0")
    assert result.returncode == 0, result.stderr
    available, kernel, lower_bound, inertia = result.stdout.split()
    assert (available, kernel) == ("False", "None")
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 1.0 + c / 6, size=(300, 3)) for c in (0.0, 6.0, 12.0)])
    here = gaussmix.GaussianMixture(3, random_state=0, tol=1e-10, max_iter=50).fit(X)  # compiled where available
    assert float(lower_bound) == pytest.approx(here.lower_bound_, rel=1e-9)
    assert float(inertia) == pytest.approx(gaussmix.KMeans(3, random_state=0).fit(X).inertia_, rel=1e-9)
