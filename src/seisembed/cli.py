"""The ``seisembed`` command: one sub-command per workflow stage.

Every stage module ``seisembed.<stage>.cli`` provides ``configure_parser(parser)`` and
``run(args) -> int`` (the analyst tools of :mod:`seisembed.use.cli` are objects with the
same two names, ``module:object``); each sub-command's one-line help is kept once, in
:data:`SUBCOMMANDS`. Stage modules are imported only when their sub-command runs, so
``seisembed --help`` stays fast and nothing imports TensorFlow unless it trains.

Configuration reaches a stage in one of two ways:

``--configfile config.yaml``
    a whole config file; it is validated against the workflow's JSON schema and
    defaults are filled in (what a user calling the CLI by hand does);
``--config-json '{"catalog": {...}, "seed": 1}'``
    the sections a Snakemake rule passes; validated again here.

Either way the stage sees ``args.config``: a validated dict keyed by section name,
every schema default filled in. A stage uses only the sections its rule passes.

Errors: a :class:`~seisembed.errors.SeisembedError` (a config mistake, bad input,
an unreachable service) is reported as one line naming the thing at fault (exit
status 2 for config errors, 1 otherwise). Anything else is a bug or an
unexpected failure: its full traceback goes to the log (and the rule's log
file) and the exit status is 1. A file-system refusal (permission, full disk)
is one line naming the path (status 1); an interrupt exits with status 130. Log files record DEBUG messages; the terminal
shows INFO (``-v``: DEBUG).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path

from seisembed.errors import ConfigError, SeisembedError
from seisembed.version import __version__

#: sub-command -> (module providing ``configure_parser(parser)`` and ``run(args)``, one-line help).
#: The help lives here and only here: ``seisembed --help`` lists it without importing a stage
#: module, and ``seisembed <command> --help`` shows it as the description.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "synth": (
        "seisembed.synthetic.cli",
        "generate the synthetic study (SDS miniSEED, StationXML, QuakeML) from an arrivals table",
    ),
    "catalog": (
        "seisembed.catalog.cli",
        "build results/catalog/arrivals.parquet from ISC, a local file or the synthetic study",
    ),
    "waveforms": (
        "seisembed.waveforms.cli",
        "cut, rotate and resample P windows for one partition from FDSN or SDS",
    ),
    "dataset": (
        "seisembed.dataset.cli",
        "assemble the window partitions into the Zarr dataset with splits and a card",
    ),
    "train": ("seisembed.train.cli", "train the embedding model on the dataset store (results/model/)"),
    "evaluate": (
        "seisembed.evaluate.cli",
        "embed the dataset store (embed-store); evaluate association or discrimination; train and score the "
        "supervised classifiers; measure the runtime table",
    ),
    "report": (
        "seisembed.report.cli",
        "render the one-page HTML report (results/report/index.html) from the stage outputs",
    ),
    "results": (
        "seisembed.report.results",
        "write docs/results.md, the measured results with their intervals and provenance, from a finished run",
    ),
    # using a trained model (module:object)
    "embed": (
        "seisembed.use.cli:EMBED",
        "embed new records (miniSEED or SDS + StationXML + picks) with a trained model",
    ),
    "index": (
        "seisembed.use.cli:INDEX",
        "build a nearest-neighbour index (exact, or approximate HNSW) over an embeddings table",
    ),
    "similar": (
        "seisembed.use.cli:SIMILAR",
        "the k most similar records or events of an index for each query record",
    ),
    "discriminate": (
        "seisembed.use.cli:DISCRIMINATE",
        "label records and events by the nearest class centroid of a few templates",
    ),
    "score-events": (
        "seisembed.use.cli:SCORE_EVENTS",
        "score an associator's events: each record's distance to its event, flagged at a val-calibrated FAR",
    ),
}

log = logging.getLogger(__name__)  # every module: log = logging.getLogger(__name__)


def setup_logging(log_file: str | None, verbose: int = 0) -> None:
    """Log to stderr (INFO, or DEBUG with ``verbose``) and to ``log_file`` at DEBUG (folder created)."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    handlers: list[logging.Handler] = [console]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, mode="w")
        to_file.setLevel(logging.DEBUG)
        handlers.append(to_file)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # third-party chatter stays at INFO even in a DEBUG log file
    for name in ("matplotlib", "PIL", "urllib3", "numcodecs", "asyncio", "fsspec", "h5py", "absl"):
        logging.getLogger(name).setLevel(logging.INFO)
    # FAISS's loader reports at INFO each CPU build it could not load ("No module named
    # 'faiss.swigfaiss_avx512'") before it loads one that works: not news to a user
    logging.getLogger("faiss").setLevel(logging.WARNING)


