#!/usr/bin/python3
"""A local stand-in for the Hugging Face Hub, for `infergrid pull` tests.

Serves the repos under --root (ROOT/owner/name/...) on 127.0.0.1 with the
hub's routes:
  GET /api/models/OWNER/NAME/tree/REV?recursive=true   file list (JSON; paged
                                                        with a Link header when
                                                        --page-size is given)
  GET /OWNER/NAME/resolve/REV/PATH   small files directly; LFS files (.gguf,
                                     .safetensors, .bin, .onnx, or > 4 KiB)
                                     answer 302 to a second port, like the CDN
Only revision `main` exists. Range requests (bytes=N- and N-M) are honoured.
Faults on demand: --gated REPO=TOKEN (401 without `Authorization: Bearer
TOKEN`), --cut REPO/PATH=N (the first transfer of the file stops after N bytes
and the connection closes), --corrupt REPO/PATH (one byte flipped, every time),
--stall REPO (the file list never answers). --tls-cert/--tls-key serve https
on both ports.

Every request is appended to --log as a JSON line: {"server": "hub"|"cdn",
"path", "range", "auth"}. The first stdout line is "hub at URL" (URL ends with
:PORT). Debian python3 only (stdlib).
"""
import argparse
import hashlib
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

LFS_EXT = (".gguf", ".safetensors", ".bin", ".onnx", ".pt", ".h5", ".msgpack")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path, size):
    return path.endswith(LFS_EXT) or size > 4096


class State:
    def __init__(self, args):
        self.root = args.root
        self.gated = dict(g.split("=", 1) for g in args.gated)
        self.cut = {k: int(v) for k, v in (c.rsplit("=", 1) for c in args.cut)}
        self.corrupt = set(args.corrupt)
        self.stall = set(args.stall)
        self.page_size = args.page_size
        self.log_path = args.log
        self.lock = threading.Lock()
        self.cut_done = set()
        self.cdn_base = ""

    def log(self, entry):
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def repo_dir(self, repo):
        d = os.path.join(self.root, repo)
        return d if os.path.isdir(d) else None

    def content(self, repo, path):
        with open(os.path.join(self.root, repo, path), "rb") as f:
            data = f.read()
        if repo + "/" + path in self.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return data

    def listing(self, repo):
        out = []
        base = os.path.join(self.root, repo)
        for dirpath, dirs, files in os.walk(base):
            dirs.sort()
            rel_dir = os.path.relpath(dirpath, base)
            for d in dirs:
                p = os.path.normpath(os.path.join(rel_dir, d))
                out.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": p})
            for fn in sorted(files):
                p = os.path.normpath(os.path.join(rel_dir, fn))
                with open(os.path.join(dirpath, fn), "rb") as f:
                    data = f.read()  # the listing shows the true checksums
                entry = {"type": "file", "size": len(data), "path": p}
                if is_lfs(p, len(data)):
                    sha = hashlib.sha256(data).hexdigest()
                    pointer = ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\n"
                               "size %d\n" % (sha, len(data))).encode()
                    entry["oid"] = git_blob_sha1(pointer)
                    entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": len(pointer)}
                else:
                    entry["oid"] = git_blob_sha1(data)
                out.append(entry)
        return out


