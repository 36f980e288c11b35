"""The config schema: every key documented with a default; mistakes name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seisembed.config import default_config, load_config, load_schema, section, validate_config
from seisembed.errors import ConfigError
from tests.conftest import run_snakemake


def _walk(schema: dict, path: str = ""):
    for key, sub in schema.get("properties", {}).items():
        here = f"{path}.{key}" if path else key
        yield here, sub
        if sub.get("type") == "object":
            yield from _walk(sub, here)


def test_every_key_has_description_and_default():
    missing = [
        (k, "description" if "description" not in s else "default")
        for k, s in _walk(load_schema())
        if "description" not in s or "default" not in s
    ]
    assert missing == []


def test_packaged_schema_is_the_workflow_schema(repo_root: Path):
    workflow_schema = yaml.safe_load((repo_root / "workflow/schemas/config.schema.yaml").read_text())
    assert load_schema() == workflow_schema


def _leaves(tree: dict, prefix: str = "") -> dict:
    """``{"a.b.c": value}`` for every non-mapping value of a nested mapping."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_keeps_settings_and_fills_defaults(path: Path) -> None:
    """Loading keeps every setting of the file as written and fills every other key with its default."""
    raw = _leaves(yaml.safe_load(path.read_text()))
    loaded = _leaves(load_config(path))
    defaults = _leaves(default_config())
    assert raw, path
    assert {key: loaded.get(key) for key in raw} == raw  # nothing renamed, dropped or coerced
    unset = {key: value for key, value in defaults.items() if key not in raw}
    assert {key: loaded.get(key) for key in unset} == unset  # every other key present, at its default


@pytest.mark.parametrize("name", ["config.yaml", "tests/workflow/config.yaml"])
def test_shipped_configs_keep_their_settings(repo_root: Path, name: str):
    _check_keeps_settings_and_fills_defaults(repo_root / name)


def test_presets_keep_their_settings(repo_root: Path):
    presets = sorted((repo_root / "presets").glob("*.yaml"))
    assert presets
    for preset in presets:
        _check_keeps_settings_and_fills_defaults(preset)


def test_defaults_fill_nested_sections():
    config = validate_config({"catalog": {"source": "file", "file": "x.csv"}})
    assert config["catalog"]["isc"]["pause_s"] == default_config()["catalog"]["isc"]["pause_s"]
    assert config["catalog"]["file"] == "x.csv"


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"catalog": {"max_distance_deg": "far"}}, "catalog.max_distance_deg"),
        ({"catalogue": {}}, "catalogue"),
        ({"catalog": {"isc": {"pause": 1}}}, "catalog.isc.pause"),
        ({"seed": -1}, "seed"),
        ({"catalog": {"source": "web"}}, "catalog.source"),
    ],
)
def test_mistakes_name_the_key(bad: dict, named: str):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        validate_config(bad)


def test_load_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (["seed=-3"], "config key 'seed'"),
        (["bogus=1"], "unknown config key(s) bogus"),
        (['catalog={"max_distance_deg": "far"}'], "catalog.max_distance_deg"),
        (['synthetic={"arrivals": "no/such.csv"}'], "file no/such.csv does not exist"),
    ],
)
def test_snakemake_dry_run_config_mistake_has_no_traceback(repo_root: Path, override: list[str], expected: str):
    proc = run_snakemake(["-n", "--cores", "1", "--config", *override], repo_root, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expected in out
    assert "Traceback" not in out and 'File "' not in out


# -- moved from test_foundation.py (schema defaults, bad input)
def test_section_fills_schema_defaults_and_names_bad_keys():
    assert section("dataset") == default_config()["dataset"]
    assert (
        section("waveforms.fdsn", {"bulk_size": 7})["max_concurrent"]
        == default_config()["waveforms"]["fdsn"]["max_concurrent"]
    )
    with pytest.raises(ConfigError, match="dataset.held_out_box.enabled"):
        section("dataset", {"held_out_box": {"enabled": "yes"}})


@pytest.mark.parametrize("url", ["ftp://www.isc.ac.uk/cgi-bin/web-db-run", "file:///etc/passwd", "www.isc.ac.uk"])
def test_non_http_isc_base_url_is_a_config_error(url):
    with pytest.raises(ConfigError, match="catalog.isc.base_url"):
        validate_config({"catalog": {"source": "isc", "isc": {"base_url": url}}})


def test_non_http_fdsn_base_url_is_a_config_error():
    with pytest.raises(ConfigError, match="waveforms.fdsn.base_url"):
        validate_config({"waveforms": {"fdsn": {"base_url": "ftp://service.earthscope.org"}}})
    assert validate_config({"waveforms": {"fdsn": {"base_url": "EARTHSCOPE"}}})
