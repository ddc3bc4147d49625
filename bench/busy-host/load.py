"""A busy host for bench/busy-host.mjs: processes holding FDS open descriptors in all
(2,000 each, dup()s of /dev/null), IDLE idle processes, and one TCP listener on 127.0.0.1
that no process owns (its only reference is in flight in a unix socket's queue, so no
/proc/PID/fd walk can ever attribute it, as root or not).

argv: FDS IDLE. Prints "ready PORT NPROCS" once everything is up, then waits for stdin EOF
or SIGTERM, SIGKILLs every process it forked by pid and exits. The children also die with it
(PR_SET_PDEATHSIG), and everything ends after 20 minutes whatever happens.
"""
import array, ctypes, os, resource, signal, socket, sys, threading, time

PER = 2000
fds, idle = int(sys.argv[1]), int(sys.argv[2])
threading.Timer(1200, lambda: os._exit(3)).start()
libc = ctypes.CDLL(None)
kids = []


def stop(*_):
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in kids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def child(work):
    pid = os.fork()
    if pid:
        kids.append(pid)
        return
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    work()
    while True:
        signal.pause()


def hold():
    resource.setrlimit(resource.RLIMIT_NOFILE, (PER + 64, max(PER + 64, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    fd = os.open("/dev/null", os.O_RDONLY)
    for _ in range(PER - 4):
        os.dup(fd)


try:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    keep_a, keep_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    keep_a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [srv.fileno()]))])
    srv.close()  # the listener lives on in keep_b's queue, in no process's fd table
    for _ in range(max(0, round(fds / PER))):
        child(hold)
    for _ in range(idle):
        child(lambda: None)
    print("ready", port, len(kids), flush=True)
    sys.stdin.read()
finally:
    stop()
