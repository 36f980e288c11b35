#!/usr/bin/env bash
# Snakemake runs this inside the freshly created conda environment of envs/seisembed.yaml
# (same name + .post-deploy.sh), from the workflow's working directory: it installs this
# checkout of seisembed (its dependencies are already pinned by the environment file).
set -euo pipefail
if [ ! -f pyproject.toml ] || ! grep -q '^name = "seisembed"' pyproject.toml; then
  echo "seisembed post-deploy: run snakemake from the seisembed checkout (no pyproject.toml in $PWD)" >&2
  exit 1
fi
python -m pip install --no-deps --no-build-isolation -e .
