# Shared helpers of the workflow's rules: config access and the partition list.
# No science here: that lives in src/seisembed.
import json
import os
import sys

from seisembed.partitions import month_partitions

# Rules call the `seisembed` command. Make the one installed beside this Snakemake
# findable even when its environment is not activated (`.venv/bin/snakemake ...`, or a
# cluster job that does not inherit an activated shell). With --use-conda, the rule's
# conda environment is activated inside the job and its own bin/ still comes first.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

PARTITIONS = month_partitions(config["catalog"]["starttime"], config["catalog"]["endtime"])


def config_json(*sections):
    """JSON of the named config sections (plus the seed) for `seisembed <stage> --config-json`.

    Rules pass only the sections they use, so editing one section reruns only its stages.
    """
    chosen = {name: config[name] for name in sections}
    chosen["seed"] = config["seed"]
    chosen["study"] = config["study"]
    return json.dumps(chosen, sort_keys=True)
