#!/usr/bin/env python3
"""code.py: static checks of the library's shape that scripts/test.sh runs first.

1. No library function (src/host/*.c, src/kernels/*.cu, not the CLI) is over
   MAX_LINES lines, counted from the first line of its signature to its closing
   brace, unless scripts/check/long_functions.txt lists it with a reason.
   An entry that no longer matches a long function is an error too, so the
   list only shrinks.
2. No include cycle: neither among files (a header that includes itself
   through others) nor among modules (module A's files include module B's
   headers and B's include A's). A module is a header's stem (include/vfr/X.h,
   src/host/X.h, X_internal.h) with the .c/.cu files named X.c, X_*.c, X.cu.

Python standard library only; it reads the sources, it does not parse C
fully: comments, strings and preprocessor lines are blanked, then braces are
counted (a top-level `{` right after `)` opens a function).
Usage: scripts/check/code.py [--list] [ROOT]   (--list prints every function
over MAX_LINES, listed or not, and the module graph's edges)
"""
import os
import re
import sys

MAX_LINES = 150
ALLOW = "scripts/check/long_functions.txt"
EDGES = "scripts/check/upward_calls.txt"
CONTROL = {"if", "for", "while", "switch", "return", "sizeof", "defined", "__attribute__", "alignof",
           "_Alignof", "__declspec", "decltype"}


ATTRIBUTE = re.compile(r"__attribute__\s*\(\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)\)")


def blank(text):
    """Comments, string and char literals and preprocessor lines as spaces, newlines kept."""
    out, i, n = [], 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":  # a preprocessor line, with its continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                if text.startswith("/*", i):  # a comment that starts on the directive's line
                    j = text.find("*/", i + 2)
                    j = n if j < 0 else j + 2
                    out.append(re.sub(r"[^\n]", " ", text[i:j]))
                    i = j
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else " " * (j - i))
            i = j
        else:
            if c == "\n":
                line_start = True
            out.append(c)
            i += 1
    # attributes are not calls: __attribute__((format(printf, 2, 3)))
    return ATTRIBUTE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), "".join(out))


