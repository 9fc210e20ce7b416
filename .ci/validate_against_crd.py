"""Validates every Bookstore document in the given files against the CRD's OpenAPI schema.

Usage: python3 validate_against_crd.py CRD.yaml MANIFEST.yaml...
Exits non-zero on the first invalid Bookstore; other kinds in the files are skipped.
"""
import sys

import jsonschema
import yaml


def main() -> int:
    crd_path, *manifests = sys.argv[1:]
    with open(crd_path, encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    api_version = f'{crd["spec"]["group"]}/{version["name"]}'
    kind = crd["spec"]["names"]["kind"]
    checked = 0
    for path in manifests:
        with open(path, encoding="utf-8") as f:
            for document in yaml.safe_load_all(f):
                if not document or document.get("kind") != kind:
                    continue
                if document.get("apiVersion") != api_version:
                    print(f"ERROR {path}: {kind} has apiVersion {document.get('apiVersion')}, expected {api_version}")
                    return 1
                # metadata is checked by the API server itself, not by the CRD schema.
                body = {k: v for k, v in document.items() if k != "metadata"}
                errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=str)
                for error in errors:
                    location = ".".join(str(p) for p in error.absolute_path) or "(root)"
                    print(f"ERROR {path}: {document['metadata']['name']}: {location}: {error.message}")
                if errors:
                    return 1
                checked += 1
                print(f"INFO {path}: {kind} {document['metadata']['name']} matches the CRD schema")
    if checked == 0:
        print("ERROR no Bookstore found")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