def make_handler(state, server_name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            if isinstance(self.request, ssl.SSLSocket):
                try:
                    self.request.do_handshake()
                except (ssl.SSLError, OSError):
                    self.request.close()
                    raise
            super().setup()

        def send_json(self, code, obj, headers=()):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def error(self, code, err_code, message):
            self.send_json(code, {"error": message},
                           [("X-Error-Code", err_code), ("X-Error-Message", message)])

        def authorized(self, repo):
            token = state.gated.get(repo)
            if token is None:
                return True
            if self.headers.get("Authorization") == "Bearer " + token:
                return True
            self.error(401, "GatedRepo", "Access to model %s is restricted." % repo)
            return False

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            state.log({"server": server_name, "path": url.path, "query": url.query,
                       "range": self.headers.get("Range"),
                       "auth": self.headers.get("Authorization")})
            parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
            if server_name == "cdn":
                return self.cdn(parts, urllib.parse.parse_qs(url.query))
            if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "tree":
                return self.tree("/".join(parts[2:4]), parts[5], urllib.parse.parse_qs(url.query))
            if len(parts) >= 5 and parts[2] == "resolve":
                return self.resolve("/".join(parts[0:2]), parts[3], "/".join(parts[4:]))
            self.error(404, "NotFound", "no route " + url.path)

        def tree(self, repo, rev, query):
            if repo in state.stall:
                time.sleep(120)
                return
            if not state.repo_dir(repo):
                return self.error(404, "RepoNotFound", "Repository not found")
            if not self.authorized(repo):
                return
            if rev != "main":
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            entries = state.listing(repo)
            headers = []
            if state.page_size:
                start = int(query.get("cursor", ["0"])[0])
                page = entries[start:start + state.page_size]
                if start + state.page_size < len(entries):
                    nxt = "/api/models/%s/tree/%s?recursive=true&cursor=%d" % (
                        repo, rev, start + state.page_size)
                    headers.append(("Link", '<%s>; rel="next"' % nxt))
                entries = page
            self.send_json(200, entries, headers)

        def resolve(self, repo, rev, path):
            if not state.repo_dir(repo):
                return self.error(404, "RepoNotFound", "Repository not found")
            if not self.authorized(repo):
                return
            if rev != "main":
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            full = os.path.join(state.root, repo, path)
            if ".." in path.split("/") or not os.path.isfile(full):
                return self.error(404, "EntryNotFound", "Entry not found")
            size = os.path.getsize(full)
            if is_lfs(path, size):
                with open(full, "rb") as f:
                    sha = hashlib.sha256(f.read()).hexdigest()
                loc = "%s/cdn/%s?file=%s&sig=x" % (state.cdn_base, sha,
                                                     urllib.parse.quote(repo + "/" + path))
                self.send_response(302)
                self.send_header("Location", loc)
                self.send_header("X-Linked-Etag", '"%s"' % sha)
                self.send_header("X-Linked-Size", str(size))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_bytes(repo, path)

        def cdn(self, parts, query):
            if len(parts) != 2 or parts[0] != "cdn" or "file" not in query:
                return self.error(404, "NotFound", "no such object")
            repo_path = query["file"][0]
            owner, name, path = repo_path.split("/", 2)
            self.send_bytes(owner + "/" + name, path)

        def send_bytes(self, repo, path):
            data = state.content(repo, path)
            total = len(data)
            first, last, code = 0, total - 1, 200
            rng = self.headers.get("Range")
            if rng:
                spec = rng.split("=", 1)[1]
                a, b = spec.split("-", 1)
                first = int(a)
                last = int(b) if b else total - 1
                if first >= total:
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % total)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                last = min(last, total - 1)
                code = 206
            body = data[first:last + 1]
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"%s"' % git_blob_sha1(data))
            if code == 206:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, total))
            self.end_headers()
            key = repo + "/" + path
            with state.lock:
                cut = state.cut.get(key) if key not in state.cut_done else None
                if cut is not None:
                    state.cut_done.add(key)
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self.wfile.write(body)

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that refuses our certificate, or hangs up early, is what
        # some tests are about: no traceback for those.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, OSError)):
            super().handle_error(request, client_address)


def serve(state, name, tls):
    srv = Server(("127.0.0.1", 0), make_handler(state, name))
    if tls:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--gated", action="append", default=[])
    ap.add_argument("--cut", action="append", default=[])
    ap.add_argument("--corrupt", action="append", default=[])
    ap.add_argument("--stall", action="append", default=[])
    ap.add_argument("--page-size", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    state = State(args)
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    scheme = "https" if tls else "http"
    cdn = serve(state, "cdn", tls)
    state.cdn_base = "%s://127.0.0.1:%d" % (scheme, cdn.server_address[1])
    hub = serve(state, "hub", tls)
    print("hub at %s://127.0.0.1:%d" % (scheme, hub.server_address[1]), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
