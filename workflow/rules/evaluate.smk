# Evaluation stage: embeddings of every record, then association pairs scored by the
# embedding, cross-correlation and a linear spectral metric (thresholds from val, applied to
# test; event-level bootstrap intervals); one-shot discrimination beside two supervised
# classifiers; the runtime table. Logic: src/seisembed/evaluate (docs/evaluate.md).


rule embed_store:
    """Embed every record of the dataset store with the trained model."""
    input:
        store="results/dataset/waveforms.zarr",
        model="results/model/model.keras",
    output:
        embeddings="results/embeddings/embeddings.parquet",
    log:
        "logs/evaluate/embed_store.log",
    benchmark:
        "logs/evaluate/embed_store.benchmark.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 2
    params:
        config=config_json("evaluate.embed_batch", "dask"),
    shell:
        "seisembed evaluate embed-store --config-json {params.config:q} --store {input.store}"
        " --model {input.model} --embeddings {output.embeddings} --log {log}"


rule evaluate_association:
    """Association metrics, tables and figures for the three methods on the same pairs."""
    input:
        store="results/dataset/waveforms.zarr",
        embeddings="results/embeddings/embeddings.parquet",
    output:
        pairs="results/metrics/association_pairs.parquet",
        metrics="results/metrics/association.json",
        by_distance="results/metrics/association_by_distance.csv",
        by_distance_md=report(
            "results/metrics/association_by_distance.md",
            caption="../report/association_by_distance.rst",
            category="Association",
            labels={"table": "accuracy by distance (Table II)"},
        ),
        by_novelty="results/metrics/association_by_novelty.csv",
        by_novelty_md=report(
            "results/metrics/association_by_novelty.md",
            caption="../report/association_by_novelty.rst",
            category="Association",
            labels={"table": "novel stations and locations (Tables III-V)"},
        ),
        histogram=report(
            "results/figures/association_distance_histogram.png",
            caption="../report/association_histogram.rst",
            category="Association",
            labels={"figure": "distance histograms (Fig. 7)"},
        ),
        roc=report(
            "results/figures/association_roc.png",
            caption="../report/association_roc.rst",
            category="Association",
            labels={"figure": "ROC (Fig. 8)"},
        ),
        distance=report(
            "results/figures/association_accuracy_vs_distance.png",
            caption="../report/association_distance.rst",
            category="Association",
            labels={"figure": "accuracy vs distance"},
        ),
    log:
        "logs/evaluate/association.log",
    benchmark:
        "logs/evaluate/association.benchmark.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 2
    params:
        config=config_json(
            "evaluate.pairs_per_split",
            "evaluate.bootstrap",
            "evaluate.distance_bin_km",
            "evaluate.cc_band_hz",
            "evaluate.cc_filter_order",
            "evaluate.cc_max_lag_s",
            "evaluate.spectral_bands",
            "evaluate.spectral_band_hz",
            "evaluate.spectral_windows_s",
            "evaluate.spectral_lda_dims",
        ),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        figures_dir=lambda wildcards, output: os.path.dirname(output.roc),
    shell:
        "seisembed evaluate association --config-json {params.config:q} --store {input.store}"
        " --embeddings {input.embeddings} --out-dir {params.out_dir}"
        " --figures-dir {params.figures_dir} --log {log}"


rule evaluate_supervised:
    """Supervised discrimination classifiers: SVM-36 and SRSpec-CNN (train -> val -> test)."""
    input:
        store="results/dataset/waveforms.zarr",
    output:
        metrics="results/metrics/supervised.json",
        scores="results/metrics/supervised_scores.parquet",
    log:
        "logs/evaluate/supervised.log",
    benchmark:
        "logs/evaluate/supervised.benchmark.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 2
    params:
        config=config_json(
            "evaluate.svm",
            "evaluate.srspec",
            "evaluate.bootstrap",
            "evaluate.supervised_max_train_per_class",
        ),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
    shell:
        "seisembed evaluate supervised --config-json {params.config:q} --store {input.store}"
        " --out-dir {params.out_dir} --log {log}"


rule evaluate_runtime:
    """Runtime table (paper Table VI): ms per window to embed vs to extract features."""
    input:
        store="results/dataset/waveforms.zarr",
        model="results/model/model.keras",
    output:
        metrics="results/metrics/runtime.json",
        table=report(
            "results/metrics/runtime.md",
            caption="../report/runtime.rst",
            category="Runtime",
            labels={"table": "runtime per window (Table VI)"},
        ),
    log:
        "logs/evaluate/runtime.log",
    conda:
        "../../envs/train.yaml"
    threads: 2
    params:
        # only what the timed steps use: the SVM-36 features and the SRSpec spectrograms, not the
        # classifiers' training settings (evaluate.svm.c_grid, evaluate.srspec.epochs, ...)
        config=config_json(
            "evaluate.embed_batch",
            "evaluate.runtime_repeats",
            "evaluate.svm.bands_hz",
            "evaluate.svm.filter_order",
            "evaluate.svm.source_depth_km",
            "evaluate.svm.window_min_s",
            "evaluate.svm.window_max_s",
            "evaluate.svm.min_window_s",
            "evaluate.srspec.band_hz",
            "evaluate.srspec.size",
            "evaluate.srspec.segment_s",
            "evaluate.srspec.hop_s",
        ),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
    shell:
        "seisembed evaluate runtime --config-json {params.config:q} --store {input.store}"
        " --model {input.model} --out-dir {params.out_dir} --threads {threads} --log {log}"


rule evaluate_discrimination:
    """One-shot explosion/earthquake discrimination with 1, 3 and 10 train templates beside the supervised classifiers; t-SNE."""
    input:
        embeddings="results/embeddings/embeddings.parquet",
        supervised="results/metrics/supervised_scores.parquet",
    output:
        metrics="results/metrics/discrimination.json",
        roc=report(
            "results/figures/discrimination_roc.png",
            caption="../report/discrimination_roc.rst",
            category="Discrimination",
            labels={"figure": "ROC (Fig. 11)"},
        ),
        confusion=report(
            "results/figures/discrimination_confusion.png",
            caption="../report/discrimination_confusion.rst",
            category="Discrimination",
            labels={"figure": "confusion matrices (Fig. 12)"},
        ),
        tsne=report(
            "results/figures/tsne.png",
            caption="../report/tsne.rst",
            category="Discrimination",
            labels={"figure": "t-SNE (Figs. 9-10)"},
        ),
    log:
        "logs/evaluate/discrimination.log",
    benchmark:
        "logs/evaluate/discrimination.benchmark.tsv"
    conda:
        "../../envs/train.yaml"
    params:
        config=config_json(
            "evaluate.discrimination_templates", "evaluate.discrimination_trials"
        ),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        figures_dir=lambda wildcards, output: os.path.dirname(output.roc),
    shell:
        "seisembed evaluate discrimination --config-json {params.config:q}"
        " --embeddings {input.embeddings} --supervised-scores {input.supervised} --out-dir {params.out_dir}"
        " --figures-dir {params.figures_dir} --log {log}"
