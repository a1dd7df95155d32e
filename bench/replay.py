#!/usr/bin/env python3
"""Record and replay AWS API traffic on loopback, to time trailseal rather than the emulator.

moto answers one request at a time (3-8 ms each), which hides trailseal's concurrency. This
proxy records a run against moto once, then answers the same requests from the recording after
a fixed latency, concurrently, as AWS would, without contacting moto.

Modes
  record  --upstream http://127.0.0.1:MOTO --port P --store FILE [--append]
          Forwards every request to moto and stores its response under the request's key.
          FILE (JSON) is rewritten every --flush-seconds (default 1) when it changed, and on
          SIGTERM / SIGINT, so a kill loses at most the last second.
  replay  --store FILE --port P [--latency-ms 50] [--threads N]
          Answers each request from FILE after sleeping --latency-ms, one thread per connection
          (--threads N: at most N requests answered at once; 1 emulates a serial server).
          A request not in FILE gets HTTP 500 with a body naming its key, and is counted.
          Identical requests recorded several times are answered with the recorded responses
          in order, then the last one again. STS credentials' <Expiration> is moved to an hour
          after the replay, and Date is the replay's.
  proxy   --upstream http://127.0.0.1:MOTO --port P [--latency-ms 50]
          Forwards to moto after sleeping --latency-ms.
  stats   --store FILE        JSON: requests, distinct keys, requests per account / operation.
  diff    A B                 Keys only in A or only in B, access keys replaced by accounts.

--port 0 picks a free port; --port-file FILE receives the port once the server listens.
On exit the servers print one JSON summary line on stdout, e.g.
  {"mode": "replay", "served": 89, "misses": 0, "distinct_misses": 0, "latency_ms": 50}

Request key: the SigV4 credential scope of the Authorization header without its date (access
key id, Region, service: every service shares the endpoint, so the Region and service must be
in the key), the method, the path with its query (presigned X-Amz-* parameters removed), the
x-amz-target header, and the SHA-256 of the body. The recording's AssumeRole answers carry the
recorded temporary access keys, so a replay run signs its member-account requests with the
same keys as the recording. Nothing in trailseal's request bodies varies between runs (checked
on the single-account audit by recording it twice: `replay.py diff A B`; do the same for --org).

Standard library only (Python 3.11). HTTP/1.1 with keep-alive and Connection: close; request
bodies by Content-Length or chunked.
"""

import argparse
import base64
import email.utils
import hashlib
import http.client
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORE_VERSION = 1
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"}
# Not stored: recomputed (content-length, except for HEAD) or regenerated (date, server).
NOT_STORED = HOP_BY_HOP | {"content-length", "date", "server"}
CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/,\s]*/([^/,\s]*)/([^/,\s]*)/aws4_request")
PRESIGN_PARAMS = {"x-amz-date", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
                  "x-amz-expires", "x-amz-signedheaders", "x-amz-algorithm"}
NO_BODY_STATUS = {204, 304}


# ---------------------------------------------------------------- request keys

def split_target(raw_path):
    """The request-target as path?query (absolute-form targets lose their scheme and host)."""
    if raw_path.startswith(("http://", "https://")):
        u = urllib.parse.urlsplit(raw_path)
        return u.path + ("?" + u.query if u.query else "")
    return raw_path


def request_parts(method, raw_path, headers, body):
    """The stable parts of a request: the recording's key is built from these."""
    path = split_target(raw_path)
    ak = region = service = "-"
    auth = headers.get("authorization", "")
    m = CREDENTIAL_RE.search(auth)
    if "?" in path:
        p, q = path.split("?", 1)
        params = urllib.parse.parse_qsl(q, keep_blank_values=True)
        if not m:
            cred = dict((k.lower(), v) for k, v in params).get("x-amz-credential", "")
            m = CREDENTIAL_RE.search("Credential=" + cred)
        kept = [(k, v) for k, v in params if k.lower() not in PRESIGN_PARAMS]
        if len(kept) != len(params):
            path = p + ("?" + urllib.parse.urlencode(kept) if kept else "")
    if m:
        ak, region, service = m.group(1), m.group(2), m.group(3)
    return {"access_key": ak, "region": region, "service": service, "method": method,
            "path": path, "target": headers.get("x-amz-target", ""),
            "body_sha256": hashlib.sha256(normalize_body(body)).hexdigest()}


# The Rust SDK's AssumeRoleProvider names its session "assume-role-provider-<epoch ms>" unless
# told otherwise (trailseal says "trailseal"); a timestamped name would change every run.
VOLATILE = [(re.compile(rb"(RoleSessionName=[A-Za-z0-9_.@-]*?-)\d{10,}"), rb"\1<ms>")]


