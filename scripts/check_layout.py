#!/usr/bin/env python3
"""Checks the module table in ARCHITECTURE.md against the code.

Every folder under src/ is a module with a row in the table ("| name/ |
owns | may use |"). A module may include its own headers and those of the
modules it may use, directly or through them (the arrows run down the table
only). CMakeLists.txt must link each module library (ig_module(name DEPS
...)) against exactly the ig_ libraries its row names. `any` in the last
column allows every module. A test folder (ig_test_module(name ... DEPS
...) in tests/CMakeLists.txt) may include tests/support/ and the modules its
binary links, with what they may use.

Usage: check_layout.py [--root DIR]   (exit 0: consistent; 1: lists each breach)
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include\s+"([a-z0-9_]+)/[^"]+"', re.M)
ROW = re.compile(r'^\|\s*`?([a-z0-9_]+)/`?\s*\|[^|]*\|([^|]*)\|\s*$')
MODULE = re.compile(r'ig_module\(\s*([a-z0-9_]+)((?:\s+[^)]*)?)\)', re.S)
TEST_MODULE = re.compile(r'^ig_test_module\(\s*([a-z0-9_]+)((?:\s+[^)]*)?)\)', re.S | re.M)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def table(root, modules):
    """module -> set of modules it may use directly ('any': all)."""
    rows = {}
    for line in read(os.path.join(root, "ARCHITECTURE.md")).splitlines():
        m = ROW.match(line)
        if not m or m.group(1) not in modules:
            continue
        uses = {u.strip().strip("`").rstrip("/") for u in m.group(2).split(",")}
        rows[m.group(1)] = set(modules) if "any" in uses else {u for u in uses if u in modules}
    return rows


def closure(rows, name, seen=None):
    seen = set() if seen is None else seen
    for dep in rows.get(name, ()):
        if dep not in seen:
            seen.add(dep)
            closure(rows, dep, seen)
    return seen


def cmake_deps(root, cmake="CMakeLists.txt", pattern=MODULE):
    """module -> set of ig_ libraries in its ig_module(... DEPS ...) call."""
    out = {}
    path = os.path.join(root, cmake)
    if not os.path.exists(path):
        return out
    for m in pattern.finditer(read(path)):
        args = m.group(2).split()
        deps = args[args.index("DEPS") + 1:] if "DEPS" in args else []
        out[m.group(1)] = {d[3:] for d in deps if d.startswith("ig_")}
    return out


def check(root):
    src = os.path.join(root, "src")
    modules = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    rows = table(root, modules)
    errors = []
    for mod in modules:
        if mod not in rows:
            errors.append(f"src/{mod}/ has no row in ARCHITECTURE.md's module table")
    libs = cmake_deps(root)
    for mod in modules:
        if mod == "app" or mod not in rows:
            continue  # the executable links what it uses; every module may serve it
        if mod not in libs:
            errors.append(f"src/{mod}/ has no ig_module({mod} ...) in CMakeLists.txt")
        elif libs[mod] != rows[mod]:
            errors.append(f"CMakeLists.txt links ig_{mod} against {sorted(libs[mod])}, "
                          f"ARCHITECTURE.md says {sorted(rows[mod])}")
    for mod in modules:
        allowed = closure(rows, mod) | {mod}
        errors += bad_includes(root, os.path.join(src, mod), modules, allowed,
                               f"which {mod}/ may not use (ARCHITECTURE.md)")
    tests = cmake_deps(root, os.path.join("tests", "CMakeLists.txt"), TEST_MODULE)
    for name, deps in sorted(tests.items()):
        allowed = set()
        for dep in deps & set(modules):
            allowed |= closure(rows, dep) | {dep}
        errors += bad_includes(root, os.path.join(root, "tests", name), modules, allowed,
                               f"which {name}_tests does not link (tests/CMakeLists.txt)")
    return errors


def bad_includes(root, folder, modules, allowed, why):
    """Includes of a module outside `allowed` in the sources under `folder`."""
    errors = []
    for dirpath, _, files in os.walk(folder):
        for fn in sorted(files):
            if not fn.endswith((".h", ".cpp", ".inc")):
                continue
            path = os.path.join(dirpath, fn)
            text = read(path)
            for m in INCLUDE.finditer(text):
                target = m.group(1)
                if target in modules and target not in allowed:
                    line = text.count("\n", 0, m.start()) + 1
                    rel = os.path.relpath(path, root)
                    errors.append(f"{rel}:{line}: includes {target}/, {why}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    errors = check(os.path.abspath(ap.parse_args().root))
    for e in errors:
        print(e)
    if errors:
        print(f"{len(errors)} layout error(s)")
        return 1
    print("layout: includes and link dependencies follow ARCHITECTURE.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
