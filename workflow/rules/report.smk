# The study report: one self-contained HTML page (figures embedded, no network requests)
# with every paper number beside ours. Logic: src/seisembed/report (docs/report.md).


rule report:
    """One-page HTML report of the study: data, model, association, discrimination, runtime."""
    input:
        catalog_summary=rules.catalog.output.summary,
        waveforms_summary=rules.waveforms_summary.output.summary,
        dataset_card=rules.build_dataset.output.card_json,
        dataset_map=rules.build_dataset.output.map,
        dataset_distance=rules.build_dataset.output.distance,
        dataset_magnitude=rules.build_dataset.output.magnitude,
        calibration=sw.synthetic_calibration(config),
        model_card=rules.train_model.output.card,
        training_curve=rules.train_model.output.curve,
        association=rules.evaluate_association.output.metrics,
        association_by_distance=rules.evaluate_association.output.by_distance,
        association_by_novelty=rules.evaluate_association.output.by_novelty,
        association_histogram=rules.evaluate_association.output.histogram,
        association_roc=rules.evaluate_association.output.roc,
        association_distance=rules.evaluate_association.output.distance,
        discrimination=rules.evaluate_discrimination.output.metrics,
        baselines=rules.evaluate_baselines.output.metrics,
        runtime=rules.evaluate_runtime.output.metrics,
        discrimination_roc=rules.evaluate_discrimination.output.roc,
        discrimination_confusion=rules.evaluate_discrimination.output.confusion,
        tsne=rules.evaluate_discrimination.output.tsne,
    output:
        page=report(
            "results/report/index.html",
            caption="../report/index.rst",
            category="Report",
            labels={"page": "the study report (one page)"},
        ),
    log:
        "logs/report/report.log",
    conda:
        "../../envs/seisembed.yaml"
    params:
        config=config_json(*sw.CONFIG_SECTIONS),
        calibration=lambda wildcards, input: sw.optional_option(
            "--calibration", input.calibration
        ),
    shell:
        "seisembed report --config-json {params.config:q}"
        " --catalog-summary {input.catalog_summary} --waveforms-summary {input.waveforms_summary}"
        " --dataset-card {input.dataset_card} --dataset-map {input.dataset_map}"
        " --dataset-distance {input.dataset_distance} --dataset-magnitude {input.dataset_magnitude}"
        " {params.calibration} --model-card {input.model_card} --training-curve {input.training_curve}"
        " --association {input.association} --association-by-distance {input.association_by_distance}"
        " --association-by-novelty {input.association_by_novelty}"
        " --association-histogram {input.association_histogram} --association-roc {input.association_roc}"
        " --association-distance {input.association_distance} --discrimination {input.discrimination}"
        " --baselines {input.baselines} --runtime {input.runtime}"
        " --discrimination-roc {input.discrimination_roc}"
        " --discrimination-confusion {input.discrimination_confusion} --tsne {input.tsne}"
        " --out {output.page} --log {log}"
