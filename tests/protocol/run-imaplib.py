#!/usr/bin/python3
"""A realistic client session with Python's imaplib against the real
binary (standalone on 127.0.0.1): list, select, fetch headers, structure
and bodies, store flags, copy with COPYUID, append, expunge, and a second
client seeing the first one's changes. Prints "N passed, N failed"."""

import email
import imaplib
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaptest  # noqa: E402
from imaptest import Env, fail  # noqa: E402

MULTIPART = (b"From: Carol <carol@example.net>\r\nTo: alice@example.org\r\n"
             b"Subject: report\r\nDate: Wed, 25 Nov 2026 08:00:00 +0000\r\n"
             b"Message-ID: <2@example.net>\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             b"See attached.\r\n--b\r\nContent-Type: application/pdf; "
             b"name=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"
             b"Content-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n"
             b"JVBERi0xLjQK\r\n--b--\r\n")


def ok(typ, data, what):
    if typ != "OK":
        fail("%s: %s %r" % (what, typ, data))
    return data


def login(port):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=imaptest.TIMEOUT)
    ok(*m.login("demo", "secret"), what="LOGIN")
    return m


def realistic_session(env, port):
    m = login(port)
    caps = ok(*m.capability(), what="CAPABILITY")[0].upper().split()
    for cap in (b"UIDPLUS", b"IMAP4REV1"):
        if cap not in caps:
            fail("capability %s missing from %r" % (cap, caps))
    ok(*m.list(), what="LIST")
    ok(*m.append("INBOX", "(\\Flagged)", None, MULTIPART), what="APPEND")
    data = ok(*m.select("INBOX"), what="SELECT")
    if data != [b"2"]:
        fail("SELECT: %r" % data)
    # What a client lists first: flags, sizes, dates and a few headers.
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE "
                      "BODY.PEEK[HEADER.FIELDS (From Subject Date Message-ID)])")
    ok(typ, data, "UID FETCH headers")
    hdrs = [email.message_from_bytes(d[1]) for d in data if isinstance(d, tuple)]
    if [h["Subject"] for h in hdrs] != ["hello", "report"]:
        fail("subjects: %r" % [h["Subject"] for h in hdrs])
    metas = [d[0] for d in data if isinstance(d, tuple)]
    if len(metas) != 2 or b"\\Seen" in metas[1] or b"UID 2 " not in metas[1]:
        fail("PEEK: %r" % metas)
    # Structure, then the whole message: its size matches RFC822.SIZE.
    typ, data = m.fetch("2", "(RFC822.SIZE BODYSTRUCTURE ENVELOPE)")
    ok(typ, data, "FETCH structure")
    head = data[0] if isinstance(data[0], bytes) else data[0][0]
    if b'"application" "pdf"' not in head or b'"report"' not in head:
        fail("BODYSTRUCTURE/ENVELOPE: %r" % head)
    size = int(head.split(b"RFC822.SIZE ")[1].split(b" ")[0])
    typ, data = m.fetch("2", "(RFC822)")
    ok(typ, data, "FETCH RFC822")
    if data[0][1] != MULTIPART or size != len(MULTIPART):
        fail("RFC822: %d bytes, size %d, want %d" % (len(data[0][1]), size,
                                                    len(MULTIPART)))
    if b"\\Seen" not in data[0][0] + (data[1] if isinstance(data[1], bytes) else b""):
        fail("RFC822 did not report \\Seen: %r" % data)
    typ, data = m.fetch("2", "(BODY.PEEK[2]<0.4> BODY.PEEK[1.MIME])")
    ok(typ, data, "FETCH parts")
    if data[0][1] != b"JVBE" or not data[1][1].startswith(b"Content-Type: text/plain"):
        fail("parts: %r" % data)
    # Flags, copy, expunge.
    data = ok(*m.store("1", "+FLAGS", "(\\Deleted $Junk)"), what="STORE")
    if b"\\Deleted" not in data[0] or b"$Junk" not in data[0]:
        fail("STORE: %r" % data)
    b = login(port)
    ok(*b.select("INBOX"), what="second SELECT")
    typ, data = m.copy("1:2", "Archive")
    ok(typ, data, "COPY")
    if not data[0].startswith(b"[COPYUID ") or b" 1:2 1:2] " not in data[0]:
        fail("COPYUID: %r" % data)
    ok(*m.expunge(), what="EXPUNGE")
    typ, data = b.noop()
    if typ != "OK" or b.response("EXPUNGE")[1] != [b"1"]:
        fail("second client did not see EXPUNGE: %r" % (b.untagged_responses,))
    typ, data = b.fetch("1", "FLAGS")
    if typ != "OK" or b"\\Seen" not in data[0]:
        fail("second client flags: %r" % data)
    ok(*m.select("Archive"), what="SELECT Archive")
    typ, data = m.fetch("1:*", "(FLAGS)")
    if len(data) != 2 or b"$Junk" not in data[0]:
        fail("Archive: %r" % data)
    b.logout()
    m.logout()


def main():
    passed = failed = 0
    for case in (realistic_session,):
        try:
            with Env() as env:
                proc, port = env.start_standalone()
                case(env, port)
                report = env.sanitizer_report()
                if report:
                    fail(report)
            passed += 1
            print("ok   %s" % case.__name__)
        except Exception:
            failed += 1
            print("FAIL %s" % case.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
