"""Replaces the first occurrence of OLD by NEW in FILE; fails when OLD is not there (so that a
planted mistake never silently plants nothing)."""
import sys

path, old, new = sys.argv[1:]
text = open(path, encoding="utf-8").read()
if old not in text:
    sys.exit(f"{old!r} is not in {path}: the planted mistake would plant nothing")
with open(path, "w", encoding="utf-8") as out:
    out.write(text.replace(old, new, 1))
