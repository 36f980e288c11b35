"""The training step and its pieces: public Keras APIs only, the replicated step by hand, early stopping.

* :class:`seisembed.train.loop.ReplicatedStep` on 2 logical CPUs (a fresh process: the CPU
  can only be split before TensorFlow starts) gives, after one step, the weights, loss and
  metrics of a hand computation: each replica's gradient of its own half of the events,
  averaged, applied by plain SGD; its ``tf.function`` is traced once for a run.
* No training module touches a private attribute of a Keras, TensorFlow or optimizer object.
* :class:`seisembed.train.early_stopping.EarlyStopping`: best, patience, keep-best, resume.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisembed.train.early_stopping import EarlyStopping

SRC = Path(__file__).resolve().parents[3] / "src" / "seisembed"

#: float32 round-off between the replicated step and the same arithmetic done by hand
TOLERANCE = 1e-6

STEP_SCRIPT = r"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from seisembed.train.loop import ReplicatedStep
from seisembed.train.losses import TripletLoss, triplet_metrics

LR, MARGIN = 0.5, 0.3
rng = np.random.default_rng(1)
x = rng.normal(size=(8, 5)).astype("float32")
y = np.repeat([0, 1, 2, 3], 2)  # 4 events of K=2 records: 2 whole events per replica


def make():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.UnitNormalization()])
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=TripletLoss(margin=MARGIN, mode="schedule"))
    model.loss.hard_weight.assign(0.5)  # the blend: the step must read the variable
    return model


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = make()
start = [w.copy() for w in model.get_weights()]
step = ReplicatedStep(model, strategy)
logs = step(x, y)
after = model.get_weights()

# by hand, on one device: each half's loss and gradient, the gradients averaged, plain SGD
ref = make()
ref.set_weights(start)
grads, losses, metrics = [], [], []
for half in (slice(0, 4), slice(4, 8)):
    with tf.GradientTape() as tape:
        emb = ref(x[half], training=True)
        loss = ref.loss(y[half], emb)
    grads.append(tape.gradient(loss, ref.trainable_variables))
    losses.append(float(loss))
    metrics.append({k: float(v) for k, v in triplet_metrics(y[half], emb, MARGIN).items()})
expected = [v.numpy() - LR * (g1.numpy() + g2.numpy()) / 2 for v, g1, g2 in zip(ref.trainable_variables, *grads)]
hand = {"loss": float(np.mean(losses)), **{k: float(np.mean([m[k] for m in metrics])) for k in metrics[0]}}
for _ in range(2):
    step(x, y)
print(json.dumps({
    "logs": logs,
    "hand": hand,
    "weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(after, expected)),
    "moved": max(float(np.abs(a - b).max()) for a, b in zip(after, start)),
    "traces": step.function.experimental_get_tracing_count(),
}))
"""


def test_two_replica_step_equals_the_hand_computation_and_traces_once():
    pytest.importorskip("keras")
    out = subprocess.run([sys.executable, "-c", STEP_SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["moved"] > 1e-3  # the step trained
    assert result["weight_diff"] < TOLERANCE, result
    assert list(result["logs"]) == list(result["hand"])  # Keras's order: the loss, then the metrics
    for key, value in result["hand"].items():
        assert result["logs"][key] == pytest.approx(value, abs=TOLERANCE), key
    assert result["traces"] == 1  # one tf.function for the run, not one per step


#: attribute access ``obj._name`` on the objects training hands to Keras and TensorFlow
PRIVATE = re.compile(r"\b(model|optimizer|strategy|keras|tf|loss|tape|callback|trainer|self\.model)\._[a-z]\w*")
#: Keras's trainer internals without an underscore (``train_on_batch`` and ``fit`` call them) and its private modules
INTERNALS = ("make_train_function", ".train_function", "make_test_function", ".test_function", "keras.src")


@pytest.mark.parametrize(
    "path",
    [*sorted((SRC / "train").glob("*.py")), *sorted((SRC / "evaluate").rglob("srspec_cnn.py"))],
    ids=lambda p: p.name,
)
def test_training_code_uses_no_private_keras_attribute(path):
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line) or any(name in line for name in INTERNALS)
    ]
    assert hits == []


# -- early stopping ------------------------------------------------------------------------------
class _Weights:
    def __init__(self):
        self.weights = [np.zeros(2)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def test_early_stopping_keeps_the_best_and_stops_after_patience():
    model, stopper = _Weights(), EarlyStopping(patience=2)
    seen = []
    for epoch, value in enumerate([0.5, 0.7, 0.7, float("nan"), 0.9], start=1):
        model.weights = [np.full(2, epoch)]
        seen.append(stopper.update(epoch, value, model))
        if stopper.should_stop:
            break
    # a tie is no improvement, nor is NaN: two epochs without a better score stop at epoch 4
    assert seen == [True, True, False, False]
    assert (stopper.best, stopper.best_epoch, stopper.wait) == (0.7, 2, 2)
    stopper.restore_best(model)
    assert model.weights[0].tolist() == [2.0, 2.0]


def test_early_stopping_min_delta_and_resume_from_its_state():
    stopper = EarlyStopping(patience=3, min_delta=0.1)
    assert stopper.update(1, 0.5) and not stopper.update(2, 0.55)
    state = json.loads(json.dumps(stopper.state()))
    resumed = EarlyStopping(patience=3, min_delta=0.1, **state)
    assert (resumed.best, resumed.best_epoch, resumed.wait) == (0.5, 1, 1)
    assert not resumed.update(3, 0.6) and resumed.update(4, 0.61)
    with pytest.raises(ValueError, match="no best weights"):
        resumed.restore_best(_Weights())  # no model was given: nothing kept
