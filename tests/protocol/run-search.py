#!/usr/bin/python3
"""Black-box tests of SEARCH and UID SEARCH (RFC 3501 6.4.4) through
Python's imaplib against the real binary: the searches a client makes in a
realistic session (flags, dates, headers, bodies, a UTF-8 literal), and
two sessions on one mailbox, where SEARCH must not report another
session's EXPUNGE while UID SEARCH and NOOP may.

The binary is $IMAPMOVED_BIN. Prints one line per test and a final "N
passed, N failed"; exits non-zero on any failure.

Usage: run-search.py [-v] [-k SUBSTRING]...
"""

import imaplib
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imaptest import BIN, Env, TestFailure, fail  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append((fn.__name__, fn))
    return fn


MESSAGES = [
    # (flags, internal date, message)
    ("(\\Seen)", "02-Jan-2024 10:00:00 +0000",
     "From: Alice <alice@example.org>\r\nTo: demo@example.org\r\n"
     "Subject: Lunch\r\nDate: Tue, 2 Jan 2024 09:00:00 +0000\r\n\r\n"
     "See you at noon.\r\n"),
    ("(\\Flagged)", "03-Jan-2024 10:00:00 +0000",
     "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>\r\n"
     "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
     "MIME-Version: 1.0\r\n"
     "Content-Type: text/plain; charset=utf-8\r\n"
     "Content-Transfer-Encoding: base64\r\n\r\n"
     "U2Now7ZuZSBHcsO8w59lCg==\r\n"),
    ("()", "04-Jan-2024 10:00:00 +0000",
     "From: bob@example.com\r\nSubject: Notes\r\n\r\nRemember the milk.\r\n"),
]


def connect(port):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    typ, _ = m.login("demo", "secret")
    if typ != "OK":
        fail("login: %s" % typ)
    return m


def fill(m):
    """Append MESSAGES after the one the test Maildir starts with (a \\Seen
    message from Bob, delivered now); returns their UIDs."""
    uids = []
    for flags, date, msg in MESSAGES:
        typ, data = m.append("INBOX", flags, '"%s"' % date, msg.encode())
        if typ != "OK":
            fail("append: %s %s" % (typ, data))
        uids.append(data[0].decode().split()[2].rstrip("]"))
    return uids


def expect(what, got, want):
    typ, data = got
    if typ != "OK" or data != [want.encode()]:
        fail("%s: got %s %s, want OK [%r]" % (what, typ, data, want))


@test
def imaplib_searches_of_a_realistic_session():
    with Env() as env:
        proc, port = env.start_standalone()
        m = connect(port)
        try:
            uids = fill(m)
            typ, data = m.select("INBOX")
            if typ != "OK" or data != [b"4"]:
                fail("select: %s %s" % (typ, data))
            expect("all", m.search(None, "ALL"), "1 2 3 4")
            expect("unseen", m.search(None, "UNSEEN"), "3 4")
            expect("from", m.search(None, "FROM", '"alice"'), "2")
            expect("or", m.search(None, "OR", "FLAGGED", "SUBJECT notes"),
                   "3 4")
            expect("dates", m.search(None, "SINCE", "3-Jan-2024",
                                     "BEFORE", "4-Jan-2024"), "3")
            expect("sent", m.search(None, "SENTON", "2-Jan-2024"), "2")
            expect("base64 utf-8 body",
                   m.search(None, "BODY", '"gr\u00fc\u00dfe"'.encode()), "3")
            expect("text", m.search(None, "TEXT", "milk"), "4")
            expect("uid", m.uid("SEARCH", "UNSEEN"),
                   "%s %s" % (uids[1], uids[2]))
            # A UTF-8 literal, as imaplib sends non-ASCII strings.
            m.literal = "J\u00f6rg".encode()
            expect("utf-8 literal", m.search("UTF-8", "FROM"), "3")
            typ, data = m.search("KOI8-R", "ALL")
            if typ != "NO" or not data[0].startswith(b"[BADCHARSET "):
                fail("KOI8-R: %s %s" % (typ, data))
            try:
                m.search(None, "FROBNICATE")
                fail("unknown key: no error")
            except imaplib.IMAP4.error as e:
                if "Unknown search key" not in str(e):
                    fail("unknown key: %s" % e)
            expect("still usable", m.search(None, "DELETED"), "")
        finally:
            m.logout()
        env.check_exit(proc)


@test
def search_defers_another_sessions_expunge_uid_search_does_not():
    with Env() as env:
        proc, port = env.start_standalone()
        a = connect(port)
        b = connect(port)
        try:
            fill(a)
            typ, _ = a.append("INBOX", "(\\Deleted)", None,
                              b"Subject: doomed\r\n\r\ngone\r\n")
            if typ != "OK":
                fail("append: %s" % typ)
            for m in (a, b):
                if m.select("INBOX")[0] != "OK":
                    fail("select")
            if b.expunge() != ("OK", [b"5"]):
                fail("expunge in b")
            a.untagged_responses.pop("EXPUNGE", None)
            expect("search after expunge", a.search(None, "NOT SEEN"), "3 4")
            if "EXPUNGE" in a.untagged_responses:
                fail("EXPUNGE during SEARCH: %s" % a.untagged_responses)
            expect("uid search", a.uid("SEARCH", "SUBJECT doomed"), "")
            if a.untagged_responses.get("EXPUNGE") != [b"5"]:
                fail("no EXPUNGE after UID SEARCH: %s"
                     % a.untagged_responses)
            expect("after the expunge", a.search(None, "ALL"), "1 2 3 4")
        finally:
            a.logout()
            b.logout()
        env.check_exit(proc)


def main(argv):
    verbose = "-v" in argv
    filters = [argv[i + 1] for i, x in enumerate(argv)
               if x == "-k" and i + 1 < len(argv)]
    if not os.access(BIN, os.X_OK):
        print("imapmoved binary not found: %s (set IMAPMOVED_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    print("binary: %s" % BIN)
    passed = failed = 0
    failures = []
    start_t = time.monotonic()
    for name, fn in TESTS:
        if filters and not any(f in name for f in filters):
            continue
        t0 = time.monotonic()
        try:
            fn()
        except TestFailure as e:
            failed += 1
            failures.append(name)
            print("FAIL %s\n  %s" % (name, str(e).replace("\n", "\n  ")))
            continue
        except Exception:
            failed += 1
            failures.append(name)
            print("FAIL %s (exception)\n  %s"
                  % (name, traceback.format_exc().replace("\n", "\n  ")))
            continue
        passed += 1
        if verbose:
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0))
    print("%.1fs%s" % (time.monotonic() - start_t,
                       ("; failed: " + " ".join(failures)) if failures else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
