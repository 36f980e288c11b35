"""The ``seisembed`` command: dispatch, help, configuration errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from seisembed import cli


def test_help_lists_every_stage(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for name in cli.SUBCOMMANDS:
        assert name in out


def test_help_imports_no_stage_module_nor_tensorflow():
    code = "import sys; from seisembed import cli\ntry:\n cli.main(['--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in sys.modules if m.startswith(('seisembed.', 'tensorflow', 'keras'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1].replace("'", '"'))
    assert all(m.split(".")[1] in {"cli", "errors", "version"} for m in loaded if m.startswith("seisembed.")), loaded
    assert not any(m.startswith(("tensorflow", "keras")) for m in loaded)


def test_subcommands_map_to_modules():
    assert set(cli.SUBCOMMANDS) == set(cli.SUBCOMMAND_HELP)


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
