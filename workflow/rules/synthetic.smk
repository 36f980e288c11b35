# The offline default study: synthetic waveforms on real ISC geometry.
import os


rule synthesize:
    """Generate the synthetic study's SDS miniSEED archive, StationXML and QuakeML."""
    input:
        arrivals=config["synthetic"]["arrivals"],
    output:
        events=f"{config['synthetic']['output_dir']}/events.xml",
        stations=f"{config['synthetic']['output_dir']}/stations.xml",
        truth=f"{config['synthetic']['output_dir']}/truth.parquet",
        calibration=config["synthetic"]["calibration"],
    log:
        "logs/synthetic/synthesize.log",
    benchmark:
        "logs/synthetic/synthesize.benchmark.tsv"
    conda:
        "../../envs/seisembed.yaml"
    params:
        config=config_json("synthetic"),
        out_dir=lambda wildcards, output: os.path.dirname(output.events),
    # the three paths come from the config (synthetic.arrivals, .output_dir, .calibration):
    # quoted, so a space or ';' in them stays inside one argument
    shell:
        "seisembed synth --config-json {params.config:q} --arrivals {input.arrivals:q}"
        " --out-dir {params.out_dir:q} --calibration {output.calibration:q} --log {log}"
