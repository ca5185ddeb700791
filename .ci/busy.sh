# Sourced by .ci/busy-core and .ci/other-pythons: one pure-Python loop that keeps a core busy.
# It runs in its own session, so it is not a child the tests know about (their no-process-left
# checks do not see it); whoever sources this puts stop_busy in an EXIT trap.
BUSY=""  # the loop's pid while one runs

start_busy() {  # start_busy PYTHON
    setsid "$1" -c 'while True: pass' &
    BUSY=$!
    sleep 1
    echo "busy core: pid $BUSY keeps one core busy; load $(cut -d' ' -f1-3 /proc/loadavg)"
}

stop_busy() { [ -z "$BUSY" ] || kill -- -"$BUSY" 2>/dev/null || kill "$BUSY" 2>/dev/null || true; BUSY=""; }
