"""Structural check of the Terraform code, which `terraform validate` cannot do here (providers
cannot be downloaded). It parses the HCL and fails when:

- a module call passes an argument the module does not declare, or leaves out a required one;
- an environment's terraform.tfvars sets a variable the environment does not declare;
- a `var.X` names no declared variable, or `module.M.O` no module call M or no output O of it;
- a module's variable or output has no description.

Usage: python3 check_terraform.py TERRAFORM_DIR
Prints each problem and exits 1 when there is one.
"""
import os
import re
import sys

import hcl2

META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}
VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
MODULE_REF = re.compile(r"\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_-]*)")
COMMENT = re.compile(r"(?m)^\s*(#|//).*$")
# `moved` blocks name resource addresses inside modules, not module outputs.
MOVED = re.compile(r"^moved\s*\{.*?^\}", re.S | re.M)


def blocks(parsed, kind):
    """(name, body) of each block of a kind, e.g. every variable."""
    for entry in parsed.get(kind, []):
        for name, body in entry.items():
            yield name, body


def first(value):
    return value[0] if isinstance(value, list) and value else value


class Directory:
    """One Terraform module or root module: its declarations and its text."""

    def __init__(self, path):
        self.path = path
        self.variables, self.outputs, self.calls, self.texts = {}, {}, {}, {}
        for name in sorted(os.listdir(path)):
            if not name.endswith(".tf"):
                continue
            file = os.path.relpath(os.path.join(path, name))
            with open(file, encoding="utf-8") as f:
                text = f.read()
            self.texts[file] = MOVED.sub("", COMMENT.sub("", text))
            parsed = hcl2.loads(text)
            for var, body in blocks(parsed, "variable"):
                self.variables[var] = body
            for out, body in blocks(parsed, "output"):
                self.outputs[out] = body
            for call, body in blocks(parsed, "module"):
                self.calls[call] = (file, body)


def check(root):
    problems = []
    cache = {}

    def load(path):
        path = os.path.realpath(path)
        if path not in cache:
            cache[path] = Directory(path)
        return cache[path]

    module_dirs = [os.path.join(root, "modules", m) for m in sorted(os.listdir(os.path.join(root, "modules")))]
    env_dirs = [os.path.join(root, "envs", e) for e in sorted(os.listdir(os.path.join(root, "envs")))]

    for path in module_dirs:
        module = load(path)
        for kind, declared in (("variable", module.variables), ("output", module.outputs)):
            for name, body in declared.items():
                if not first(body.get("description")):
                    problems.append(f"{path}: {kind} {name!r} has no description")

    for path in module_dirs + env_dirs:
        here = load(path)
        for file, text in here.texts.items():
            for name in sorted(set(VAR_REF.findall(text)) - set(here.variables)):
                problems.append(f"{file}: var.{name} is not declared in {path}")
            for call, output in sorted(set(MODULE_REF.findall(text))):
                if call not in here.calls:
                    problems.append(f"{file}: module.{call} is not a module call in {path}")
                    continue
                source = first(here.calls[call][1]["source"])
                target = load(os.path.join(path, source))
                if output not in target.outputs:
                    problems.append(f"{file}: module.{call}.{output}: {source} has no output {output!r}")
        for call, (file, body) in sorted(here.calls.items()):
            source = first(body["source"])
            target_path = os.path.join(path, source)
            if not os.path.isdir(target_path):
                problems.append(f"{file}: module {call!r}: source {source} does not exist")
                continue
            target = load(target_path)
            passed = {k for k in body if not k.startswith("__")} - META_ARGUMENTS
            for name in sorted(passed - set(target.variables)):
                problems.append(f"{file}: module {call!r} passes {name!r}, which {source} does not declare")
            required = {name for name, v in target.variables.items() if "default" not in v}
            for name in sorted(required - passed):
                problems.append(f"{file}: module {call!r} does not pass required variable {name!r} of {source}")

    for path in env_dirs:
        env = load(path)
        tfvars = os.path.join(path, "terraform.tfvars")
        if not os.path.exists(tfvars):
            problems.append(f"{path}: no terraform.tfvars")
            continue
        with open(tfvars, encoding="utf-8") as f:
            values = {k for k in hcl2.load(f) if not k.startswith("__")}
        for name in sorted(values - set(env.variables)):
            problems.append(f"{tfvars}: sets {name!r}, which the environment does not declare")
        required = {name for name, v in env.variables.items() if "default" not in v}
        for name in sorted(required - values):
            problems.append(f"{tfvars}: does not set required variable {name!r}")
    return problems


def main():
    root = sys.argv[1]
    problems = check(root)
    for problem in problems:
        print(f"ERROR {problem}")
    if not problems:
        print(f"OK {root}: every module call, reference, tfvars entry and description checks out")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
