"""The README's command-line quick start runs as written (in a temporary folder, through ``cli.main``)."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from gaussmix.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("### Command line", 1)[1]
COMMANDS = [line.split("  #")[0].strip() for line in re.search(r"```sh\n(.*?)```", SECTION, re.S)[1].splitlines()]


def test_readme_cli_quick_start(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert COMMANDS[0].startswith("cp src/gaussmix/data/faithful.csv")
    shutil.copy(ROOT / "src/gaussmix/data/faithful.csv", tmp_path)
    for command in COMMANDS[1:]:
        words = shlex.split(command)
        assert words[0] == "gaussmix"
        assert main(words[1:]) == 0, command
    for output in ("model.npz", "labels.csv", "draws.parquet", "report.html"):
        assert (tmp_path / output).stat().st_size > 0
