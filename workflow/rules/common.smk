# Shared helpers of the workflow's rules: config access and the partition list.
# No science here: that lives in src/seisembed.
import json

from seisembed.partitions import month_partitions

PARTITIONS = month_partitions(config["catalog"]["starttime"], config["catalog"]["endtime"])


def config_json(*sections):
    """JSON of the named config sections (plus the seed) for `seisembed <stage> --config-json`.

    Rules pass only the sections they use, so editing one section reruns only its stages.
    """
    chosen = {name: config[name] for name in sections}
    chosen["seed"] = config["seed"]
    chosen["study"] = config["study"]
    return json.dumps(chosen, sort_keys=True)
