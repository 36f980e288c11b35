"""Load and validate seisembed configuration against the workflow's JSON schema.

The schema (``workflow/schemas/config.schema.yaml``, shipped inside the package
as ``seisembed/data/config.schema.yaml``) gives every key a type, a description
and a default. :func:`validate_config` fills the defaults in (recursively, also
for whole sections that are missing) and turns the first violation into one
:class:`ConfigError` whose message names the key, e.g.
``config key 'catalog.max_distance_deg': 'far' is not of type 'number'``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from seisembed.errors import ConfigError

__all__ = ["ConfigError", "load_schema", "validate_config", "load_config", "default_config", "config_hash"]


def load_schema() -> dict:
    """The config JSON schema shipped with the package."""
    text = resources.files("seisembed").joinpath("data/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _fill_defaults(instance: dict, schema: dict) -> None:
    """Insert schema defaults into ``instance`` in place, recursing into objects."""
    for key, sub in schema.get("properties", {}).items():
        if key not in instance:
            if "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object":
                instance[key] = {}
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(instance[key], sub)


def _key_path(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "<top level>"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = _key_path(error)
        prefix = "" if where == "<top level>" else f"{where}."
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown config key(s) {', '.join(prefix + k for k in extra)}; known keys here: {known}"
    return f"config key '{_key_path(error)}': {error.message}"


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return a validated copy of ``config`` with every default filled in.

    Raises :class:`ConfigError` naming the first offending key.
    """
    schema = load_schema() if schema is None else schema
    config = copy.deepcopy(dict(config))
    _fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise ConfigError(_message(errors[0]) + (f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""))
    return config


def load_config(path: str | Path) -> dict:
    """Read a YAML config file, validate it and fill defaults."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(raw).__name__}")
    return validate_config(raw)


def default_config() -> dict:
    """The configuration made only of schema defaults."""
    return validate_config({})


def check_paths(config: dict, keys: list[str], base: str | Path = ".") -> None:
    """Raise :class:`ConfigError` for each dotted ``key`` whose path value does not exist.

    ``None``/empty values are skipped (the key is optional).
    """
    for key in keys:
        value: Any = config
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in (None, ""):
            continue
        path = Path(base) / str(value)
        if not path.exists():
            raise ConfigError(f"config key '{key}': file {value} does not exist")


def config_hash(config: dict) -> str:
    """A short, stable SHA-256 hash of a config (or section) for provenance."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


#: config keys naming input files that must exist before the workflow starts
INPUT_FILE_KEYS = ["catalog.file", "catalog.inventory", "catalog.station_networks"]


def check_config_for_workflow(config: dict, schema: str | Path | None = None) -> dict:
    """Validate a Snakemake ``config`` at DAG-parse time; return it with defaults filled.

    Used by the Snakefile. On a mistake it prints one line naming the key to stderr
    and exits with status 1 (a config mistake is not a bug: no traceback).
    Also checks that the input files named by :data:`INPUT_FILE_KEYS` exist and, for
    the synthetic study, that its driving arrivals table exists.
    """
    try:
        loaded = yaml.safe_load(Path(schema).read_text()) if schema else None
        config = validate_config(config, loaded)
        keys = list(INPUT_FILE_KEYS)
        if config["catalog"]["source"] == "synthetic":
            keys.append("synthetic.arrivals")
        if config["catalog"]["source"] == "file" and not config["catalog"]["file"]:
            raise ConfigError("config key 'catalog.file' must name an arrivals CSV or QuakeML file when catalog.source is 'file'")
        check_paths(config, keys)
    except ConfigError as exc:
        sys.stderr.write(f"Invalid configuration: {exc}\n")
        raise SystemExit(1) from None
    return config
