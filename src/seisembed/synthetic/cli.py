"""``seisembed synth``: generate the synthetic study from an arrivals table."""

from __future__ import annotations

import argparse
from pathlib import Path

from seisembed.errors import ConfigError
from seisembed.synthetic.params import IO_KEYS


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``synth`` options."""
    parser.add_argument(
        "--arrivals", help="ISC arrivals CSV (.csv/.csv.gz) or arrivals parquet (default: config synthetic.arrivals)"
    )
    parser.add_argument("--out-dir", help="output folder (default: config synthetic.output_dir)")
    parser.add_argument(
        "--calibration",
        help="write calibration figures (JSON) here (default: <out-dir>/calibration.json "
        "when --out-dir is given, else config synthetic.calibration)",
    )
    parser.add_argument("--no-calibration", action="store_true", help="skip the calibration")


def run(args: argparse.Namespace) -> int:
    """Resolve paths and parameters from ``args.config`` and hand over to the generator."""
    from seisembed.synthetic import run_cli

    section = args.config["synthetic"]
    out_dir = Path(args.out_dir or _path(section, "output_dir", "--out-dir"))
    if args.no_calibration:
        calibration = None
    elif args.calibration:
        calibration = Path(args.calibration)
    elif args.out_dir:  # a study of one's own: never overwrite the configured study's calibration
        calibration = out_dir / "calibration.json"
    else:
        calibration = Path(_path(section, "calibration", "--calibration"))
    ns = argparse.Namespace(
        arrivals=Path(args.arrivals or _path(section, "arrivals", "--arrivals")),
        out_dir=out_dir,
        calibration=calibration,
        params={k: v for k, v in section.items() if k not in IO_KEYS},
        seed=args.config["seed"],
        # the committed reference describes the configured study: compare only when that is what is made
        reference=section["calibration_reference"] if calibration and out_dir == Path(section["output_dir"]) else None,
    )
    return int(run_cli(ns) or 0)


def _path(section: dict, key: str, option: str) -> str:
    """``section[key]``, or a :class:`ConfigError` naming ``synthetic.<key>`` and the option."""
    value = section[key]
    if not value:
        raise ConfigError(f"config key 'synthetic.{key}' is not set; set it in the config or pass {option}")
    return str(value)
