#!/usr/bin/env bash
# The one GPU check: run it on a machine with an NVIDIA GPU (e.g. the device tool's lent machine).
#
#   bash benchmarks/gpu.sh                      # builds the default store first if it is missing
#   STORE=path/to/waveforms.zarr STEPS=100 bash benchmarks/gpu.sh
#
# Prints the GPU (nvidia-smi), what TensorFlow sees, then for the `spectral` and `paper`
# presets with mixed precision off and on: seconds per step and steps/s (L=16 x K=4), input
# wait, embedding ms/window and its ratio to the FLOP bound, whether the weights really lived
# on the GPU (and its peak memory), and the val association AUC after one short epoch of
# STEPS steps. Exits 1 when TensorFlow sees no GPU (nothing measured on the CPU by mistake).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
STORE=${STORE:-results/dataset/waveforms.zarr}
STEPS=${STEPS:-100}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

echo "== GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "nvidia-smi found no NVIDIA GPU"
echo "== TensorFlow"
"$PYTHON" -c "import tensorflow as tf; print('TensorFlow', tf.__version__, 'built with CUDA:', tf.test.is_built_with_cuda(), 'GPUs:', tf.config.list_physical_devices('GPU'))"
if [ ! -e "$STORE" ]; then
  echo "== building the default study's store ($STORE) first"
  snakemake --cores "$(nproc)" --until build_dataset --quiet rules
fi
echo "== training steps, embedding, one short epoch's val AUC"
"$PYTHON" benchmarks/train.py --store "$STORE" --presets spectral paper --mixed-precision both \
  --steps "$STEPS" --paper-steps "$STEPS" --val-auc --require-gpu
