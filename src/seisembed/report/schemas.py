"""The contract of every report input: what the report reads, of what type, in what range.

Each JSON input has a JSON schema (Draft 2020-12, checked with ``jsonschema``) that
requires exactly the keys the page reads (other keys are allowed and ignored); each CSV
input has its required columns with a kind (a label, a count, a fraction). Ranges: AUCs,
accuracies, precisions and recalls in [0, 1], counts integer and >= 0, times >= 0 (a
runtime per window > 0); checks a schema cannot express are done in code: every interval
(``*_ci95``, ``*_p05``/``*_p95``) is ordered, a part is not larger than its whole, the
discrimination template counts are the same for both protocols.

``null`` is allowed where a metric can be undefined (the evaluation writes a non-finite
number as ``null``: a precision with nothing predicted positive, an AUC with one class
absent); such a value reaches the page as :class:`NA`, shown as "n/a" with its reason, and
the verdict sentences never compare it. A bare ``NaN``/``Infinity`` token (JSON written
before the strict writer) is read as ``null`` with a warning: it meant the same thing; where
the report needs a number it is refused like ``null``.

A refusal is an :class:`~seisembed.errors.InputError` naming the file, the key path
(``embedding.test.auc``) or the row and column, and the offending value.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from html import escape
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd

from seisembed.errors import InputError

__all__ = ["CSV_COLUMNS", "NA", "SCHEMAS", "read_csv_input", "read_json_input"]

log = logging.getLogger(__name__)

#: the annotation naming why a nullable value can be undefined (ignored by jsonschema)
NA_KEY = "x-undefined-when"
TASKS = ("embedding", "svm36_features", "srspec_spectrograms")  # seisembed.evaluate.runtime.TASKS (no import)


# --------------------------------------------------------------------------- building blocks
def _fraction(reason: str | None = None) -> dict:
    """A number in [0, 1]; ``null`` allowed (and then shown as n/a) when ``reason`` is given."""
    schema: dict = {"type": "number", "minimum": 0, "maximum": 1}
    if reason:
        schema = {"type": ["number", "null"], "minimum": 0, "maximum": 1, NA_KEY: reason}
    return schema


def _interval(reason: str) -> dict:
    """A 95 % interval ``[low, high]`` of a fraction (ordered: checked in code)."""
    return {"type": "array", "minItems": 2, "maxItems": 2, "items": _fraction(reason)}


def _obj(required: dict, optional: dict | None = None) -> dict:
    """An object with these required (and optional) keys; other keys are allowed and not read."""
    return {"type": "object", "required": sorted(required), "properties": {**required, **(optional or {})}}


def _mapping(values: dict, *, min_properties: int = 0, key_pattern: str | None = None) -> dict:
    """An object whose every value follows ``values``."""
    schema: dict = {"type": "object", "additionalProperties": values}
    if min_properties:
        schema["minProperties"] = min_properties
    if key_pattern:
        schema["propertyNames"] = {"pattern": key_pattern}
    return schema


COUNT = {"type": "integer", "minimum": 0}
SECONDS = {"type": "number", "minimum": 0}
TEXT = {"type": "string"}
THRESHOLD = {"type": ["number", "null"], NA_KEY: "no threshold could be chosen on val"}

AUC = _fraction("the file gives no number (an AUC is undefined when the scored set lacks one class)")
ACCURACY = _fraction("nothing was scored")
PRECISION = _fraction("nothing was predicted positive")
RECALL = _fraction("no positive in the scored set")
BALANCED = _fraction("a class is absent from the scored set")
CI = _interval("the metric is undefined in every bootstrap replicate")
TRIALS = "the metric is undefined in every trial"

_ASSOCIATION_METHOD = _obj(
    {
        "test": _obj(
            {
                "auc": AUC,
                "auc_ci95": CI,
                "accuracy": ACCURACY,
                "accuracy_ci95": CI,
                "precision": PRECISION,
                "recall": RECALL,
                "threshold": THRESHOLD,
                "n_pairs": COUNT,
            },
            {"n_matched": COUNT},
        ),
        "val": _obj({"auc": AUC}),
    }
)

_DISCRIMINATION_SYMMETRIC = _obj(
    {
        "auc_mean": _fraction(TRIALS),
        "auc_p05": _fraction(TRIALS),
        "auc_p95": _fraction(TRIALS),
        "accuracy": _fraction(TRIALS),
        "precision": _fraction(TRIALS),
        "recall": _fraction(TRIALS),
        "balanced_accuracy": _fraction(TRIALS),
        "n_trials": COUNT,
        "n_test_records": COUNT,
        "n_test_explosions": COUNT,
        "balanced": _obj(
            {
                "balanced_accuracy": _fraction(TRIALS),
                "balanced_accuracy_p05": _fraction(TRIALS),
                "balanced_accuracy_p95": _fraction(TRIALS),
                "recall": _fraction(TRIALS),
            }
        ),
    }
)
_DISCRIMINATION_AUTHORS = _obj({"auc_mean": _fraction(TRIALS), "templates": _obj({"earthquake": COUNT})})

_SUPERVISED = _obj(
    {
        "method": TEXT,
        "n_test_records": COUNT,
        "auc": AUC,
        "auc_ci95": CI,
        "accuracy": ACCURACY,
        "precision": PRECISION,
        "recall": RECALL,
        "threshold": THRESHOLD,
        "training_seconds": SECONDS,
        "balanced": _obj({"balanced_accuracy": BALANCED, "recall": RECALL}),
    },
    {"accuracy_ci95": CI, "n_test_explosions": COUNT},
)

_SPLIT_COUNTS = _obj(
    {"records": COUNT, "events": COUNT, "stations": COUNT, "by_class": _obj({"explosion": _obj({"records": COUNT})})}
)

_RUNTIME_SPLIT = _obj({f"{task}_ms_per_window": {"type": "number", "exclusiveMinimum": 0} for task in TASKS})

#: JSON schema of each JSON input of the report (keys of :data:`seisembed.report.build.INPUTS`)
SCHEMAS: dict[str, dict] = {
    "catalog_summary": _obj({"earthquake_rows": COUNT, "explosion_rows": COUNT, "events": COUNT, "explosions": COUNT}),
    "waveforms_summary": _obj({"ok": COUNT, "counts": _mapping(COUNT)}),
    "dataset_card": _obj(
        {
            "window": _obj(
                {
                    "window_before_s": SECONDS,
                    "window_after_s": SECONDS,
                    "sampling_rate_hz": {"type": "number", "exclusiveMinimum": 0},
                    "n_samples": {"type": "integer", "minimum": 1},
                    "component_order": TEXT,
                }
            ),
            "counts": _obj(
                {
                    "total": _obj({"records": COUNT, "events": COUNT}),
                    "splits": _obj({split: _SPLIT_COUNTS for split in ("train", "val", "test")}),
                }
            ),
            "removed": _mapping(_obj({"records": COUNT})),
        },
        {"study": TEXT},
    ),
    "calibration": _obj(
        {
            "bounds": _mapping(
                _obj({"kind": TEXT, "bound": {"type": ["number", "array"], "items": {"type": "number"}}})
            ),
            "pass": {"type": "boolean"},
        },
        {
            "values": _mapping({"type": ["number", "null"], NA_KEY: "the check could not be measured"}),
            "checks": _mapping({"type": "boolean"}),
        },
    ),
    "model_card": _obj(
        {
            "preset": TEXT,
            "parameters": COUNT,
            "receptive_field_samples": COUNT,
            "flops_per_window": {"type": "number", "minimum": 0},
            "device": TEXT,
            "epochs": COUNT,
            "best_epoch": COUNT,
            "best_val_auc": _fraction("no epoch gave a finite val AUC"),
            "training_seconds": SECONDS,
            "store_hash": TEXT,
        }
    ),
    "association": _obj({m: _ASSOCIATION_METHOD for m in ("embedding", "cross_correlation", "spectral_lda")}),
    "discrimination": _obj(
        {
            "symmetric": _mapping(_DISCRIMINATION_SYMMETRIC, min_properties=1, key_pattern="^[1-9][0-9]*$"),
            "authors": _mapping(_DISCRIMINATION_AUTHORS, min_properties=1, key_pattern="^[1-9][0-9]*$"),
        }
    ),
    "supervised": _obj(
        {
            "svm36": {
                **_SUPERVISED,
                "required": sorted([*_SUPERVISED["required"], "windows"]),
                "properties": {
                    **_SUPERVISED["properties"],
                    "windows": _obj({"test": _obj({"n_clipped": COUNT, "n_missing": COUNT})}),
                },
            },
            "srspec_cnn": _SUPERVISED,
        }
    ),
    "runtime": _obj(
        {"device": _obj({"text": TEXT}), "splits": _obj({}, {"val": _RUNTIME_SPLIT, "test": _RUNTIME_SPLIT})}
    ),
}

#: required columns of each CSV input: column -> kind
#: (``label``: text, no empty cell; ``count``: integer >= 0, no empty cell;
#: ``count_or_na``: the same, empty where undefined; ``fraction``: in [0, 1], empty where undefined)
CSV_COLUMNS: dict[str, dict[str, str]] = {
    "association_by_distance": {
        "distance_km": "label",
        "pairs": "count",
        "matched": "count",
        "embedding_accuracy": "fraction",
        "embedding_precision": "fraction",
        "embedding_recall": "fraction",
        "cross_correlation_accuracy": "fraction",
        "spectral_lda_accuracy": "fraction",
    },
    "association_by_novelty": {
        "pairs": "label",
        "count": "count",
        "embedding_accuracy": "fraction",
        "embedding_errors": "count_or_na",
        "cross_correlation_accuracy": "fraction",
        "spectral_lda_accuracy": "fraction",
    },
}
#: the column naming a row in messages
_ROW_LABEL = {"association_by_distance": "distance_km", "association_by_novelty": "pairs"}
#: why an empty cell of a CSV table is undefined
_CSV_REASON = {
    "accuracy": "no pair in this row",
    "precision": "nothing predicted matched in this row",
    "recall": "no matched pair in this row",
    "errors": "no pair in this row",
}


# --------------------------------------------------------------------------- missing values
class NA:
    """A value the page shows as "n/a": ``null`` (or an empty cell) where a metric is undefined.

    ``where`` names the file and key (``supervised.json: svm36.precision``), ``reason`` why it
    can be undefined. ``str()`` is ``"n/a"``; in the page (Jinja's ``__html__``) a span with
    the reason as its title. It is neither a number nor true, so nothing compares it.
    """

    __slots__ = ("where", "reason")

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason

    def __str__(self) -> str:
        return "n/a"

    def __repr__(self) -> str:
        return f"NA({self.where!r}, {self.reason!r})"

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other) -> bool:
        return isinstance(other, NA) and (self.where, self.reason) == (other.where, other.reason)

    def __hash__(self) -> int:
        return hash((self.where, self.reason))

    def __html__(self) -> str:
        return f'<span class="na" title="{escape(self.text())}">n/a</span>'

    def text(self) -> str:
        """``"<where> is undefined: <reason>"``: what the page's note and verdicts say."""
        return f"{self.where} is undefined: {self.reason}"


# --------------------------------------------------------------------------- JSON
class _NonFinite:
    """Placeholder for a bare ``NaN``/``Infinity`` token while parsing."""


_NON_FINITE = _NonFinite()


def _key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _clean(value, where: list, found: list[str]):
    """``value`` with bare NaN/Infinity tokens and non-finite floats (``1e999``) replaced by ``None``."""
    if value is _NON_FINITE or (isinstance(value, float) and not math.isfinite(value)):
        found.append(_key_path(where))
        return None
    if isinstance(value, dict):
        return {k: _clean(v, [*where, k], found) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, [*where, i], found) for i, v in enumerate(value)]
    return value


