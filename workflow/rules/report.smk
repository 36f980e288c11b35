# The study report: one self-contained HTML page (figures embedded, no network requests)
# with every paper number beside ours. Logic: src/seisembed/report (docs/report.md).
# The named inputs are written once, here: each becomes the option --<name> of
# `seisembed report` (sw.input_options), whose parser knows them as seisembed.report.INPUTS.


rule report:
    """One-page HTML report of the study: data, model, association, discrimination, runtime."""
    input:
        # none when the dataset comes from a SeisBench folder (dataset.source: seisbench)
        catalog_summary=sw.upstream_summary(config, "catalog"),
        waveforms_summary=sw.upstream_summary(config, "waveforms"),
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
        supervised=rules.evaluate_supervised.output.metrics,
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
        inputs=lambda wildcards, input: sw.input_options(input),
    shell:
        "seisembed report --config-json {params.config:q} {params.inputs}"
        " --out {output.page} --log {log}"