def use_file_backend() -> None:
    """Figures go to files: matplotlib's non-interactive Agg backend, unless ``MPLBACKEND`` names another.

    Global state, so it is set here, in the entry point, and never by library functions.
    ``MPLBACKEND`` reaches matplotlib when it is first imported (and any subprocess);
    a matplotlib imported already is switched now. Importing matplotlib is left to the
    stages that draw (``seisembed --help`` stays fast).
    """
    if os.environ.get("MPLBACKEND"):
        return
    os.environ["MPLBACKEND"] = "Agg"
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")


def _load_config(args: argparse.Namespace) -> dict:
    """Resolve ``--configfile``/``--config-json`` into a validated ``args.config``."""
    from seisembed.config import load_config, validate_config

    if args.configfile and args.config_json:
        raise ConfigError("give either --configfile or --config-json, not both")
    if args.configfile:
        return load_config(args.configfile)
    if args.config_json:
        try:
            config = json.loads(args.config_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config-json is not valid JSON: {exc}") from exc
        if not isinstance(config, dict):
            raise ConfigError("--config-json must be a JSON object keyed by config section")
        return validate_config(config)
    return validate_config({})


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one (lazily configured) sub-parser per stage."""
    parser = argparse.ArgumentParser(prog="seisembed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"seisembed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _stage_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    target, help_text = SUBCOMMANDS[name]
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    if attribute:
        module = getattr(module, attribute)
    parser = argparse.ArgumentParser(prog=f"seisembed {name}", description=help_text)
    common = parser.add_argument_group("common options")
    common.add_argument("--configfile", help="a seisembed config YAML (validated, defaults filled)")
    common.add_argument("--config-json", help="config sections as JSON (what the workflow passes)")
    common.add_argument("--log", help="also write the log to this file")
    common.add_argument("-v", "--verbose", action="count", default=0, help="debug logging")
    module.configure_parser(parser)
    return parser, module


def _log_problem(log_file: str, argv: list[str]) -> str | None:
    """Why ``--log`` cannot be used (a folder, or a file the command reads or writes), else ``None``.

    The log is opened for writing before the command runs: pointed at an input it
    would destroy it first.
    """
    path = Path(log_file)
    if path.is_dir():
        return f"{log_file} is a folder; give a file name"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{log_file}: {parent} is a file, not a folder"
            break
    if not path.exists():
        return None
    for value in argv:
        candidate = Path(value)
        if value != log_file and candidate.is_file() and candidate.resolve() == path.resolve():
            return f"{log_file} is also an input or output of this command; the log would overwrite it"
    if argv.count(log_file) > 1:
        return f"{log_file} is also an input or output of this command; the log would overwrite it"
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``seisembed`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        build_parser().parse_args(argv or ["--help"])
        return 2
    parser, module = _stage_parser(argv[0])
    args = parser.parse_args(argv[1:])
    if args.log:
        problem = _log_problem(args.log, argv[1:])
        if problem:
            parser.error(f"argument --log: {problem}")
    try:
        setup_logging(args.log, args.verbose)
    except OSError as exc:
        parser.error(f"argument --log: cannot write the log file: {exc}")
    try:
        use_file_backend()
        args.config = _load_config(args)
        return int(module.run(args) or 0)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    except SeisembedError as exc:
        # seisembed's own errors name the file/row/key at fault: one line, no traceback
        log.error("%s: %s", type(exc).__name__, exc)
        log.debug("details", exc_info=True)
        return 1
    except OSError as exc:
        # the file system refused (permission, full disk, a folder where a file should be): the message
        # names the path; the traceback is in the log file
        log.error("could not read or write a file: %s", exc)
        log.debug("details", exc_info=True)
        return 1
    except KeyboardInterrupt:
        log.error("seisembed %s interrupted; outputs are written atomically, so a rerun starts clean", argv[0])
        return 130
    except Exception:  # noqa: BLE001 - anything else is a bug: keep its traceback in the log
        log.exception(
            "seisembed %s failed unexpectedly (a bug, or a failure seisembed does not know); the traceback follows",
            argv[0],
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
