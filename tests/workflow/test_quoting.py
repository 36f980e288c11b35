"""Every path from the config reaches the shell as one argument (issue 20, item 5).

``snakemake -n -p`` prints each job's shell line; with configured paths holding spaces,
``;``, a quote and ``$``, each line must split (as the shell would) so that every path is
one argument, and nothing of a path leaks into other arguments. Paths with braces (read by
Snakemake as wildcards) are refused at parse time naming the key.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from seisembed.errors import ConfigError
from tests.conftest import run_snakemake
from tests.workflow.test_workflow import _copy_workflow

#: a marker in every configured path: a token holding it must be a whole path (or the config JSON)
MARK = "odd; it's $HOME dir"


def _odd_config(work: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the CI config whose input, output and resource paths hold MARK; returns (file, paths)."""
    config = yaml.safe_load((work / "tests/workflow/config.yaml").read_text())
    arrivals = work / f"resources/{MARK}/arrivals;1.csv.gz"
    arrivals.parent.mkdir(parents=True)
    shutil.copy2(work / config["synthetic"]["arrivals"], arrivals)
    inventory = work / f"resources/{MARK}/stations 1.xml"
    inventory.write_text("<FDSNStationXML/>")  # only its existence matters to a dry run
    paths = {
        "synthetic.arrivals": str(arrivals.relative_to(work)),
        "synthetic.output_dir": f"results/{MARK}/synthetic",
        "synthetic.calibration": f"results/{MARK}/cali bration;x.json",
        "waveforms.sds.root": f"resources/{MARK}/sds",
        "waveforms.sds.inventory": str(inventory.relative_to(work)),
    }
    for key, value in paths.items():
        section, *rest = key.split(".")
        target = config.setdefault(section, {})
        for part in rest[:-1]:
            target = target.setdefault(part, {})
        target[rest[-1]] = value
    path = work / "odd.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, paths


def test_configured_paths_reach_every_shell_line_quoted(repo_root: Path, tmp_path: Path):
    work = _copy_workflow(repo_root, tmp_path)
    config, paths = _odd_config(work)
    proc = run_snakemake(["-n", "-p", "--cores", "1", "--configfile", config.name], work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    printed = [line.split("Shell command: ", 1)[1] for line in proc.stdout.splitlines() if "Shell command: " in line]
    lines = [line for line in printed if line != "None"]  # 'None': a rule without a shell line (all)
    assert len(lines) >= 10, proc.stdout[-3000:]
    options: dict[str, set[str]] = {}
    for line in lines:
        tokens = shlex.split(line)  # raises on an unbalanced quote
        assert tokens[0] == "seisembed", line
        for before, token in zip(tokens, tokens[1:]):
            if MARK.split()[0] not in token and "HOME" not in token:
                continue
            if before == "--config-json":  # the config travels as one JSON argument, intact
                sent = json.loads(token)
                for key, value in paths.items():
                    section, *rest = key.split(".")
                    found = sent.get(section)
                    for part in rest:
                        found = found.get(part) if isinstance(found, dict) else None
                    assert found in (None, value), (key, found)
                continue
            assert token in paths.values(), (token, line)
            options.setdefault(before, set()).add(token)
    # the synthesize rule's three paths, and the report's calibration table, each as one argument
    assert options == {
        "--arrivals": {paths["synthetic.arrivals"]},
        "--out-dir": {paths["synthetic.output_dir"]},
        "--calibration": {paths["synthetic.calibration"]},
    }, options


@pytest.mark.parametrize("key", ["synthetic.output_dir", "synthetic.calibration", "waveforms.sds.inventory"])
def test_a_configured_path_with_braces_is_refused_naming_the_key(key):
    from seisembed.config import validate_config
    from seisembed.workflow import check_path_keys

    config = validate_config({})
    section, *rest = key.split(".")
    target = config[section]
    for part in rest[:-1]:
        target = target[part]
    target[rest[-1]] = "results/{study}/x"
    with pytest.raises(ConfigError, match=rf"config key '{key}': path 'results/{{study}}/x' holds"):
        check_path_keys(config)


def test_snakemake_refuses_braces_in_a_path_at_parse_time(repo_root: Path, tmp_path: Path):
    work = _copy_workflow(repo_root, tmp_path)
    (work / "braces.yaml").write_text("synthetic:\n  output_dir: 'results/{x}/synthetic'\n")
    proc = run_snakemake(["-n", "--cores", "1", "--configfile", "braces.yaml"], work)
    assert proc.returncode != 0
    assert "Invalid configuration: config key 'synthetic.output_dir'" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
