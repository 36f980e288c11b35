# Catalog stage: results/catalog/arrivals.parquet (one row per event-station, first P arrival)
# and results/catalog/summary.json. Logic: src/seisembed/catalog (docs/catalog.md). The
# inputs depend on config["catalog"]["source"]: the synthetic study's events.xml and
# stations.xml, the configured file (+ StationXML), or nothing for the ISC web service.
rule catalog:
    """Build the arrivals table from ISC, a local file or the synthetic study's QuakeML."""
    input:
        unpack(lambda wildcards: sw.catalog_inputs(config)),
    output:
        arrivals="results/catalog/arrivals.parquet",
        summary="results/catalog/summary.json",
    log:
        "logs/catalog/catalog.log",
    benchmark:
        "logs/catalog/catalog.benchmark.tsv"
    conda:
        "../../envs/seisembed.yaml"
    params:
        config=config_json("catalog", "synthetic"),
    shell:
        "seisembed catalog --config-json {params.config:q} --output {output.arrivals}"
        " --summary {output.summary} --log {log}"
