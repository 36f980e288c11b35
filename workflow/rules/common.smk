# Shared helpers of the workflow's rules: config access and the partition list.
# No science here: that lives in src/seisembed.
import json
import os
import sys

from seisembed.partitions import month_partitions

# Rules call the `seisembed` command. Make the one installed beside this Snakemake
# findable even when its environment is not activated (`.venv/bin/snakemake ...`, or a
# cluster job that does not inherit an activated shell). It is appended, so an activated
# environment (or the rule's conda environment with --use-conda) still comes first.
shell.prefix(f'set -euo pipefail; export PATH="$PATH:{os.path.dirname(sys.executable)}"; ')

PARTITIONS = month_partitions(config["catalog"]["starttime"], config["catalog"]["endtime"])


def config_json(*sections):
    """JSON of the named config sections (plus the seed) for `seisembed <stage> --config-json`.

    Rules pass only the sections they use, so editing one section reruns only its stages.
    """
    chosen = {name: config[name] for name in sections}
    chosen["seed"] = config["seed"]
    chosen["study"] = config["study"]
    return json.dumps(chosen, sort_keys=True)
