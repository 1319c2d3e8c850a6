#!/usr/bin/env bash
# test_install.sh BUILD_DIR: libvfr as an installed library, the way its users
# link it. Installs the build into a temporary prefix and checks:
# - the files: bin/vfr, lib/libvfr.so.X.Y.Z with its soname links, lib/libvfr.a,
#   include/vfr/*.h with the umbrella vfr/vfr.h naming every header, vfr.pc;
# - libvfr.so: soname libvfr.so.<major>, no text relocations, and exactly the
#   functions declared in include/vfr/*.h exported (no internal helper);
# - examples/train.c built against the prefix with `pkg-config --cflags --libs
#   vfr` (shared) and with `pkg-config --static` and libvfr.a, both linked with
#   -z text and warnings fatal, and run on a small synthetic dataset: each prints
#   the metrics.json of the run it made.
set -euo pipefail
build=$(cd "$1" && pwd)
src=${VFR_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

command -v pkg-config >/dev/null || { echo "test_install: pkg-config missing, skipped"; exit 77; }
P=$tmp/prefix
cmake --install "$build" --prefix "$P" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }

ver=$(sed -n 's/^Version: //p' "$P"/lib*/pkgconfig/vfr.pc)
major=${ver%%.*}
libdir=$(dirname "$(ls "$P"/lib*/pkgconfig/vfr.pc)")/..
libdir=$(cd "$libdir" && pwd)
for f in bin/vfr include/vfr/vfr.h include/vfr/status.h include/vfr/train.h; do
  [ -f "$P/$f" ] || fail "$f not installed"
done
for f in "libvfr.so.$ver" "libvfr.so.$major" libvfr.so libvfr.a; do
  [ -e "$libdir/$f" ] || fail "lib/$f not installed"
done
[ "$(readlink "$libdir/libvfr.so")" = "libvfr.so.$major" ] || fail "libvfr.so does not point at libvfr.so.$major"

# The umbrella header names every public header, and nothing else.
want=$(cd "$src/include/vfr" && ls *.h | grep -vx vfr.h | sort)
got=$(sed -n 's|^#include "vfr/\(.*\)"$|\1|p' "$P/include/vfr/vfr.h" | sort)
[ "$want" = "$got" ] || fail "vfr/vfr.h does not include exactly include/vfr/*.h: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')"
[ "$(cd "$P/include/vfr" && ls *.h | sort)" = "$(cd "$src/include/vfr" && ls *.h | sort)" ] || fail "installed headers differ from include/vfr"

so="$libdir/libvfr.so.$ver"
readelf -d "$so" | grep -q "Library soname: \[libvfr.so.$major\]" || fail "soname is not libvfr.so.$major"
if readelf -d "$so" | grep -q TEXTREL; then fail "libvfr.so has text relocations"; fi

