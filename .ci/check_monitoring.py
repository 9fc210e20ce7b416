"""Checks the Grafana dashboards and Prometheus rules against what the binaries export.

Every dashboard is valid JSON with unique panel ids, and every metric name used in a dashboard
query or an alert rule is one the code exports (bookstore-api/metrics.txt,
operator/metrics.txt, both kept true by tests), one of the listed node-exporter series, or `up`.

Usage: python3 check_monitoring.py RULES.yml DASHBOARD.json... --allowed LIST.txt...
"""
import json
import re
import sys

import yaml

NAME = re.compile(r"\b(?:bookstore_|node_)[a-zA-Z0-9_:]*|\bup\b(?=\s*[{=!<>)]|\s*$)")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def metric_names(expr):
    return set(NAME.findall(QUOTED.sub('""', expr)))


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def main(argv):
    split = argv.index("--allowed")
    files, lists = argv[:split], argv[split + 1:]
    allowed = {"up"}.union(*(read_list(path) for path in lists))
    problems, used = [], set()

    def check(where, expr):
        names = metric_names(expr)
        if not names:
            problems.append(f"{where}: no known metric in {expr!r}")
        for name in sorted(names - allowed):
            problems.append(f"{where}: {name} is not exported by the code")
        used.update(names)

    for path in files:
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                board = json.load(f)
            ids = [panel["id"] for panel in board["panels"]]
            if len(ids) != len(set(ids)):
                problems.append(f"{path}: panel ids are not unique: {ids}")
            for panel in board["panels"]:
                for target in panel.get("targets", []):
                    check(f"{path} panel {panel['id']} ({panel['title']})", target["expr"])
            for variable in board.get("templating", {}).get("list", []):
                check(f"{path} variable {variable['name']}", variable["definition"])
        else:
            with open(path, encoding="utf-8") as f:
                rules = yaml.safe_load(f)
            for group in rules["groups"]:
                for rule in group["rules"]:
                    name = rule.get("alert") or rule.get("record")
                    check(f"{path} {name}", rule["expr"])
                    for key in ("summary", "description", "runbook_url"):
                        if rule.get("alert") and not rule.get("annotations", {}).get(key):
                            problems.append(f"{path} {name}: no {key} annotation")
    for problem in problems:
        print(f"ERROR {problem}")
    if not problems:
        print(f"OK {len(files)} files use {len(used)} metric names, all exported: {', '.join(sorted(used))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
