#!/usr/bin/env bash
# Checks tests/watchdog.sh, which every test program in `make test` runs under: it passes a
# command's exit status through, and stops a command past its limit with status 124 after
# printing its processes' stacks.
set -u
cd "$(dirname "$0")/.."
failed=0
fail() {
    echo "watchdog-test: $*" >&2
    failed=1
}

tests/watchdog.sh 30 sh -c 'exit 3' 2>/dev/null
rc=$?
[ "$rc" -eq 3 ] || fail "a command's status 3 came back as $rc"

tests/watchdog.sh 30 true || fail "a passing command failed"

err=$(mktemp)
trap 'rm -f "$err"' EXIT
started=$SECONDS
# timeout(1) bounds the check itself: a watchdog that failed to kill would hang it (137).
timeout -s KILL 20 tests/watchdog.sh 1 sh -c 'sleep 60; sleep 60' 2>"$err"
rc=$?
took=$((SECONDS - started))
[ "$rc" -eq 124 ] || fail "a command past its limit ended with $rc, not 124"
[ "$took" -lt 30 ] || fail "a command past its 1 s limit ran for ${took} s"
grep -q "still running after 1 s" "$err" || fail "no notice of the time limit"
grep -q -- "---- process" "$err" || fail "no stacks of the hung processes"
pgrep -f 'sleep 60; sleep 60' >/dev/null && fail "the hung command's processes were left running"

if [ "$failed" -eq 0 ]; then
    echo "1 passed, 0 failed: tests/watchdog.sh passes statuses through and stops a hang with its stacks"
fi
exit "$failed"