# Exports: every exported function is declared in a public header, every
# public function libvfr.a defines is exported, and the internal helpers
# (declared in src/host/*.h; prefix vfri_, or vfr_ where
# scripts/dev/internal_prefix.py has not run) are not.
nm -D --defined-only "$so" | awk '$2 ~ /^[TWDBRV]$/ {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exported"
nm -g --defined-only "$libdir/libvfr.a" 2>/dev/null | awk '$2 ~ /^[TWDBR]$/ {print $3}' | sort -u >"$tmp/defined"
cat "$src"/include/vfr/*.h | grep -oE '\bvfr_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"
grep -hoE '\bvfri?_[a-z0-9_]+[[:space:]]*\(' "$src"/src/host/*.h | sed 's/[[:space:]]*($//' | sort -u \
  | comm -23 - "$tmp/declared" >"$tmp/internal"
n_exp=$(wc -l <"$tmp/exported")
[ "$n_exp" -gt 100 ] || fail "only $n_exp symbols exported"
extra=$(comm -23 "$tmp/exported" "$tmp/declared" | grep -vx 'VFR_0' || true)
[ -z "$extra" ] && : || fail "exported but not in include/vfr: $(echo $extra)"
missing=$(comm -12 "$tmp/defined" "$tmp/declared" | comm -23 - "$tmp/exported")
[ -z "$missing" ] || fail "public but not exported: $(echo $missing)"
leaked=$(comm -12 "$tmp/exported" "$tmp/internal")
[ -z "$leaked" ] || fail "internal functions exported: $(echo $leaked)"
n_int=$(comm -12 "$tmp/defined" "$tmp/internal" | wc -l)
[ "$n_int" -gt 10 ] || fail "expected the internal vfr_ helpers in libvfr.a, found $n_int"
echo "exports: $n_exp functions exported, $n_int internal vfr_ functions hidden"

# The example, built against the prefix as its users would.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cflags=$(pkg-config --cflags vfr)
libs=$(pkg-config --libs vfr)
slibs=$(pkg-config --static --libs vfr | sed 's/-lvfr\b/-l:libvfr.a/')
strict="-std=c17 -Wall -Wextra -Wpedantic -Werror -Wl,-z,text -Wl,--fatal-warnings"
cc $strict "$src/examples/train.c" -o "$tmp/train" $cflags $libs || fail "example: shared build"
cc $strict "$src/examples/train.c" -o "$tmp/train_static" $cflags $slibs || fail "example: static build"
if [ -x "$tmp/train" ]; then
  ldd_out=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/train")
  echo "$ldd_out" | grep -q "libvfr.so.$major => $libdir/libvfr.so.$major" || fail "example does not load the installed libvfr.so: $ldd_out"
fi
if [ -x "$tmp/train_static" ] && ldd "$tmp/train_static" | grep -q libvfr; then fail "static example loads libvfr.so"; fi

"$P/bin/vfr" --quiet synth --symbols 30 --days 400 --features 6 --seed 3 --out "$tmp/d.h5"
cat >"$tmp/job.json" <<JOB
{"jobId": "example", "modelName": "example", "modelType": "xgboost",
 "targetVariable": "price_direction_1d",
 "dataConfig": {"dataset": "d.h5", "minDates": 50, "minRows": 500},
 "trainingConfig": {"hyperparameters": {"max_depth": 3, "n_estimators": 30, "nthread": 2},
                    "earlyStoppingRounds": 10, "seed": 7},
 "split": {"method": "holdout"}}
JOB
for exe in train train_static; do
  [ -x "$tmp/$exe" ] || continue
  if ! LD_LIBRARY_PATH="$libdir" "$tmp/$exe" "$tmp/d.h5" "$tmp/job.json" "$tmp/run_$exe" >"$tmp/$exe.out" 2>"$tmp/$exe.err"; then
    fail "$exe exited non-zero: $(cat "$tmp/$exe.err")"; continue
  fi
  grep -q "dataset: 12000 rows, 6 features, 30 symbols, 400 dates" "$tmp/$exe.err" || fail "$exe: wrong dataset summary: $(cat "$tmp/$exe.err")"
  python3 - "$tmp/$exe.out" "$tmp/run_$exe/metrics.json" <<'PY' || fail "$exe: printed metrics differ from the run's metrics.json"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a == b, "differ"
assert 0.0 <= a["test"]["accuracy"] <= 1.0, a["test"]
PY
done
# Bad input comes back as vfr's status and exit code 2.
if [ -x "$tmp/train" ]; then
  set +e
  LD_LIBRARY_PATH="$libdir" "$tmp/train" "$tmp/nope.h5" "$tmp/job.json" "$tmp/run_x" 2>"$tmp/bad.err"
  rc=$?
  set -e
  [ $rc = 2 ] || fail "missing dataset: exit $rc, expected 2"
  grep -q "NOT_FOUND" "$tmp/bad.err" || fail "missing dataset: message lacks the status: $(cat "$tmp/bad.err")"
fi

[ $fails = 0 ] || { echo "test_install: $fails failure(s)" >&2; exit 1; }
echo "test_install: ok"
