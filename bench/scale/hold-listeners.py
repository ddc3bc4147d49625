"""Holds N TCP listeners on 127.0.0.1 (kernel-chosen ports) for bench/scale.mjs.
Prints "ready N" when they all listen, then waits for stdin EOF or SIGTERM; ends after
20 minutes whatever happens."""
import os, resource, signal, socket, sys, threading

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
threading.Timer(1200, lambda: os._exit(3)).start()
n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if n + 100 > soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
keep = []
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    keep.append(s)
print("ready", len(keep), flush=True)
sys.stdin.read()
