# Training stage: the triplet TCN embedding -> results/model/ (model.keras, history, card,
# training curve). Logic: src/seisembed/train/ (loop.py) (docs/train.md). TensorFlow is imported
# only by the job, never when the workflow is parsed. A killed job resumes from its last
# epoch (results/model/.resume/); the GPU, when a node has one, is used automatically.
# Throughput-only settings (sampling.prefetch_batches, sampling.cache: the same batches either
# way) reach the job as resources, which are not rerun triggers: changing them retrains nothing.


rule train_model:
    """Train the embedding on the train split, validated on fixed val batches and pairs."""
    input:
        store="results/dataset/waveforms.zarr",
    output:
        model="results/model/model.keras",
        history="results/model/history.csv",
        card="results/model/model_card.json",
        card_md=report(
            "results/model/model_card.md",
            caption="../report/model_card.rst",
            category="Training",
            labels={"table": "model card"},
        ),
        curve=report(
            "results/model/figures/training_curve.png",
            caption="../report/training_curve.rst",
            category="Training",
            labels={"figure": "training curve"},
        ),
    log:
        "logs/train/train_model.log",
    benchmark:
        "logs/train/train_model.benchmark.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
        prefetch_batches=config["sampling"]["prefetch_batches"],
        sampling_cache=config["sampling"]["cache"],
    params:
        config=config_json("model", "train", "sampling"),
        out_dir=lambda wildcards, output: os.path.dirname(output.model),
    shell:
        "seisembed train --config-json {params.config:q} --store {input.store}"
        " --out-dir {params.out_dir} --threads {threads} --log {log}"
        " --prefetch-batches {resources.prefetch_batches:q} --cache {resources.sampling_cache:q}"
