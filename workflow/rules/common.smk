# Shared helpers of the workflow's rules: config access, partitions and the paths that
# depend on the config, all from seisembed.workflow. No science here.
import os
import sys

from seisembed import workflow as sw

# Rules call the `seisembed` command. Make the one installed beside this Snakemake
# findable even when its environment is not activated (`.venv/bin/snakemake ...`, or a
# cluster job that does not inherit an activated shell). It is appended, so an activated
# environment (or the rule's conda environment with --use-conda) still comes first.
shell.prefix(
    f'set -euo pipefail; export PATH="$PATH:{os.path.dirname(sys.executable)}"; '
)

PARTITIONS = sw.month_partitions(
    config["catalog"]["starttime"], config["catalog"]["endtime"]
)


def config_json(*sections):
    """JSON of the named config sections (plus the seed) for `seisembed <stage> --config-json`."""
    return sw.config_json(config, *sections)
