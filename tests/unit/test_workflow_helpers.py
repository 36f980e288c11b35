"""The Snakefile's helpers (seisembed.workflow): config JSON for rules, report inputs."""

from __future__ import annotations

import json

import pytest

from seisembed.config import validate_config
from seisembed.errors import ConfigError

# -- every library entry point with an empty section runs the workflow's default study ----------


def test_config_json_passes_whole_sections_or_single_keys():
    from seisembed.config import validate_config
    from seisembed.workflow import config_json

    config = validate_config({"seed": 5})
    whole = json.loads(config_json(config, "evaluate"))
    assert whole["seed"] == 5 and "study" in whole and whole["evaluate"] == config["evaluate"]
    some = json.loads(config_json(config, "evaluate.embed_batch", "evaluate.svm"))
    assert some["evaluate"] == {"embed_batch": config["evaluate"]["embed_batch"], "svm": config["evaluate"]["svm"]}
    # a rule passing one key is not rerun when another key of the section changes
    other = validate_config({"seed": 5, "evaluate": {"pairs_per_split": 99}})
    assert config_json(other, "evaluate.embed_batch") == config_json(config, "evaluate.embed_batch")
    # a key left out of a whole section: changing it does not change the rule's parameters
    assembly = json.loads(config_json(config, "dataset", "-dataset.export_seisbench"))
    assert "export_seisbench" not in assembly["dataset"] and "chunk_traces" in assembly["dataset"]
    moved = validate_config({"seed": 5, "dataset": {"export_seisbench": {"path": "elsewhere"}}})
    assert config_json(moved, "dataset", "-dataset.export_seisbench") == config_json(
        config, "dataset", "-dataset.export_seisbench"
    )


def test_report_helpers_cover_every_section_and_optional_inputs(repo_root):
    import yaml

    from seisembed import workflow as sw

    schema = yaml.safe_load((repo_root / "workflow/schemas/config.schema.yaml").read_text())
    assert set(sw.CONFIG_SECTIONS) == set(schema["properties"]) - {"study", "seed"}
    config = validate_config({})
    assert sw.synthetic_calibration(config) == [config["synthetic"]["calibration"]]
    assert sw.synthetic_calibration(validate_config({"catalog": {"source": "isc"}})) == []
    assert sw.optional_option("--calibration", []) == ""
    assert sw.optional_option("--calibration", ["a b.json"]) == "--calibration 'a b.json'"
    with pytest.raises(ConfigError, match="one file"):
        sw.optional_option("--calibration", ["a", "b"])
