"""The ``gaussmix`` command: every subcommand through a subprocess, user errors, no clobbering, atomic writes.

Subprocess tests run the installed entry point's code path (``python -m gaussmix``, which is ``cli.main``);
the many error variants run ``cli.main`` in-process (same code, without paying an interpreter start each).
"""

import json
import signal
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from gaussmix import GaussianMixture, KMeans, load, save
from gaussmix.cli.main import main, parse_components
from subprocess_env import ENV

FAITHFUL = resources.files("gaussmix").joinpath("data/faithful.csv")


ENTRY_POINT = Path(sys.executable).parent / "gaussmix"  # the [project.scripts] console script


def gaussmix(*arguments, cwd, check=True, entry_point=False):
    command = [str(ENTRY_POINT)] if entry_point else [sys.executable, "-m", "gaussmix"]
    completed = subprocess.run([*command, *map(str, arguments)], capture_output=True,
                               text=True, cwd=cwd, env=ENV, timeout=300, check=False)
    if check:
        assert completed.returncode == 0, completed.stderr
        assert "Traceback" not in completed.stderr
    return completed


def assert_user_error(completed, *words):
    assert completed.returncode == 2, (completed.returncode, completed.stderr)
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("gaussmix: error: ")
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


@pytest.fixture()
def work(tmp_path):
    (tmp_path / "faithful.csv").write_text(FAITHFUL.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


FAITHFUL_COLUMNS = ["eruptions", "waiting"]


def load_fitted(path):
    """A model file written by ``gaussmix fit`` on faithful.csv: the CSV header is stored as the model's
    ``feature_names_in_`` (checked here, then taken off, so the tests use the model on plain arrays without
    scikit-learn's feature-name warning)."""
    model = load(path)
    assert list(model.feature_names_in_) == FAITHFUL_COLUMNS
    del model.feature_names_in_
    return model


def faithful_array(folder):
    return np.loadtxt(folder / "faithful.csv", delimiter=",", skiprows=1)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model file fitted by the CLI (tied, K=3 on Old Faithful: mclust's EEE,3) and its data."""
    folder = tmp_path_factory.mktemp("fitted")
    (folder / "faithful.csv").write_text(FAITHFUL.read_text(encoding="utf-8"), encoding="utf-8")
    completed = gaussmix("fit", "faithful.csv", "-k", "3", "--covariance", "tied", "-o", "model.npz", "--json",
                         cwd=folder)
    return folder, json.loads(completed.stdout)


# ------------------------------------------------------------------------------- every subcommand, subprocess
def test_fit_writes_a_loadable_model_and_json(fitted):
    folder, summary = fitted
    model = load_fitted(folder / "model.npz")
    assert (model.covariance_type, model.n_components) == ("tied", 3)
    assert summary["columns"] == ["eruptions", "waiting"]
    assert summary["n_samples"] == 272
    # mclust: Mclust(faithful) picks EEE,3 with BIC -2314.3 in mclust's sign, 2314.3 in ours; see tests/test_demo.py.
    assert summary["bic"] == pytest.approx(2314.3, abs=0.1)
    X = np.loadtxt(folder / "faithful.csv", delimiter=",", skiprows=1)
    assert summary["log_likelihood"] == pytest.approx(model.score(X) * 272, rel=1e-12)


def test_predict_writes_labels_and_probabilities(fitted):
    folder, _ = fitted
    gaussmix("predict", "model.npz", "faithful.csv", "-o", "labels.csv", cwd=folder)
    table = np.genfromtxt(folder / "labels.csv", delimiter=",", names=True)
    model = load_fitted(folder / "model.npz")
    X = np.loadtxt(folder / "faithful.csv", delimiter=",", skiprows=1)
    assert table.dtype.names == ("label", "probability_0", "probability_1", "probability_2")
    np.testing.assert_array_equal(table["label"], model.predict(X))
    probabilities = np.column_stack([table[f"probability_{k}"] for k in range(3)])
    np.testing.assert_array_equal(probabilities, model.predict_proba(X))  # repr round-trips float64 exactly


def test_score_json_matches_python(fitted):
    folder, _ = fitted
    summary = json.loads(gaussmix("score", "model.npz", "faithful.csv", "--json", cwd=folder).stdout)
    model = load_fitted(folder / "model.npz")
    X = np.loadtxt(folder / "faithful.csv", delimiter=",", skiprows=1)
    assert summary["mean_log_likelihood"] == pytest.approx(model.score(X), rel=1e-12)
    assert summary["bic"] == pytest.approx(model.bic(X), rel=1e-12)


def test_sample_writes_parquet_with_components(fitted):
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    folder, _ = fitted
    gaussmix("sample", "model.npz", "-n", "500", "--seed", "1", "-o", "draws.parquet", cwd=folder)
    table = pyarrow_parquet.read_table(folder / "draws.parquet")
    assert table.column_names == [*FAITHFUL_COLUMNS, "component"]  # the names fit stored in the model
    assert table.num_rows == 500
    assert set(table.column("component").to_pylist()) <= {0, 1, 2}


def test_select_prints_the_table_and_json(work):
    completed = gaussmix("select", "faithful.csv", "-k", "1-4", "--covariance", "full,tied", "--n-init", "1",
                         "--json", cwd=work)
    summary = json.loads(completed.stdout)
    assert {(r["covariance_type"], r["n_components"]) for r in summary["records"]} == {
        (c, k) for c in ("full", "tied") for k in range(1, 5)}
    best = min((r for r in summary["records"] if not r["failed"]), key=lambda r: r["bic"])
    assert summary["best"] == {"covariance_type": best["covariance_type"], "n_components": best["n_components"]}


def test_select_by_heldout_likelihood(work):
    # Cross-validation clones each candidate, progress-bar callback included (it holds sys.stderr).
    completed = gaussmix("select", "faithful.csv", "-k", "1-3", "--covariance", "tied", "--criterion", "heldout",
                         "--n-init", "1", "--json", cwd=work)
    summary = json.loads(completed.stdout)
    assert summary["criterion"] == "heldout"
    scores = {r["n_components"]: r["heldout_log_likelihood"] for r in summary["records"]}
    assert sorted(scores) == [1, 2, 3] and all(np.isfinite(list(scores.values())))
    assert summary["best"] == {"covariance_type": "tied", "n_components": max(scores, key=scores.get)}


def test_report_writes_html(fitted):
    folder, _ = fitted
    gaussmix("report", "faithful.csv", "--model", "model.npz", "-o", "report.html", cwd=folder)
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in text


@pytest.fixture(scope="module")
def kmeans_file(fitted):
    folder, _ = fitted
    X = faithful_array(folder)
    model = KMeans(3, random_state=0).fit(X)
    save(model, folder / "kmeans.npz")
    return folder, model, X


def test_kmeans_model_file_predicts_labels(kmeans_file, capsys, monkeypatch):
    folder, model, X = kmeans_file
    monkeypatch.chdir(folder)
    status, out, _ = run_main(capsys, "predict", "kmeans.npz", "faithful.csv", "-o", "kmeans-labels.csv", "--json")
    assert status == 0
    table = np.genfromtxt(folder / "kmeans-labels.csv", delimiter=",", names=True)
    assert table.dtype.names == ("label",)  # hard assignments: no probabilities
    np.testing.assert_array_equal(table["label"], model.predict(X))
    assert json.loads(out)["counts"] == np.bincount(model.predict(X), minlength=3).tolist()


def test_kmeans_model_file_scores_the_distortion(kmeans_file, capsys, monkeypatch):
    folder, model, X = kmeans_file
    monkeypatch.chdir(folder)
    distances = ((X[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2).min(axis=1)
    status, out, _ = run_main(capsys, "score", "kmeans.npz", "faithful.csv", "--json")
    summary = json.loads(out)
    assert status == 0
    assert summary["inertia"] == pytest.approx(distances.sum(), rel=1e-10)
    assert summary["mean_squared_distance"] == pytest.approx(distances.mean(), rel=1e-10)
    status, out, _ = run_main(capsys, "score", "kmeans.npz", "faithful.csv")
    assert status == 0 and "distortion" in out and f"{distances.sum():.4f}" in out


@pytest.mark.parametrize("command", [["report", "faithful.csv", "--model", "kmeans.npz", "-o", "kmeans.html"],
                                     ["sample", "kmeans.npz", "-n", "5", "-o", "kmeans-draws.csv"]])
def test_kmeans_model_file_is_refused_where_a_mixture_is_needed(kmeans_file, capsys, monkeypatch, command):
    folder, _, _ = kmeans_file
    monkeypatch.chdir(folder)
    status, _, err = run_main(capsys, *command)
    assert status == 2 and err.count("\n") == 1 and "k-means model" in err and "Gaussian mixture" in err, err
    assert not Path(command[-1]).exists()


def test_predict_takes_the_models_columns_by_name(fitted, capsys, monkeypatch):
    folder, _ = fitted
    monkeypatch.chdir(folder)
    X = faithful_array(folder)
    extra = np.arange(len(X))
    np.savetxt("shuffled.csv", np.column_stack([X[:, 1], extra, X[:, 0]]), delimiter=",",
               header="waiting,row,eruptions", comments="")
    status, out, _ = run_main(capsys, "predict", "model.npz", "shuffled.csv", "-o", "by-name.npy", "--json")
    assert status == 0 and json.loads(out)["columns"] == FAITHFUL_COLUMNS
    model = load_fitted(folder / "model.npz")
    np.testing.assert_array_equal(np.load("by-name.npy")[:, 1:], model.predict_proba(X))
    np.savetxt("renamed.csv", X, delimiter=",", header="eruptions,wait", comments="")
    status, _, err = run_main(capsys, "score", "model.npz", "renamed.csv")
    assert status == 2 and "no column named 'waiting'" in err and "--columns" in err, err
    status, out, _ = run_main(capsys, "score", "model.npz", "renamed.csv", "--columns", "eruptions,wait", "--json")
    assert status == 0 and json.loads(out)["mean_log_likelihood"] == pytest.approx(model.score(X), rel=1e-12)


def test_predict_labels_a_noise_component_minus_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(6, 1, (200, 2)), rng.uniform(-20, 26, (40, 2))])
    model = GaussianMixture(2, noise="auto", random_state=0).fit(X)
    save(model, "noisy.npz")
    np.save("noisy.npy", X)
    assert run_main(capsys, "predict", "noisy.npz", "noisy.npy", "-o", "noisy.csv")[0] == 0
    table = np.genfromtxt("noisy.csv", delimiter=",", names=True)
    assert table.dtype.names == ("label", "probability_0", "probability_1", "probability_noise")
    np.testing.assert_array_equal(table["label"], model.predict(X))
    assert (table["label"] == -1).sum() > 10


def test_demo_does_not_clobber_a_report_it_was_told_to_write(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("mine.html").write_text("precious")
    status, out, err = run_main(capsys, "demo", "--report", "mine.html")
    assert status == 2 and "already exists" in err and "--force" in err
    assert out == "" and Path("mine.html").read_text() == "precious"  # refused before the demo ran


def test_fit_with_range_selects_and_saves_the_best(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    np.save("data.npy", np.loadtxt("faithful.csv", delimiter=",", skiprows=1))
    status, out, _ = run_main(capsys, "fit", "data.npy", "-k", "1-3", "--covariance", "tied", "--n-init", "1",
                              "-o", "best.npz")
    assert status == 0 and "saved best.npz" in out
    best = load("best.npz")
    assert best.n_components == 3  # BIC: 2607.6, 2325.2, 2314.3 for K = 1, 2, 3
    assert not hasattr(best, "feature_names_in_")  # .npy columns have no names to store


def help_text(capsys, *arguments):
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_everywhere_has_examples(capsys):
    examples = help_text(capsys).split("examples:")[1]
    assert all(f"gaussmix {command}" in examples for command in ("demo", "select", "fit", "predict", "report"))
    for command in ("fit", "predict", "score", "sample", "select", "report", "demo"):
        out = help_text(capsys, command)
        assert "examples:" in out and f"gaussmix {command}" in out.split("examples:")[1]


@pytest.mark.parametrize("command, default", [("fit", "full"), ("select", "all"), ("report", "all")])
def test_covariance_help_states_the_real_default_and_what_all_means(capsys, command, default):
    from gaussmix.cli.main import build_parser
    from gaussmix.covariance import ALL_MODEL_NAMES

    assert build_parser().parse_args([command, "data.csv", "-o", "out"]).covariance == default
    text = " ".join(help_text(capsys, command).split())
    assert f"(default {default})" in text
    assert "all = mclust's 14 models" in text and all(name in text for name in ALL_MODEL_NAMES)


# --------------------------------------------------------------------------------- user errors, subprocess
@pytest.mark.parametrize("arguments, words", [
    (["fit", "nope.csv", "-o", "m.npz"], ["nope.csv", "no such file"]),
    (["fit", "binary.csv", "-o", "m.npz"], ["binary.csv", "cannot decode"]),
    (["fit", "holes.csv", "-o", "m.npz"], ["column 'waiting'", "missing", "row 3"]),
    (["fit", "faithful.csv", "--columns", "eruptions,height", "-o", "m.npz"], ["no column named 'height'"]),
    (["select", "faithful.csv", "-k", "two"], ["-k", "'two'"]),
])
def test_bad_input_through_the_console_script(work, arguments, words):
    """Exit status 2, exactly one line on stderr, no traceback, no output file (the installed entry point)."""
    assert ENTRY_POINT.is_file(), "the gaussmix console script is not installed: pip install -e ."
    (work / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (work / "holes.csv").write_text("eruptions,waiting\n3.6,79\n1.8,54\n3.3,NaN\n2.3,62\n")
    assert_user_error(gaussmix(*arguments, cwd=work, check=False, entry_point=True), *words)
    assert not (work / "m.npz").exists()


def test_bad_argument_is_one_line_exit_2(capsys):
    for arguments, word in [(["fit", "faithful.csv", "-o", "m.npz", "--no-such-option"], "unrecognized"),
                            (["fit", "faithful.csv"], "-o/--output"), (["frobnicate"], "invalid choice"),
                            (["sample", "m.npz", "-n", "many", "-o", "s.csv"], "invalid int")]:
        with pytest.raises(SystemExit) as exit_info:
            main(arguments)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("gaussmix: error: ") and word in err, err


def test_existing_output_is_not_clobbered(fitted):
    folder, _ = fitted
    before = (folder / "model.npz").read_bytes()
    assert ENTRY_POINT.is_file(), "the gaussmix console script is not installed: pip install -e ."
    completed = gaussmix("fit", "faithful.csv", "-k", "2", "-o", "model.npz", cwd=folder, check=False, entry_point=True)
    assert_user_error(completed, "already exists", "--force")
    assert (folder / "model.npz").read_bytes() == before


# ----------------------------------------------------------------------------- user errors, in-process
def run_main(capsys, *arguments):
    status = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("content, words", [
    ("a,b\n1,2\n3,\n5,6\n", ["column 'b'", "missing", "row 2"]),
    ("a,b\n1,2\n3,x\n5,6\n", ["column 'b'", "not numeric", "row 2"]),
    ("a,b\n1,2\n3\n", ["line 3", "fields"]),
    ("", ["empty"]),
    ("a,b\n", ["no data rows"]),
])
def test_bad_csv_files(tmp_path, capsys, monkeypatch, content, words):
    monkeypatch.chdir(tmp_path)
    Path("bad.csv").write_text(content)
    status, _, err = run_main(capsys, "fit", "bad.csv", "-k", "1", "-o", "m.npz")
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("gaussmix: error: ")
    for word in words:
        assert word in err
    assert not Path("m.npz").exists()


@pytest.mark.parametrize("arguments, words", [
    (["fit", "faithful.csv", "--columns", "height", "-o", "m.npz"], ["no column named 'height'", "eruptions"]),
    (["fit", "faithful.csv", "--columns", "5", "-o", "m.npz"], ["column index 5 out of range"]),
    (["fit", "faithful.csv", "-k", "0", "-o", "m.npz"], ["at least 1"]),
    (["fit", "faithful.csv", "-k", "5-2", "-o", "m.npz"], ["empty range"]),
    (["fit", "faithful.csv", "-k", "300", "-o", "m.npz"], ["exceeds the 272 rows"]),
    (["fit", "faithful.csv", "--covariance", "banana", "-o", "m.npz"], ["banana", "full"]),
    (["fit", "faithful.csv", "-o", "m.txt"], ["must end in .npz"]),
    (["fit", "faithful.txt", "-o", "m.npz"], ["unsupported input file type"]),
    (["fit", "faithful.csv", "-o", "missing/m.npz"], ["does not exist"]),
    (["predict", "faithful.csv", "faithful.csv", "-o", "p.csv"], ["not a gaussmix model file"]),
    (["sample", "nothing.npz", "-n", "3", "-o", "s.csv"], ["model file not found"]),
    (["report", "faithful.csv", "-o", "r.pdf"], [".html"]),
    (["select", "faithful.csv", "-k", "2", "--covariance", "full"], ["several candidates"]),
])
def test_bad_arguments(work, capsys, monkeypatch, arguments, words):
    monkeypatch.chdir(work)
    status, _, err = run_main(capsys, *arguments)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("gaussmix: error: "), err
    for word in words:
        assert word in err, err


def test_predict_with_wrong_number_of_columns(fitted, capsys, monkeypatch):
    folder, _ = fitted
    monkeypatch.chdir(folder)
    status, _, err = run_main(capsys, "predict", "model.npz", "faithful.csv", "--columns", "waiting", "-o", "p.npy")
    assert status == 2 and "1 features" in err and "expecting 2" in err
    assert not Path("p.npy").exists()


def test_parse_components():
    assert parse_components("3") == [3]
    assert parse_components("1-4") == [1, 2, 3, 4]
    assert parse_components("2,4,8") == [2, 4, 8]
    assert parse_components("1-2,5") == [1, 2, 5]


def test_force_overwrites_and_npy_roundtrip(fitted, capsys, monkeypatch):
    folder, _ = fitted
    monkeypatch.chdir(folder)
    Path("p.npy").write_bytes(b"old")
    assert run_main(capsys, "predict", "model.npz", "faithful.csv", "-o", "p.npy", "--force")[0] == 0
    output = np.load("p.npy")
    model = load_fitted(Path("model.npz"))
    X = np.loadtxt("faithful.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(output[:, 0], model.predict(X))
    np.testing.assert_array_equal(output[:, 1:], model.predict_proba(X))


# ------------------------------------------------------------------------------------- interrupted writes
# The child restores Python's SIGINT handler: a test runner started as a background job (nohup, `cmd &`) passes
# its children SIGINT ignored, while a command typed at a terminal gets the default, KeyboardInterrupt.
INTERRUPTED_WRITER = textwrap.dedent("""
    import signal, sys, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import gaussmix.io.tabular as tabular

    def slow_csv(stream, names, arrays, block=65536, delimiter=","):
        stream.write("label,half-written\\n" * 1000)
        stream.flush()
        print("writing", flush=True)
        time.sleep(60)

    tabular._write_csv = slow_csv
    from gaussmix.cli.main import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("interrupt", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_write_leaves_no_partial_file(fitted, interrupt):
    folder, _ = fitted
    output = folder / f"labels-{interrupt.name}.csv"
    output.write_text("precious\n")
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTED_WRITER, "predict", "model.npz", "faithful.csv",
                                "-o", output.name, "--force"], cwd=folder, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        temporaries = list(folder.glob(f".{output.name}.*.tmp"))
        assert len(temporaries) == 1 and temporaries[0].stat().st_size > 0  # mid-write, really
        process.send_signal(interrupt)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode in (130, 128 + signal.SIGTERM), stderr
    assert "Traceback" not in stderr
    assert output.read_text() == "precious\n"  # the old file is intact ...
    assert not list(folder.glob(f".{output.name}.*"))  # ... and no temporary file is left behind


def test_interrupted_model_save_keeps_the_old_model(fitted, capsys, monkeypatch):
    folder, _ = fitted
    monkeypatch.chdir(folder)
    import gaussmix.io.model_files

    before = Path("model.npz").read_bytes()

    def failing_savez(stream, **arrays):
        stream.write(b"PK half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(gaussmix.io.model_files.np, "savez", failing_savez)
    status, _, err = run_main(capsys, "fit", "faithful.csv", "-k", "2", "-o", "model.npz", "--force", "-q")
    assert status == 130 and "interrupted" in err
    assert Path("model.npz").read_bytes() == before
    assert not list(Path(".").glob(".model.npz.*"))


# ------------------------------------------------------------------------------ choosing and leaving out columns
@pytest.fixture
def labelled(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + 4.0])
    label = np.repeat([0, 1], 60)
    path = tmp_path / "labelled.csv"
    with open(path, "w") as file:
        file.write("a,b,c,label\n")
        for row, value in zip(X, label):
            file.write(",".join(f"{v:.17g}" for v in row) + f",{value}\n")
    return tmp_path, path


def test_drop_leaves_a_column_out_and_a_label_column_is_pointed_out(labelled):
    folder, path = labelled
    kept = gaussmix("fit", path.name, "-k", "2", "--drop", "label", "-o", "dropped.npz", "--json", cwd=folder)
    assert json.loads(kept.stdout)["columns"] == ["a", "b", "c"]
    assert "looks like class labels" not in kept.stderr
    naive = gaussmix("fit", path.name, "-k", "2", "-o", "naive.npz", "--json", cwd=folder)
    assert json.loads(naive.stdout)["columns"] == ["a", "b", "c", "label"]
    assert "column 'label' looks like class labels" in naive.stderr and "--drop label" in naive.stderr


@pytest.mark.parametrize("columns, drop, expected", [
    ("0-2", None, ["a", "b", "c"]), ("1-3", "label", ["b", "c"]), ("0,2-3", None, ["a", "c", "label"]),
    (None, "0-1", ["c", "label"]),
])
def test_column_ranges_and_drop_combine(labelled, columns, drop, expected):
    folder, path = labelled
    arguments = ["fit", path.name, "-k", "1", "-o", "m.npz", "--force", "--json"]
    arguments += ["--columns", columns] if columns else []
    arguments += ["--drop", drop] if drop else []
    assert json.loads(gaussmix(*arguments, cwd=folder).stdout)["columns"] == expected


@pytest.mark.parametrize("arguments, words", [
    (["--columns", "0-9"], ["column range 0-9", "0-3"]), (["--drop", "0-3"], ["no column left"]),
    (["--drop", "height"], ["no column named 'height'"]),
])
def test_bad_column_choices_are_user_errors(labelled, arguments, words):
    folder, path = labelled
    completed = gaussmix("fit", path.name, "-k", "1", "-o", "m.npz", *arguments, cwd=folder, check=False)
    assert_user_error(completed, *words)


# ----------------------------------------------------------------------------------------- missing values
@pytest.fixture
def with_missing(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(80, 3)), rng.normal(size=(80, 3)) + 5.0])
    X[rng.random(X.shape) < 0.08] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0  # every row keeps an observed value
    path = tmp_path / "missing.csv"
    path.write_text("a,b,c\n" + "".join(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n"
                                        for row in X))
    return tmp_path, path, X


def test_a_missing_value_names_the_option_that_fits_it(with_missing):
    folder, path, _ = with_missing
    completed = gaussmix("fit", path.name, "-k", "2", "-o", "m.npz", cwd=folder, check=False)
    assert_user_error(completed, "missing value", "--missing em")


def test_missing_em_fits_predicts_and_scores_rows_with_missing_values(with_missing):
    folder, path, X = with_missing
    fitted = json.loads(gaussmix("fit", path.name, "-k", "2", "--missing", "em", "-o", "m.npz", "--json",
                                 cwd=folder).stdout)
    assert fitted["n_samples"] == X.shape[0]
    gaussmix("predict", "m.npz", path.name, "-o", "labels.csv", cwd=folder)
    labels = np.loadtxt(folder / "labels.csv", delimiter=",", skiprows=1)[:, 0]
    truth = np.repeat([0, 1], 80)
    assert max(np.mean(labels == truth), np.mean(labels != truth)) > 0.95
    scored = json.loads(gaussmix("score", "m.npz", path.name, "--json", cwd=folder).stdout)
    assert scored["log_likelihood"] == pytest.approx(fitted["log_likelihood"], rel=1e-9)
    selected = gaussmix("select", path.name, "-k", "1-2", "--covariance", "VVV,EII", "--missing", "em", "-q",
                        cwd=folder)
    assert "Failed candidates: 0" in selected.stdout


def test_a_numpy_array_file_given_as_a_model_is_a_user_error(tmp_path):
    (tmp_path / "faithful.csv").write_bytes(FAITHFUL.read_bytes())
    np.save(tmp_path / "array.npy", np.ones((3, 2)))
    completed = gaussmix("predict", "array.npy", "faithful.csv", "-o", "x.csv", cwd=tmp_path, check=False)
    assert_user_error(completed, "NumPy array file", "not a gaussmix model file")


def test_dash_output_writes_the_table_to_standard_output_and_the_summary_to_standard_error(fitted):
    folder, _ = fitted
    predicted = gaussmix("predict", "model.npz", "faithful.csv", "-o", "-", cwd=folder)
    lines = predicted.stdout.splitlines()
    assert lines[0].startswith("label,probability_0") and len(lines) == 273
    assert "rows per component" in predicted.stderr and "rows per component" not in predicted.stdout
    gaussmix("predict", "model.npz", "faithful.csv", "-o", "dash-labels.csv", cwd=folder)
    assert predicted.stdout == (folder / "dash-labels.csv").read_text()
    sampled = gaussmix("sample", "model.npz", "-n", "5", "--seed", "0", "-o", "-", cwd=folder)
    assert len(sampled.stdout.splitlines()) == 6
    refused = gaussmix("fit", "faithful.csv", "-k", "2", "-o", "-", cwd=folder, check=False)
    assert_user_error(refused, "-o -", "name a file")


def test_tsv_files_and_an_explicit_separator_read_like_csv(tmp_path):
    text = FAITHFUL.read_text(encoding="utf-8")
    (tmp_path / "faithful.csv").write_text(text)
    (tmp_path / "faithful.tsv").write_text(text.replace(",", "\t"))
    (tmp_path / "piped.csv").write_text(text.replace(",", "|"))
    runs = [gaussmix("fit", name, "-k", "2", "-o", f"{name}.npz", "--json", *extra, cwd=tmp_path)
            for name, extra in (("faithful.csv", []), ("faithful.tsv", []), ("piped.csv", ["--sep", "|"]))]
    fits = [json.loads(run.stdout) for run in runs]
    assert fits[0]["columns"] == fits[1]["columns"] == fits[2]["columns"] == ["eruptions", "waiting"]
    assert fits[0]["log_likelihood"] == fits[1]["log_likelihood"] == fits[2]["log_likelihood"]
    gaussmix("predict", "faithful.csv.npz", "faithful.tsv", "-o", "labels.tsv", cwd=tmp_path)
    header = (tmp_path / "labels.tsv").read_text().splitlines()[0]
    assert header == "label\tprobability_0\tprobability_1"
    np.save(tmp_path / "data.npy", np.ones((4, 2)))
    refused = gaussmix("fit", "data.npy", "-k", "1", "--sep", ";", "-o", "x.npz", cwd=tmp_path, check=False)
    assert_user_error(refused, "--sep", "text files")
