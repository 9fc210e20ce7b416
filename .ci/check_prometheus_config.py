"""promtool check config, for a configuration that uses Kubernetes service discovery.

Debian's promtool is built without Kubernetes discovery and rejects `kubernetes_sd_configs`.
This script checks those blocks itself (known roles and fields), writes a copy of the
configuration in which each is replaced by an equivalent-shaped `file_sd_configs`, and runs
`promtool check config` on that copy, so everything else (globals, rule files, every relabel
rule) is still checked by Prometheus's own parser.

Usage: python3 check_prometheus_config.py prometheus.yml
"""
import os
import subprocess
import sys
import tempfile

import yaml

ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}
FIELDS = {"role", "namespaces", "api_server", "selectors", "attach_metadata", "kubeconfig_file",
          "authorization", "tls_config", "basic_auth", "oauth2", "proxy_url", "follow_redirects",
          "enable_http2", "bearer_token", "bearer_token_file"}


def main():
    source = sys.argv[1]
    with open(source, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    problems = []
    for job in config.get("scrape_configs", []):
        blocks = job.pop("kubernetes_sd_configs", None)
        if blocks is None:
            continue
        for block in blocks:
            unknown = set(block) - FIELDS
            if unknown:
                problems.append(f"{job['job_name']}: unknown kubernetes_sd_configs fields {sorted(unknown)}")
            if block.get("role") not in ROLES:
                problems.append(f"{job['job_name']}: role {block.get('role')!r} is not one of {sorted(ROLES)}")
            names = block.get("namespaces", {}).get("names", [])
            if not isinstance(names, list):
                problems.append(f"{job['job_name']}: namespaces.names must be a list")
        job["file_sd_configs"] = [{"files": ["targets/*.json"]}]
    for problem in problems:
        print(f"ERROR {source}: {problem}")
    if problems:
        return 1
    directory = os.path.dirname(os.path.abspath(source))
    # Beside the original, so that relative rule_files resolve the same way.
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=directory, delete=False) as copy:
        yaml.safe_dump(config, copy)
    try:
        return subprocess.run(["promtool", "check", "config", copy.name], check=False).returncode
    finally:
        os.unlink(copy.name)


if __name__ == "__main__":
    sys.exit(main())
