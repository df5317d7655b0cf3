# reconciler/: moor watch (event loop, inotify, health probes, failover,
# status and metrics files).
LIB_OBJS += reconciler/backoff.o
LIB_OBJS += reconciler/cycle.o
LIB_OBJS += reconciler/evloop.o
LIB_OBJS += reconciler/failover.o
LIB_OBJS += reconciler/probe.o
LIB_OBJS += reconciler/specwatch.o
LIB_OBJS += reconciler/status.o
LIB_OBJS += reconciler/watch.o

HEADERS += reconciler/backoff.h
HEADERS += reconciler/cycle.h
HEADERS += reconciler/evloop.h
HEADERS += reconciler/failover.h
HEADERS += reconciler/probe.h
HEADERS += reconciler/specwatch.h
HEADERS += reconciler/status.h
HEADERS += reconciler/watch.h

UNIT_TESTS += watch_backoff_test
UNIT_TESTS += watch_cycle_test
UNIT_TESTS += watch_evloop_test
UNIT_TESTS += watch_failover_test
UNIT_TESTS += watch_probe_test
UNIT_TESTS += watch_specwatch_test
UNIT_TESTS += watch_status_test

# Against tests/fakeaws with loopback health servers (watch_lib.py is
# their shared helper, not a test).
INTEGRATION_TESTS += tests/integration/watch_edits.py
INTEGRATION_TESTS += tests/integration/watch_drift.py
INTEGRATION_TESTS += tests/integration/watch_failover.py
INTEGRATION_TESTS += tests/integration/watch_signals.py

# make bench: spec saved -> first mutating call, primary down -> address
# on the standby (20 trials each; median, max).
BENCH_EXTRA += bench-watch
bench-watch: $(MOOR)
	MOOR="$(abspath $(MOOR))" $(PYTHON) tests/bench/watch_bench.py

.PHONY: bench-watch