def normalize_body(body):
    """Request bodies with volatile fields removed. trailseal's have none (record twice and
    diff to check); VOLATILE guards against a default STS session name."""
    for pattern, repl in VOLATILE:
        body = pattern.sub(repl, body)
    return body


EXPIRATION_RE = re.compile(rb"<Expiration>[^<]*</Expiration>")


def fresh_expiration(body):
    """Recorded temporary credentials expire an hour after the recording: replayed ones expire
    an hour after the replay, so the SDK does not refresh them (or refuse them) on a later day."""
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)).encode()
    return EXPIRATION_RE.sub(b"<Expiration>" + later + b"</Expiration>", body)


def key_of(parts):
    return " ".join([parts["access_key"], parts["region"], parts["service"], parts["method"],
                     parts["path"], parts["target"] or "-", parts["body_sha256"][:32]])


def text_or_b64(data):
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def from_text_or_b64(d):
    return d["text"].encode("utf-8") if "text" in d else base64.b64decode(d["b64"])


# ---------------------------------------------------------------- store

class Store:
    def __init__(self, path, load=False):
        self.path = path
        self.lock = threading.Lock()
        self.entries = {}  # key -> {"request": {...}, "responses": [...], "count": n}
        self.requests = 0
        self.dirty = False
        self.next = {}  # replay: key -> index of the next response
        if load:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("version") != STORE_VERSION:
                raise SystemExit(f"replay.py: {path}: not a version {STORE_VERSION} store")
            self.entries = data["entries"]
            self.requests = data.get("requests", 0)

    def add(self, key, parts, body, status, headers, resp_body):
        resp = {"status": status, "headers": headers, "body": text_or_b64(resp_body)}
        with self.lock:
            self.requests += 1
            e = self.entries.get(key)
            if e is None:
                req = dict(parts)
                req["body"] = text_or_b64(body)
                e = self.entries[key] = {"request": req, "responses": [], "count": 0}
            e["count"] += 1
            e["responses"].append(resp)
            self.dirty = True

    def lookup(self, key):
        with self.lock:
            e = self.entries.get(key)
            if e is None:
                return None
            i = self.next.get(key, 0)
            self.next[key] = i + 1
            return e["responses"][min(i, len(e["responses"]) - 1)]

    def save(self):
        with self.lock:
            if not self.dirty:
                return
            data = {"version": STORE_VERSION, "requests": self.requests, "entries": self.entries}
            blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
            self.dirty = False
        tmp = f"{self.path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(blob)
        os.replace(tmp, self.path)


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "trailseal-replay"
    timeout = 300  # an idle keep-alive connection's thread ends after this
    disable_nagle_algorithm = True  # one write per response anyway; no 40 ms delayed-ACK stalls

    def log_message(self, fmt, *args):
        if self.server.cfg.verbose:
            sys.stderr.write("replay.py: %s\n" % (fmt % args))

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after the chunk
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def respond(self, status, headers, body, head=False):
        """The whole response in one write. headers: [(name, value)] without length/date."""
        reason = http.client.responses.get(status, "Unknown")
        lines = [f"HTTP/1.1 {status} {reason}"]
        has_length = False
        for k, v in headers:
            if k.lower() == "content-length":
                if not head:
                    continue
                has_length = True
            lines.append(f"{k}: {v}")
        lines.append("Date: " + email.utils.formatdate(usegmt=True))
        if status not in NO_BODY_STATUS and not (100 <= status < 200) and not has_length:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head and status not in NO_BODY_STATUS:
            data += body
        self.wfile.write(data)
        self.wfile.flush()

    def handle_any(self):
        cfg = self.server.cfg
        try:
            body = self.read_body()
        except (ValueError, ConnectionError) as e:
            self.close_connection = True
            self.respond(400, [("Content-Type", "text/plain")], f"replay.py: bad request body: {e}\n".encode())
            return
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        head = self.command == "HEAD"
        if cfg.mode == "replay":
            self.replay(hdrs, body, head)
        else:
            self.forward(hdrs, body, head)

    def replay(self, hdrs, body, head):
        cfg = self.server.cfg
        parts = request_parts(self.command, self.path, hdrs, body)
        key = key_of(parts)
        with cfg.slots:
            if cfg.latency:
                time.sleep(cfg.latency)
            resp = cfg.store.lookup(key)
            if resp is None:
                cfg.count_miss(key, parts)
                msg = (f"replay.py: no recorded response for this request\nkey: {key}\n"
                       f"record the same command again (replay.py record) if it changed\n").encode()
                self.respond(500, [("Content-Type", "text/plain"), ("x-replay-miss", "1")], msg, head)
                return
            cfg.count_served()
            body = from_text_or_b64(resp["body"])
            if parts["service"] == "sts" and b"<Expiration>" in body:
                body = fresh_expiration(body)
            self.respond(resp["status"], resp["headers"], body, head)

    def forward(self, hdrs, body, head):
        cfg = self.server.cfg
        if cfg.mode == "proxy" and cfg.latency:
            time.sleep(cfg.latency)
        target = split_target(self.path)
        conn = http.client.HTTPConnection(cfg.upstream_host, cfg.upstream_port, timeout=300)
        try:
            conn.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() in HOP_BY_HOP or k.lower() == "content-length":
                    continue
                conn.putheader(k, v)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Connection", "close")
            conn.endheaders(body if body else None)
            r = conn.getresponse()
            resp_body = r.read()
            status = r.status
            raw_headers = r.getheaders()
        except OSError as e:
            conn.close()
            self.close_connection = True
            self.respond(502, [("Content-Type", "text/plain")], f"replay.py: upstream: {e}\n".encode(), head)
            cfg.count_error()
            return
        conn.close()
        headers = [(k, v) for k, v in raw_headers
                   if k.lower() not in NOT_STORED or (head and k.lower() == "content-length")]
        if cfg.mode == "record":
            parts = request_parts(self.command, self.path, hdrs, body)
            cfg.store.add(key_of(parts), parts, body, status, headers, resp_body)
        cfg.count_served()
        self.respond(status, headers, resp_body, head)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default 5 drops connection bursts (SYN retries cost 1 s)
    allow_reuse_address = True


