#!/usr/bin/python3
"""Bounded load test: holds N concurrent SSE streams (slow readers) open
against a running `infergrid serve` on loopback, then reports the server's
memory per connection and checks it still answers.

Not part of ctest (it is heavy). Typical run:

  build/release/infergrid serve --model ../shared/models/stories260K.gguf \
      --port 18080 --max-waiting 20000 --max-connections 12000 &
  /usr/bin/python3 tests/e2e/many_connections.py --port 18080 --pid $! -n 10000

Each client sends a streaming completion with `ignore_eos` and a large
max_tokens, reads the response head, then reads one small piece every
--read-interval seconds (a slow reader). After --hold seconds with all N open,
the server's RSS is sampled (VmRSS from /proc), every client closes, and the
script checks that the server's memory and /health recover.
"""
import argparse
import asyncio
import json
import resource
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def get(host, port, path):
    r, w = await asyncio.open_connection(host, port)
    w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await w.drain()
    data = await r.read()
    w.close()
    return data


async def client(i, args, state, all_open, release):
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": args.max_tokens,
                       "ignore_eos": True, "stream": True, "temperature": 0.8, "seed": i})
    req = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n{body}").encode()
    try:
        r, w = await asyncio.open_connection(args.host, args.port, limit=1 << 16)
    except OSError as e:
        state["connect_errors"] += 1
        state["last_error"] = repr(e)
        return
    try:
        w.write(req)
        await w.drain()
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), timeout=args.head_timeout)
        if not head.startswith(b"HTTP/1.1 200"):
            state["bad_status"] += 1
            state["last_error"] = head[:80].decode(errors="replace")
            return
        state["open"] += 1
        if state["open"] == args.n:
            all_open.set()
        # Slow reader: a little at a time until told to let go.
        while not release.is_set():
            try:
                chunk = await asyncio.wait_for(r.read(64), timeout=args.read_interval)
                if not chunk:
                    state["early_eof"] += 1
                    return
                state["bytes"] += len(chunk)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(args.read_interval)
    except Exception as e:  # noqa: BLE001 - counted and reported
        state["errors"] += 1
        state["last_error"] = repr(e)
    finally:
        w.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--pid", type=int, required=True, help="server process id (for its RSS)")
    p.add_argument("-n", type=int, default=10000)
    p.add_argument("--max-tokens", type=int, default=1500)
    p.add_argument("--hold", type=float, default=10.0)
    p.add_argument("--read-interval", type=float, default=1.0)
    p.add_argument("--head-timeout", type=float, default=120.0)
    p.add_argument("--ramp", type=int, default=500, help="new connections per 0.1 s")
    args = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.n + 1024), hard))

    base = rss_kib(args.pid)
    state = dict(open=0, connect_errors=0, bad_status=0, errors=0, early_eof=0, bytes=0,
                 last_error="")
    all_open, release = asyncio.Event(), asyncio.Event()
    t0 = time.time()
    tasks = []
    for i in range(args.n):
        tasks.append(asyncio.create_task(client(i, args, state, all_open, release)))
        if i % args.ramp == args.ramp - 1:
            await asyncio.sleep(0.1)
    try:
        await asyncio.wait_for(all_open.wait(), timeout=args.head_timeout)
    except asyncio.TimeoutError:
        pass
    opened = time.time() - t0
    await asyncio.sleep(args.hold)
    peak = rss_kib(args.pid)
    held = state["open"]
    release.set()
    await asyncio.gather(*tasks)
    await asyncio.sleep(3.0)
    after = rss_kib(args.pid)
    health = await get(args.host, args.port, "/health")
    ok = health.startswith(b"HTTP/1.1 200")
    per_conn = (peak - base) * 1024 / max(1, held)
    print(json.dumps({
        "connections_requested": args.n, "connections_held": held, "seconds_to_open": round(opened, 1),
        "connect_errors": state["connect_errors"], "bad_status": state["bad_status"],
        "errors": state["errors"], "early_eof": state["early_eof"], "last_error": state["last_error"],
        "bytes_read": state["bytes"], "rss_before_mib": round(base / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1), "rss_after_close_mib": round(after / 1024, 1),
        "bytes_per_connection": round(per_conn), "health_after": ok}, indent=1))
    failed = (held != args.n or state["errors"] or state["connect_errors"] or state["bad_status"]
              or not ok)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    asyncio.run(main())
