"""The ``seisembed`` command: dispatch, help, configuration errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seisembed import cli


def test_help_lists_every_stage_with_its_help_text(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # argparse wraps at the terminal width
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    words = " ".join(capsys.readouterr().out.split())  # a long name puts its help on the next line
    for name, (_, help_text) in cli.SUBCOMMANDS.items():
        assert f" {name} {help_text} " in words + " ", name


def test_help_imports_no_stage_module_nor_tensorflow():
    code = "import sys; from seisembed import cli\ntry:\n cli.main(['--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in sys.modules if m.startswith(('seisembed.', 'tensorflow', 'keras'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1].replace("'", '"'))
    assert all(m.split(".")[1] in {"cli", "errors", "version"} for m in loaded if m.startswith("seisembed.")), loaded
    assert not any(m.startswith(("tensorflow", "keras")) for m in loaded)


@pytest.mark.parametrize("name", list(cli.SUBCOMMANDS))
def test_subcommand_help_shows_the_registry_text(name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit):
        cli.main([name, "--help"])
    out = capsys.readouterr().out
    assert out.startswith(f"usage: seisembed {name}")
    assert "\n" + cli.SUBCOMMANDS[name][1] + "\n" in out


def test_help_is_written_once():
    """The registry is the only copy of the help: no sub-command module defines its own ``HELP``."""
    import ast

    root = Path(cli.__file__).parent.parent
    for name, (target, _) in cli.SUBCOMMANDS.items():
        module = target.partition(":")[0]
        path = root.joinpath(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        tree = ast.parse(path.read_text())
        assigned = {
            t.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        keywords = {k.arg for node in ast.walk(tree) if isinstance(node, ast.Call) for k in node.keywords}
        assert "HELP" not in assigned | keywords, f"{name}: {path} keeps a second copy of its help"


def test_bad_config_json_is_a_clear_error(capsys):
    rc = cli.main(["synth", "--config-json", "{not json", "--no-calibration"])
    assert rc == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_missing_configfile_is_a_clear_error(tmp_path, capsys):
    rc = cli.main(["synth", "--configfile", str(tmp_path / "nope.yaml")])
    assert rc == 2
    assert "does not exist" in capsys.readouterr().err


def test_synth_with_own_out_dir_keeps_calibration_there(tmp_path, isc_2014_csv):
    from seisembed.catalog import read_arrivals_table

    table = read_arrivals_table(isc_2014_csv)
    table[table.source_id.isin(table.source_id.drop_duplicates().head(3))].to_parquet(tmp_path / "mine.parquet")
    config = json.dumps({"seed": 1, "synthetic": {"calibration": str(tmp_path / "configured.json")}})
    rc = cli.main(
        [
            "synth",
            "--config-json",
            config,
            "--arrivals",
            str(tmp_path / "mine.parquet"),
            "--out-dir",
            str(tmp_path / "study"),
        ]
    )
    assert rc == 0
    assert (tmp_path / "study" / "calibration.json").is_file()
    assert not (tmp_path / "configured.json").exists()


# -- moved from test_foundation.py (schema defaults, bad input)
def test_unexpected_exception_keeps_its_traceback_in_the_log(tmp_path, monkeypatch):
    from seisembed.waveforms import summary

    def broken(*args, **kwargs):
        raise ValueError("a numpy bug deep down")

    monkeypatch.setattr(summary, "summarize", broken)
    log = tmp_path / "w.log"
    code = cli.main(["waveforms", "--summary", str(tmp_path / "s.json"), "--qc", "x", "--log", str(log)])
    text = log.read_text()
    assert code == 1 and "Traceback (most recent call last)" in text and "a numpy bug deep down" in text


def test_own_errors_are_one_line_and_log_files_hold_debug(tmp_path):
    log = tmp_path / "w.log"
    config = json.dumps({"catalog": {"source": "file", "file": str(tmp_path / "nope.csv")}})
    code = cli.main(
        [
            "catalog",
            "--config-json",
            config,
            "--output",
            str(tmp_path / "a.parquet"),
            "--summary",
            str(tmp_path / "s.json"),
            "--log",
            str(log),
        ]
    )
    text = log.read_text()
    assert code == 1 and "ERROR seisembed.cli: InputError:" in text and "nope.csv" in text
    assert " DEBUG " in text  # the log file records DEBUG lines (here: the details of the error)
