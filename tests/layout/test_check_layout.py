#!/usr/bin/env python3
"""scripts/check_layout.py finds what it must on a small made-up tree.

Run: /usr/bin/python3 tests/layout/test_check_layout.py
"""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "check_layout.py")

TABLE = """# map

| folder | owns | may use |
|---|---|---|
| util/ | errors | std, fmt |
| low/ | things | util |
| mid/ | more | low |
| side/ | other | util |
| app/ | main | any |
"""

CMAKE = """
ig_module(util DEPS fmt::fmt)
ig_module(low DEPS ig_util)
ig_module(mid DEPS ig_low nlohmann_json::nlohmann_json)
ig_module(side DEPS ig_util)
"""


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(root):
    p = subprocess.run([sys.executable, SCRIPT, "--root", root], capture_output=True, text=True)
    return p.returncode, p.stdout


class CheckLayout(unittest.TestCase):
    def tree(self, table=TABLE, cmake=CMAKE):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        write(d.name, "ARCHITECTURE.md", table)
        write(d.name, "CMakeLists.txt", cmake)
        write(d.name, "src/util/e.h", "#pragma once\n#include <vector>\n")
        write(d.name, "src/low/l.h", '#include "util/e.h"\n')
        # mid may use util through low (transitive).
        write(d.name, "src/mid/m.cpp", '#include "mid/m.h"\n#include "util/e.h"\n#include "low/l.h"\n')
        write(d.name, "src/mid/m.h", "#pragma once\n")
        write(d.name, "src/side/s.cpp", '#include "util/e.h"\n')
        write(d.name, "src/app/main.cpp", '#include "mid/m.h"\n#include "side/s.h"\n')
        return d.name

    def test_consistent_tree_passes(self):
        rc, out = run(self.tree())
        self.assertEqual(rc, 0, out)

    def test_include_up_the_table_fails(self):
        root = self.tree()
        write(root, "src/low/bad.cpp", '#include "low/l.h"\n\n#include "mid/m.h"\n')
        rc, out = run(root)
        self.assertEqual(rc, 1)
        self.assertIn("src/low/bad.cpp:3: includes mid/", out)

    def test_include_sideways_fails(self):
        root = self.tree()
        write(root, "src/mid/x.inc", '#  include "side/s.h"\n')
        rc, out = run(root)
        self.assertEqual(rc, 1)
        self.assertIn("src/mid/x.inc:1: includes side/", out)

    def test_link_list_must_match_the_row(self):
        rc, out = run(self.tree(cmake=CMAKE.replace("ig_module(side DEPS ig_util)",
                                                    "ig_module(side DEPS ig_util ig_low)")))
        self.assertEqual(rc, 1)
        self.assertIn("links ig_side against ['low', 'util']", out)

    def test_folder_without_row_or_library_fails(self):
        root = self.tree()
        write(root, "src/extra/e.cpp", "\n")
        rc, out = run(root)
        self.assertEqual(rc, 1)
        self.assertIn("src/extra/ has no row", out)
        rc, out = run(self.tree(cmake=CMAKE.replace("ig_module(side DEPS ig_util)\n", "")))
        self.assertEqual(rc, 1)
        self.assertIn("no ig_module(side", out)

    def test_test_folders_include_only_what_they_link(self):
        root = self.tree()
        write(root, "tests/CMakeLists.txt",
              "function(ig_test_module name)\nendfunction()\n"
              "ig_test_module(low DEPS ig_low)\nig_test_module(e2e BINARY DEPS ig_mid ig_side)\n")
        write(root, "tests/low/l_test.cpp", '#include "low/l.h"\n#include "util/e.h"\n'
              '#include "support/helper.h"\n')
        write(root, "tests/e2e/e_test.cpp", '#include "mid/m.h"\n#include "util/e.h"\n')
        rc, out = run(root)
        self.assertEqual(rc, 0, out)
        write(root, "tests/low/bad_test.cpp", '#include "side/s.h"\n')
        rc, out = run(root)
        self.assertEqual(rc, 1)
        self.assertIn("tests/low/bad_test.cpp:1: includes side/, which low_tests does not link", out)

    def test_the_repository_itself_passes(self):
        rc, out = run(os.path.join(HERE, "..", ".."))
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