class Config:
    def __init__(self, a):
        self.mode = a.mode
        self.verbose = a.verbose
        self.latency = getattr(a, "latency_ms", 0) / 1000.0
        threads = getattr(a, "threads", 0) or 0
        self.slots = threading.BoundedSemaphore(threads) if threads > 0 else _NoLimit()
        self.lock = threading.Lock()
        self.served = self.misses = self.errors = 0
        self.miss_keys = {}
        self.store = None
        if a.mode in ("record", "proxy"):
            u = urllib.parse.urlsplit(a.upstream)
            if u.scheme != "http" or not u.hostname:
                raise SystemExit("replay.py: --upstream must be http://HOST:PORT")
            self.upstream_host, self.upstream_port = u.hostname, u.port or 80

    def count_served(self):
        with self.lock:
            self.served += 1

    def count_error(self):
        with self.lock:
            self.errors += 1

    def count_miss(self, key, parts):
        with self.lock:
            self.misses += 1
            first = key not in self.miss_keys
            self.miss_keys[key] = self.miss_keys.get(key, 0) + 1
            shown = len(self.miss_keys)
        if first and shown <= 20:
            sys.stderr.write(f"replay.py: miss: {key}\n")


class _NoLimit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def serve(a):
    cfg = Config(a)
    if a.mode == "record":
        cfg.store = Store(a.store, load=a.append and os.path.exists(a.store))
        cfg.store.dirty = True
        cfg.store.save()  # fail now, not at the first flush, if FILE cannot be written
    elif a.mode == "replay":
        cfg.store = Store(a.store, load=True)
    server = Server((a.host, a.port), Handler)
    server.cfg = cfg
    port = server.server_address[1]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, a.port_file)
    sys.stderr.write(f"replay.py {a.mode}: listening on http://{a.host}:{port}\n")
    flush_every = getattr(a, "flush_seconds", 1.0)
    while not stop.wait(flush_every if a.mode == "record" else 1.0):
        if a.mode == "record":
            cfg.store.save()
    server.shutdown()
    server.server_close()
    summary = {"mode": a.mode, "served": cfg.served}
    if a.mode == "record":
        cfg.store.save()
        summary.update({"stored_requests": cfg.store.requests, "keys": len(cfg.store.entries),
                        "upstream_errors": cfg.errors, "store": a.store})
    elif a.mode == "replay":
        summary.update({"misses": cfg.misses, "distinct_misses": len(cfg.miss_keys),
                        "latency_ms": a.latency_ms, "threads": a.threads or None})
    else:
        summary.update({"upstream_errors": cfg.errors, "latency_ms": a.latency_ms})
    print(json.dumps(summary), flush=True)
    return 0


# ---------------------------------------------------------------- stats and diff

ASSUME_RE = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>.*?<Arn>arn:[^:]+:sts::(\d{12}):assumed-role/", re.S)
CALLER_RE = re.compile(r"<Account>(\d{12})</Account>")


def account_map(entries):
    """Access key id -> account, from the recorded AssumeRole and GetCallerIdentity answers.
    Keys not found (the caller's own, unless GetCallerIdentity was recorded) map to 'caller'."""
    m = {}
    for e in entries.values():
        for r in e["responses"]:
            text = r["body"].get("text", "")
            for ak, acct in ASSUME_RE.findall(text):
                m[ak] = acct
            if "GetCallerIdentityResponse" in text:
                c = CALLER_RE.search(text)
                if c:
                    m[e["request"]["access_key"]] = c.group(1)
    return m


