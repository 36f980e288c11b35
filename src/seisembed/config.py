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
import functools
import hashlib
import json
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from seisembed.errors import ConfigError

#: settings that change how fast a job runs, never what it writes: the workflow's rule params
#: leave them out (so changing one reruns nothing; :func:`seisembed.workflow.config_json`) and
#: hand them to the job as Snakemake resources; the training's resume fingerprint ignores them
THROUGHPUT_KEYS = ("sampling.prefetch_batches", "sampling.cache")

__all__ = [
    "ConfigError",
    "load_schema",
    "validate_config",
    "section",
    "load_config",
    "default_config",
    "config_hash",
]


@functools.lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("seisembed").joinpath("data/config.schema.yaml").read_text()


def load_schema() -> dict:
    """The config JSON schema shipped with the package (a fresh copy)."""
    return yaml.safe_load(_schema_text())


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


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
    if not isinstance(config, dict):
        raise ConfigError(f"a config must be a mapping of sections, not {type(config).__name__}")
    validator = _validator() if schema is None else jsonschema.Draft202012Validator(schema)
    config = copy.deepcopy(dict(config))
    _fill_defaults(config, validator.schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise ConfigError(
            _message(errors[0]) + (f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else "")
        )
    return config


def section(name: str, values: dict | None = None) -> dict:
    """One validated config section (dotted ``name``, e.g. ``"dataset"`` or ``"waveforms.fdsn"``).

    ``values`` is the section as a user or caller gives it (``None`` or ``{}``: all
    defaults); the result has every schema default filled in, and a mistake raises
    :class:`ConfigError` naming the full key (``dataset.held_out_box.enabled``).
    This is how library functions that take one section make sure they run the
    same study as the workflow: the schema is the only place defaults live.
    """
    parts = name.split(".")
    nested: dict = {} if values is None else copy.deepcopy(dict(values))
    for part in reversed(parts):
        nested = {part: nested}
    out = validate_config(nested)
    for part in parts:
        out = out[part]
    return out


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


def config_hash(config: dict) -> str:
    """A short, stable SHA-256 hash of a config (or section) for provenance."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
