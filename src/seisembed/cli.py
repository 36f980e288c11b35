"""The ``seisembed`` command: one sub-command per workflow stage.

Every stage module ``seisembed.<stage>.cli`` provides ``HELP`` (one line),
``configure_parser(parser)`` and ``run(args) -> int``. Stage modules are
imported only when their sub-command runs, so ``seisembed --help`` stays fast and
nothing imports TensorFlow unless it trains.

Configuration reaches a stage in one of two ways:

``--configfile config.yaml``
    a whole config file; it is validated against the workflow's JSON schema and
    defaults are filled in (what a user calling the CLI by hand does);
``--config-json '{"catalog": {...}, "seed": 1}'``
    the sections a Snakemake rule passes (already validated by the Snakefile).

Either way the stage sees ``args.config``: a dict keyed by section name.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path

from seisembed import __version__
from seisembed.errors import ConfigError, SeisembedError

#: sub-command -> module providing HELP, configure_parser(parser), run(args)
SUBCOMMANDS: dict[str, str] = {
    "synth": "seisembed.synthetic.cli",
    "catalog": "seisembed.catalog.cli",
    "waveforms": "seisembed.waveforms.cli",
    "dataset": "seisembed.dataset.cli",
}

#: one-line help per sub-command (kept here so --help imports no stage module)
SUBCOMMAND_HELP: dict[str, str] = {
    "synth": "generate the synthetic study (SDS miniSEED, StationXML, QuakeML) from an arrivals table",
    "catalog": "build results/catalog/arrivals.parquet from ISC, a local file or the synthetic study",
    "waveforms": "cut, rotate and resample P windows for one partition from FDSN or SDS",
    "dataset": "assemble the window partitions into the Zarr dataset with splits and a card",
}

log = logging.getLogger("seisembed")


def setup_logging(log_file: str | None, verbose: int = 0) -> None:
    """Log to stderr and, when given, to ``log_file`` (created with its folder)."""
    level = logging.DEBUG if verbose else logging.INFO
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(level)


def _load_config(args: argparse.Namespace) -> dict:
    """Resolve ``--configfile``/``--config-json`` into ``args.config``."""
    if args.configfile and args.config_json:
        raise ConfigError("give either --configfile or --config-json, not both")
    if args.configfile:
        from seisembed.config import load_config

        return load_config(args.configfile)
    if args.config_json:
        try:
            config = json.loads(args.config_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config-json is not valid JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise ConfigError("--config-json must be a JSON object keyed by config section")
        return config
    from seisembed.config import default_config

    return default_config()


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one (lazily configured) sub-parser per stage."""
    parser = argparse.ArgumentParser(prog="seisembed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"seisembed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in SUBCOMMAND_HELP.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _stage_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    module = importlib.import_module(SUBCOMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"seisembed {name}", description=SUBCOMMAND_HELP[name])
    common = parser.add_argument_group("common options")
    common.add_argument("--configfile", help="a seisembed config YAML (validated, defaults filled)")
    common.add_argument("--config-json", help="config sections as JSON (what the workflow passes)")
    common.add_argument("--log", help="also write the log to this file")
    common.add_argument("-v", "--verbose", action="count", default=0, help="debug logging")
    module.configure_parser(parser)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seisembed`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        build_parser().parse_args(argv or ["--help"])
        return 2
    parser, module = _stage_parser(argv[0])
    args = parser.parse_args(argv[1:])
    setup_logging(args.log, args.verbose)
    try:
        args.config = _load_config(args)
        return int(module.run(args) or 0)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    except (SeisembedError, FileNotFoundError, ValueError) as exc:
        # Stage code raises these with a message naming the file/row/key at fault.
        log.error("%s: %s", type(exc).__name__, exc)
        log.debug("details", exc_info=True)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
