"""Provenance records: config hash, package versions, git commit."""

from __future__ import annotations

from seisembed.config import config_hash
from seisembed.provenance import package_versions, provenance


def test_config_hash_is_stable_and_order_free():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_provenance_record(repo_root):
    record = provenance({"seed": 3})
    assert record["config"] == {"seed": 3}
    assert record["config_hash"] == config_hash({"seed": 3})
    assert {"seisembed", "numpy", "obspy"} <= set(record["packages"])
    assert record["git_commit"]
    assert "created_utc" not in record  # byte-identical outputs by default
    assert "created_utc" in provenance({}, timestamp=True)


def test_package_versions_are_strings():
    assert all(isinstance(v, str) and v for v in package_versions().values())
