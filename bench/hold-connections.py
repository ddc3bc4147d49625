"""Holds N established TCP connections on loopback (2N sockets) for the benchmark.
Prints "ready <listener port>" when they are all up, then waits for SIGTERM or stdin EOF.
Both ends live here, so N must fit in half the open-file limit; the benchmark starts as
many of these as it needs."""
import resource, socket, sys

n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if 2 * n + 100 > soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * n + 100), hard))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4096)
port = srv.getsockname()[1]
keep = []
for _ in range(n):
    c = socket.socket()
    c.connect(("127.0.0.1", port))
    a, _ = srv.accept()
    keep.extend([c, a])
print("ready", port, flush=True)
sys.stdin.read()
