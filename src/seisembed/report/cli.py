"""``seisembed report``: render results/report/index.html from the stage outputs."""

from __future__ import annotations

import argparse

from seisembed.argtypes import check_distinct, output_file
from seisembed.report.build import INPUTS


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """One option per report input (:data:`seisembed.report.build.INPUTS`) and ``--out``."""
    group = parser.add_argument_group("inputs (the workflow's report rule passes every one)")
    for name, (kind, required, what) in INPUTS.items():
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            required=required,
            metavar=kind.upper(),
            help=what + ("" if required else " (optional)"),
        )
    parser.add_argument(
        "--out", type=output_file, default="results/report/index.html", help="the page to write (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Render the report; return the exit status."""
    from seisembed.report.build import build_report

    check_distinct([getattr(args, name) for name in INPUTS], [args.out])  # the page never replaces an input
    build_report({name: getattr(args, name) for name in INPUTS}, args.out, args.config)
    return 0
