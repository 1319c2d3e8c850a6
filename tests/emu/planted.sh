#!/bin/sh
# planted.sh BIN...: each BIN is a GPU parity test linked against an emulated
# kernel with a planted bug (tests/emu/emu.cmake). Passes only when every one
# FAILS the way a parity test fails on a wrong result: exit status 1 with a
# CHECK or mismatch report, not a skip (77), a crash or a hang.
status=0
for bin in "$@"; do
  name=$(basename "$bin")
  out=$(timeout 300 "$bin" 2>&1)
  rc=$?
  if [ "$rc" -eq 1 ] && printf '%s\n' "$out" | grep -Eq 'CHECK failed|cpu .* cuda |= .*, want '; then
    echo "$name: fails as it must (exit 1): $(printf '%s\n' "$out" | grep -E 'CHECK failed|cpu .* cuda |= .*, want ' | head -1)"
  else
    echo "$name: the planted bug went unnoticed (exit $rc)"
    printf '%s\n' "$out" | tail -5
    status=1
  fi
done
exit $status
