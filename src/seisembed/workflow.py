"""Everything the Snakefile needs at DAG-parse time, in one light module.

``workflow/rules/common.smk`` imports this module once; the rules use its
functions for the config check, the partition list and the input/output paths
that depend on the configuration. It imports only the config machinery and
pandas (no ObsPy, no TensorFlow), so ``snakemake -n`` stays fast.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import yaml

from seisembed.config import THROUGHPUT_KEYS, validate_config
from seisembed.errors import ConfigError
from seisembed.partitions import check_partition, month_partitions, partition_of
from seisembed.paths import sds_paths, synthetic_paths
from seisembed.train.model import check_model_config

__all__ = [
    "INPUT_FILE_KEYS",
    "THROUGHPUT_KEYS",
    "catalog_inputs",
    "check_config",
    "dataset_input_options",
    "dataset_inputs",
    "check_partition",
    "config_json",
    "input_options",
    "month_partitions",
    "partition_of",
    "sds_paths",
    "synthetic_paths",
    "upstream_summary",
    "waveform_inputs",
]

#: config keys naming input files that must exist before the workflow starts
INPUT_FILE_KEYS = ("catalog.file", "catalog.inventory", "catalog.station_networks")


# -- config ---------------------------------------------------------------------------
def _value(config: dict, key: str):
    value = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


#: config keys whose values become input or output paths of rules: a '{' or '}' there would be
#: read by Snakemake as a wildcard (the rules quote them in shell lines: spaces and ';' are fine)
PATH_PATTERN_KEYS = (
    "synthetic.arrivals",
    "synthetic.output_dir",
    "synthetic.calibration",
    "catalog.file",
    "catalog.inventory",
    "catalog.station_networks",
    "waveforms.sds.inventory",
    "dataset.seisbench.path",
    "dataset.export_seisbench.path",
)


def check_path_keys(config: dict) -> None:
    """Raise :class:`ConfigError` for a configured rule path holding ``{`` or ``}`` (Snakemake wildcards)."""
    for key in PATH_PATTERN_KEYS:
        value = _value(config, key)
        if value is not None and ("{" in str(value) or "}" in str(value)):
            raise ConfigError(
                f"config key '{key}': path {value!r} holds '{{' or '}}', which Snakemake would read as a "
                "wildcard; use a path without braces"
            )


def check_input_files(config: dict, base: str | Path = ".") -> None:
    """Raise :class:`ConfigError` for a configured input file that does not exist."""
    keys = list(INPUT_FILE_KEYS)
    if config["catalog"]["source"] == "synthetic":
        keys.append("synthetic.arrivals")
    if config["catalog"]["source"] == "file" and not config["catalog"]["file"]:
        raise ConfigError(
            "config key 'catalog.file' must name an arrivals CSV, parquet or QuakeML file when catalog.source is 'file'"
        )
    if config["dataset"]["source"] == "seisbench":
        if not config["dataset"]["seisbench"]["path"]:
            raise ConfigError(
                "config key 'dataset.seisbench.path' must name a SeisBench dataset folder when dataset.source is 'seisbench'"
            )
        keys.append("dataset.seisbench.path")
        source, export = (
            Path(base) / str(v)
            for v in (config["dataset"]["seisbench"]["path"], config["dataset"]["export_seisbench"]["path"])
        )
        if source.resolve() == export.resolve():
            raise ConfigError(
                "config keys 'dataset.seisbench.path' and 'dataset.export_seisbench.path' name the same folder: the "
                "dataset would be read from its own export; give the export another path"
            )
    for key in keys:
        value = _value(config, key)
        if value in (None, ""):
            continue
        if not (Path(base) / str(value)).exists():
            raise ConfigError(f"config key '{key}': file {value} does not exist")


def check_config(config: dict, schema: str | Path | None = None) -> dict:
    """Validate a Snakemake ``config`` at DAG-parse time; return it with defaults filled.

    On a mistake it prints one line naming the key to stderr and exits with
    status 1 (a config mistake is not a bug: no traceback). Also checks the model
    section (preset, overrides, the spectral front end against the configured window),
    that configured rule paths hold no braces (:data:`PATH_PATTERN_KEYS`), that the configured
    input files exist and that the study period gives valid partitions.
    """
    try:
        loaded = yaml.safe_load(Path(schema).read_text()) if schema else None
        config = validate_config(config, loaded)
        check_model_config(config)
        check_path_keys(config)
        check_input_files(config)
        month_partitions(config["catalog"]["starttime"], config["catalog"]["endtime"])
    except ConfigError as exc:
        sys.stderr.write(f"Invalid configuration: {exc}\n")
        raise SystemExit(1) from None
    return config


def config_json(config: dict, *sections: str) -> str:
    """JSON of the named config sections (plus ``seed`` and ``study``) for ``--config-json``.

    Rules pass only the sections they use, so editing one section reruns only its stages;
    ``"section.key"`` passes one key of a section (``"evaluate.embed_batch"``), and
    ``"section.key.sub"`` one key of a sub-section (``"evaluate.srspec.size"``), so editing
    another key does not rerun the rule either; ``"-section.key"`` leaves one key out of a
    section passed whole (``"-dataset.export_seisbench"``: the export's settings do not
    rerun the dataset's assembly). The :data:`THROUGHPUT_KEYS` are never
    passed (the job takes them from its own options, or the schema's defaults). Snakemake
    reruns a job when this string (a ``params`` value) changes.
    """
    chosen: dict = {}
    left_out = [name[1:] for name in sections if name.startswith("-")]
    for name in (n for n in sections if not n.startswith("-")):
        *parents, key = name.split(".")
        source, target = config, chosen
        for part in parents:
            source = source[part]
            target = target.setdefault(part, {})
        target[key] = json.loads(json.dumps(source[key]))  # a copy: the config itself is not touched
    for name in (*THROUGHPUT_KEYS, *left_out):
        *parents, key = name.split(".")
        target = chosen
        for part in parents:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(key, None)
    chosen["seed"] = config["seed"]
    chosen["study"] = config["study"]
    return json.dumps(chosen, sort_keys=True)


# -- paths that depend on the config ----------------------------------------------------
def catalog_inputs(config: dict) -> dict[str, str]:
    """Named input files of the ``catalog`` rule for ``catalog.source``.

    ``synthetic``: the generator's ``events`` and ``stations``; ``file``: the
    ``file`` and, when set, ``inventory``; every source: ``station_networks`` when
    set. ``isc`` reads no local input (its replies are cached by the stage itself).
    """
    catalog = config["catalog"]
    inputs: dict[str, str] = {}
    if catalog["source"] == "synthetic":
        paths = synthetic_paths(config["synthetic"])
        inputs.update(events=str(paths["events"]), stations=str(paths["stations"]))
    elif catalog["source"] == "file" and catalog["file"]:
        inputs["file"] = str(catalog["file"])
        if catalog["inventory"]:
            inputs["inventory"] = str(catalog["inventory"])
    if catalog["station_networks"]:
        inputs["station_networks"] = str(catalog["station_networks"])
    return inputs


def waveform_inputs(config: dict) -> list[str]:
    """Extra inputs of the ``waveforms`` rule: the archive's StationXML for source ``sds``.

    For the default run this ties the stage to the synthetic study's rule; FDSN
    sources have no local input.
    """
    return [str(sds_paths(config)[1])] if config["waveforms"]["source"] == "sds" else []


# -- report ---------------------------------------------------------------------------
#: every top-level config section (the report records the whole config)
CONFIG_SECTIONS = ("catalog", "synthetic", "waveforms", "dataset", "sampling", "model", "train", "evaluate", "dask")


def synthetic_calibration(config: dict) -> list[str]:
    """The synthetic calibration table as a report input when the study is synthetic, else nothing."""
    if config["dataset"]["source"] == "seisbench":
        return []  # the waveforms come from a SeisBench dataset, not the generator
    return [str(config["synthetic"]["calibration"])] if config["catalog"]["source"] == "synthetic" else []


# -- dataset --------------------------------------------------------------------------
def dataset_inputs(config: dict, partitions: list[str]) -> dict:
    """Named inputs of the dataset rule, by ``dataset.source``.

    ``waveforms``: the waveform stage's partitions (``windows``, ``metadata``, ``qc``) and
    its ``summary``; ``seisbench``: the SeisBench dataset folder (``seisbench``), so the
    catalog and waveform stages do not run.
    """
    if config["dataset"]["source"] == "seisbench":
        return {"seisbench": str(config["dataset"]["seisbench"]["path"])}
    return {
        "windows": [f"results/waveforms/{p}/windows.npy" for p in partitions],
        "metadata": [f"results/waveforms/{p}/windows.parquet" for p in partitions],
        "qc": [f"results/waveforms/{p}/qc.parquet" for p in partitions],
        "summary": "results/waveforms/summary.json",
    }


def dataset_input_options(named_inputs, partitions: list[str]) -> str:
    """The ``seisembed dataset`` options for the inputs of :func:`dataset_inputs` (quoted).

    ``named_inputs``: the rule's ``input`` (a Snakemake named list) or a dict.
    """
    named = dict(named_inputs.items())  # a Snakemake named list: 'in' would search its values
    if "seisbench" in named:
        return f"--seisbench-dir {shlex.quote(str(named['seisbench']))}"
    summary = str(named["summary"])
    return (
        f"--waveforms-dir {shlex.quote(str(Path(summary).parent))} --partitions {' '.join(partitions)}"
        f" --summary {shlex.quote(summary)}"
    )


def upstream_summary(config: dict, stage: str) -> list[str]:
    """``results/{stage}/summary.json`` (catalog, waveforms) as a report input; none when the data come from SeisBench."""
    return [] if config["dataset"]["source"] == "seisbench" else [f"results/{stage}/summary.json"]


def optional_option(option: str, paths) -> str:
    """``"<option> <path>"`` for a one-file optional input, ``""`` when it is empty."""
    paths = [str(p) for p in (paths if isinstance(paths, (list, tuple)) else [paths]) if str(p)]
    if len(paths) > 1:
        raise ConfigError(f"{option} takes one file, got {len(paths)}: {', '.join(paths)}")
    return f"{option} {shlex.quote(paths[0])}" if paths else ""


def input_options(named_inputs) -> str:
    """One ``--<name> <path>`` per named input of a rule (``_`` in a name becomes ``-``), quoted.

    A rule passes ``input`` (``params: options=lambda wildcards, input: input_options(input)``)
    so its named inputs are the command's options: the input list is written once, in the
    rule, and the command's parser (e.g. :data:`seisembed.report.build.INPUTS`) refuses a name
    it does not know. An empty input (an optional file left out) gives no option.
    """
    items = named_inputs.items() if hasattr(named_inputs, "items") else named_inputs
    options = (optional_option("--" + name.replace("_", "-"), paths) for name, paths in items)
    return " ".join(option for option in options if option)
