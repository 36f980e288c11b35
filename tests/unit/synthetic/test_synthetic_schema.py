"""The config schema's ``synthetic`` section is the one source of SyntheticParams' defaults."""

from __future__ import annotations

import dataclasses

from seisembed.config import default_config, load_schema
from seisembed.synthetic.params import IO_KEYS, SyntheticParams


def test_schema_and_params_list_the_same_keys():
    props = load_schema()["properties"]["synthetic"]["properties"]
    assert set(props) - set(IO_KEYS) == {f.name for f in dataclasses.fields(SyntheticParams)}


def test_params_carry_no_defaults_of_their_own():
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(SyntheticParams))


def test_schema_defaults_build_the_default_params():
    props = load_schema()["properties"]["synthetic"]["properties"]
    params = SyntheticParams.from_dict(default_config()["synthetic"])
    assert params == SyntheticParams.defaults() == SyntheticParams.from_dict({})
    for name, value in params.as_dict().items():
        assert value == props[name]["default"], name
