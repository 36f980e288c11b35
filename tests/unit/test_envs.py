"""envs/*.yaml pin the same versions as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml


def _pyproject_pins(repo: Path) -> dict[str, str]:
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    pins = {}
    for spec in specs:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^;\s]+)", spec.strip())
        assert match, f"pyproject dependency {spec!r} is not an exact pin"
        pins[match.group(1).lower()] = match.group(2)
    return pins


def _env_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                if "==" in spec:
                    name, version = spec.split("==")
                    pins[name.strip().lower()] = version.strip()
            continue
        if "=" in dep and not dep.startswith(("python=", "pip")):
            name, version = dep.split("=", 1)
            pins[name.strip().lower()] = version.lstrip("=").strip()
    return pins


def test_env_files_agree_with_pyproject(repo_root: Path):
    pyproject = _pyproject_pins(repo_root)
    env_files = sorted((repo_root / "envs").glob("*.yaml"))
    assert env_files, "no envs/*.yaml"
    for env_file in env_files:
        pins = _env_pins(env_file)
        assert pins, f"{env_file.name} pins nothing"
        for name, version in pins.items():
            assert name in pyproject, f"{env_file.name}: {name} is not a dependency in pyproject.toml"
            assert pyproject[name] == version, (
                f"{env_file.name}: {name}={version} but pyproject.toml pins {pyproject[name]}"
            )


def test_core_dependencies_are_in_the_data_env(repo_root: Path):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    core = {re.split("==", s)[0].lower() for s in project["dependencies"]}
    assert core <= set(_env_pins(repo_root / "envs" / "seisembed.yaml"))
