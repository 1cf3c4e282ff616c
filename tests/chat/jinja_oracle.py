#!/usr/bin/python3
"""Renders chat templates the way Hugging Face's apply_chat_template does, as the
oracle for tests/chat/chat_template_test.cpp.

Usage: jinja_oracle.py JOBS.json RESULTS.json
JOBS: [{"template", "messages", "tools"?, "add_generation_prompt", "bos_token",
        "eos_token", "now", "extra_context"?}, ...]
RESULTS: [{"ok": true, "text": ...} | {"ok": false, "error": ...}, ...]

Environment as transformers.utils.chat_template_utils._compile_jinja_template:
ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks, loopcontrols + the
{% generation %} tag), tojson = json.dumps(ensure_ascii=False, ...),
raise_exception, strftime_now.
"""
import datetime
import json
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def render(job):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    now = job.get("now", 0)
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.fromtimestamp(now).strftime(fmt)
    tpl = env.from_string(job["template"])
    ctx = dict(job.get("extra_context") or {})
    ctx["messages"] = job["messages"]
    if job.get("tools") is not None:
        ctx["tools"] = job["tools"]
    ctx["add_generation_prompt"] = job["add_generation_prompt"]
    ctx["bos_token"] = job.get("bos_token", "")
    ctx["eos_token"] = job.get("eos_token", "")
    return tpl.render(**ctx)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    out = []
    for job in jobs:
        try:
            out.append({"ok": True, "text": render(job)})
        except Exception as e:  # any failure is an expected error on our side
            out.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
