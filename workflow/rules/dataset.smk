# Dataset stage: waveform partitions -> results/dataset/waveforms.zarr + dataset card.
import os


rule build_dataset:
    """Assemble the window partitions into the Zarr dataset with splits, and write its card."""
    input:
        windows=expand(
            "results/waveforms/{partition}/windows.npy", partition=PARTITIONS
        ),
        metadata=expand(
            "results/waveforms/{partition}/windows.parquet", partition=PARTITIONS
        ),
        qc=expand("results/waveforms/{partition}/qc.parquet", partition=PARTITIONS),
        summary="results/waveforms/summary.json",
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
        config=config_json("dataset", "waveforms", "dask"),
        partitions=" ".join(PARTITIONS),
        waveforms_dir=lambda wildcards, input: os.path.dirname(input.summary),
        out_dir=lambda wildcards, output: os.path.dirname(output.card),
    shell:
        "seisembed dataset --config-json {params.config:q} --waveforms-dir {params.waveforms_dir}"
        " --partitions {params.partitions} --summary {input.summary} --out-dir {params.out_dir}"
        " --threads {threads} --log {log}"
