#!/usr/bin/env python3
"""internal_prefix.py: gives the library's internal cross-file functions the
internal prefix (docs/style.md, "Names"): every function declared in an
internal header (src/host/**/*.h, src/kernels/*.h/.cuh) whose name starts with
the public prefix `vfr_` and that no public header (include/vfr/*.h) declares
is renamed `vfri_...`, whole word, in the sources, tests, Python, benchmarks,
the code checks' allow-lists and the documentation (TREES below).

Idempotent: a second run finds nothing to rename and changes nothing. It
refuses to run when a new name already exists in the code. Python standard
library only; a one-off tool for maintainers, not part of the build.

Usage: scripts/dev/internal_prefix.py [--dry-run] [ROOT]
  --dry-run  list the names and the files that would change, change nothing
  ROOT       the checkout (default: the one this script is in)
"""
import os
import re
import sys

OLD, NEW = "vfr_", "vfri_"
# Where the declarations are looked for, and where the names are replaced.
INTERNAL_HEADERS = (("src/host", (".h",)), ("src/kernels", (".h", ".cuh")))
PUBLIC_HEADERS = "include/vfr"
TREES = ("src", "tests", "python", "scripts/bench", "scripts/check", "docs", "examples", "README.md", "CMakeLists.txt",
         "cmake")
EXTS = (".c", ".h", ".cu", ".cuh", ".cpp", ".cc", ".in", ".py", ".sh", ".cmake", ".txt", ".md")
CODE = (".c", ".h", ".cu", ".cuh", ".cpp", ".cc", ".py")
DECL = re.compile(r"\b(" + OLD + r"[A-Za-z0-9_]+)\s*\(")


def strip_comments(text):
    """C comments and string literals removed (names in prose are not declarations)."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', " ", text, flags=re.S)


def walk(root, sub, exts):
    top = os.path.join(root, sub)
    if os.path.isfile(top):
        if top.endswith(exts):
            yield top
        return
    for d, dirs, files in os.walk(top):
        dirs[:] = sorted(x for x in dirs if not x.startswith((".", "build")) and x != "__pycache__")
        for f in sorted(files):
            if f.endswith(exts):
                yield os.path.join(d, f)


def declared(root, places):
    names = set()
    for sub, exts in places:
        for path in walk(root, sub, exts):
            with open(path, encoding="utf-8") as f:
                names |= set(DECL.findall(strip_comments(f.read())))
    return names


def main(argv):
    dry = "--dry-run" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), "..", ".."))
    if not os.path.isdir(os.path.join(root, PUBLIC_HEADERS)):
        print(f"internal_prefix.py: {root} has no {PUBLIC_HEADERS}: not a vfr checkout", file=sys.stderr)
        return 2
    public = declared(root, ((PUBLIC_HEADERS, (".h",)),))
    internal = sorted(declared(root, INTERNAL_HEADERS) - public)
    if not internal:
        print("internal_prefix.py: no internal function carries the public prefix: nothing to do")
        return 0
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(internal, key=len, reverse=True)) + r")\b")
    files = [p for sub in TREES for p in walk(root, sub, EXTS)]
    texts = {}
    for p in files:
        with open(p, encoding="utf-8") as f:
            texts[p] = f.read()
    # a new name already defined or used in code would merge two functions
    # (prose in docs/ may name them ahead: docs/style.md does)
    clash = sorted({NEW + n[len(OLD):] for n in internal} &
                   {m for p, t in texts.items() if p.endswith(CODE) for m in re.findall(r"\b" + NEW + r"\w+", t)})
    if clash:
        print("internal_prefix.py: the new names already exist, nothing changed: " + " ".join(clash), file=sys.stderr)
        return 1
    changed = 0
    for p, t in texts.items():
        new, n = pattern.subn(lambda m: NEW + m.group(1)[len(OLD):], t)
        if n:
            changed += 1
            print(f"  {os.path.relpath(p, root)}: {n}")
            if not dry:
                with open(p, "w", encoding="utf-8") as f:
                    f.write(new)
    print(f"internal_prefix.py: {len(internal)} internal functions {OLD}* -> {NEW}* in {changed} files"
          + (" (dry run: nothing written)" if dry else "") + ":\n  " + " ".join(internal))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
