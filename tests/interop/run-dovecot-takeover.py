#!/usr/bin/python3
"""Take over a Maildir that Dovecot served: the UIDs must not change.

Dovecot's imap binary (Debian package dovecot-imapd, pre-authenticated)
serves a fresh Maildir first: it APPENDs messages with flags, a keyword and
internal dates into INBOX and a folder, expunges one (a gap in the UIDs)
and records what a client sees (UIDVALIDITY, UIDNEXT, each message's UID,
flags and INTERNALDATE). An MDA then delivers one more message into new/.
imapmoved, started on the same Maildir (it has no UID list of its own yet),
must show exactly the same, the new message with Dovecot's UIDNEXT as its
UID, and the same subscriptions (Dovecot 2.3 writes them in its own
version 2 format). Skipped (0 passed) when Dovecot is not installed. Prints "N passed, N
failed".
"""
import datetime
import imaplib
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))
from imaptest import Env  # noqa: E402
sys.path.insert(0, HERE)
import dovecot_imap  # noqa: E402

MESSAGES = [
    # (folder, flags, internal date, subject)
    ("INBOX", r"\Seen", "01-Feb-2024 10:00:00 +0000", "first"),
    ("INBOX", r"\Flagged $Label1", "02-Feb-2024 11:30:00 +0000", "second"),
    ("INBOX", "", "03-Mar-2024 23:59:59 +0000", "third"),
    ("INBOX", r"\Seen \Answered", "04-Apr-2024 00:00:01 +0000", "fourth"),
    ("INBOX", r"\Deleted", "05-May-2024 12:00:00 +0000", "expunged"),
    ("INBOX", r"\Draft", "06-Jun-2024 06:06:06 +0000", "sixth"),
    ("Work", r"\Deleted", "07-Jul-2024 07:00:00 +0000", "work gone"),
    ("Work", r"\Seen", "07-Jul-2024 07:07:07 +0000", "work one"),
    ("Work", "", "08-Aug-2024 08:08:08 +0000", "work two"),
]


def body(subject):
    return ("From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.org>\r\n\r\nText of %s.\r\n"
            % (subject, subject.replace(" ", "."), subject)).encode()


def parse_view(lines):
    """{uid: (flags, internal date)} of FETCH (UID FLAGS INTERNALDATE)
    lines, \\Recent left out (it belongs to the session)."""
    out = {}
    for line in lines:
        if isinstance(line, tuple):
            line = line[0]
        m_uid = re.search(rb"UID (\d+)", line)
        m_flags = re.search(rb"FLAGS \(([^)]*)\)", line)
        m_date = re.search(rb'INTERNALDATE "([^"]+)"', line)
        if not (m_uid and m_flags and m_date):
            continue
        flags = sorted(f for f in m_flags.group(1).decode().split()
                       if f != "\\Recent")
        date = datetime.datetime.strptime(m_date.group(1).decode().strip(),
                                          "%d-%b-%Y %H:%M:%S %z")
        out[int(m_uid.group(1))] = (flags, date.timestamp())
    return out


def status(lines):
    text = b" ".join(lines)
    return (int(re.search(rb"UIDVALIDITY (\d+)", text).group(1)),
            int(re.search(rb"UIDNEXT (\d+)", text).group(1)))


