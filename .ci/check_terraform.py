"""What `terraform validate` and `terraform test` do not check in the Terraform code (both run in
.ci/check-terraform, which also shows validate catching wrong module calls and references). It
parses the HCL and fails when:

- an environment's terraform.tfvars sets a variable the environment does not declare (validate
  reads no tfvars; plan would only warn), or leaves out a required one;
- a module's variable or output has no description.

Usage: python3 check_terraform.py TERRAFORM_DIR
Prints each problem and exits 1 when there is one.
"""
import os
import sys

import hcl2


def blocks(parsed, kind):
    """(name, body) of each block of a kind, e.g. every variable. python-hcl2 8 keeps the quotes
    of a block's label ('"size"'), earlier versions did not: the name is the same either way."""
    for entry in parsed.get(kind, []):
        for name, body in entry.items():
            yield name.strip('"'), body


def first(value):
    return value[0] if isinstance(value, list) and value else value


def declarations(path):
    """The variables and outputs declared in one Terraform directory."""
    variables, outputs = {}, {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".tf"):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                parsed = hcl2.load(f)
            variables.update(blocks(parsed, "variable"))
            outputs.update(blocks(parsed, "output"))
    return variables, outputs


def check(root):
    problems = []
    subdirs = lambda kind: [os.path.join(root, kind, d) for d in sorted(os.listdir(os.path.join(root, kind)))]

    for path in subdirs("modules"):
        variables, outputs = declarations(path)
        for kind, declared in (("variable", variables), ("output", outputs)):
            for name, body in declared.items():
                if not first(body.get("description")):
                    problems.append(f"{path}: {kind} {name!r} has no description")

    for path in subdirs("envs"):
        variables, _ = declarations(path)
        tfvars = os.path.join(path, "terraform.tfvars")
        if not os.path.exists(tfvars):
            problems.append(f"{path}: no terraform.tfvars")
            continue
        with open(tfvars, encoding="utf-8") as f:
            values = {k for k in hcl2.load(f) if not k.startswith("__")}
        for name in sorted(values - set(variables)):
            problems.append(f"{tfvars}: sets {name!r}, which the environment does not declare")
        required = {name for name, v in variables.items() if "default" not in v}
        for name in sorted(required - values):
            problems.append(f"{tfvars}: does not set required variable {name!r}")
    return problems


def main():
    root = sys.argv[1]
    problems = check(root)
    for problem in problems:
        print(f"ERROR {problem}")
    if not problems:
        print(f"OK {root}: every tfvars entry and description checks out")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
