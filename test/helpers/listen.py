"""A process that holds sockets for tests, so that attribution has a real pid and name.

argv[1]: JSON list of specs {"proto": "tcp"|"udp", "host": str, "port": int (0 = any),
         "v6only": bool?, "reuseport": bool?, "connect": bool?}
  "connect": for tcp, also open a client connection to this listener (an ESTABLISHED pair);
             for udp, connect() the socket to its own address (a connected UDP socket).
  "serve": for tcp, answer connections: "echo" sends back every byte and, after the
           client's FIN, shuts its own side (a half-close test); "http" answers each
           request with 200 and a body naming the port ("hello from <port>").
Prints one JSON line {"pid": n, "ports": [...]} once everything is bound, then reads
commands from stdin, one per line, answering each with one JSON line:
  "open <spec json>" → {"index": i, "port": p}     "close <index>" → {"closed": i}
Exits on EOF or SIGTERM. Bounded: it never runs longer than 10 minutes.
"""
import json, signal, socket, sys, threading

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
deadline = threading.Timer(600, lambda: __import__("os")._exit(3))
deadline.daemon = True  # must not hold the process open after SIGTERM
deadline.start()
socks = []
extra = []


def echo(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                conn.shutdown(socket.SHUT_WR)
                return
            conn.sendall(data)


def http(conn, port):
    with conn:
        conn.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        body = ("hello from %d" % port).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def serve(s, kind, port):
    while True:
        try:
            conn, _ = s.accept()
        except OSError:
            return
        target = echo if kind == "echo" else (lambda c: http(c, port))
        threading.Thread(target=target, args=(conn,), daemon=True).start()


def open_spec(spec):
    fam = socket.AF_INET6 if ":" in spec["host"] else socket.AF_INET
    kind = socket.SOCK_STREAM if spec["proto"] == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    if spec.get("reuseport"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if fam == socket.AF_INET6 and "v6only" in spec:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if spec["v6only"] else 0)
    s.bind((spec["host"], spec.get("port", 0)))
    port = s.getsockname()[1]
    if kind == socket.SOCK_STREAM:
        s.listen()
        if spec.get("serve"):
            threading.Thread(target=serve, args=(s, spec["serve"], port), daemon=True).start()
        if spec.get("connect"):
            c = socket.socket(fam, socket.SOCK_STREAM)
            c.connect((spec["host"], port))
            a, _ = s.accept()
            extra.extend([c, a])
    elif spec.get("connect"):
        s.connect((spec["host"], port))
    socks.append(s)
    return port


ports = [open_spec(spec) for spec in json.loads(sys.argv[1])]
print(json.dumps({"pid": __import__("os").getpid(), "ports": ports}), flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "open":
        port = open_spec(json.loads(arg))
        print(json.dumps({"index": len(socks) - 1, "port": port}), flush=True)
    elif cmd == "close":
        i = int(arg)
        try:
            socks[i].shutdown(socket.SHUT_RDWR)  # wakes a serving thread blocked in accept()
        except OSError:
            pass
        socks[i].close()
        print(json.dumps({"closed": i}), flush=True)
__import__("os")._exit(0)
