#!/usr/bin/env bash
# runfolder_names.sh: fails when a file of the library or the CLI other than
# the run-folder module (src/host/runfolder.c, runfolder_internal.h,
# include/vfr/runfolder.h) names a run-folder file as a path or a file name:
# a string literal that is the name ("metrics.json"), or has it after a '/'
# ("%s/probe.h5"), or builds a shard file's name ("trials.shard-%d-of-%d").
# Prose that mentions a file ("no comparison.json", "search.json lists no
# trials"), help text with a placeholder ("RUN_DIR/report.html") and comments
# are allowed. The names are read from runfolder.c's own table, so
# the list cannot drift from the module. The model artifact's name belongs to
# the model type (model.h: vfr_model_artifact_name) and is not checked here.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import glob, re, sys

table = open("src/host/runfolder.c").read()
names = re.findall(r'\[VFR_RUNFILE_[A-Z_]+\]\s*=\s*"([^"]+)"', table)
if len(names) < 10:
    sys.exit(f"runfolder_names: found {len(names)} names in runfolder.c's table; the check cannot run")
owners = {"src/host/runfolder.c", "src/host/runfolder_internal.h", "include/vfr/runfolder.h"}
alt = "|".join(re.escape(n) for n in names)
bare = re.compile(r'(' + alt + r')')
path_like = re.compile(r'(?<![A-Z_])/(' + alt + r')(?![A-Za-z0-9_])')
shard = re.compile(r'\.shard-(%|[0-9])')
token = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.S)
found = 0
for path in sorted(glob.glob("src/**/*.[ch]", recursive=True) + glob.glob("include/**/*.h", recursive=True)):
    if path in owners:
        continue
    text = open(path, encoding="utf-8", errors="replace").read()
    for m in token.finditer(text):
        t = m.group(0)
        if not t.startswith('"'):
            continue
        body = t[1:-1]
        if bare.fullmatch(body) or path_like.search(body) or shard.search(body):
            line = text.count("\n", 0, m.start()) + 1
            print(f"{path}:{line}: names a run-folder file: {t}")
            found += 1
if found:
    print(f"runfolder_names: {found} literal(s) outside the run-folder module name a run-folder file; "
          "use vfr_runfolder_path / vfr_runfolder_file_name (include/vfr/runfolder.h)")
    sys.exit(1)
print(f"runfolder_names: ok ({len(names)} names, only the run-folder module spells them)")
PY