def _one_line(exc: Exception) -> str:
    return "; ".join(line.strip() for line in str(exc).strip().splitlines()) or type(exc).__name__


def _short(value) -> str:
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):  # a NumPy scalar from a CSV cell
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value) -> str:
    for name, kind in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float)):
        if isinstance(value, kind):
            return name
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _range(schema: dict) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"in [{low:g}, {high:g}]"
    if low is not None:
        return f">= {low:g}"
    if "exclusiveMinimum" in schema:
        return f"> {schema['exclusiveMinimum']:g}"
    return f"<= {high:g}" if high is not None else "in range"


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _describe(error: jsonschema.ValidationError, non_finite: set[str]) -> str:
    """One line: the key path, the offending value, what was expected."""
    where = _key_path(error.absolute_path)
    value = error.instance
    kind = error.validator
    if kind == "required":
        missing = [k for k in error.validator_value if k not in value]
        key = _key_path([*error.absolute_path, missing[0]])
        return f"{key} is missing (the report reads it)"
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        expected = " or ".join(t for t in expected if t != "null")
        if value is None:
            token = " (a bare NaN/Infinity token, read as null)" if where in non_finite else ""
            return f"{where} is null{token}: the report needs {_a(expected)} here"
        return f"{where} = {_short(value)} is {_a(_json_type(value))}, not {_a(expected)}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{where} = {_short(value)} is out of range (must be {_range(error.schema)})"
    if kind in ("minItems", "maxItems"):
        return f"{where} = {_short(value)} must be a [low, high] pair"
    if kind == "minProperties":
        return f"{where} is empty"
    if kind == "pattern" and "propertyNames" in error.absolute_schema_path:
        return f"{where} has the key {_short(value)}, not a template count (a positive integer)"
    return f"{where}: {error.message} (value {_short(value)})"


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(SCHEMAS[name])


