#!/usr/bin/python3
"""The usage ledger survives SIGKILL at any moment.

Over KILLS cycles: `infergrid serve --usage-db DB --api-key KEY` starts on
the same ledger, concurrent clients send streamed and non-streamed
completions, and the server is SIGKILLed at a random moment. Then:

- every response a client received completely (non-stream: the whole JSON;
  stream: `data: [DONE]`) has exactly one record, with the response id, the
  client's X-Request-Id and the token counts of the `usage` it was sent;
- no record is duplicated (response id or X-Request-Id) or torn (every field
  present and well-formed; PRAGMA integrity_check is ok);
- `infergrid usage --json` totals equal the sums over the ledger's rows,
  which are the usage the clients saw plus the records of requests whose
  clients did not see the end;
- the API key's bytes appear in no ledger file (only its 12-hex id does).

Usage: ledger_sigkill.py [path/to/infergrid] [model.gguf]
Environment: LEDGER_KILLS (default 24), LEDGER_SEED (default: time).
"""
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/release/infergrid")
MODEL = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "../shared/models/stories260K.gguf")
KILLS = int(os.environ.get("LEDGER_KILLS", "24"))
SEED = int(os.environ.get("LEDGER_SEED", str(int(time.time()))))
CLIENTS = 6
KEY = "ig-sigkill-ledger-key-5f3a9c0e7b21"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        if len(failures) <= 20:
            print("FAIL:", what, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_model(tmp):
    if os.path.exists(MODEL):
        return MODEL
    path = os.path.join(tmp, "tiny.gguf")
    subprocess.run([BIN, "synth", "--preset", "tiny-llama", "--out", path], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def start_server(model, db, port):
    proc = subprocess.Popen(
        [BIN, "serve", model, "--port", str(port), "--usage-db", db, "--api-key", KEY,
         "--threads", "1", "--kv-budget-mb", "16", "--no-request-log", "--log-level", "warn",
         "--served-model-name", "m"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # "infergrid serving ..." once it listens
    if "infergrid serving" not in line:
        proc.kill()
        raise RuntimeError("server did not start: " + line + proc.stderr.read())
    return proc


class Outcome:
    def __init__(self):
        self.lock = threading.Lock()
        self.complete = {}  # client request id -> (response id, usage dict)
        self.sent = 0


def one_request(port, rng, client_id, outcome):
    stream = rng.random() < 0.5
    body = {"model": "m", "prompt": rng.choice(["Once upon a time", "The cat", "A little dog"]),
            "max_tokens": rng.randint(1, 24), "temperature": 0.8, "seed": rng.randint(0, 9)}
    if rng.random() < 0.2:
        body["n"] = 2
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", "/v1/completions", json.dumps(body),
                     {"Content-Type": "application/json", "Authorization": "Bearer " + KEY,
                      "X-Request-Id": client_id})
        with outcome.lock:
            outcome.sent += 1
        resp = conn.getresponse()
        data = resp.read().decode()
        if resp.status != 200:
            return
        if not stream:
            j = json.loads(data)
            result = (j["id"], j["usage"])
        else:
            events = [e[6:] for e in data.split("\n\n") if e.startswith("data: ")]
            if not events or events[-1] != "[DONE]":
                return
            last = json.loads(events[-2])
            result = (last["id"], last["usage"])
        with outcome.lock:
            outcome.complete[client_id] = result
    except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError):
        pass  # killed mid-request: the client did not see the end
    finally:
        conn.close()


def client_loop(port, seed, prefix, stop, outcome):
    rng = random.Random(seed)
    i = 0
    while not stop.is_set():
        one_request(port, rng, "%s-%d" % (prefix, i), outcome)
        i += 1


def ledger_rows(db):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    rows = [dict(r) for r in con.execute("SELECT * FROM usage")]
    con.close()
    return integrity, rows


def well_formed(r):
    ints = ["stream", "prompt_tokens", "cached_tokens", "completion_tokens", "status",
            "received_at", "finished_at"]
    texts = ["request_id", "client_request_id", "tenant", "key_id", "model", "endpoint",
             "finish_reason", "error_code"]
    if any(not isinstance(r[k], int) for k in ints):
        return False
    if any(not isinstance(r[k], str) for k in texts):
        return False
    return (r["request_id"].startswith("cmpl-") and r["tenant"] == "default"
            and len(r["key_id"]) == 12 and r["model"] == "m" and r["endpoint"] == "completions"
            and r["stream"] in (0, 1) and r["prompt_tokens"] > 0
            and 0 <= r["cached_tokens"] <= r["prompt_tokens"] and r["completion_tokens"] >= 0
            and r["status"] in (200, 499, 500, 503)
            and r["finish_reason"] in ("stop", "length", "abort", "error")
            and r["received_at"] > 1_600_000_000_000
            and r["finished_at"] >= r["received_at"] - 1000)


def main():
    tmp = tempfile.mkdtemp(prefix="ig-ledger-")
    model = ensure_model(tmp)
    db = os.path.join(tmp, "usage.db")
    rng = random.Random(SEED)
    outcome = Outcome()
    print("seed %d, %d kills, %d clients" % (SEED, KILLS, CLIENTS), flush=True)
    t0 = time.time()
    for cycle in range(KILLS):
        port = free_port()
        proc = start_server(model, db, port)
        stop = threading.Event()
        threads = [threading.Thread(target=client_loop,
                                    args=(port, rng.random(), "c%d-%d" % (cycle, k), stop,
                                          outcome))
                   for k in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 1.2))  # a random moment
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join()
        proc.stdout.close()
        proc.stderr.close()
    elapsed = time.time() - t0

    integrity, rows = ledger_rows(db)
    check(integrity == "ok", "integrity_check: " + integrity)
    by_id = {}
    by_client = {}
    for r in rows:
        check(well_formed(r), "torn or malformed row: %r" % r)
        by_id.setdefault(r["request_id"], []).append(r)
        by_client.setdefault(r["client_request_id"], []).append(r)
    check(all(len(v) == 1 for v in by_id.values()), "a response id is recorded twice")
    check(all(len(v) == 1 for v in by_client.values()), "an X-Request-Id is recorded twice")

    seen = {"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "requests": 0}
    complete_ids = set()
    for client_id, (resp_id, usage) in outcome.complete.items():
        complete_ids.add(resp_id)
        recs = by_id.get(resp_id, [])
        check(len(recs) == 1, "complete response %s (%s) has %d records" %
              (resp_id, client_id, len(recs)))
        if len(recs) != 1:
            continue
        r = recs[0]
        cached = usage.get("prompt_tokens_details", {}).get("cached_tokens", 0)
        check(r["client_request_id"] == client_id, "record %s has X-Request-Id %s, not %s" %
              (resp_id, r["client_request_id"], client_id))
        check((r["prompt_tokens"], r["completion_tokens"], r["cached_tokens"]) ==
              (usage["prompt_tokens"], usage["completion_tokens"], cached),
              "record %s tokens differ from the usage its client saw" % resp_id)
        check(r["status"] == 200, "complete response %s recorded with status %d" %
              (resp_id, r["status"]))
        seen["prompt_tokens"] += usage["prompt_tokens"]
        seen["completion_tokens"] += usage["completion_tokens"]
        seen["cached_tokens"] += cached
        seen["requests"] += 1
    unseen = [r for r in rows if r["request_id"] not in complete_ids]
    expect = {k: seen[k] + sum(r[k] for r in unseen) for k in
              ("prompt_tokens", "completion_tokens", "cached_tokens")}
    expect["requests"] = seen["requests"] + len(unseen)
    expect["total_tokens"] = expect["prompt_tokens"] + expect["completion_tokens"]

    rep = subprocess.run([BIN, "usage", "--usage-db", db, "--json"], capture_output=True,
                         text=True)
    check(rep.returncode == 0, "infergrid usage failed: " + rep.stderr)
    if rep.returncode == 0:
        totals = json.loads(rep.stdout)["totals"]
        for k, v in expect.items():
            check(totals[k] == v, "usage totals %s = %s, expected %s" % (k, totals[k], v))
        by_tenant = {r["tenant"]: r for r in json.loads(rep.stdout)["rows"]}
        check(set(by_tenant) <= {"default"}, "tenants in the report: %s" % sorted(by_tenant))

    for suffix in ("", "-wal", "-shm"):
        path = db + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                check(KEY.encode() not in f.read(), "the API key is in " + os.path.basename(path))

    print("%d kills in %.1f s: %d requests sent, %d complete responses, %d ledger records "
          "(%d whose client did not see the end)" %
          (KILLS, elapsed, outcome.sent, len(outcome.complete), len(rows), len(unseen)),
          flush=True)
    check(KILLS >= 20, "at least 20 kills")
    check(len(outcome.complete) >= KILLS, "too few complete responses to mean anything")
    if failures:
        print("%d failures (seed %d)" % (len(failures), SEED))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
