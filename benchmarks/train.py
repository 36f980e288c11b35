"""Benchmark of the training stage: steps/s, input wait, embedding speed beside the FLOP bound.

Run (a few minutes on 2 cores; uses the default run's store when it exists, else builds a
small synthetic one)::

    python benchmarks/train.py                       # demo and paper presets
    python benchmarks/train.py --store results/dataset/waveforms.zarr --steps 20
    python benchmarks/train.py --presets paper --mixed-precision both   # on a GPU machine

Prints, per preset: parameters, receptive field, FLOPs per window, training steps/s and
windows/s (L x K batches from the sampler, as the trainer feeds them), the share of each
step spent waiting for input, ms per window to embed, and the FLOP bound of that figure
(FLOPs per window / this machine's float32 matrix-multiply rate, measured here with NumPy
on the CPU or TensorFlow on a GPU). On a GPU, ``--mixed-precision both`` measures float32
and mixed float16.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def matmul_rate(on_gpu: bool) -> float:
    """float32 FLOP/s of a 2048^2 matrix multiply (NumPy on the CPU, TensorFlow on a GPU)."""
    import numpy as np

    n = 2048
    if on_gpu:
        import tensorflow as tf

        a = tf.random.normal((n, n))
        tf.matmul(a, a).numpy()
        start = time.perf_counter()
        for _ in range(20):
            c = tf.matmul(a, a)
        c.numpy()
        return 20 * 2 * n**3 / (time.perf_counter() - start)
    a = np.random.default_rng(0).normal(size=(n, n)).astype(np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(3):
        a @ a
    return 3 * 2 * n**3 / (time.perf_counter() - start)


def small_store(work: Path) -> Path:
    """A synthetic 7200-sample store with enough events for L=16 x K=4 batches."""
    from seisembed.config import validate_config
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions

    meta = synthetic_metadata(160, n_stations=60, records_per_event=(10, 16), seed=1, box_events=4)
    write_partitions(work / "wf", meta, seed=1)
    config = validate_config({"dataset": {"held_out_stations": {"count": 4}}})
    return build_dataset(work / "wf", work / "waveforms.zarr", config).store


def measure(store: Path, preset: str, steps: int, events: int, records: int, mixed: bool) -> dict:
    import keras
    import numpy as np

    from seisembed.config import validate_config
    from seisembed.losses import TRAINING_METRICS, TripletLoss
    from seisembed.model import architecture, build_model, flops_per_window, receptive_field
    from seisembed.sampling import TripletSampler

    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    config = validate_config({"model": {"preset": preset}})
    arch = architecture(config["model"])
    model = build_model(config["model"])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=TripletLoss(mode="batch_all"), metrics=list(TRAINING_METRICS)
    )
    with TripletSampler(
        store,
        "train",
        events,
        records,
        seed=1,
        normalization="none",
        demean=False,
        batches_per_epoch=steps + 2,
        cache="memory",
    ) as sampler:
        x, y = sampler.batch(0, 0)
        model.train_on_batch(x, y)  # build + compile
        waited, start = 0.0, time.perf_counter()
        for i in range(1, steps + 1):
            t0 = time.perf_counter()
            x, y = sampler.batch(0, i)
            waited += time.perf_counter() - t0
            model.train_on_batch(x, y)
        elapsed = time.perf_counter() - start
    windows = np.asarray(x[: min(len(x), 64)])
    model.predict(windows, verbose=0)
    start = time.perf_counter()
    model.predict(np.concatenate([windows] * 4), batch_size=64, verbose=0)
    embed_ms = (time.perf_counter() - start) / (4 * len(windows)) * 1000
    keras.mixed_precision.set_global_policy("float32")
    return {
        "preset": preset,
        "mixed_precision": mixed,
        "parameters": model.count_params(),
        "receptive_field_samples": receptive_field(arch),
        "flops_per_window": flops_per_window(arch),
        "steps_per_s": steps / elapsed,
        "windows_per_s": steps * len(y) / elapsed,
        "input_wait_share": waited / elapsed,
        "embed_ms_per_window": embed_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="results/dataset/waveforms.zarr")
    parser.add_argument("--presets", nargs="+", default=["demo", "paper"])
    parser.add_argument("--steps", type=int, default=15, help="timed training steps per preset")
    parser.add_argument("--paper-steps", type=int, default=2, help="timed steps of the paper preset on a CPU")
    parser.add_argument("--events", type=int, default=16, help="L (events per batch)")
    parser.add_argument("--records", type=int, default=4, help="K (records per event)")
    parser.add_argument("--mixed-precision", choices=["off", "on", "both"], default="off")
    args = parser.parse_args(argv)
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    store = Path(args.store)
    if not store.exists():
        store = small_store(Path(tempfile.mkdtemp(prefix="seisembed-train-bench-")))
    rate = matmul_rate(bool(gpus))
    print(
        f"# seisembed training benchmark: {'GPU ' + gpus[0].name if gpus else f'CPU, {os.cpu_count()} cores'}; "
        f"float32 matmul {rate / 1e9:,.0f} GFLOP/s; store {store}; L={args.events} x K={args.records}"
    )
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.mixed_precision]
    results = []
    print(
        f"{'preset':>14} {'mp':>3} {'params':>9} {'RF':>7} {'GFLOP/win':>10} {'steps/s':>8} {'win/s':>8} "
        f"{'input wait':>10} {'embed ms/win':>12} {'FLOP bound ms':>13}"
    )
    for preset in args.presets:
        for mixed in modes:
            if mixed and not gpus:
                continue
            steps = args.paper_steps if preset.startswith("paper") and not gpus else args.steps
            fig = measure(store, preset, steps, args.events, args.records, mixed)
            fig["flop_bound_ms"] = fig["flops_per_window"] / rate * 1000
            results.append(fig)
            print(
                f"{preset:>14} {'on' if mixed else 'off':>3} {fig['parameters']:>9,} {fig['receptive_field_samples']:>7,} "
                f"{fig['flops_per_window'] / 1e9:>10.2f} {fig['steps_per_s']:>8.2f} {fig['windows_per_s']:>8.1f} "
                f"{100 * fig['input_wait_share']:>9.1f}% {fig['embed_ms_per_window']:>12.2f} {fig['flop_bound_ms']:>13.2f}",
                flush=True,
            )
    print(json.dumps({"matmul_flops": rate, "gpus": [g.name for g in gpus], "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
