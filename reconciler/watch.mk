# reconciler/: moor watch (event loop, inotify, health probes, failover,
# status and metrics files).