def functions(text):
    """(name, first line, last line, is static) of each function defined at file level."""
    s = blank(text)
    found, depth, start, i = [], 0, 0, 0  # start: where the current file-level declaration began
    while i < len(s):
        c = s[i]
        if c == "{":
            if depth == 0:
                head = s[start:i].rstrip()
                # a function body follows `)` (or a C++ qualifier after it); an initialiser follows `=`
                if re.search(r"\)\s*(const|noexcept|override)?\s*$", head) and not re.search(r"=\s*$", head):
                    names = [m for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", head) if m.group(1) not in CONTROL]
                    name = names[0].group(1) if names else "?"
                    first = s.count("\n", 0, start + len(s[start:i]) - len(s[start:i].lstrip())) + 1
                    j, d = i, 0
                    while j < len(s):
                        d += (s[j] == "{") - (s[j] == "}")
                        if d == 0:
                            break
                        j += 1
                    static = re.search(r"\bstatic\b", head[:names[0].start()] if names else head) is not None
                    found.append((name, first, s.count("\n", 0, j) + 1, static))
                    i, start = j + 1, j + 1
                    continue
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                start = i + 1
        elif c == ";" and depth == 0:
            start = i + 1
        i += 1
    return found


def library_files(root):
    for sub, exts in (("src/host", (".c",)), ("src/kernels", (".cu", ".c"))):
        d = os.path.join(root, sub)
        for f in sorted(os.listdir(d)):
            if f.endswith(exts):
                yield os.path.join(sub, f)


def read_list(root, rel, pattern, want):
    """{key groups: reason} of an allow-list file: one entry a line, # comments."""
    entries = {}
    with open(os.path.join(root, rel)) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.match(pattern, line)
            if not m:
                sys.exit(f"{rel}:{n}: want '{want}', got '{line}'")
            entries[m.groups()[:-1]] = m.groups()[-1]
    return entries


def check_lengths(root, show):
    allow = read_list(root, ALLOW, r"^(\S+):(\w+)\s+(.+)$", "path:function reason")
    errors, notes, long_ = [], [], []
    for rel in library_files(root):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for name, a, b, _ in functions(text):
            n = b - a + 1
            if n > MAX_LINES:
                long_.append((n, rel, name, a))
                if (rel, name) not in allow:
                    errors.append(f"{rel}:{a}: {name} is {n} lines (over {MAX_LINES}): split it, or list it "
                                  f"in {ALLOW} with a reason")
    present = {(rel, name) for _, rel, name, _ in long_}
    for key in allow:
        if key not in present:
            notes.append(f"{ALLOW}: {key[0]}:{key[1]} is listed but is not a function over {MAX_LINES} lines "
                         "(any more): remove the entry")
    if show:
        for n, rel, name, a in sorted(long_, reverse=True):
            print(f"  {n:4d}  {rel}:{a} {name}" + ("  (listed)" if (rel, name) in allow else ""))
    return errors, notes, len(long_)


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def include_graph(root):
    """file -> set of included files (root-relative), for the library, the CLI and the kernels."""
    files = []
    for sub in ("include/vfr", "src/host", "src/host/cli", "src/kernels"):
        d = os.path.join(root, sub)
        files += [os.path.join(sub, f) for f in sorted(os.listdir(d))
                  if f.endswith((".c", ".h", ".cu", ".cuh")) and os.path.isfile(os.path.join(d, f))]
    known = set(files)
    graph = {}
    for rel in files:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        deps = set()
        for inc in INCLUDE.findall(text):
            for cand in (os.path.normpath(os.path.join(os.path.dirname(rel), inc)), os.path.join("include", inc),
                         os.path.join("src/host", inc)):
                if cand in known:
                    deps.add(cand)
                    break
        graph[rel] = deps
    return graph


def module_of(rel, stems):
    if rel.startswith("src/host/cli/"):
        return "cli"
    stem = os.path.basename(rel).split(".")[0]
    stem = re.sub(r"_(internal|core|row)$", "", stem)
    best = stem
    for m in stems:
        if (stem == m or stem.startswith(m + "_")) and len(m) > len(best if best in stems else ""):
            best = m
    return best


def cycles(graph):
    """Every cycle found by one depth-first search, as a list of nodes (first repeated at the end)."""
    found, colour, stack = [], {}, []

    def visit(v):
        colour[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if colour.get(w) == 1:
                found.append(stack[stack.index(w):] + [w])
            elif not colour.get(w):
                visit(w)
        stack.pop()
        colour[v] = 2

    for v in sorted(graph):
        if not colour.get(v):
            visit(v)
    return found


def module_graph(root, graph):
    """module -> {module: [why, ...]}: a library file calls a non-static function
    another module's .c/.cu defines, or includes another module's internal header
    (src/host/*.h). Public headers (include/vfr) only give types and are left out."""
    stems = {re.sub(r"_internal$", "", os.path.basename(f).split(".")[0]) for f in graph if f.endswith(".h")}
    owner, blanked, local = {}, {}, {}
    for rel in library_files(root):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        blanked[rel] = blank(text)
        for name, _, _, static in functions(text):
            if static:  # a call of this name in this file is the file's own function
                local.setdefault(rel, set()).add(name)
            else:
                owner.setdefault(name, set()).add(module_of(rel, stems))
    mods = {}
    for rel, text in blanked.items():
        a = module_of(rel, stems)
        for name in sorted(set(re.findall(r"(?<!->)(?<!\.)\b([A-Za-z_]\w*)\s*\(", text)) - local.get(rel, set())):
            for b in owner.get(name, ()):
                if b != a and len(owner[name]) == 1:
                    mods.setdefault(a, {}).setdefault(b, []).append(f"{rel} calls {name}")
        for inc in graph.get(rel, ()):
            b = module_of(inc, stems)
            if inc.startswith("src/host/") and b != a:
                mods.setdefault(a, {}).setdefault(b, []).append(f"{rel} includes {os.path.basename(inc)}")
    return mods


def check_layers(root, show):
    errors, notes = [], []
    graph = include_graph(root)
    for c in cycles(graph):
        errors.append("include cycle among files: " + " -> ".join(c))
    mods = module_graph(root, graph)
    allowed = read_list(root, EDGES, r"^(\w+)\s*->\s*(\w+)\s+(.+)$", "module -> module reason")
    kept = {a: {b for b in bs if (a, b) not in allowed} for a, bs in mods.items()}
    for c in cycles(kept):
        errors.append("cycle among modules: " + " -> ".join(c) + " (" + "; ".join(
            mods[a][b][0] + (f" and {len(mods[a][b]) - 1} more" if len(mods[a][b]) > 1 else "")
            for a, b in zip(c, c[1:])) + "): move the function to the module it belongs to, "
            f"or list the upward edge in {EDGES} with a reason")
    for a, b in allowed:
        if b not in mods.get(a, {}):
            notes.append(f"{EDGES}: {a} -> {b} is listed but no longer exists: remove the entry")
    if show:
        for a in sorted(mods):
            print(f"  {a} -> {' '.join(sorted(mods[a]))}")
    return errors, notes


def main(argv):
    show = "--list" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), "..", ".."))
    errors, notes, n_long = check_lengths(root, show)
    e2, n2 = check_layers(root, show)
    errors += e2
    for e in notes + n2:
        print("code.py: note: " + e)
    for e in errors:
        print("code.py: " + e, file=sys.stderr)
    if errors:
        return 1
    print(f"code.py: no library function over {MAX_LINES} lines outside {ALLOW} ({n_long} listed), "
          f"no include cycle, no cycle among modules outside {EDGES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
