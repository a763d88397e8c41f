"""A plain install: ``import gaussmix`` and ``gaussmix --help`` load no heavy dependency, every public name is
still there, the compiled kernels announce their one-time compile, and the NumPy path runs where numba is missing.

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
            "from gaussmix.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n"
            f"        main({argv!r})\n"
            "    except SystemExit as exit:\n"
            "        assert exit.code == 0, exit.code\n"
            "assert 'gaussmix' in out.getvalue()\n")
    assert offenders(loaded_modules(code), HEAVY_FOR_HELP) == []


# Where each public name was defined before the names were imported lazily: each must still be that object.
DEFINED_IN = {
    "BayesianGaussianMixture": "gaussmix.estimators.bayesian_mixture",
    "ConvergenceWarning": "sklearn.exceptions",
    "DataError": "gaussmix.exceptions",
    "DegenerateComponentError": "gaussmix.exceptions",
    "DegenerateComponentWarning": "gaussmix.exceptions",
    "GaussianMixture": "gaussmix.estimators.gaussian_mixture",
    "GaussianMixtureClassifier": "gaussmix.estimators.classifier",
    "KMeans": "gaussmix.estimators.kmeans",
    "MixtureOfExperts": "gaussmix.estimators.experts",
    "MixtureOfFactorAnalyzers": "gaussmix.estimators.factor_analyzers",
    "ModelFileError": "gaussmix.exceptions",
    "PruningWarning": "gaussmix.exceptions",
    "ScaleWarning": "gaussmix.exceptions",
    "SelectionResult": "gaussmix.selection",
    "StudentTMixture": "gaussmix.estimators.student_t",
    "bootstrap_lrt": "gaussmix.inference.bootstrap",
    "bootstrap_parameters": "gaussmix.inference.bootstrap",
    "combine_components": "gaussmix.inference.merging",
    "from_sklearn": "gaussmix.estimators.gaussian_mixture",
    "load": "gaussmix.io.model_files",
    "mixture_directions": "gaussmix.inference.directions",
    "open_dataset": "gaussmix.engines.ooc",
    "save": "gaussmix.io.model_files",
    "select_experts": "gaussmix.selection",
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
            "assert gaussmix.datasets.load_faithful  # a submodule, reachable as an attribute without importing it\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------------- the compile notice
KERNEL_CALLS = ("import numpy as np\n"
                "from gaussmix import _numba\n"
                "assert _numba.AVAILABLE\n"
                "_numba.symmetric_from_lower(np.zeros((1, 2, 2)), 2)\n"
                "_numba.symmetric_from_lower(np.zeros((1, 2, 4))[:, :, :2], 2)  # a second signature\n")


@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba cannot be imported here")
def test_first_compile_is_announced_once_and_a_cached_run_is_silent(tmp_path):
    environment = {"NUMBA_CACHE_DIR": str(tmp_path), "GAUSSMIX_DISABLE_NUMBA": "0"}
    first = run_python(KERNEL_CALLS, **environment)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [_numba.COMPILE_NOTICE]  # two compiles, one line, before the pause
    assert any(tmp_path.rglob("*.nbi")), "numba wrote no cache index: the test does not test a cache hit"
    second = run_python(KERNEL_CALLS, **environment)
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""


@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba cannot be imported here")
def test_worker_processes_announce_their_compile_once_in_all(tmp_path):
    # A parallel model selection compiles in joblib's worker processes: one line for all of them.
    code = ("import numpy as np\n"
            "from joblib import Parallel, delayed\n"
            "def compile_in_worker(n):\n"
            "    from gaussmix import _numba\n"
            "    _numba.symmetric_from_lower(np.zeros((1, n, n)), n)\n"
            "    import os\n"
            "    return os.getpid()\n"
            "pids = Parallel(n_jobs=2)(delayed(compile_in_worker)(n) for n in (2, 2, 2, 2))\n"
            "print(len(set(pids)))\n")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = run_python(code, NUMBA_CACHE_DIR=str(tmp_path / "cache"), GAUSSMIX_DISABLE_NUMBA="0",
                        TMPDIR=str(temporary))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines().count(_numba.COMPILE_NOTICE) == 1, result.stderr
    assert list(temporary.glob("gaussmix-compile-notice-*")) == []  # the worker that said it removed its marker


@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba cannot be imported here")
def test_compile_notice_goes_through_the_gaussmix_logger(tmp_path):
    code = ("import logging\n"
            "logging.getLogger('gaussmix').setLevel(logging.ERROR)\n" + KERNEL_CALLS)
    result = run_python(code, NUMBA_CACHE_DIR=str(tmp_path), GAUSSMIX_DISABLE_NUMBA="0")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # silenced like any logging of gaussmix


@pytest.mark.slow
@pytest.mark.skipif(not _numba.AVAILABLE, reason="numba cannot be imported here")
def test_cli_announces_the_first_compile_on_standard_error(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "data.csv"
    np.savetxt(data, np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(5, 1, (100, 2))]), delimiter=",",
               header="a,b", comments="")
    environment = {**ENV, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "GAUSSMIX_DISABLE_NUMBA": "0"}

    def fit(output):
        return subprocess.run([sys.executable, "-m", "gaussmix", "fit", str(data), "-k", "2", "--covariance",
                               "diag", "-o", str(tmp_path / output), "--quiet"],
                              capture_output=True, text=True, timeout=600, env=environment)

    first, second = fit("first.npz"), fit("second.npz")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.splitlines().count(_numba.COMPILE_NOTICE) == 1
    assert _numba.COMPILE_NOTICE not in second.stderr


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
    assert _numba.COMPILE_NOTICE not in result.stderr
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 1.0 + c / 6, size=(300, 3)) for c in (0.0, 6.0, 12.0)])
    here = gaussmix.GaussianMixture(3, random_state=0, tol=1e-10, max_iter=50).fit(X)  # compiled where available
    assert float(lower_bound) == pytest.approx(here.lower_bound_, rel=1e-9)
    assert float(inertia) == pytest.approx(gaussmix.KMeans(3, random_state=0).fit(X).inertia_, rel=1e-9)
