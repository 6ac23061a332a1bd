#!/usr/bin/env bash
# Runs a test command with a time limit; past the limit, prints every thread's stack of every
# process the command started, then kills them and fails.
#
#   tests/watchdog.sh SECONDS COMMAND [ARGS...]
#
# A test that hangs would otherwise hold CI until its own limit and leave only the last line
# it printed. Programs under valgrind are asked through vgdb (valgrind's gdb server, on by
# default), others with `gdb -p`; without gdb, each thread's kernel wait channel is printed.
# Exits with the command's status, or 124 when it ran out of time (as timeout(1) does).
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 SECONDS COMMAND [ARGS...]" >&2
    exit 2
fi
limit=$1
shift

"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' INT TERM

# Every process under $1, $1 included.
process_tree() {
    local pid=$1 kid
    echo "$pid"
    for kid in $(pgrep -P "$pid" 2>/dev/null); do
        process_tree "$kid"
    done
}

# The program a valgrind command runs: its first argument that is an existing file.
valgrind_client() {
    local arg
    for arg in "$@"; do
        if [ -f "$arg" ]; then
            echo "$arg"
            return
        fi
    done
}

dump_stacks() {
    local pid=$1 comm exe task
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return
    echo "---- process $pid ($comm): $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    if command -v gdb >/dev/null 2>&1; then
        case "$comm" in
        memcheck-* | helgrind-* | drd-*)
            exe=$(valgrind_client "$@")
            timeout 120 gdb -batch -nx -ex "set pagination off" \
                -ex "target remote | vgdb --pid=$pid" -ex "thread apply all bt 40" \
                ${exe:+"$exe"} 2>&1 | grep -v '^\[New Thread\|^relaying data'
            ;;
        *)
            timeout 120 gdb -batch -nx -p "$pid" -ex "set pagination off" \
                -ex "thread apply all bt 40" 2>&1 | grep -v '^\[New LWP\|^\[Thread debugging'
            ;;
        esac
    else
        for task in /proc/"$pid"/task/*; do
            echo "thread ${task##*/}: $(cat "$task/comm" 2>/dev/null) waiting in $(cat "$task/wchan" 2>/dev/null)"
        done
    fi
}

deadline=$((SECONDS + limit))
while kill -0 "$child" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "watchdog: '$*' still running after ${limit} s; the stacks of its processes:" >&2
        pids=$(process_tree "$child")
        for pid in $pids; do
            dump_stacks "$pid" "$@" >&2
        done
        for pid in $pids; do
            kill -KILL "$pid" 2>/dev/null
        done
        wait "$child" 2>/dev/null
        echo "watchdog: '$*' killed after ${limit} s" >&2
        exit 124
    fi
    sleep 0.2
done
wait "$child"
