"""Opens and closes TCP listeners on command, for bench/busy-host.mjs, and says when.

argv: COMMAND_FIFO REPLY_FIFO. Times are CLOCK_MONOTONIC nanoseconds (the clock of Node's
process.hrtime), taken just before listen() and just before close(), so the benchmark can
subtract them from the moment it saw the event. Commands, one per line; one reply line each:
  open                 -> "opened ID PORT INODE T"      a listener on 127.0.0.1, any port
  openport PORT        -> "opened ID PORT INODE T"      on 127.0.0.1:PORT
  free                 -> "free PORT"                   a port nothing listens on now
  close ID             -> "closed ID T"
  batch COUNT GAP_MS LIFE_MS FILE
                       -> "done"  after COUNT listeners, one every GAP_MS, each closed LIFE_MS
                          after its listen(); FILE gets "PORT INODE T_OPEN T_CLOSE" per line
Runs as whoever started it (setpriv for the unprivileged run). Ends on EOF of the command
FIFO, SIGTERM, or after 15 minutes whatever happens.
"""
import heapq, os, resource, signal, socket, sys, threading, time

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
threading.Timer(900, lambda: os._exit(3)).start()
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

commands = open(sys.argv[1], "r")
replies = open(sys.argv[2], "w", buffering=1)
socks = {}
next_id = 0


def listen(port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    t = time.monotonic_ns()
    s.listen(64)
    return s, t


def batch(count, gap_ms, life_ms, path):
    start = time.monotonic_ns()
    pending = []  # (close time, seq, sock, port, inode, t_open)
    done = []
    opened = 0
    while opened < count or pending:
        now = time.monotonic_ns()
        while pending and pending[0][0] <= now:
            _, _, s, port, inode, t_open = heapq.heappop(pending)
            t_close = time.monotonic_ns()
            s.close()
            done.append(f"{port} {inode} {t_open} {t_close}")
        if opened < count and start + int(opened * gap_ms * 1e6) <= now:
            s, t_open = listen()
            port = s.getsockname()[1]
            heapq.heappush(pending, (t_open + int(life_ms * 1e6), opened, s, port, os.fstat(s.fileno()).st_ino, t_open))
            opened += 1
            continue
        wake = [p[0] for p in pending[:1]]
        if opened < count:
            wake.append(start + int(opened * gap_ms * 1e6))
        if not wake:
            continue
        time.sleep(max(0, min(wake) - time.monotonic_ns()) / 1e9)
    with open(path, "w") as f:
        f.write("\n".join(done) + "\n")


for line in commands:
    cmd, *args = line.split()
    if cmd in ("open", "openport"):
        s, t = listen(int(args[0]) if args else 0)
        next_id += 1
        socks[next_id] = s
        print(f"opened {next_id} {s.getsockname()[1]} {os.fstat(s.fileno()).st_ino} {t}", file=replies)
    elif cmd == "free":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        print(f"free {port}", file=replies)
    elif cmd == "close":
        s = socks.pop(int(args[0]))
        t = time.monotonic_ns()
        s.close()
        print(f"closed {args[0]} {t}", file=replies)
    elif cmd == "batch":
        batch(int(args[0]), float(args[1]), float(args[2]), args[3])
        print("done", file=replies)
os._exit(0)
