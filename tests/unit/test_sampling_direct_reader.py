"""DirectReader: identical to zarr for every layout the dataset stage can write, zarr for the rest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, TransposeCodec, ZstdCodec

from seisembed.errors import InputError
from seisembed.sampling import DirectReader, read_traces

N_CHANNELS, N_SAMPLES = 3, 24


def _make(path, n, chunk, shard, compressors, fill=0.0, written=None, dtype="float32", **kwargs):
    """A ``waveform`` array in a v3 group at ``path``; ``written``: trace indices given data (default all)."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    shards = (shard, N_CHANNELS, N_SAMPLES) if shard else None
    array = group.create_array("waveform", shape=(n, N_CHANNELS, N_SAMPLES), chunks=kwargs.pop("chunks", (chunk, N_CHANNELS, N_SAMPLES)),
                               shards=shards, dtype=dtype, compressors=compressors, fill_value=fill, **kwargs)
    data = np.random.default_rng(n + chunk).normal(0, 100, (n, N_CHANNELS, N_SAMPLES)).astype(dtype)
    for i in range(n) if written is None else written:
        array[i] = data[i]
    return zarr.open_group(str(path), mode="r")["waveform"]


LAYOUTS = {
    # name: (n traces, chunk, shard, compressors); n leaves a partial last chunk and shard
    "sharded-lz4": (37, 4, 16, [BloscCodec(cname="lz4", shuffle="shuffle", typesize=4)]),
    "sharded-zstd-1": (21, 1, 8, [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle", typesize=4)]),
    "sharded-none": (30, 4, 16, None),
    "sharded-bitshuffle": (19, 2, 6, [BloscCodec(cname="lz4hc", shuffle="bitshuffle", typesize=4)]),
    "one-shard": (7, 4, 64, [BloscCodec(cname="blosclz")]),
    "unsharded-lz4": (23, 3, None, [BloscCodec(cname="lz4")]),
    "unsharded-none": (11, 5, None, None),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_trace_matches_zarr(tmp_path, name):
    n, chunk, shard, compressors = LAYOUTS[name]
    array = _make(tmp_path / "s.zarr", n, chunk, shard, compressors)
    direct = DirectReader.for_store(tmp_path / "s.zarr")
    assert direct is not None and direct.shard == shard and direct.chunk == chunk
    traces = np.random.default_rng(1).permutation(np.r_[np.arange(n), [0, n - 1, n // 2]])  # any order, repeats
    np.testing.assert_array_equal(direct.read(traces), array[:][traces])
    np.testing.assert_array_equal(read_traces(array, direct, traces), read_traces(array, None, traces))
    assert direct.read(np.array([], dtype=int)).shape == (0, N_CHANNELS, N_SAMPLES)


@pytest.mark.parametrize("fill", [0.0, float("nan"), -7.5])
@pytest.mark.parametrize("shard", [8, None])
def test_missing_chunks_and_shards_read_as_the_fill_value(tmp_path, fill, shard):
    # traces 0-2 and 17 hold data: chunks 0 (partly), 4, and whole shards / chunk files are absent
    array = _make(tmp_path / "s.zarr", 29, 2, shard, [BloscCodec(cname="lz4")], fill=fill, written=[0, 1, 2, 17])
    direct = DirectReader.for_store(tmp_path / "s.zarr")
    assert direct is not None
    traces = np.arange(29)[::-1]
    got, want = direct.read(traces), array[:][traces]
    np.testing.assert_array_equal(got, want)  # NaN == NaN here
    assert np.isnan(got).any() == np.isnan(fill)


def test_all_fill_chunk_is_not_stored_and_still_reads(tmp_path):
    # zarr skips writing chunks equal to the fill value (write_empty_chunks=False)
    array = _make(tmp_path / "s.zarr", 12, 2, 4, None, fill=0.0)
    zarr.open_group(str(tmp_path / "s.zarr"), mode="r+")["waveform"][4:6] = 0.0
    direct = DirectReader.for_store(tmp_path / "s.zarr")
    np.testing.assert_array_equal(direct.read(np.arange(12)), array[:])


FALLBACKS = {
    "zstd-codec": dict(compressors=[ZstdCodec(level=3)]),
    "gzip-codec": dict(compressors=[GzipCodec()]),
    "big-endian": dict(compressors=None, serializer=BytesCodec(endian="big")),
    "transpose": dict(compressors=None, filters=[TransposeCodec(order=(0, 2, 1))]),
    "float64": dict(compressors=None, dtype="float64"),
    "split-samples": dict(compressors=None, chunks=(2, N_CHANNELS, N_SAMPLES // 2)),
    "dot-separator": dict(compressors=None, chunk_key_encoding={"name": "default", "separator": "."}),
}


@pytest.mark.parametrize("name", sorted(FALLBACKS))
@pytest.mark.parametrize("shard", [4, None])
def test_other_layouts_fall_back_to_zarr(tmp_path, name, shard):
    kwargs = dict(FALLBACKS[name])
    if name == "split-samples" and shard:
        pytest.skip("a shard must be a multiple of its chunks")
    array = _make(tmp_path / "s.zarr", 9, 2, shard, kwargs.pop("compressors"), **kwargs)
    assert DirectReader.for_store(tmp_path / "s.zarr") is None
    traces = np.array([8, 0, 3])
    np.testing.assert_array_equal(read_traces(array, None, traces), array[:][traces].astype(np.float32))


def _edit_metadata(store, edit) -> None:
    path = store / "waveform" / "zarr.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("edit", [
    lambda m: m.update(zarr_format=2),
    lambda m: m.update(storage_transformers=[{"name": "something"}]),
    lambda m: m["chunk_grid"].update(name="rectilinear"),
    lambda m: m["codecs"][0]["configuration"].update(index_location="start"),
    lambda m: m["codecs"][0]["configuration"]["index_codecs"][0]["configuration"].update(endian="big"),
    lambda m: m["codecs"][0]["configuration"]["index_codecs"].pop(),
    lambda m: m.update(fill_value="0x7fc00000"),
    lambda m: m.update(shape=[9, 3]),
], ids=["v2", "transformer", "grid", "index-start", "index-big-endian", "index-no-crc", "hex-fill", "2d"])
def test_unknown_metadata_falls_back(tmp_path, edit):
    _make(tmp_path / "s.zarr", 9, 2, 4, None)
    assert DirectReader.for_store(tmp_path / "s.zarr") is not None
    _edit_metadata(tmp_path / "s.zarr", edit)
    assert DirectReader.for_store(tmp_path / "s.zarr") is None


def test_damaged_shard_is_an_input_error_naming_the_file(tmp_path):
    _make(tmp_path / "s.zarr", 16, 2, 8, [BloscCodec(cname="lz4")])
    direct = DirectReader.for_store(tmp_path / "s.zarr")
    shard = tmp_path / "s.zarr" / "waveform" / "c" / "1" / "0" / "0"
    shard.write_bytes(shard.read_bytes()[:40])  # truncated: index and chunks cut off
    with pytest.raises(InputError, match=r"c/1/0/0"):
        direct.read(np.array([9]))
    np.testing.assert_array_equal(direct.read(np.array([1])).shape, (1, N_CHANNELS, N_SAMPLES))  # shard 0 intact


def test_out_of_range_trace(tmp_path):
    _make(tmp_path / "s.zarr", 5, 2, 4, None)
    direct = DirectReader.for_store(tmp_path / "s.zarr")
    with pytest.raises(IndexError):
        direct.read(np.array([5]))
    with pytest.raises(IndexError):
        direct.read(np.array([-1]))
