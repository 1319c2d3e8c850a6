#!/usr/bin/env bash
# fuzz.sh [SECONDS] [BUILD_DIR]: runs each libFuzzer target (tests/fuzz) for
# SECONDS (default 30) from the seed corpus, with AddressSanitizer and UBSan,
# a 2 GB memory limit (a file that declares more than it stores must not be
# allocated) and 10 s per input (no hangs). New inputs go to a scratch folder;
# a crash leaves its input in $VFR_FUZZ_OUT (default /tmp/vfr-fuzz-crashes)
# to be added to tests/fuzz/corpus/<target>/ once fixed. The build is
#   CC=clang scripts/build.sh build-fuzz -DVFR_CUDA=OFF -DVFR_SANITIZE=ON -DVFR_FUZZ=ON
# Exit 0: no target crashed; 1: one did.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
dir=${2:-build-fuzz}
out=${VFR_FUZZ_OUT:-/tmp/vfr-fuzz-crashes}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rc=0
for t in csv job h5; do
  bin="$dir/tests/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin not built (see the header of this script)"; exit 1; }
  mkdir -p "$work/$t"
  echo "== fuzz_$t for ${secs}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 TMPDIR="$work" \
      "$bin" "$work/$t" "tests/fuzz/corpus/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
      -malloc_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$out/$t-" >"$work/$t.log" 2>&1; then
    rc=1
    echo "fuzz_$t FAILED; input saved under $out/$t-*; the end of its log:"
    tail -40 "$work/$t.log"
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/$t.log" | tr '\n' ' '; echo
  fi
done
exit $rc
