#!/usr/bin/python3
"""A real Prometheus scrapes a live `infergrid serve` under a short load.

Checks: promtool accepts the alert rules, the scrape config and a live
/metrics scrape; Prometheus (scrape_interval 1s) answers the TTFT p99 query
and every expression of the Grafana dashboard with numbers; the counters it
stored agree with what the load generator sent; one JSON log line per request.
Exits 77 (ctest: skipped) when prometheus/promtool are not installed.
Usage: prometheus_scrape.py [path/to/infergrid] [model.gguf]
"""
import concurrent.futures
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/release/infergrid")
MODEL = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "../shared/models/stories260K.gguf")
DASHBOARD = os.path.join(ROOT, "deploy/grafana/infergrid.json")
ALERTS = os.path.join(ROOT, "deploy/prometheus/alerts.yml")
SCRAPE_CONFIG = os.path.join(ROOT, "deploy/prometheus/prometheus.yml")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, body=None, headers=None, timeout=60):
    req = urllib.request.Request(url, data=None if body is None else body.encode(),
                                 headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def promql(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = http(url)
    j = json.loads(body)
    if status != 200 or j.get("status") != "success":
        return None, body
    return j["data"]["result"], body


def numbers(result):
    return [float(r["value"][1]) for r in (result or [])]


def main():
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("SKIP: prometheus/promtool not installed (scripts/setup installs prometheus)")
        return 77
    tmp = tempfile.mkdtemp(prefix="ig-prom-")
    procs = []
    try:
        return run(tmp, prometheus, promtool, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, prometheus, promtool, procs):
    for args in (["check", "rules", ALERTS], ["check", "config", SCRAPE_CONFIG]):
        r = subprocess.run([promtool] + args, capture_output=True, text=True)
        check(r.returncode == 0, f"promtool {' '.join(args)}: {r.stdout}{r.stderr}")

    model = MODEL
    if not os.path.exists(model):
        model = os.path.join(tmp, "tiny-llama.gguf")
        subprocess.run([BIN, "synth", "--preset", "tiny-llama", "--type", "f32", "--out", model],
                       check=True, capture_output=True)
    log_path = os.path.join(tmp, "serve.log")
    log = open(log_path, "w")
    serve = subprocess.Popen([BIN, "serve", "--model", model, "--served-model-name", "prom-model",
                              "--port", "0", "--threads", "2", "--kv-budget-mb", "32",
                              "--kv-host-bytes", str(16 << 20)],
                             stdout=log, stderr=subprocess.STDOUT)
    procs.append(serve)
    base = None
    for _ in range(400):
        m = re.search(r"http://([0-9.]+:[0-9]+)", open(log_path).read())
        if m:
            base = "http://" + m.group(1)
            break
        if serve.poll() is not None:
            break
        time.sleep(0.05)
    if not base:
        print(open(log_path).read())
        print("server did not start")
        return 1
    target = base[len("http://"):]

    prom_port = free_port()
    # The repository's scrape config, pointed at this server, scraping every second.
    cfg = os.path.join(tmp, "prometheus.yml")
    shipped = open(SCRAPE_CONFIG).read()
    shipped = re.sub(r"scrape_interval: \S+", "scrape_interval: 1s", shipped)
    shipped = re.sub(r"evaluation_interval: \S+", "evaluation_interval: 1s", shipped)
    shipped = shipped.replace('"127.0.0.1:8080"', f'"{target}"')
    shipped = shipped.replace("  - alerts.yml", f'  - "{ALERTS}"')
    check(f'"{target}"' in shipped and ALERTS in shipped, "deploy prometheus.yml rewritten")
    with open(cfg, "w") as f:
        f.write(shipped)
    prom_log = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen([prometheus, f"--config.file={cfg}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=prom_log, stderr=subprocess.STDOUT)
    procs.append(prom)
    prom_base = f"http://127.0.0.1:{prom_port}"
    for _ in range(200):
        try:
            if http(prom_base + "/-/ready", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        print(open(os.path.join(tmp, "prometheus.log")).read())
        print("prometheus did not become ready")
        return 1

    # rate() needs a sample from before the load: wait for the first scrape
    # (a busy machine can delay it past a short load, and every rate is then 0).
    for _ in range(300):
        res, _ = promql(prom_base, 'up{job="infergrid"}')
        if numbers(res) == [1]:
            break
        time.sleep(0.1)
    else:
        print("prometheus never scraped the server")
        return 1

    # Load: shared long prefix (prefix-cache hits), streaming and not, tenants.
    prefix = "Once upon a time there was a little girl named Lily who loved to play in the park. " * 4
    sent = {"ok": 0, "prompt": 0, "completion": 0, "bad": 0}
    ids = set()
    lock = threading.Lock()

    def one(i):
        stream = i % 3 == 0
        body = {"model": "prom-model", "prompt": prefix + f"Story {i}:", "max_tokens": 4 + i % 5,
                "temperature": 0, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        rid = f"load-{i}"
        status, headers, text = http(base + "/v1/completions", json.dumps(body),
                                     {"X-Request-Id": rid, "X-Tenant-Id": f"tenant{i % 3}"})
        check(status == 200, f"request {i}: {status} {text[:200]}")
        check(headers.get("X-Request-Id") == rid, f"request {i}: X-Request-Id {headers}")
        if stream:
            usage = [json.loads(l[6:])["usage"] for l in text.split("\n")
                     if l.startswith("data: {") and json.loads(l[6:]).get("usage")][-1]
        else:
            usage = json.loads(text)["usage"]
        with lock:
            sent["ok"] += 1
            sent["prompt"] += usage["prompt_tokens"]
            sent["completion"] += usage["completion_tokens"]
            ids.add(rid)

    n = 36
    t_end = time.time() + 6  # spread over a few scrapes
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = []
        for i in range(n):
            futures.append(pool.submit(one, i))
            time.sleep(max(0.0, (t_end - time.time()) / max(1, n - i)))
        for f in futures:
            f.result()
    for _ in range(2):
        status, _, _ = http(base + "/v1/completions", "{not json")
        check(status == 400, f"bad request answered {status}")
        sent["bad"] += 1

    # promtool on a live scrape.
    _, _, scrape = http(base + "/metrics")
    r = subprocess.run([promtool, "check", "metrics"], input=scrape, capture_output=True, text=True)
    check(r.returncode == 0, f"promtool check metrics: {r.stdout}{r.stderr}")

    # Wait until Prometheus has scraped the final counters.
    want = sent["ok"]
    for _ in range(100):
        res, _ = promql(prom_base, 'sum(infergrid_request_success_total{model="prom-model"})')
        got = numbers(res)
        bad, _ = promql(prom_base, 'sum(infergrid_request_errors_total)')
        if got and got[0] == want and numbers(bad) == [sent["bad"]]:
            break
        time.sleep(0.2)
    time.sleep(1.5)  # one more scrape so rate() windows hold the end of the load

    def scalar(expr):
        res, body = promql(prom_base, expr)
        vals = numbers(res)
        check(len(vals) == 1, f"{expr}: expected one value, got {body[:300]}")
        return vals[0] if vals else float("nan")

    check(scalar('sum(infergrid_request_success_total)') == sent["ok"], "request_success_total")
    check(scalar('sum(infergrid_prompt_tokens_total)') == sent["prompt"], "prompt_tokens_total")
    check(scalar('sum(infergrid_generation_tokens_total)') == sent["completion"],
          "generation_tokens_total")
    check(scalar('sum(infergrid_request_errors_total{type="invalid_json"})') == sent["bad"],
          "request_errors_total")
    check(scalar('sum(infergrid_http_requests_total{endpoint="/v1/completions",status="200"})')
          == sent["ok"], "http_requests_total 200")
    check(scalar('sum(infergrid_time_to_first_token_seconds_count)') == sent["ok"], "ttft count")
    check(scalar('count(count by (tenant) (infergrid_request_success_total))') == 3, "tenants")
    # vLLM dashboards' label, from the shipped relabel rule.
    check(scalar('sum(infergrid_request_success_total{model_name="prom-model"})') == sent["ok"],
          "model_name label")
    check(scalar('sum(infergrid_prefix_cache_hits_total)') > 0, "prefix cache hits")

    exprs = ["histogram_quantile(0.99, rate(infergrid_time_to_first_token_seconds_bucket[1m]))"]
    dash = json.load(open(DASHBOARD))
    for p in dash["panels"]:
        for t in p["targets"]:
            exprs.append(t["expr"].replace("$__rate_interval", "1m")
                         .replace("$model", ".*").replace("$instance", ".*"))
    for e in exprs:
        res, body = promql(prom_base, e)
        vals = numbers(res)
        check(res is not None and len(vals) >= 1 and all(not math.isnan(v) for v in vals),
              f"dashboard query returned no number: {e} -> {body[:300]}")
    print(f"{len(exprs)} queries answered; sent {sent}")

    # One JSON log line per generation request, no prompt text.
    serve.terminate()
    serve.wait(30)
    lines = [json.loads(l) for l in open(log_path) if l.startswith("{")]
    lines = [l for l in lines if l.get("event") == "request"]
    check(len(lines) == sent["ok"] + sent["bad"], f"{len(lines)} request log lines")
    check({l["request_id"] for l in lines if l["status"] == 200} == ids, "logged request ids")
    check("little girl named Lily" not in open(log_path).read(), "prompt text in the log")

    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
