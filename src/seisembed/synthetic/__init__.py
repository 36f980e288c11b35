"""Synthetic seismograms on real catalogue geometry: the offline default data source.

Public surface:

- :func:`select_subset` — the default study's subset (records per event capped).
- :func:`synthesize` — arrivals table -> ``sds/``, ``stations.xml``, ``events.xml``, ``truth.parquet``.
- :func:`calibrate` — correlation / discriminant figures of a generated study, with bounds.
- :func:`run_cli` — what ``seisembed synth`` calls.
- :class:`SyntheticParams` — every physics knob with its default.

Modules: ``params``, ``sources``, ``scattering``, ``site``, ``noise``,
``artifacts``, ``writers``, ``generate``, ``subset``, ``calibration``, ``rng``, ``cli``. Travel times: :mod:`seisembed.traveltimes`. Arrivals are read with :func:`seisembed.catalog.read_arrivals_table`.

Model in brief (defaults in :class:`SyntheticParams`):

- Geometry and timing are the catalogue's: event and station positions, origin
  time, magnitude, label, and the catalogue's first-P arrival time as the true
  onset. iasp91 (tabulated) gives S - P, take-off and incidence angles.
- Source: Brune (earthquakes; double-couple radiation blended toward focal-sphere
  averages; up to ``n_subevents_max`` sub-events as the event's fingerprint) or a
  Mueller-Murphy-type spectrum with ripple-fire holes (explosions; true depth
  0-0.3 km; per-mine blast design). The classes differ in S/P only above
  ~``s_to_p_transition_hz``.
- Path: persistent scattered arrivals per (station, tile node, phase), bilinear
  across the four nodes around the event, delays varying smoothly with position;
  Q by region; kappa and site amplification per station; STS-2-like sensor and a
  24-bit digitizer (the StationXML response).
- Amplitude: each record's 1-8 Hz P-wave SNR is drawn (log-normal, class-blind;
  optionally weakly tied to magnitude and distance) and noise (between NLNM and
  NHNM, per record) sets the absolute level, so amplitude, SNR and noise do not
  track the label.
- Artefacts (class-blind): heavy-tailed pick errors, gaps, glitches, clipping,
  dead channels, BH1/BH2 stations, misoriented horizontals (true azimuths in the
  StationXML).

Outputs of :func:`synthesize` in ``out_dir``: ``sds/`` (STEIM2 int32 counts,
4096-byte records, day files; overlapping records of a channel summed),
``stations.xml``, ``events.xml`` (event ``smi:local/event/<source_id>``; the
source id is also the event description's text) and ``truth.parquet`` (one row
per record: ids, onset/pick times in ns and as timestamps, pick error, S onset,
noise level, SNR target, S/P terms, true depth, corner frequency, sensor
orientation, and ``artefact_*`` flags).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from seisembed.synthetic.calibration import calibrate
from seisembed.synthetic.generate import synthesize
from seisembed.synthetic.params import SyntheticParams
from seisembed.synthetic.subset import select_subset

__all__ = ["SyntheticParams", "calibrate", "run_cli", "select_subset", "synthesize"]

log = logging.getLogger(__name__)


def run_cli(args: argparse.Namespace) -> int:
    """Read arrivals, select the subset, synthesize, optionally calibrate (``seisembed synth``).

    ``args``: ``arrivals`` (ISC CSV or parquet), ``out_dir``, ``params`` (the
    config's ``synthetic`` section), ``seed`` (int), ``calibration`` (JSON path or None),
    ``reference`` (the committed calibration to compare with, or None).
    """
    from seisembed.catalog import read_arrivals_table as read_arrivals

    params = SyntheticParams.from_dict(args.params)
    arrivals = read_arrivals(args.arrivals)
    log.info("read %d arrivals (%d events) from %s", len(arrivals), arrivals["source_id"].nunique(), args.arrivals)
    subset = select_subset(
        arrivals,
        max_records_per_event=params.max_records_per_event,
        max_events=params.max_events,
        min_records_per_event=params.min_records_per_event,
        seed=args.seed,
    )
    summary = synthesize(subset, Path(args.out_dir), params, args.seed)
    if args.calibration:
        result = calibrate(Path(args.out_dir), seed=args.seed, output=Path(args.calibration))
        summary["calibration_pass"] = result["pass"]
        if not result["pass"]:
            log.warning("calibration bounds not met: %s", json.dumps(result["checks"]))
        reference = getattr(args, "reference", None)
        if reference:
            compare_with_reference(result, Path(reference), Path(args.calibration))
    return 0


def compare_with_reference(result: dict, reference: Path, output: Path, tolerance: float = 1e-3) -> dict:
    """Compare a calibration's figures with the committed reference copy (never overwritten).

    Logs whether every figure matches within ``tolerance`` and records the
    comparison under ``reference_comparison`` in the calibration JSON at ``output``.
    """
    from seisembed.atomic import write_json_atomic

    if not reference.is_file():
        log.warning("calibration reference %s does not exist; nothing to compare with", reference)
        return {}
    expected = json.loads(reference.read_text())["values"]
    differ = {
        k: {"reference": expected.get(k), "now": v}
        for k, v in result["values"].items()
        if expected.get(k) is None or abs(float(v) - float(expected[k])) > tolerance
    }
    comparison = {"reference": str(reference), "tolerance": tolerance, "equal": not differ, "differences": differ}
    if differ:
        log.warning("calibration differs from the committed reference %s: %s", reference, json.dumps(differ))
    else:
        log.info(
            "calibration equals the committed reference %s (all %d figures within %g)",
            reference,
            len(result["values"]),
            tolerance,
        )
    write_json_atomic({**result, "reference_comparison": comparison}, output)
    return comparison
