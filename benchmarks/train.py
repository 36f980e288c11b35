"""Benchmark of the training stage: steps/s, input wait, embedding speed beside the FLOP bound.

Run (a few minutes on 2 cores; uses the default run's store when it exists, else builds a
small synthetic one)::

    python benchmarks/train.py                       # spectral, demo and paper presets
    python benchmarks/train.py --store results/dataset/waveforms.zarr --steps 20
    python benchmarks/train.py --presets spectral paper --mixed-precision both --val-auc   # on a GPU (gpu.sh)

Prints, per preset: parameters, receptive field, GFLOP per window, seconds per training
step, steps/s and windows/s (L x K batches from the sampler, as the trainer feeds them),
the share of each step spent waiting for input, ms per window to embed (batches of
``--embed-batch``) and that figure's ratio to the FLOP bound (FLOPs per window / this
machine's float32 matrix-multiply rate, measured here with NumPy on the CPU or TensorFlow
on a GPU). On a GPU, ``--mixed-precision both`` measures float32 and mixed float16, and
each row says whether the weights really lived on the GPU and its peak memory.
``--val-auc``: after the timed steps (``--steps 100`` = one default epoch), the val
association AUC on the training stage's fixed val pairs.
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


def val_auc(model, store: Path) -> float:
    """Val association AUC of ``model`` on the training stage's fixed val pairs (default config)."""
    import numpy as np

    from seisembed.config import validate_config
    from seisembed.train.loop import val_pairs
    from seisembed.train.pairs import embedding_auc

    pairs, positions, windows = val_pairs(store, validate_config({}))
    return float(embedding_auc(np.asarray(model.predict(windows, batch_size=256, verbose=0)), positions, pairs))


def measure(
    store: Path,
    preset: str,
    steps: int,
    events: int,
    records: int,
    mixed: bool,
    embed_batch: int = 256,
    with_val_auc: bool = False,
) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from seisembed.config import validate_config
    from seisembed.train.losses import TRAINING_METRICS, TripletLoss
    from seisembed.train.model import architecture, build_model, flops_per_window, receptive_field
    from seisembed.train.sampler import TripletSampler

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
    windows = np.concatenate([np.asarray(x)] * max(1, (2 * embed_batch) // len(x)))
    model.predict(windows[:embed_batch], batch_size=embed_batch, verbose=0)  # warm-up (tracing)
    start = time.perf_counter()
    model.predict(windows, batch_size=embed_batch, verbose=0)
    embed_ms = (time.perf_counter() - start) / len(windows) * 1000
    on_gpu = "GPU" in str(model.trainable_variables[0].value.device).upper()  # the backend (tf) variable
    peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] if tf.config.list_physical_devices("GPU") else 0
    auc = val_auc(model, store) if with_val_auc else None
    keras.mixed_precision.set_global_policy("float32")
    return {
        "preset": preset,
        "mixed_precision": mixed,
        "parameters": model.count_params(),
        "receptive_field_samples": receptive_field(arch),
        "flops_per_window": flops_per_window(arch),
        "seconds_per_step": elapsed / steps,
        "steps_per_s": steps / elapsed,
        "windows_per_s": steps * len(y) / elapsed,
        "input_wait_share": waited / elapsed,
        "embed_ms_per_window": embed_ms,
        "embed_windows_per_s": 1000 / embed_ms,
        "weights_on_gpu": on_gpu,
        "gpu_peak_bytes": int(peak),
        "val_auc_after_steps": auc,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="results/dataset/waveforms.zarr")
    parser.add_argument("--presets", nargs="+", default=["spectral", "demo", "paper"])
    parser.add_argument("--embed-batch", type=int, default=256, help="windows per embedding batch")
    parser.add_argument("--val-auc", action="store_true", help="val AUC on the fixed val pairs after the steps")
    parser.add_argument("--require-gpu", action="store_true", help="exit 1 unless TensorFlow sees a GPU")
    parser.add_argument("--steps", type=int, default=15, help="timed training steps per preset")
    parser.add_argument("--paper-steps", type=int, default=2, help="timed steps of the paper preset on a CPU")
    parser.add_argument("--events", type=int, default=16, help="L (events per batch)")
    parser.add_argument("--records", type=int, default=4, help="K (records per event)")
    parser.add_argument("--mixed-precision", choices=["off", "on", "both"], default="off")
    args = parser.parse_args(argv)
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if args.require_gpu and not gpus:
        print("TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is empty): nothing measured")
        return 1
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
        f"{'preset':>14} {'mp':>3} {'params':>9} {'RF':>7} {'GFLOP/win':>10} {'s/step':>7} {'steps/s':>8} "
        f"{'win/s':>8} {'input wait':>10} {'embed ms/win':>12} {'win/s':>7} {'FLOP bound ms':>13} {'x bound':>8} "
        f"{'on GPU':>6} {'val AUC':>7}"
    )
    for preset in args.presets:
        for mixed in modes:
            if mixed and not gpus:
                continue
            steps = args.paper_steps if preset.startswith("paper") and not gpus else args.steps
            fig = measure(store, preset, steps, args.events, args.records, mixed, args.embed_batch, args.val_auc)
            fig["flop_bound_ms"] = fig["flops_per_window"] / rate * 1000
            fig["ratio_to_flop_bound"] = fig["embed_ms_per_window"] / fig["flop_bound_ms"]
            results.append(fig)
            auc = "" if fig["val_auc_after_steps"] is None else f"{fig['val_auc_after_steps']:.3f}"
            print(
                f"{preset:>14} {'on' if mixed else 'off':>3} {fig['parameters']:>9,} {fig['receptive_field_samples']:>7,} "
                f"{fig['flops_per_window'] / 1e9:>10.3f} {fig['seconds_per_step']:>7.3f} {fig['steps_per_s']:>8.2f} "
                f"{fig['windows_per_s']:>8.1f} {100 * fig['input_wait_share']:>9.1f}% {fig['embed_ms_per_window']:>12.3f} "
                f"{fig['embed_windows_per_s']:>7.0f} {fig['flop_bound_ms']:>13.3f} {fig['ratio_to_flop_bound']:>8.1f} "
                f"{'yes' if fig['weights_on_gpu'] else 'no':>6} {auc:>7}",
                flush=True,
            )
    from seisembed.provenance import describe_device

    print(json.dumps({"matmul_flops": rate, "device": describe_device(tf), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
