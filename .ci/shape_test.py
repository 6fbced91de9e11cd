#!/usr/bin/env python3
"""Checks .ci/shape on small crates written here: braces in strings, chars
and comments do not move a function's end; test code does not count."""

import os
import subprocess
import sys
import tempfile
import unittest

SHAPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shape")


def run(files):
    with tempfile.TemporaryDirectory() as root:
        for path, text in files.items():
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        p = subprocess.run(
            [sys.executable, SHAPE, "--all", "--root", root], capture_output=True, text=True
        )
        return p.returncode, p.stdout + p.stderr


def body(n):
    return "".join(f"    let x{i} = {i};\n" for i in range(n))


class Shape(unittest.TestCase):
    def test_long_function_named(self):
        code, out = run({"src/lib.rs": "fn short() {}\nfn long() {\n" + body(80) + "}\n"})
        self.assertEqual(code, 1)
        self.assertIn("src/lib.rs:2: fn long is 82 lines", out)

    def test_braces_in_strings_chars_comments_ignored(self):
        tricky = (
            'fn a() {\n    let s = "}}}";\n    let c = \'}\';\n    // }\n'
            '    /* } /* nested } */ } */\n    let r = r#"}"#;\n    let l: &\'static str = "";\n}\n'
        )
        code, out = run({"src/lib.rs": tricky + "fn b() {\n" + body(79) + "}\n"})
        self.assertEqual(code, 1, out)
        self.assertIn("src/lib.rs:9: fn b is 81 lines", out)
        self.assertIn("8  src/lib.rs:1 a", out)

    def test_test_code_does_not_count(self):
        inline = "fn f() {}\n#[cfg(test)]\nmod tests {\n    fn big() {\n" + body(600) + "    }\n}\n"
        outlined = "#[cfg(test)]\nmod tests;\n"
        code, out = run(
            {
                "src/lib.rs": inline,
                "src/m.rs": outlined,
                "src/m/tests.rs": "fn big() {\n" + body(600) + "}\n",
            }
        )
        self.assertEqual(code, 0, out)

    def test_long_file_named(self):
        code, out = run({"src/big.rs": "const A: u8 = 0;\n" * 501})
        self.assertEqual(code, 1)
        self.assertIn("src/big.rs: 501 lines of non-test code", out)

    def test_unsafe_anywhere(self):
        code, out = run(
            {"src/lib.rs": 'const S: &str = "unsafe";\n', "tests/t.rs": "fn f() { unsafe {} }\n"}
        )
        self.assertEqual(code, 1)
        self.assertIn("tests/t.rs:1: unsafe", out)
        self.assertNotIn("src/lib.rs:1: unsafe", out)


if __name__ == "__main__":
    unittest.main()
