"""Train the embedding: triplet loss on L x K batches, validated on fixed val batches and pairs.

:func:`train_model` is what ``seisembed train`` (rule ``train_model``) runs:

1. The train sampler (:class:`seisembed.train.sampler.TripletSampler`) yields *raw*
   windows (the model normalises them itself); batch ``i`` of epoch ``e`` depends
   only on ``(seed, e, i)``.
2. Each epoch: :class:`seisembed.train.losses.HardMiningSchedule` sets the loss's
   batch-hard weight (``on_epoch_begin``), then ``train.steps_per_epoch`` steps. The loss
   is :class:`seisembed.train.losses.TripletLoss` (``train.loss``: batch-all by default;
   the ``schedule`` warms up on batch-all, then ramps to batch-hard). A step is Keras's
   public ``model.train_on_batch`` on one replica; on several replicas (``MirroredStrategy``,
   ``MultiWorkerMirroredStrategy``) it is :class:`ReplicatedStep`, a documented custom step
   (``strategy.run`` of a ``tf.GradientTape`` step) that gives each replica its own whole
   events. A NaN loss stops the run naming the epoch and step.
3. After each epoch: the loss and metrics on a fixed, seeded set of val batches,
   the association AUC on a fixed, seeded set of distinct val pairs, drawn as the
   evaluation draws its pairs
   (:func:`seisembed.train.pairs.association_pairs`), the collapse check (mean pairwise
   distance of the val batches), the best model (by val AUC) saved, and a
   checkpoint of the whole training state.
4. Early stopping after ``train.early_stopping_patience`` epochs without a better
   val AUC (:class:`seisembed.train.early_stopping.EarlyStopping`, the piece the SRSpec-CNN
   classifier uses too); then ``history.csv``, ``model_card.json|md`` and the training curve.

Data check: before the first epoch the train and val windows are scanned for
NaN/inf and all-zero windows (:func:`seisembed.dataset.store.scan_windows`); with
``train.bad_windows: error`` (the default) a bad window stops the run naming the
split, the counts and the first traces, with ``skip`` they are left out of
sampling and of the val pairs (counted, logged, and recorded in the model card).
A val split that cannot be scored (too few events or records left) stops the run
before the first epoch too.

Resuming: the checkpoint (model with optimizer state, best model, history,
early-stopping state) is written atomically after every epoch to
``<out_dir>/.resume/`` with a fingerprint of the config (less its throughput-only
keys, :data:`seisembed.config.THROUGHPUT_KEYS`) and of the store's content
(:func:`seisembed.dataset.store.store_content_hash`: every file's bytes, the model
card's ``store_hash``). A run killed at any moment restarts from the last
completed epoch; with ``train.deterministic`` it ends with the same weights as an
uninterrupted run. A state from another config or store is discarded (logged).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seisembed.argtypes import check_outside
from seisembed.atomic import atomic_path, save_figure, write_json_atomic, write_text_atomic
from seisembed.config import config_hash, validate_config
from seisembed.errors import ConfigError, InputError, SeisembedError

__all__ = ["TrainingError", "train_model"]

log = logging.getLogger(__name__)

MODEL_NAME = "model.keras"


class TrainingError(SeisembedError):
    """Training stopped: NaN loss, collapsed embeddings, or a setting the data cannot serve."""


# -- setup ----------------------------------------------------------------------------------
def _configure_tensorflow(train: dict, threads: int | None):
    """Threads, determinism, devices and precision; returns (tf, keras, strategy, device text)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
        except RuntimeError:  # TensorFlow already ran in this process (library use): keep its threads
            log.debug("TensorFlow is initialised already; thread settings unchanged")
    if train["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    if train["logical_cpus"]:
        _split_cpu(tf, int(train["logical_cpus"]))
    strategy = _strategy(tf, train, gpus)
    if train["mixed_precision"] and gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    names = [g.name for g in gpus]
    device = f"{len(gpus)} GPU(s): {', '.join(names)}" if gpus else f"CPU ({os.cpu_count()} cores visible)"
    log.info(
        "training on %s; %d replica(s); precision %s; deterministic %s",
        device,
        strategy.num_replicas_in_sync,
        keras.mixed_precision.global_policy().name,
        train["deterministic"],
    )
    grant = _slurm_grant()
    if grant:
        log.info("SLURM job %s: %s", grant["SLURM_JOB_ID"], ", ".join(f"{k}={v}" for k, v in grant.items()))
    return tf, keras, strategy, device, bool(gpus)


def _slurm_grant() -> dict:
    """What SLURM granted this job (empty outside SLURM): job id, GPUs, CPUs per task."""
    keys = ("SLURM_JOB_ID", "SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_CPUS_PER_TASK", "CUDA_VISIBLE_DEVICES")
    return {k: os.environ[k] for k in keys if k in os.environ} if "SLURM_JOB_ID" in os.environ else {}


def _split_cpu(tf, n: int) -> None:
    """Split the CPU into ``n`` logical devices (``train.logical_cpus``; must precede TensorFlow's start)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as exc:
        raise ConfigError(
            f"config key 'train.logical_cpus' ({n}): TensorFlow has started in this process already, so the CPU "
            "can no longer be split; set it in a fresh process (the seisembed train command)"
        ) from exc


def _strategy(tf, train: dict, gpus: list):
    """The ``tf.distribute`` strategy of ``train.distribute`` (see the schema)."""
    mode = train["distribute"]
    if mode == "multiworker":
        # TF_CONFIG (TensorFlow's cluster description) when set, else one task per node of a SLURM
        # job: the SLURM resolver reads SLURM_* (nodes, tasks, GPUs per node)
        if os.environ.get("TF_CONFIG"):
            resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        else:
            resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    if mode == "mirrored" or (mode == "auto" and len(gpus) > 1):
        devices = train["devices"]
        if devices is None and not gpus:
            devices = ["/cpu:0"]
        return tf.distribute.MirroredStrategy(devices=devices)
    return tf.distribute.get_strategy()


def _worker_scratch(strategy, out_dir: Path) -> Path | None:
    """A non-chief worker's own output folder (a temporary one); None on the chief and on one worker.

    The workers of a multi-worker run train one model in step; only the chief (worker 0)
    writes ``out_dir``. Another worker writes its checkpoints and outputs to a temporary
    folder (removed at the end), starting from a copy of the chief's ``.resume`` state so
    that all workers resume at the same epoch (``out_dir`` on a shared file system).
    """
    if getattr(strategy.extended, "should_checkpoint", True):
        return None
    resolver = strategy.cluster_resolver
    scratch = Path(tempfile.mkdtemp(prefix=f"seisembed-{resolver.task_type}{resolver.task_id}-"))
    atexit.register(shutil.rmtree, scratch, True)
    try:
        shutil.copytree(out_dir / ".resume", scratch / ".resume")
    except OSError:  # no state (a fresh run), or the chief is clearing a stale one: start over, as the chief does
        shutil.rmtree(scratch / ".resume", ignore_errors=True)
    log.info(
        "worker %s %d of a multi-worker run: the chief writes %s; this worker writes to %s",
        resolver.task_type,
        resolver.task_id,
        out_dir,
        scratch,
    )
    return scratch


def _workers_agree(tf, strategy, epoch: int, out_dir: Path) -> None:
    """Every worker of a multi-worker run starts at the chief's epoch (else they would wait on each other forever)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    gather = tf.function(lambda: strategy.gather(strategy.run(lambda: tf.constant([epoch], tf.float32)), axis=0))
    epochs = np.asarray(gather())
    low, high = int(epochs.min()), int(epochs.max())
    if low != high:
        raise TrainingError(
            f"the workers of this multi-worker run would resume at different epochs ({low} and {high}, this "
            f"worker {epoch}): the other workers read the chief's resume state from {out_dir / '.resume'}, so "
            "--out-dir must be on a file system all workers share"
        )


def _store_hash(store: Path) -> str:
    """Content hash of the store (every file's bytes: :func:`seisembed.dataset.store.store_content_hash`)."""
    from seisembed.dataset.store import store_content_hash

    return store_content_hash(store)


def _store_waveforms(store: Path) -> dict:
    """The ``waveforms`` config section that cut the store's windows (from its provenance; {} if absent)."""
    from seisembed.dataset.store import store_attributes

    attrs = store_attributes(store)
    section = dict(attrs.get("provenance", {}).get("config", {}).get("waveforms", {}))
    for key in ("sampling_rate_hz", "window_before_s", "window_after_s"):
        if key in attrs:
            section[key] = attrs[key]
    return section


def _samplers(store: Path, config: dict, exclude: dict | None = None):
    """The train sampler (raw windows: the model normalises them itself) and the fixed val batches.

    ``exclude``: per split, store positions never sampled (skipped bad windows).
    """
    from seisembed.train.sampler import TripletSampler

    exclude = exclude or {}
    raw = {"normalization": "none", "demean": False}
    trainer = TripletSampler.from_config(
        store,
        config,
        "train",
        batches_per_epoch=config["train"]["steps_per_epoch"],
        exclude=exclude.get("train"),
        **raw,
    )
    val_config = {**config, "seed": config["seed"] + 1}
    try:
        val = TripletSampler.from_config(
            store,
            val_config,
            "val",
            max_shift_samples=0,
            prefetch=0,
            cache="none",
            batches_per_epoch=None,
            exclude=exclude.get("val"),
            **raw,
        )
    except InputError as exc:
        trainer.close()
        raise InputError(f"the val split cannot be scored, so training does not start: {exc}") from exc
    with val:
        n = min(config["train"]["val_batches"], len(val))
        val_batches = [val.batch(0, i) for i in range(n)]
    return trainer, val_batches


def val_pairs(store: Path, config: dict, exclude: np.ndarray | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fixed val pairs, the distinct store positions they use, and those windows (raw, channels-last).

    ``exclude``: val store positions no pair may use (skipped bad windows). Raises
    :class:`InputError` when the val split cannot give matched and unmatched pairs.
    """
    from seisembed.dataset.store import channels_last, open_waveforms, read_index, read_traces
    from seisembed.train.pairs import association_pairs

    index = read_index(store)
    if exclude is not None and len(exclude):
        index["split"] = index["split"].copy()
        index["split"][exclude] = ""  # excluded windows belong to no split
    try:
        pairs = association_pairs(index, "val", config["train"]["val_pairs"], config["seed"])
    except InputError as exc:
        raise InputError(
            f"the val split of {store} cannot be scored (val association AUC), so training does not start: {exc}"
        ) from exc
    positions = np.unique(np.concatenate([pairs["first"], pairs["second"]]))
    windows = channels_last(read_traces(open_waveforms(store), positions))
    return pairs, positions, windows


def _check_windows(store: Path, config: dict) -> tuple[dict, dict]:
    """Scan the train and val windows for NaN/inf and all-zero ones; refuse or skip them.

    Returns ``(report, exclude)``: per split the counts and first trace names (with
    ``policy``, the model card's ``bad_windows``), and per split the store positions
    to leave out (empty unless ``train.bad_windows`` is ``skip``). Raises
    :class:`TrainingError` naming the split, counts and first traces when the policy
    is ``error`` (the default).
    """
    from seisembed.dataset.store import read_index, scan_windows

    policy = config["train"]["bad_windows"]
    started = time.monotonic()
    found = scan_windows(store, ("train", "val"))
    index = read_index(store)
    report: dict = {"policy": policy}
    exclude: dict[str, np.ndarray] = {}
    faults = []
    for split, bad in found.items():
        positions = np.union1d(bad["non_finite"], bad["all_zero"])
        entry = {
            "windows": int((index["split"] == split).sum()),
            "non_finite": int(len(bad["non_finite"])),
            "all_zero": int(len(bad["all_zero"])),
            "first_traces": [str(n) for n in index["trace_name"][positions[:5]]],
        }
        report[split] = entry
        exclude[split] = positions if policy == "skip" else np.empty(0, np.int64)
        if len(positions):
            faults.append(
                f"split '{split}' holds {entry['non_finite']} window(s) with NaN/inf values and {entry['all_zero']} "
                f"all-zero window(s) of {entry['windows']} (first: {', '.join(entry['first_traces'])}"
                f"{' ...' if len(positions) > 5 else ''})"
            )
    log.info(
        "checked the train and val windows of %s for NaN/inf and all-zero ones in %.1f s: %s",
        store,
        time.monotonic() - started,
        "; ".join(f"{s} {report[s]['non_finite']} NaN/inf, {report[s]['all_zero']} all zero" for s in found),
    )
    if faults and policy == "error":
        raise TrainingError(
            f"dataset store {store}: {'; '.join(faults)}. A NaN/inf window makes the loss or the val AUC NaN; "
            "an all-zero window carries no signal. Rebuild the store with seisembed dataset (it removes NaN/inf "
            "windows and counts all-zero ones in its card), or set config key 'train.bad_windows' to 'skip' to "
            "leave these windows out of training and validation (counted in the model card)"
        )
    for fault in faults:
        log.warning("train.bad_windows is 'skip': %s are left out of sampling and of the val pairs", fault)
    return report, exclude


def _fingerprint_parts(config: dict, store_hash: str, replicas: int) -> dict:
    """What a resume state must match: the config (less throughput-only keys), the store content, replicas."""
    from seisembed.config import THROUGHPUT_KEYS

    chosen = json.loads(json.dumps({k: config[k] for k in ("model", "train", "sampling", "seed")}))
    for key in THROUGHPUT_KEYS:
        section, name = key.split(".", 1)
        chosen.get(section, {}).pop(name, None)
    return {"config": config_hash(chosen), "store": store_hash, "replicas": int(replicas)}


def _compile(keras, model, train: dict, jit: bool):
    from seisembed.train.losses import TripletLoss, training_metrics

    mode = {
        "schedule": "schedule",
        "batch_hard": "batch_hard",
        "batch_all": "batch_all",
        "soft_batch_hard": "batch_hard",
    }
    loss = TripletLoss(margin=train["margin"], mode=mode[train["loss"]], soft=train["loss"] == "soft_batch_hard")
    optimizer = keras.optimizers.Adam(learning_rate=train["learning_rate"], clipnorm=train["clipnorm"])
    model.compile(optimizer=optimizer, loss=loss, metrics=training_metrics(train["margin"]), jit_compile=jit)
    return loss


# -- one epoch -------------------------------------------------------------------------------
def _split_by_events(strategy, x: np.ndarray, y: np.ndarray):
    """One batch as per-replica values: replica ``i`` gets the ``i``-th contiguous slice of whole events.

    The sampler lays a batch out event by event (K records each), and ``events_per_batch``
    is a multiple of the replicas, so every slice holds whole events and batch-hard mining
    runs within each replica's events. (Keras's ``train_on_batch`` would hand every
    replica the whole batch.)
    """
    import tensorflow as tf

    per = len(x) // strategy.num_replicas_in_sync

    def part(array):
        return lambda ctx: tf.constant(
            array[ctx.replica_id_in_sync_group * per : (ctx.replica_id_in_sync_group + 1) * per]
        )

    return (
        strategy.experimental_distribute_values_from_function(part(x)),
        strategy.experimental_distribute_values_from_function(part(y)),
    )


class ReplicatedStep:
    """One training step over the replicas of a ``tf.distribute`` strategy, each on its own events.

    A custom training step with public APIs only (the pattern of TensorFlow's "Custom training
    with tf.distribute.Strategy" guide): a ``tf.function`` runs ``strategy.run(replica_step)``,
    and each replica does what Keras 3's ``train_step`` does for one batch:

    1. ``emb = model(x, training=True)`` under a ``tf.GradientTape``;
    2. ``loss = model.compute_loss(...)``: the compiled :class:`~seisembed.train.losses.TripletLoss`,
       which divides itself by the replicas in sync (so the replicas' gradients, summed by
       ``apply_gradients``, are those of the mean loss);
    3. ``optimizer.scale_loss(loss)`` (the loss scale of a mixed-precision optimizer, else
       unchanged), ``tape.gradient`` and ``optimizer.apply_gradients`` (which all-reduces the
       gradients and unscales them);
    4. the logs: the loss times the replicas (what Keras logs: the replica's own loss) and
       :func:`~seisembed.train.losses.triplet_metrics` of the replica's batch.

    The logs are averaged over all replicas of all workers with ``strategy.reduce("MEAN", v,
    axis=None)`` (``axis=0`` fails on scalars for ``MultiWorkerMirroredStrategy``,
    tensorflow/tensorflow#72388), what Keras's ``train_on_batch`` logs for one worker's
    replicas. The optimizer is built under the strategy's scope before the first step. One
    object serves a whole run: its ``tf.function`` is traced once (batches of one shape).
    """

    def __init__(self, model, strategy):
        import tensorflow as tf

        from seisembed.train.losses import triplet_metrics

        self.model, self.strategy = model, strategy
        replicas = strategy.num_replicas_in_sync
        with strategy.scope():
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)

        def replica_step(x, y):
            with tf.GradientTape() as tape:
                emb = model(x, training=True)
                loss = model.compute_loss(x=x, y=y, y_pred=emb, training=True)
                scaled = model.optimizer.scale_loss(loss)
            variables = model.trainable_variables
            model.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
            metrics = triplet_metrics(y, emb, model.loss.margin)
            return {"loss": loss * tf.cast(replicas, loss.dtype), **metrics}

        def step(x, y):
            logs = strategy.run(replica_step, args=(x, y))
            return {k: strategy.reduce("MEAN", v, axis=None) for k, v in logs.items()}

        #: the ``tf.function`` of one step (traced on the first batch)
        self.function = tf.function(step, reduce_retracing=True, jit_compile=bool(model.jit_compile))

    def __call__(self, x: np.ndarray, y: np.ndarray) -> dict:
        """Train on one batch (split into whole events per replica); the logs as floats."""
        xd, yd = _split_by_events(self.strategy, x, y)
        return {k: float(np.asarray(v)) for k, v in self.function(xd, yd).items()}


def _train_epoch(model, sampler, epoch: int, steps: int, replicated: ReplicatedStep | None = None) -> dict:
    """``steps`` training steps of ``epoch``; returns mean loss/metrics and the input-wait share.

    One replica: Keras's ``train_on_batch``; several: ``replicated`` (a :class:`ReplicatedStep`).
    """
    totals: dict[str, float] = {}
    waited = 0.0
    started = time.perf_counter()
    for step in range(steps):
        t0 = time.perf_counter()
        x, y = sampler.batch(epoch, step)
        waited += time.perf_counter() - t0
        if replicated is not None:
            logs = replicated(x, y)
        else:
            logs = model.train_on_batch(x, y, return_dict=True)
        loss = float(logs["loss"])
        if not np.isfinite(loss):
            raise TrainingError(
                f"the loss became {loss} at epoch {epoch + 1}, step {step + 1} (batch {step} of "
                f"epoch {epoch} of the train sampler); lower train.learning_rate or set train.clipnorm"
            )
        for key, value in logs.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    elapsed = time.perf_counter() - started
    out = {k: v / steps for k, v in totals.items()}
    out.update(seconds=elapsed, input_wait_share=waited / max(elapsed, 1e-9), steps=steps)
    return out


def _embed(model, windows: np.ndarray, batch: int = 128) -> np.ndarray:
    return np.concatenate(
        [np.asarray(model(windows[i : i + batch], training=False)) for i in range(0, len(windows), batch)]
    )


def _validate(model, loss, val_batches, pairs, positions, windows) -> dict:
    """Val loss/metrics on the fixed val batches and the association AUC on the fixed val pairs."""
    from keras import ops

    from seisembed.train.losses import triplet_metrics
    from seisembed.train.pairs import embedding_auc

    values: dict[str, float] = {}
    for x, y in val_batches:
        emb = model(x, training=False)
        values["val_loss"] = values.get("val_loss", 0.0) + float(ops.convert_to_numpy(loss(y, emb)))
        for key, value in triplet_metrics(y, emb, loss.margin).items():
            values[f"val_{key}"] = values.get(f"val_{key}", 0.0) + float(ops.convert_to_numpy(value))
    values = {k: v / len(val_batches) for k, v in values.items()}
    values["val_auc"] = embedding_auc(_embed(model, windows), positions, pairs)
    return values


# -- checkpoints -----------------------------------------------------------------------------
class _Checkpoint:
    """The resumable training state under ``<out_dir>/.resume/`` (atomic files, fingerprinted)."""

    def __init__(self, folder: Path, fingerprint: str, parts: dict | None = None):
        self.folder, self.fingerprint, self.parts = folder, fingerprint, parts or {}
        self.model_path = folder / "checkpoint.keras"
        self.best_path = folder / "best.keras"
        self.state_path = folder / "state.json"

    def load(self) -> dict | None:
        """The saved state if it belongs to this run (else the folder is cleared)."""
        if self.state_path.is_file() and self.model_path.is_file():
            try:
                state = json.loads(self.state_path.read_text())
                if not isinstance(state, dict):
                    raise ValueError(f"a JSON {type(state).__name__}, not an object")
            except (OSError, ValueError) as exc:
                log.warning("resume state %s is unreadable (%s); starting over", self.state_path, exc)
                state = {}
            if state.get("fingerprint") == self.fingerprint:
                return state
            if state:
                was = state.get("fingerprint_parts", {})
                why = [
                    f"{name} {was.get(name, 'unrecorded')} -> {value}"
                    for name, value in self.parts.items()
                    if was.get(name) != value
                ]
                log.warning(
                    "resume state in %s (after epoch %s) is from another %s; starting over",
                    self.folder,
                    state.get("epoch", "?"),
                    "; ".join(why) or "config or store",
                )
        shutil.rmtree(self.folder, ignore_errors=True)
        return None

    def save(self, model, state: dict, best_model=None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if best_model is not None:
            _save_model(best_model, self.best_path)
        _save_model(model, self.model_path)
        record = {**state, "fingerprint": self.fingerprint, "fingerprint_parts": self.parts}
        write_json_atomic(record, self.state_path)  # last: marks the epoch done


def _save_model(model, path: Path) -> None:
    """``model.save`` (with its optimizer state when compiled), atomically."""
    with atomic_path(path) as tmp:
        target = tmp.with_name(tmp.name + ".keras")  # Keras insists on the suffix
        try:
            model.save(target)
            os.replace(target, tmp)
        finally:  # a failed save leaves no orphan (atomic_path removes tmp itself)
            target.unlink(missing_ok=True)


def _load_checkpoint(keras, path: Path, compile: bool):
    """A model this run saved (safe mode; ``compile``: with its loss and optimizer state, to resume).

    Not :func:`seisembed.train.model.load_model`: a checkpoint needs its optimizer state, and it is
    the run's own file (its input and unit-vector checks would only cost a batch).
    """
    from seisembed.train import layers  # noqa: F401  (registers the Keras objects the model refers to)

    return keras.saving.load_model(path, compile=compile, safe_mode=True)


# -- the whole run ---------------------------------------------------------------------------
def train_model(store: str | Path, out_dir: str | Path, config: dict, threads: int | None = None) -> dict:
    """Train the configured model on ``store``'s train split; write ``out_dir``'s outputs; return the card.

    Process-wide settings it makes and leaves (as any Keras training does): TensorFlow's
    thread counts (first call only), op determinism (``train.deterministic``) and Keras's
    random seed. Keras's global precision policy (``mixed_float16`` for ``train.mixed_precision``
    on a GPU) is restored on return, so a later model in the process is built as before.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    policy = keras.mixed_precision.global_policy()
    try:
        return _train_model(store, out_dir, config, threads)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _train_model(store: str | Path, out_dir: str | Path, config: dict, threads: int | None) -> dict:
    """:func:`train_model`'s work."""
    from seisembed.train.model import architecture, build_model, receptive_field

    config = validate_config(config)
    store, out_dir = Path(store), Path(out_dir)
    _check_out_dir(out_dir)
    check_outside(store, [out_dir])  # the model never goes inside the store (its content hash would change)
    if not store.exists():
        raise InputError(f"dataset store {store} does not exist (run the build_dataset rule first)")
    train = config["train"]
    # the data first (before TensorFlow starts): bad windows and the content hash of the store
    bad_windows, exclude = _check_windows(store, config)
    hashed = time.monotonic()
    store_hash = _store_hash(store)
    log.info("store %s: content hash %s (%.1f s)", store, store_hash, time.monotonic() - hashed)
    tf, keras, strategy, device, on_gpu = _configure_tensorflow(train, threads)
    chief_dir, scratch = out_dir, _worker_scratch(strategy, out_dir)
    if scratch is not None:  # a non-chief worker: writes nothing the chief writes
        out_dir = scratch
    replicas = strategy.num_replicas_in_sync
    if config["sampling"]["events_per_batch"] % replicas:
        raise TrainingError(
            f"config key 'sampling.events_per_batch' ({config['sampling']['events_per_batch']}) must be "
            f"a multiple of the {replicas} replicas (devices), so that each replica gets whole events"
        )
    arch = architecture(config["model"])
    rate = float(_store_waveforms(store).get("sampling_rate_hz", 40.0))
    sampler, val_batches = _samplers(store, config, exclude)
    if not val_batches:
        sampler.close()
        raise InputError(
            f"split 'val' of {store} has fewer than L={config['sampling']['events_per_batch']} events of "
            f"K={config['sampling']['records_per_event']} stations: no val batch"
        )
    try:
        pairs, positions, windows = val_pairs(store, config, exclude.get("val"))
    except InputError:
        sampler.close()
        raise
    steps = len(sampler)
    parts = _fingerprint_parts(config, store_hash, replicas)
    checkpoint = _Checkpoint(out_dir / ".resume", config_hash(parts), parts)
    state = checkpoint.load()
    _workers_agree(tf, strategy, 0 if state is None else state["epoch"], chief_dir)
    keras.utils.set_random_seed(config["seed"])
    with strategy.scope():
        if state is None:
            model = build_model(
                config["model"], n_samples=sampler.n_samples, seed=config["seed"], sampling_rate_hz=rate
            )
            loss = _compile(keras, model, train, jit=train["jit_compile"] and on_gpu and not train["deterministic"])
            state = {
                "epoch": 0,
                "best_auc": -1.0,
                "best_epoch": 0,
                "wait": 0,
                "history": [],
                "seconds": 0.0,
                "wall_seconds": 0.0,
                "stopped_by": "epochs",
            }
        else:
            log.info(
                "resuming after epoch %d (best val AUC %.4f at epoch %d)",
                state["epoch"],
                state["best_auc"],
                state["best_epoch"],
            )
            model = _load_checkpoint(keras, checkpoint.model_path, compile=True)
            loss = model.loss
    from seisembed.train.early_stopping import EarlyStopping
    from seisembed.train.losses import HardMiningSchedule

    schedule = HardMiningSchedule(loss, train["warmup_epochs"], train["ramp_epochs"], train["final_hard_weight"])
    # the resume state keeps the counters under its own keys (best_auc starts at -1: an AUC is >= 0)
    stopper = EarlyStopping(
        train["early_stopping_patience"], best=state["best_auc"], best_epoch=state["best_epoch"], wait=state["wait"]
    )
    replicated = ReplicatedStep(model, strategy) if replicas > 1 else None
    log.info(
        "model %s: %d parameters, receptive field %d samples; %d steps/epoch of L=%d x K=%d; %d val batches, "
        "%d val pairs",
        arch["preset"],
        model.count_params(),
        receptive_field(arch, rate),
        steps,
        sampler.L,
        sampler.K,
        len(val_batches),
        len(pairs["matched"]),
    )
    # what the data check found, for the model card (recomputed by every run, resumed or not)
    state["data_check"] = {"store_hash": store_hash, "bad_windows": bad_windows}
    best = None
    budget = train["max_minutes"]
    # a run that had already stopped (early stopping, the budget) and was killed before its
    # outputs were written resumes straight to writing them: no extra epoch
    last = train["epochs"] if state.get("stopped_by", "epochs") == "epochs" else state["epoch"]
    try:
        for epoch in range(state["epoch"], last):
            started = time.perf_counter()
            hard_weight = schedule.on_epoch_begin(epoch)
            fit = _train_epoch(model, sampler, epoch, steps, replicated)
            val = _validate(model, loss, val_batches, pairs, positions, windows)
            wall = time.perf_counter() - started
            row = {"epoch": epoch + 1, "hard_weight": hard_weight, **fit, **val, "wall_seconds": wall}
            state["history"].append(row)
            state["seconds"] += fit["seconds"]
            state["wall_seconds"] = state.get("wall_seconds", 0.0) + wall
            log.info(
                "epoch %d/%d: loss %.4f, active %.3f, val loss %.4f, val AUC %.4f, mean distance %.3f, %.1f s "
                "(input wait %.1f %%)",
                epoch + 1,
                train["epochs"],
                fit["loss"],
                fit.get("active_triplets", 0.0),
                val["val_loss"],
                val["val_auc"],
                val["val_mean_distance"],
                fit["seconds"],
                100 * fit["input_wait_share"],
            )
            if not np.isfinite(val["val_auc"]):
                raise TrainingError(
                    f"the val association AUC is {val['val_auc']} at epoch {epoch + 1} (val loss {val['val_loss']:.4g}): "
                    "the model's embeddings of the val windows are not finite, although the windows were checked "
                    "finite before training; the weights diverged: lower train.learning_rate or set train.clipnorm"
                    + (
                        f" (the best model so far, epoch {state['best_epoch']}, is in {checkpoint.folder})"
                        if best
                        else ""
                    )
                )
            if val["val_mean_distance"] < train["collapse_distance"]:
                raise TrainingError(
                    f"embeddings collapsed at epoch {epoch + 1}: mean pairwise distance of the val batches "
                    f"{val['val_mean_distance']:.4f} < train.collapse_distance {train['collapse_distance']} (every "
                    "record maps to one point); use train.loss 'batch_all' (the default), a lower "
                    "train.learning_rate, or a preset with a front end (spectral, demo)"
                )
            improved = stopper.update(epoch + 1, val["val_auc"])
            if improved:
                best = model
            state.update(best_auc=stopper.best, best_epoch=stopper.best_epoch, wait=stopper.wait)
            state["epoch"] = epoch + 1
            if stopper.should_stop:
                state["stopped_by"] = "early_stopping"
            elif budget is not None and state["wall_seconds"] >= 60.0 * budget and epoch + 1 < train["epochs"]:
                state["stopped_by"] = "max_minutes"
            checkpoint.save(model, state, best_model=best if improved else None)
            if state["stopped_by"] == "early_stopping":
                log.info("early stopping: no better val AUC for %d epochs", state["wait"])
                break
            if state["stopped_by"] == "max_minutes":
                log.warning(
                    "time budget: %.1f minutes of training passed train.max_minutes (%g) after epoch %d of %d; "
                    "stopping (the best val AUC so far, %.4f at epoch %d, is kept)",
                    state["wall_seconds"] / 60,
                    budget,
                    epoch + 1,
                    train["epochs"],
                    state["best_auc"],
                    state["best_epoch"],
                )
                break
    except tf.errors.UnavailableError as exc:  # multi-worker: a peer died; its collectives abort (health checks)
        detail = " ".join(str(exc).rpartition("}}")[2].split("\n")[:2]).strip()[:300]
        raise TrainingError(
            f"a worker of this multi-worker run stopped during epoch {state['epoch'] + 1} ({detail}); restart "
            f"every worker: training resumes after the last finished epoch ({state['epoch']}) from "
            f"{chief_dir / '.resume'}"
        ) from exc
    finally:
        sampler.close()
    if not checkpoint.best_path.is_file():  # every epoch is checked above; a guard, not a path taken
        raise TrainingError(
            f"no epoch of {state['epoch']} gave a finite val AUC better than {state['best_auc']}: there is no best "
            f"model ({checkpoint.best_path} was never written)"
        )
    best_model = _load_checkpoint(keras, checkpoint.best_path, compile=False)
    try:
        return _write_outputs(out_dir, best_model, arch, state, config, store, device, checkpoint, replicas, rate)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _write_outputs(
    out_dir: Path,
    model,
    arch: dict,
    state: dict,
    config: dict,
    store: Path,
    device: str,
    checkpoint: _Checkpoint,
    replicas: int = 1,
    sampling_rate_hz: float = 40.0,
) -> dict:
    """model.keras (best, no optimizer), history.csv, model card (JSON + Markdown), training curve."""
    import pandas as pd

    from seisembed.provenance import describe_device, provenance
    from seisembed.train.model import flops_per_window, receptive_field

    out_dir.mkdir(parents=True, exist_ok=True)
    _save_model(model, out_dir / MODEL_NAME)
    history = pd.DataFrame(state["history"])
    with atomic_path(out_dir / "history.csv") as tmp:
        history.to_csv(tmp, index=False)
    card = {
        "preset": arch["preset"],
        "architecture": arch,
        "parameters": int(model.count_params()),
        "receptive_field_samples": receptive_field(arch, sampling_rate_hz),
        "flops_per_window": flops_per_window(
            arch, int(model.input_shape[1]), int(model.input_shape[2]), sampling_rate_hz
        ),
        "input": {"shape": list(model.input_shape[1:]), "dtype": "float32", "channels": "ZNE", "raw": True},
        "output": {"shape": list(model.output_shape[1:]), "unit_norm": True},
        "store": str(store),
        # seisembed.dataset.store.store_content_hash (every file's bytes): the dataset card's store_hash
        "store_hash": state.get("data_check", {}).get("store_hash") or _store_hash(store),
        # train/val windows holding NaN/inf or all zero found at training start, and train.bad_windows
        "bad_windows": state.get("data_check", {}).get("bad_windows", {}),
        # how the training windows were cut: what seisembed.Embedder cuts new records with
        "waveforms": _store_waveforms(store),
        "device": device,
        "machine": describe_device(sys.modules.get("tensorflow")),
        "replicas": int(replicas),
        "slurm": _slurm_grant(),
        "epochs": int(state["epoch"]),
        "best_epoch": int(state["best_epoch"]),
        "best_val_auc": float(state["best_auc"]),
        "training_seconds": float(state["seconds"]),
        "wall_seconds": float(state.get("wall_seconds", state["seconds"])),
        "max_minutes": config["train"]["max_minutes"],
        # what ended training: 'early_stopping', 'max_minutes' (the time budget) or 'epochs' (the limit)
        "stopped_by": state.get("stopped_by", "epochs"),
        "provenance": provenance({k: config[k] for k in ("model", "train", "sampling", "seed", "study")}),
    }
    write_json_atomic(card, out_dir / "model_card.json")
    write_text_atomic(out_dir / "model_card.md", _card_markdown(card))
    _plot_history(history, out_dir / "figures" / "training_curve.png")
    shutil.rmtree(checkpoint.folder, ignore_errors=True)
    log.info(
        "model %s: best val AUC %.4f at epoch %d of %d (%.0f s of training) -> %s",
        arch["preset"],
        card["best_val_auc"],
        card["best_epoch"],
        card["epochs"],
        card["training_seconds"],
        out_dir / MODEL_NAME,
    )
    return card


_STOPPED = {
    "early_stopping": "early stopping (no better val AUC for train.early_stopping_patience epochs)",
    "max_minutes": "the time budget (train.max_minutes = {max_minutes} min), not early stopping",
    "epochs": "the epoch limit (train.epochs)",
}


def _card_markdown(card: dict) -> str:
    lines = [
        f"# Model card: seisembed `{card['preset']}`",
        "",
        f"Raw windows in (float32 `(batch, {', '.join(str(n) for n in card['input']['shape'])})`, channels Z, N, E, "
        "as in the dataset store), unit vectors out "
        f"(`{card['output']['shape']}`); normalisation inside the model. Load with "
        "`import seisembed; seisembed.load_model('model.keras')` (safe mode, checked).",
        "",
        "| | |",
        "|---|---|",
        f"| parameters | {card['parameters']:,} |",
        f"| receptive field | {card['receptive_field_samples']:,} samples |",
        f"| FLOPs per window | {card['flops_per_window']:,} |",
        f"| device | {card['device']} |",
        f"| epochs (best) | {card['epochs']} ({card['best_epoch']}) |",
        f"| ended by | {_STOPPED[card['stopped_by']].format(**card)} |",
        f"| machine | {card['machine']['text']} |",
        f"| best val association AUC | {card['best_val_auc']:.4f} |",
        f"| training time | {card['training_seconds']:.0f} s |",
        f"| store | `{card['store']}` (content hash {card['store_hash']}) |",
        f"| bad windows (train.bad_windows = {card['bad_windows'].get('policy', '-')}) | {_bad_text(card['bad_windows'])} |",
        f"| git commit | {card['provenance'].get('git_commit', '')} |",
        "",
        "Architecture: `" + json.dumps(card["architecture"], sort_keys=True) + "`",
        "",
    ]
    return "\n".join(lines)


def _bad_text(bad: dict) -> str:
    """The model card's bad-window line: per split NaN/inf and all-zero windows (skipped or none)."""
    parts = [
        f"{split}: {v['non_finite']} NaN/inf, {v['all_zero']} all zero of {v['windows']:,}"
        for split, v in bad.items()
        if isinstance(v, dict)
    ]
    skipped = bad.get("policy") == "skip" and any(
        v["non_finite"] + v["all_zero"] for v in bad.values() if isinstance(v, dict)
    )
    return "; ".join(parts) + (" (skipped)" if skipped else "") if parts else "not checked"


def _plot_history(history, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].plot(history["epoch"], history["mean_triplet_loss"], "o-", color="C0", label="train, all triplets")
    axes[0].plot(history["epoch"], history["val_mean_triplet_loss"], "s-", color="C1", label="val, all triplets")
    axes[0].plot(history["epoch"], history["loss"], "o:", color="C0", alpha=0.5, label="train, optimised loss")
    axes[0].set(xlabel="epoch", ylabel="triplet loss (margin hinge)", title="Loss")
    axes[0].legend(fontsize=8)
    axes[1].plot(history["epoch"], history["active_triplets"], "o-", label="train")
    axes[1].plot(history["epoch"], history["val_active_triplets"], "s-", label="val")
    axes[1].set(xlabel="epoch", ylabel="share of triplets with loss > 0", title="Active triplets")
    axes[1].legend()
    axes[2].plot(history["epoch"], history["val_auc"], "o-", color="C2")
    axes[2].set(xlabel="epoch", ylabel="AUC", title="Val association AUC (fixed pairs)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    save_figure(fig, path)


def _check_out_dir(out_dir: Path) -> None:
    """Raise :class:`InputError` when ``out_dir`` or one of its parents exists and is not a folder."""
    for path in (out_dir, *out_dir.parents):
        if path.exists() and not path.is_dir():
            what = "the output folder" if path == out_dir else f"a parent of the output folder {out_dir}"
            raise InputError(f"{path} is {what} but it is a file, not a folder: give --out-dir a folder path")
        if path.exists():
            return