def _walk_na(value, schema: dict, where: list, file: str, found: list[NA]):
    """Replace ``None`` by :class:`NA` wherever the schema allows it (``x-undefined-when``)."""
    if value is None and NA_KEY in schema:
        na = NA(f"{file}: {_key_path(where)}", schema[NA_KEY])
        found.append(na)
        return na
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            k: _walk_na(v, props.get(k, extra if isinstance(extra, dict) else {}), [*where, k], file, found)
            for k, v in value.items()
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_walk_na(v, schema["items"], [*where, i], file, found) for i, v in enumerate(value)]
    return value


def _ordered(record: dict, where: list, problems: list[str]) -> None:
    """Every ``*_ci95`` pair and ``*_p05``/``*_p95`` sibling pair with two numbers is ordered."""
    for key, value in record.items():
        if isinstance(value, dict):
            _ordered(value, [*where, key], problems)
        elif key.endswith("_ci95") and isinstance(value, list) and len(value) == 2:
            lo, hi = value
            if _is_number(lo) and _is_number(hi) and lo > hi:
                problems.append(f"{_key_path([*where, key])} = {_short(value)} is not ordered (low > high)")
            estimate = record.get(key[: -len("_ci95")])
            if _is_number(lo) and _is_number(hi) and _is_number(estimate) and not lo - 1e-9 <= estimate <= hi + 1e-9:
                # a percentile bootstrap interval need not hold its estimate, but far outside is worth a look
                log.warning(
                    "%s = %s lies outside its 95 %% interval %s = %s (possible for a percentile bootstrap; "
                    "check the file if it is far outside)",
                    _key_path([*where, key[: -len("_ci95")]]),
                    _short(estimate),
                    _key_path([*where, key]),
                    _short(value),
                )
        elif key.endswith("_p05") and _is_number(value):
            hi = record.get(key[:-4] + "_p95")
            if _is_number(hi) and value > hi:
                problems.append(
                    f"{_key_path([*where, key])} = {value!r} is above {_key_path([*where, key[:-4] + '_p95'])} = {hi!r}"
                )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _consistency(name: str, record: dict) -> list[str]:
    """Checks across keys that a schema cannot express."""
    problems: list[str] = []
    _ordered(record, [], problems)
    if name == "association":
        for method, sub in record.items():
            t = sub.get("test") if isinstance(sub, dict) else None
            if isinstance(t, dict) and _is_number(t.get("n_matched")) and t["n_matched"] > t["n_pairs"]:
                problems.append(f"{method}.test.n_matched = {t['n_matched']} is more than n_pairs = {t['n_pairs']}")
    if name == "discrimination":
        missing = sorted(set(record["symmetric"]) - set(record["authors"]), key=int)
        if missing:
            problems.append(f"authors has no template count {', '.join(missing)} (symmetric has)")
        for k, row in record["symmetric"].items():
            if row["n_test_explosions"] > row["n_test_records"]:
                problems.append(
                    f"symmetric.{k}.n_test_explosions = {row['n_test_explosions']} is more than "
                    f"n_test_records = {row['n_test_records']}"
                )
    if name == "runtime" and not {"val", "test"} & set(record["splits"]):
        problems.append(f"splits has neither 'val' nor 'test' (keys: {sorted(record['splits'])})")
    if name == "catalog_summary" and record["explosions"] > record["events"]:
        problems.append(f"explosions = {record['explosions']} is more than events = {record['events']}")
    return problems


