"""SyntheticParams: one place for defaults; unknown keys and bad types name the key."""

import pytest

from seisembed.config import default_config
from seisembed.errors import ConfigError
from seisembed.synthetic import SyntheticParams


def test_defaults_and_io_keys_ignored():
    p = SyntheticParams.from_dict({"arrivals": "x.csv", "output_dir": "out", "calibration": "c.json"})
    assert p == SyntheticParams.defaults()
    assert p.sampling_rate_hz == 40.0
    assert p.record_before_s >= 30.0 and p.record_after_s >= 150.0


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="synthetic.nosie_level_max"):
        SyntheticParams.from_dict({"nosie_level_max": 0.5})


@pytest.mark.parametrize("key,value", [("batch_size", "many"), ("snr_median", "high"), ("p_gap", True)])
def test_wrong_type_is_named(key, value):
    with pytest.raises(ConfigError, match=f"synthetic.{key}"):
        SyntheticParams.from_dict({key: value})


@pytest.mark.parametrize(
    "values",
    [
        {"p_gap": 1.5},
        {"noise_level_min": 0.9, "noise_level_max": 0.1},
        {"max_records_per_event": 0},
        {"sampling_rate_hz": 0},
    ],
)
def test_ranges_checked(values):
    with pytest.raises(ConfigError, match="synthetic."):
        SyntheticParams.from_dict(values)


def test_int_accepts_integral_float_and_null_optional():
    p = SyntheticParams.from_dict({"batch_size": 8.0, "max_events": None, "max_records_per_event": None})
    assert p.batch_size == 8 and p.max_events is None and p.max_records_per_event is None


def test_int_fields_are_ints():
    p = SyntheticParams.from_dict({"batch_size": 8.0})
    assert isinstance(p.batch_size, int) and isinstance(p.snr_median, float)


# -- moved from test_foundation.py (schema defaults, bad input)
def test_synthetic_params_from_an_empty_section():
    from seisembed.synthetic.params import SyntheticParams

    assert SyntheticParams.from_dict({}).as_dict() == {
        k: v
        for k, v in default_config()["synthetic"].items()
        if k not in ("arrivals", "output_dir", "calibration", "calibration_reference")
    }
