"""Many network namespaces for bench/host-mode.mjs, cheaply, and nothing left behind.

argv[1]: N namespaces. One python process forks N children; each child calls
unshare(CLONE_NEWNET) (what `unshare --net` does), binds a TCP listener on 0.0.0.0:8000
and a UDP socket on 0.0.0.0:8001 (wildcards need no `lo up`), and forks one more process
that execs `sleep` in the same namespace: 2 processes per namespace. Every process gets
PR_SET_PDEATHSIG=SIGKILL, so killing the parent (by its pid) takes everything with it,
and every namespace goes with its last process.

Prints one JSON line {"pid": parent, "children": [pids…]} when all are ready. Then
SIGUSR1 to a child opens a TCP listener on 0.0.0.0:9000 in its namespace, SIGUSR2 closes
it. Exits on SIGTERM or stdin EOF; bounded to 30 minutes.
"""
import ctypes, json, os, signal, socket, sys, threading

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(4)


def child(ready_w):
    die_with_parent()
    if libc.unshare(CLONE_NEWNET) != 0:
        os.write(ready_w, b"E")
        os._exit(5)
    held = []
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("0.0.0.0", 8000 if kind == socket.SOCK_STREAM else 8001))
        if kind == socket.SOCK_STREAM:
            s.listen(16)
        held.append(s)
    if os.fork() == 0:
        die_with_parent()
        os.execvp("sleep", ["sleep", "1800"])
    extra = []

    def open_one(*_):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 9000))
        s.listen(16)
        extra.append(s)

    def close_one(*_):
        while extra:
            extra.pop().close()

    signal.signal(signal.SIGUSR1, open_one)
    signal.signal(signal.SIGUSR2, close_one)
    os.write(ready_w, b"R")
    os.close(ready_w)
    while True:
        signal.pause()


def main():
    n = int(sys.argv[1])
    deadline = threading.Timer(1800, lambda: os._exit(3))
    deadline.daemon = True
    deadline.start()
    ready_r, ready_w = os.pipe()
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            try:
                child(ready_w)
            finally:
                os._exit(6)
        pids.append(pid)
    os.close(ready_w)
    got = b""
    while len(got) < n:
        chunk = os.read(ready_r, n - len(got))
        if not chunk:
            break
        got += chunk
    if got.count(b"R") != n:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        sys.stderr.write("not every namespace came up: %r\n" % got[:20])
        os._exit(7)
    print(json.dumps({"pid": os.getpid(), "children": pids}), flush=True)

    def stop(*_):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    while True:
        signal.pause()


main()