def read_json_input(name: str, path: str | Path, what: str) -> tuple[dict, list[NA]]:
    """Read and validate the JSON input ``name``; return it (undefined values as :class:`NA`) and its NAs."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8-sig"), parse_constant=lambda token: _NON_FINITE)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({_one_line(exc)}; truncated?) [{what}]") from exc
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot read it ({_one_line(exc)}) [{what}]") from exc
    found: list[str] = []
    record = _clean(record, [], found)
    if found:
        log.warning(
            "%s: %d non-finite number(s) (bare NaN/Infinity tokens, not strict JSON) read as null: %s",
            path,
            len(found),
            ", ".join(found[:5]) + (" ..." if len(found) > 5 else ""),
        )
    validator = _validator(name)
    errors = sorted(validator.iter_errors(record), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise InputError(f"{path}: {_describe(errors[0], set(found))}{more} [{what}]")
    problems = _consistency(name, record)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise InputError(f"{path}: {problems[0]}{more} [{what}]")
    nas: list[NA] = []
    return _walk_na(record, SCHEMAS[name], [], path.name, nas), nas


# --------------------------------------------------------------------------- CSV
def _cell(frame: pd.DataFrame, name: str, i: int) -> str:
    label = _ROW_LABEL[name]
    named = f" ({label} {frame[label].iloc[i]})" if label in frame else ""
    return f"line {i + 2}{named}"


def read_csv_input(name: str, path: str | Path, what: str) -> tuple[list[dict], list[NA]]:
    """Read and validate the CSV input ``name``; return its rows (empty cells as :class:`NA`) and their NAs."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read it as CSV ({_one_line(exc)}) [{what}]") from exc
    spec = CSV_COLUMNS[name]
    missing = [c for c in spec if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns))
        hint = ""
        if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
            hint = " (one column only: is the file separated by something other than commas?)"
        raise InputError(
            f"{path}: column(s) {', '.join(missing)} missing (the report reads {', '.join(spec)}; "
            f"found {found[:200]}){hint} [{what}]"
        )
    if not len(frame):
        raise InputError(f"{path}: no rows (a header only) [{what}]")
    for column, kind in spec.items():
        values = frame[column]
        if kind == "label":
            bad = values.isna() | (values.astype(str).str.strip() == "")
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise InputError(f"{path}: {_cell(frame, name, i)}, column {column} is empty [{what}]")
            continue
        numeric = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(values) else None
        if numeric is None or (numeric.isna() & values.notna()).any():
            i = 0 if numeric is None else int((numeric.isna() & values.notna()).to_numpy().argmax())
            raise InputError(
                f"{path}: {_cell(frame, name, i)}, column {column} = {_short(values.iloc[i])} is not a number [{what}]"
            )
        numbers = numeric.to_numpy(dtype=float)
        for i, x in enumerate(numbers):
            if math.isnan(x):
                if kind == "count":
                    raise InputError(f"{path}: {_cell(frame, name, i)}, column {column} is empty [{what}]")
                continue
            if kind == "fraction" and not 0 <= x <= 1:
                problem = "out of range (must be in [0, 1])"
            elif kind.startswith("count") and not (x >= 0 and math.isfinite(x) and x == int(x)):
                problem = "not a count (an integer >= 0)"
            else:
                continue
            raise InputError(
                f"{path}: {_cell(frame, name, i)}, column {column} = {_short(values.iloc[i])} is {problem} [{what}]"
            )
        frame[column] = numeric
    if name == "association_by_distance":
        _check_distance_rows(frame, path, what)
    whole = "pairs" if name == "association_by_distance" else "count"
    part = "matched" if name == "association_by_distance" else "embedding_errors"
    over = frame[part] > frame[whole]
    if over.any():
        i = int(over.to_numpy().argmax())
        raise InputError(
            f"{path}: {_cell(frame, name, i)}, column {part} = {frame[part].iloc[i]:g} is more than "
            f"{whole} = {frame[whole].iloc[i]:g} [{what}]"
        )
    rows, nas = [], []
    for i, record in enumerate(frame.to_dict("records")):
        row = {}
        for key, value in record.items():
            if key in spec and spec[key] != "label" and isinstance(value, float) and math.isnan(value):
                reason = _CSV_REASON.get(str(key).rsplit("_", 1)[-1], "undefined in this row")
                value = NA(f"{path.name}: {_cell(frame, name, i)}, {key}", reason)
                nas.append(value)
            elif key in spec and spec[key].startswith("count"):
                value = int(value)
            elif key in spec and spec[key] == "label":
                value = str(value)
            row[key] = value
        rows.append(row)
    return rows, nas


_BIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


def _check_distance_rows(frame: pd.DataFrame, path: Path, what: str) -> None:
    """``distance_km`` labels are ``low-high`` bins with low < high, each once."""
    repeated = frame["distance_km"].astype(str).duplicated()
    if repeated.any():
        i = int(np.flatnonzero(repeated.to_numpy())[0])
        raise InputError(
            f"{path}: line {i + 2}, column distance_km = {frame['distance_km'].iloc[i]!r} repeats a bin [{what}]"
        )
    for i, label in enumerate(frame["distance_km"].astype(str)):
        m = _BIN.match(label)
        if not m or float(m.group(1)) >= float(m.group(2)):
            raise InputError(
                f"{path}: line {i + 2}, column distance_km = {label!r} is not a distance bin 'low-high' (km, "
                f"low < high) [{what}]"
            )
