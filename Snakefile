# seisembed: catalogue -> waveforms -> Zarr dataset -> TCN triplet embedding -> evaluation.
# Run: snakemake --cores 8 (add --use-conda for per-rule conda envs); see README.md.
from snakemake.utils import min_version

from seisembed.workflow import check_config

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# Validate against workflow/schemas/config.schema.yaml (descriptions and defaults for
# every key); a mistake stops here with one message naming the key, not a traceback.
config = check_config(config, schema="workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/catalog.smk"
include: "workflow/rules/waveforms.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.build_dataset.output,
        rules.train_model.output,
        rules.evaluate_association.output,
        rules.evaluate_discrimination.output,
        rules.evaluate_supervised.output,
        rules.evaluate_runtime.output,
        rules.report.output,
