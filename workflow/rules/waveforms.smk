# Waveform stage: per-month partitions of P windows (Z, N, E; 40 Hz; 7200 samples) plus a
# QC ledger, from a local SDS archive (the offline default: the synthetic study) or an
# FDSN data centre. Logic: src/seisembed/waveforms (docs/waveforms.md).
import os


rule waveforms:
    """Cut, QC, resample and rotate the windows of one partition (resumes if interrupted)."""
    input:
        arrivals="results/catalog/arrivals.parquet",
        stations=sw.waveform_inputs(config),
    output:
        windows="results/waveforms/{partition}/windows.npy",
        windows_table="results/waveforms/{partition}/windows.parquet",
        qc="results/waveforms/{partition}/qc.parquet",
    log:
        "logs/waveforms/{partition}.log",
    benchmark:
        "logs/waveforms/{partition}.benchmark.tsv"
    wildcard_constraints:
        partition="|".join(PARTITIONS),
    conda:
        "../../envs/seisembed.yaml"
    resources:
        mem_mb=2000,
        # Politeness across parallel jobs: set a global limit equal to
        # waveforms.fdsn.max_concurrent (e.g. `resources: fdsn_connections: 5` in a profile)
        # so that only one FDSN partition talks to the data centre at a time.
        fdsn_connections=(
            config["waveforms"]["fdsn"]["max_concurrent"]
            if config["waveforms"]["source"] == "fdsn"
            else 0
        ),
    params:
        config=config_json("waveforms", "synthetic", "catalog"),
        out_dir=lambda wildcards, output: os.path.dirname(output.qc),
    shell:
        "seisembed waveforms --config-json {params.config:q} --arrivals {input.arrivals}"
        " --partition {wildcards.partition} --output-dir {params.out_dir} --log {log}"


rule waveforms_summary:
    """Counts per QC status over all partitions: results/waveforms/summary.json."""
    input:
        qc=expand("results/waveforms/{partition}/qc.parquet", partition=PARTITIONS),
    output:
        summary="results/waveforms/summary.json",
    log:
        "logs/waveforms/summary.log",
    conda:
        "../../envs/seisembed.yaml"
    params:
        config=config_json("waveforms"),
    shell:
        "seisembed waveforms --config-json {params.config:q} --summary {output.summary}"
        " --qc {input.qc} --log {log}"
