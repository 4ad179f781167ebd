#!/usr/bin/env bash
# Lists (pid and command) every live process whose environment holds SSV_AGENT_TEST_RUN=$1, other
# than this script and its ancestors: what a test run started and did not stop.
set -euo pipefail
marker="SSV_AGENT_TEST_RUN=${1:?usage: leaked-processes.sh MARKER}"
skip=" $$ "
p=$$
while [ "$p" -gt 1 ]; do
  p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
  skip="$skip$p "
done
for env in /proc/[0-9]*/environ; do
  pid=${env#/proc/}; pid=${pid%/environ}
  case "$skip" in *" $pid "*) continue ;; esac
  if { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -qx "$marker"; then
    echo "$pid $({ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null)"
  fi
done
