#!/usr/bin/python3
"""The manual pages: tools/manlint.sh (mandoc -Tlint) passes them, fails
a page with a WARNING or an ERROR and lets STYLE notes pass; imapmoved(8)
describes every option the binary accepts and exactly the systemd units
and examples the tree ships.

The binary is $IMAPMOVED_BIN (for --help). Prints one line per test and a
final "N passed, N failed"; exits non-zero on failure.
"""

import os
import re
import subprocess
import sys
import tempfile
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("IMAPMOVED_BIN", os.path.join(TOP, "imapmoved"))
MANLINT = os.path.join(TOP, "tools", "manlint.sh")
PAGE8 = os.path.join(TOP, "man", "imapmoved.8")
TESTS = []


class Fail(Exception):
    pass


def test(fn):
    TESTS.append(fn)
    return fn


def manlint(*pages):
    r = subprocess.run(["sh", MANLINT] + list(pages), capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


HEAD = ".Dd November 25, 2026\n.Dt LINTCASE 8\n.Os\n.Sh NAME\n.Nm lintcase\n" \
       ".Nd a page for the lint test\n.Sh DESCRIPTION\nText.\n"

# name, body after HEAD, whether manlint must accept it
CASES = [
    ("clean_page", "", True),
    ("style_note_only", ".Sh SEE ALSO\n.Xr no-such-page-anywhere 7\n", True),
    ("warning_unusual_xr_order",
     ".Sh SEE ALSO\n.Xr zzz 8 ,\n.Xr aaa 5\n", False),
    ("warning_sections_out_of_order", ".Sh EXAMPLES\nx\n.Sh FILES\nx\n", False),
    ("warning_tag_list_without_width", ".Bl -tag\n.It x\ny\n.El\n", False),
    ("error_display_without_type", ".Bd\ntext\n.Ed\n", False),
    ("error_unknown_macro", ".Xq what\n", False),
    ("error_unclosed_list", ".Bl -tag -width Ds\n.It foo\nbar\n", False),
]


@test
def shipped_pages_have_no_warning_or_error():
    rc, out = manlint()
    if rc != 0:
        raise Fail("tools/manlint.sh: rc %d\n%s" % (rc, out))


@test
def manlint_tells_warnings_and_errors_from_style_notes():
    with tempfile.TemporaryDirectory(prefix="imapmoved-manlint-") as d:
        for name, body, ok in CASES:
            path = os.path.join(d, name + ".8")
            with open(path, "w") as f:
                f.write(HEAD + body)
            rc, out = manlint(path)
            if (rc == 0) != ok:
                raise Fail("%s: expected %s, rc %d\n%s"
                           % (name, "pass" if ok else "failure", rc, out))


def page_text():
    with open(PAGE8) as f:
        return f.read()


@test
def page_documents_every_option_of_help():
    r = subprocess.run([BIN, "--help"], capture_output=True, timeout=30)
    if r.returncode != 0:
        raise Fail("--help exited %d" % r.returncode)
    options = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", r.stdout.decode()))
    if not {"-c", "-f", "-i", "-t", "--tls", "--version", "--help"} <= options:
        raise Fail("--help lists %s" % sorted(options))
    text = page_text()
    synopsis = text[text.index(".Sh SYNOPSIS"):text.index(".Sh DESCRIPTION")]
    described = text[text.index(".Sh OPTIONS"):text.index(".Sh MODES")]
    for opt in sorted(options):
        macro = "Fl " + opt[1:]
        if macro not in synopsis or ".It " + macro not in described:
            raise Fail("%s missing from SYNOPSIS or OPTIONS" % opt)


@test
def page_names_exactly_the_shipped_units():
    shipped = {n[:-3] if n.endswith(".in") else n
               for n in os.listdir(os.path.join(TOP, "server", "systemd"))
               if n.endswith((".socket", ".service.in"))}
    named = set(re.findall(r"imapmoved[\w@-]*\.(?:socket|service)", page_text()))
    if named != shipped:
        raise Fail("named but not shipped: %s; shipped but not named: %s"
                   % (sorted(named - shipped), sorted(shipped - named)))


@test
def page_inetd_example_matches_the_shipped_lines():
    with open(os.path.join(TOP, "server", "inetd", "inetd.conf.in")) as f:
        shipped = [line.split() for line in f
                   if line.strip() and not line.startswith("#")]
    text = page_text()
    for fields in shipped:
        # The page shows the default paths and leaves -c at its default.
        words = [w.replace("@SBINDIR@", "/usr/local/sbin") for w in fields]
        words = words[:words.index("-c")] if "-c" in words else words
        if not re.search(r"^" + r"\s+".join(map(re.escape, words)) + r"$",
                         text, re.M):
            raise Fail("inetd line %s not in the page" % " ".join(words))


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            print("ok   " + fn.__name__)
            passed += 1
        except Exception as e:
            print("FAIL " + fn.__name__)
            if isinstance(e, Fail):
                print("     " + str(e).replace("\n", "\n     "))
            else:
                traceback.print_exc(file=sys.stdout)
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
