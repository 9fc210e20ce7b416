"""Checks that a Dockerfile fits the workspace (no Docker engine runs here to build it):
every path it copies from the context exists and is not excluded by .dockerignore, every
workspace member's manifest and sources are copied, every binary it copies out of target/release
is a binary of the workspace, every target a manifest declares by path ([[bench]], [[test]],
[[example]], [[bin]]: cargo refuses a manifest whose declared file is missing) is copied, and the
stages `api` and `operator` exist. CI also builds the Dockerfile for real (.ci/build-images).

Usage: python3 check_dockerfile.py DOCKERFILE DOCKERIGNORE
Prints each problem and exits 1 when there is one.
"""
import fnmatch
import json
import os
import shlex
import subprocess
import sys
import tomllib

REQUIRED_STAGES = {"api", "operator"}


def instructions(path):
    """(instruction, arguments) pairs, with continuation lines joined and comments dropped."""
    logical = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                logical += line[:-1] + " "
                continue
            logical += line
            if logical.strip():
                word, _, rest = logical.strip().partition(" ")
                yield word.upper(), rest.strip()
            logical = ""


def ignored(path, patterns):
    path = path.rstrip("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if pattern.startswith("**/"):
            if fnmatch.fnmatch(os.path.basename(path), pattern[3:]) or fnmatch.fnmatch(path, pattern):
                return True
        elif path == pattern or path.startswith(pattern + "/") or fnmatch.fnmatch(path, pattern):
            return True
    return False


def workspace():
    """The workspace's binaries, and its members' directories relative to the root."""
    metadata = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"], text=True))
    root = metadata["workspace_root"]
    binaries = {target["name"] for package in metadata["packages"]
                for target in package["targets"] if "bin" in target["kind"]}
    members = {os.path.relpath(os.path.dirname(package["manifest_path"]), root)
               for package in metadata["packages"]}
    return binaries, members


def declared_targets(members):
    """Files the members' manifests declare as targets, relative to the workspace root."""
    files = []
    for member in sorted(members):
        with open(os.path.join(member, "Cargo.toml"), "rb") as f:
            manifest = tomllib.load(f)
        for section, folder in (("bench", "benches"), ("test", "tests"), ("example", "examples"),
                                ("bin", "src/bin")):
            for target in manifest.get(section, []):
                path = target.get("path") or f"{folder}/{target['name']}.rs"
                files.append(os.path.normpath(os.path.join(member, path)))
    return files


def main():
    dockerfile, dockerignore = sys.argv[1:3]
    root = os.path.dirname(os.path.abspath(dockerignore))
    with open(dockerignore, encoding="utf-8") as f:
        patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    binaries, members = workspace()
    stages, problems, copied_binaries, copied = set(), [], set(), set()
    for word, args in instructions(dockerfile):
        if word == "FROM":
            parts = args.split()
            if len(parts) >= 3 and parts[-2].upper() == "AS":
                stages.add(parts[-1])
        elif word == "COPY":
            parts = shlex.split(args)
            flags = [p for p in parts if p.startswith("--")]
            sources = [p for p in parts if not p.startswith("--")][:-1]
            from_stage = any(flag.startswith("--from=") for flag in flags)
            for source in sources:
                if not from_stage:
                    copied.add(source.rstrip("/"))
                if from_stage:
                    if "/target/release/" in source:
                        name = source.rsplit("/", 1)[-1]
                        copied_binaries.add(name)
                        if name not in binaries:
                            problems.append(f"COPY --from takes binary {name!r}, not one of {sorted(binaries)}")
                elif not os.path.exists(os.path.join(root, source)):
                    problems.append(f"COPY source {source!r} does not exist")
                elif source not in ("./", ".") and ignored(source, patterns):
                    problems.append(f"COPY source {source!r} is excluded by .dockerignore")
    for member in sorted(members):
        for needed in (f"{member}/Cargo.toml", f"{member}/src"):
            if needed not in copied:
                problems.append(f"workspace member {member!r}: {needed} is never copied into the build")
    for declared in declared_targets(members):
        if not any(declared == c or declared.startswith(c + "/") for c in copied):
            problems.append(f"{declared} is declared in a manifest but never copied into the build")
    for stage in sorted(REQUIRED_STAGES - stages):
        problems.append(f"no stage named {stage!r} (docker build --target {stage})")
    for name in sorted(binaries - copied_binaries):
        problems.append(f"workspace binary {name!r} is in no image")
    for problem in problems:
        print(f"ERROR {dockerfile}: {problem}")
    if not problems:
        print(f"OK {dockerfile}: stages {sorted(stages)}, binaries {sorted(copied_binaries)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