def run_dovecot(env, maildir):
    d = dovecot_imap.Session(env.dir, maildir, env.uid, env.gid, user="demo")

    def command(tag, text):
        out = d.command(tag, text)
        if not re.search(rb"(^|\r\n)" + tag + rb" OK", out):
            raise RuntimeError("Dovecot: %s: %r" % (text[:60], out[-300:]))
        return out.split(b"\r\n")

    seen = {}
    try:
        command(b"c", b"CREATE Work")
        command(b"c2", b"CREATE Work.Sub")
        command(b"u1", b"SUBSCRIBE Work")
        command(b"u2", b"SUBSCRIBE Work.Sub")
        lsub = command(b"ls", b'LSUB "" "*"')
        seen["subscribed"] = sorted(
            ln.rsplit(b" ", 1)[1].decode() for ln in lsub
            if ln.startswith(b"* LSUB"))
        for n, (box, flags, date, subject) in enumerate(MESSAGES):
            data = body(subject)
            command(b"a%d" % n, b'APPEND %s (%s) "%s" {%d+}\r\n%s' % (
                box.encode(), flags.encode(), date.encode(), len(data), data))
        for box in (b"INBOX", b"Work"):
            command(b"s", b"SELECT " + box)
            command(b"e", b"EXPUNGE")
        for box in ("INBOX", "Work"):
            st = command(b"t", b"STATUS %s (UIDVALIDITY UIDNEXT)" % box.encode())
            command(b"x", b"EXAMINE %s" % box.encode())
            view = parse_view(command(b"f", b"FETCH 1:* (UID FLAGS INTERNALDATE)"))
            seen[box] = (status(st), view)
    finally:
        d.close()
    return seen


def run_ours(env):
    proc, port = env.start_standalone()
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    m.login("demo", "secret")
    seen = {}
    for box in ("INBOX", "Work"):
        typ, st = m.status(box, "(UIDVALIDITY UIDNEXT)")
        m.select(box)
        typ, data = m.fetch("1:*", "(UID FLAGS INTERNALDATE)")
        seen[box] = (status(st), parse_view(data))
    typ, lsub = m.lsub('""', "*")
    seen["subscribed"] = sorted(ln.rsplit(b" ", 1)[1].decode()
                                for ln in lsub if ln)
    m.logout()
    env.check_exit(proc)
    return seen


def main():
    if not dovecot_imap.available():
        print("skipped: %s not installed" % dovecot_imap.DOVECOT_IMAP)
        print("0 passed, 0 failed")
        return 0
    passed = failed = 0
    with Env() as env:
        maildir = os.path.join(env.home("demo"), "Maildir")
        cur = os.path.join(maildir, "cur")
        for name in os.listdir(cur):  # the greeting message of Env
            os.unlink(os.path.join(cur, name))
        theirs = run_dovecot(env, maildir)
        # An MDA delivers one more while no server runs.
        tmp = os.path.join(maildir, "tmp", "1800000000.M1P1.mda")
        with open(tmp, "wb") as f:
            f.write(body("delivered later"))
        os.chown(tmp, env.uid, env.gid)
        os.utime(tmp, (1725000000, 1725000000))
        os.rename(tmp, os.path.join(maildir, "new", "1800000000.M1P1.mda"))
        # A UIDVALIDITY imapmoved made up would now differ from Dovecot's
        # (both take the time in seconds).
        time.sleep(1.1)
        mine = run_ours(env)
        for box in ("INBOX", "Work"):
            (v, nxt), view = theirs[box]
            (v2, nxt2), view2 = mine[box]
            want = dict(view)
            if box == "INBOX":
                want[nxt] = ([], 1725000000.0)
                nxt += 1
            checks = [
                ("UIDVALIDITY", v, v2),
                ("UIDNEXT", nxt, nxt2),
                ("UIDs, flags and internal dates", want, view2),
            ]
            for what, a, b in checks:
                if a == b:
                    passed += 1
                    print("ok   %s %s" % (box, what))
                else:
                    failed += 1
                    print("FAIL %s %s:\n  Dovecot    %r\n  imapmoved  %r"
                          % (box, what, a, b))
        if theirs["subscribed"] == mine["subscribed"] == ["Work", "Work.Sub"]:
            passed += 1
            print("ok   subscriptions")
        else:
            failed += 1
            print("FAIL subscriptions: Dovecot %r, imapmoved %r"
                  % (theirs["subscribed"], mine["subscribed"]))
        if sorted(theirs["INBOX"][1]) != [1, 2, 3, 4, 6] or \
                sorted(theirs["Work"][1]) != [2, 3]:
            failed += 1
            print("FAIL Dovecot's UIDs are not the expected 1-4,6 and 2-3: "
                  "%r %r" % (sorted(theirs["INBOX"][1]),
                             sorted(theirs["Work"][1])))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
