"""The home-made checkers of .ci/ catch what they are for: each passes the repository as it is
and fails on a planted mistake of every kind it checks. Run from the repository root:
    python3 -m pytest -q .ci/tests
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / ".ci"


def run(script, *args):
    """The checker's exit code and its output."""
    done = subprocess.run([sys.executable, str(CI / script), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def planted(tmp_path, source, old, new, name=None):
    """A copy of `source` with `old` replaced by `new` (which must occur: the planted mistake
    must still mean something when the file moves on)."""
    text = Path(source).read_text(encoding="utf-8")
    assert re.search(old, text, flags=re.M), f"{source} no longer holds {old!r}"
    copy = tmp_path / (name or Path(source).name)
    copy.write_text(re.sub(old, new, text, count=1, flags=re.M), encoding="utf-8")
    return copy


# check_dockerfile.py ------------------------------------------------------------------------

def test_the_dockerfile_fits_the_workspace():
    code, output = run("check_dockerfile.py", ROOT / "Dockerfile", ROOT / ".dockerignore")
    assert code == 0, output


@pytest.mark.parametrize("old, new", [
    (r"target/release/bookstore-api ", "target/release/bookstore-server "),
    (r"COPY bookstore-api/web ", "COPY bookstore-api/www "),
    (r"^COPY telemetry/src .*\n", ""),
    (r"^COPY contract/src .*\n", ""),
    (r"^COPY operator/benches .*\n", ""),
])
def test_a_broken_dockerfile_is_refused(tmp_path, old, new):
    # Beside the real one: the checker resolves the context from the Dockerfile's directory.
    broken = planted(tmp_path, ROOT / "Dockerfile", old, new, name="Dockerfile.broken")
    inside = ROOT / "target" / "Dockerfile.broken-under-test"
    inside.parent.mkdir(exist_ok=True)
    shutil.copy(broken, inside)
    try:
        code, output = run("check_dockerfile.py", inside, ROOT / ".dockerignore")
    finally:
        inside.unlink()
    assert code == 1, f"accepted a Dockerfile broken by {old!r} -> {new!r}: {output}"


# check_monitoring.py -------------------------------------------------------------------------

ALLOWED = ["bookstore-api/metrics.txt", "operator/metrics.txt",
           "deploy/monitoring/node-exporter-metrics.txt"]
RULES = ROOT / "deploy/monitoring/rules/bookstore.rules.yml"


def test_rules_and_dashboards_use_exported_metrics_only():
    dashboards = sorted((ROOT / "deploy/monitoring/grafana/dashboards").glob("*.json"))
    code, output = run("check_monitoring.py", RULES, *dashboards, "--allowed", *ALLOWED)
    assert code == 0, output


def test_an_unknown_metric_name_is_refused(tmp_path):
    broken = planted(tmp_path, RULES, r"bookstore_operator_bookstore_ready",
                     "bookstore_operator_bookstore_is_ready")
    code, output = run("check_monitoring.py", broken, "--allowed", *ALLOWED)
    assert code == 1 and "bookstore_operator_bookstore_is_ready" in output, output


# check_prometheus_config.py -----------------------------------------------------------------

PROMETHEUS = ROOT / "deploy/monitoring/prometheus.yml"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None and "CI" not in __import__("os").environ,
                                    reason="promtool is not installed (apt install prometheus)")


@needs_promtool
def test_the_prometheus_configuration_is_valid():
    code, output = run("check_prometheus_config.py", PROMETHEUS)
    assert code == 0, output


@pytest.mark.parametrize("block, complaint", [
    ({"role": "pods"}, "role 'pods' is not one of"),
    ({"role": "pod", "namespace": {"names": ["x"]}}, "unknown kubernetes_sd_configs fields ['namespace']"),
    ({"role": "pod", "namespaces": {"names": "x"}}, "namespaces.names must be a list"),
])
def test_a_broken_kubernetes_discovery_block_is_refused(tmp_path, block, complaint):
    import yaml
    config = {"scrape_configs": [{"job_name": "planted", "kubernetes_sd_configs": [block]}]}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    code, output = run("check_prometheus_config.py", path)
    assert code == 1 and complaint in output, output


# check_terraform.py --------------------------------------------------------------------------

def test_the_terraform_has_descriptions_and_known_tfvars():
    code, output = run("check_terraform.py", ROOT / "terraform")
    assert code == 0, output


def test_what_terraform_validate_cannot_see_is_found():
    code, output = run("check_terraform.py", CI / "fixtures/broken-terraform")
    assert code == 1, output
    for expected in ["variable 'size' has no description", "output 'id' has no description",
                     "sets 'flavour', which"]:
        assert expected in output, f"missed: {expected}\n{output}"
