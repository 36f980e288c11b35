"""The config schema's ``synthetic`` section and SyntheticParams agree key for key."""

from __future__ import annotations

import dataclasses

from seisembed.config import default_config, load_schema
from seisembed.synthetic.params import IO_KEYS, SyntheticParams


def test_schema_lists_every_parameter_with_its_default():
    props = load_schema()["properties"]["synthetic"]["properties"]
    fields = {f.name: f.default for f in dataclasses.fields(SyntheticParams)}
    assert set(props) - set(IO_KEYS) == set(fields)
    for name, default in fields.items():
        assert props[name]["default"] == default, name


def test_schema_defaults_build_the_default_params():
    params = SyntheticParams.from_dict(default_config()["synthetic"])
    assert params == SyntheticParams()
