# Dataset stage: waveform partitions (or a SeisBench dataset folder, dataset.source:
# seisbench) -> results/dataset/waveforms.zarr + dataset card. Logic: src/seisembed/dataset
# (docs/dataset.md). The optional target export_seisbench writes the store as a SeisBench
# dataset folder (not part of `all`).
import os


rule build_dataset:
    """Assemble the window partitions into the Zarr dataset with splits, and write its card."""
    input:
        unpack(lambda wildcards: sw.dataset_inputs(config, PARTITIONS)),
    output:
        store=directory("results/dataset/waveforms.zarr"),
        card=report(
            "results/dataset/card.md",
            caption="../report/dataset_card.rst",
            category="Dataset",
            labels={"table": "dataset card"},
        ),
        card_json="results/dataset/card.json",
        distance=report(
            "results/dataset/figures/dataset_distance_per_split.png",
            caption="../report/dataset_distance.rst",
            category="Dataset",
            labels={"figure": "distance per split"},
        ),
        magnitude=report(
            "results/dataset/figures/dataset_magnitude_per_split.png",
            caption="../report/dataset_magnitude.rst",
            category="Dataset",
            labels={"figure": "magnitude per split"},
        ),
        map=report(
            "results/dataset/figures/dataset_map.png",
            caption="../report/dataset_map.rst",
            category="Dataset",
            labels={"figure": "map of events and stations"},
        ),
    log:
        "logs/dataset/build_dataset.log",
    benchmark:
        "logs/dataset/build_dataset.benchmark.tsv"
    conda:
        "../../envs/seisembed.yaml"
    threads: 2
    params:
        config=config_json("dataset", "-dataset.export_seisbench", "waveforms", "dask"),
        inputs=lambda wildcards, input: sw.dataset_input_options(input, PARTITIONS),
        out_dir=lambda wildcards, output: os.path.dirname(output.card),
    shell:
        "seisembed dataset --config-json {params.config:q} {params.inputs}"
        " --out-dir {params.out_dir} --threads {threads} --log {log}"


rule export_seisbench:
    """Write the dataset store as a SeisBench dataset folder (metadata.csv + waveforms.hdf5)."""
    input:
        store=rules.build_dataset.output.store,
    output:
        folder=directory(config["dataset"]["export_seisbench"]["path"]),
    log:
        "logs/dataset/export_seisbench.log",
    benchmark:
        "logs/dataset/export_seisbench.benchmark.tsv"
    conda:
        "../../envs/seisembed.yaml"
    params:
        config=config_json("dataset.export_seisbench"),
    shell:
        "seisembed dataset --config-json {params.config:q} --log {log}"
        " export-seisbench {input.store} {output.folder:q}"