def operation(req):
    if req.get("target"):
        return req["service"] + ":" + req["target"].rsplit(".", 1)[-1]
    body = from_text_or_b64(req["body"])
    q = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    if "Action" in q:
        return req["service"] + ":" + q["Action"][0]
    path, _, query = req["path"].partition("?")
    xid = urllib.parse.parse_qs(query).get("x-id")
    if xid:
        return req["service"] + ":" + xid[0]
    sub = sorted(k for k in urllib.parse.parse_qs(query, keep_blank_values=True))
    segments = [s for s in path.split("/") if s]
    shape = "/" + "/".join((["{bucket}"] if segments else []) + (["{key}"] if len(segments) > 1 else []))
    return f"{req['service']}:{req['method']} {shape}{'?' + ','.join(sub) if sub else ''}"


def cmd_stats(a):
    s = Store(a.store, load=True)
    amap = account_map(s.entries)
    per_account, per_op = {}, {}
    for e in s.entries.values():
        req = e["request"]
        acct = amap.get(req["access_key"], "caller")
        per_account[acct] = per_account.get(acct, 0) + e["count"]
        op = operation(req)
        per_op[op] = per_op.get(op, 0) + e["count"]
    counts = sorted(per_account.values())
    out = {"requests": s.requests, "keys": len(s.entries), "accounts": len(per_account),
           "per_account_min": counts[0] if counts else 0,
           "per_account_max": counts[-1] if counts else 0,
           "per_account_mean": round(sum(counts) / len(counts), 2) if counts else 0,
           "repeated_keys": sum(1 for e in s.entries.values() if e["count"] > 1),
           "per_operation": dict(sorted(per_op.items(), key=lambda kv: -kv[1])),
           "per_account": dict(sorted(per_account.items()))}
    print(json.dumps(out, indent=1 if a.pretty else None))
    return 0


def cmd_diff(a):
    def canon(path):
        s = Store(path, load=True)
        amap = account_map(s.entries)
        out = {}
        for k, e in s.entries.items():
            ak = e["request"]["access_key"]
            acct = amap.get(ak, "caller")
            ck = k.replace(ak, f"<{acct}>", 1) if ak != "-" else k
            out.setdefault(ck, []).append(e)
        return out
    x, y = canon(a.a), canon(a.b)
    only_a = sorted(set(x) - set(y))
    only_b = sorted(set(y) - set(x))
    count_diff = [k for k in sorted(set(x) & set(y))
                  if sum(e["count"] for e in x[k]) != sum(e["count"] for e in y[k])]
    for k in only_a:
        print(f"only in A: {k}\n  body: {x[k][0]['request']['body']}")
    for k in only_b:
        print(f"only in B: {k}\n  body: {y[k][0]['request']['body']}")
    for k in count_diff:
        print(f"count differs: {k}: {sum(e['count'] for e in x[k])} vs {sum(e['count'] for e in y[k])}")
    print(json.dumps({"keys_a": len(x), "keys_b": len(y), "only_a": len(only_a),
                      "only_b": len(only_b), "count_differs": len(count_diff)}))
    return 1 if only_a or only_b else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)

    def server_args(p):
        p.add_argument("--port", type=int, required=True, help="0: a free port")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port-file", help="write the listening port here")
        p.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")

    p = sub.add_parser("record", help="forward to moto and store the answers")
    server_args(p)
    p.add_argument("--upstream", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--append", action="store_true", help="add to an existing store")
    p.add_argument("--flush-seconds", type=float, default=1.0)

    p = sub.add_parser("replay", help="answer from the store after a latency")
    server_args(p)
    p.add_argument("--store", required=True)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--threads", type=int, default=0,
                   help="requests answered at once at most (default 0: no limit)")

    p = sub.add_parser("proxy", help="forward to moto after a latency")
    server_args(p)
    p.add_argument("--upstream", required=True)
    p.add_argument("--latency-ms", type=float, default=50.0)

    p = sub.add_parser("stats", help="requests per account and operation in a store")
    p.add_argument("--store", required=True)
    p.add_argument("--pretty", action="store_true")

    p = sub.add_parser("diff", help="compare the keys of two stores")
    p.add_argument("a")
    p.add_argument("b")

    a = ap.parse_args()
    if a.mode == "stats":
        return cmd_stats(a)
    if a.mode == "diff":
        return cmd_diff(a)
    return serve(a)


if __name__ == "__main__":
    sys.exit(main())
