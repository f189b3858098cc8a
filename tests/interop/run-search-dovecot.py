#!/usr/bin/python3
"""Compare our SEARCH answers with Dovecot's over the same Maildir.

A generated Maildir (flags and keywords in the file names, internal dates
as mtimes on both sides of midnight, Date: fields in several forms or
missing, bare-LF and CRLF files, encoded words, quoted-printable and
base64 bodies) is
served by imapmoved (standalone, through imaplib) and by Dovecot's imap
binary (Debian package dovecot-imapd, pre-authenticated, TZ=UTC so that
its local days are UTC days like ours). Every search program of SEARCHES
must give the same sequence numbers on both. Skipped (0 passed) when
Dovecot is not installed. One test per program; prints "N passed, N
failed".
"""
import base64
import imaplib
import os
import random
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))
from imaptest import BIN, Env  # noqa: E402
sys.path.insert(0, HERE)
import dovecot_imap  # noqa: E402

DOVECOT_IMAP = dovecot_imap.DOVECOT_IMAP
COUNT = 60
# Midnight UTC of 2024-03-01, and the internal dates around it.
MIDNIGHT = 1709251200

SEARCHES = [
    "ALL", "SEEN", "UNSEEN", "ANSWERED", "UNANSWERED", "FLAGGED", "DELETED",
    "UNDELETED", "DRAFT", "UNDRAFT", "RECENT", "NEW", "OLD",
    "BEFORE 1-Mar-2024", "ON 1-Mar-2024", "SINCE 1-Mar-2024",
    "ON 29-Feb-2024", "SINCE 2-Mar-2024", "BEFORE 29-Feb-2024",
    "SENTBEFORE 1-Mar-2024", "SENTON 1-Mar-2024", "SENTSINCE 1-Mar-2024",
    "SENTON 29-Feb-2024", "NOT SENTON 1-Mar-2024",
    # Around the file and CRLF sizes of bare-LF messages (272 and 282,
    # 487 and 500 octets).
    "LARGER 272", "SMALLER 282", "LARGER 490", "SMALLER 490", "LARGER 700",
    "SMALLER 300", "LARGER 1000",
    "FROM alice", "FROM \"J\u00d6RG\"", "FROM example.org", "TO bob",
    "CC carol", "BCC dave", "SUBJECT meeting", "SUBJECT \"gr\u00fc\u00dfe\"",
    "HEADER X-Tag \"\"", "HEADER X-Tag blue", "HEADER X-None \"\"",
    "BODY swordfish", "BODY \"caf\u00e9\"", "BODY noon", "BODY meeting",
    "TEXT meeting", "TEXT swordfish", "TEXT \"gr\u00fc\u00dfe\"",
    "NOT SEEN FLAGGED", "OR SEEN FLAGGED", "OR (SEEN DRAFT) NOT DELETED",
    "NOT (OR FROM alice BODY swordfish)", "1:10 UNSEEN", "5,7,20:* SEEN",
    "*", "UID 3:8", "UID 50:*", "OR BODY noon SUBJECT meeting",
    "UNSEEN SINCE 1-Mar-2024 LARGER 300", "KEYWORD $Important",
    "KEYWORD work", "UNKEYWORD Work", "KEYWORD Nope", "UNKEYWORD Nope",
    "OR KEYWORD Work NOT SEEN", "SENTON 27-Feb-2024", "SENTON 7-Mar-2024",
    "SENTON 5-Mar-2024", "SENTON 1-Jan-1970",
    # Numbers past the end match nothing; neither server refuses them.
    "55:70", "61:70", "UID 1000:*", "UID 61",
    # Address fields with their display names, decoded.
    "FROM \"alice <alice\"", "FROM \"<alice@\"", "FROM \"j\u00f6rg <j@\"",
    "TO example.com", "SUBJECT re:", "SUBJECT \"re: meeting\"",
    "HEADER From alice", "HEADER Message-ID 7@",
    # Encoded forms are searched decoded, never raw.
    "HEADER Subject =?UTF-8", "BODY =C3",
    # TEXT covers field names and values of the header.
    "TEXT base64", "TEXT quoted-printable", "TEXT \"from: alice\"",
    "BODY \"noon swordfish\"",
]

# Programs allowed to match no message or every message.
TRIVIAL = {"ALL", "RECENT", "OLD", "NEW", "KEYWORD Nope", "UNKEYWORD Nope",
           "HEADER X-None \"\"", "LARGER 1000", "*", "61:70", "UID 1000:*",
           "UID 61", "SENTON 5-Mar-2024", "HEADER Subject =?UTF-8",
           "BODY =C3"}

WORDS = ["noon", "swordfish", "caf\u00e9", "meeting", "lunch", "report",
         "gr\u00fc\u00dfe", "plain", "text", "milk"]
FROMS = ["Alice <alice@example.org>", "=?ISO-8859-1?Q?J=F6rg?= <j@example.de>",
         "bob@example.com", "Carol <carol@example.net>"]
SUBJECTS = ["Meeting tomorrow", "=?UTF-8?B?R3LDvMOfZQ==?=", "Lunch",
            "Report", "Re: meeting notes"]
DATES = ["Fri, 1 Mar 2024 10:00:00 +0000", "29 Feb 2024 23:30:00 -0800",
         "Sat, 2 Mar 2024 00:00:00 +0000", None, "1 Mar 24 08:00 GMT",
         "Thu, 28 Feb 2024 12:00:00 +0100", "5-Mar-2024 10:00 +0000",
         "(c) Tue, 27 Feb 2024 10:00 +0000", "31 Feb 2024 10:00 +0000",
         "7 march 2024 10:00 +0000", "garbage"]
# Not in DATES on purpose: a three-digit year ("6 Mar 124"), which we
# read as RFC 5322 4.3 says (add 1900) and Dovecot does not read at all.
FLAGS = ["", "S", "RS", "F", "T", "D", "FS", "ST", "a", "Sb", "Fab"]
# Keyword letters a and b, in the file both servers read.
KEYWORDS = "0 $Important\n1 Work\n"


def generate(rnd, n):
    """One message: its bytes, its Maildir info flags, its mtime."""
    hdr = ["From: " + rnd.choice(FROMS), "To: bob@example.com" if n % 3
           else "To: alice@example.org", "Subject: " + rnd.choice(SUBJECTS),
           "Message-ID: <%d@example.org>" % n]
    if n % 4 == 0:
        hdr.append("Cc: carol@example.net")
    if n % 5 == 0:
        hdr.append("Bcc: dave@example.com")
    if n % 6 == 0:
        hdr.append("X-Tag: " + rnd.choice(["blue", "green", ""]))
    date = rnd.choice(DATES)
    if date is not None:
        hdr.append("Date: " + date)
    text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 60)))
    enc = rnd.choice(["7bit", "quoted-printable", "base64"])
    hdr += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: " + enc]
    raw = text.encode()
    if enc == "base64":
        body = base64.encodebytes(raw).decode()
    elif enc == "quoted-printable":
        body = "".join("=%02X" % b if b > 126 else chr(b) for b in raw) + "\n"
    else:
        body = text + "\n"
    eol = "\n" if n % 2 else "\r\n"
    msg = (eol.join(hdr) + eol + eol + body.replace("\n", eol)).encode()
    # Increasing mtimes, so that both servers give UIDs in the same
    # order, crossing 29 Feb - 1 Mar - 2 Mar at midnight.
    mtime = MIDNIGHT - 86400 - 7200 + n * 5400 + (n % 3) * 1799
    return msg, rnd.choice(FLAGS), mtime


def write_maildir(cur, msgs, uid=None, gid=None):
    for name in ("dovecot-keywords", "imapmoved-keywords"):
        path = os.path.join(os.path.dirname(cur), name)
        with open(path, "w") as f:
            f.write(KEYWORDS)
        if uid is not None:
            os.chown(path, uid, gid)
    for n, (msg, flags, mtime) in enumerate(msgs):
        path = os.path.join(cur, "%d.M%dP1.test:2,%s" % (mtime, n, flags))
        with open(path, "wb") as f:
            f.write(msg)
        os.utime(path, (mtime, mtime))
        if uid is not None:
            os.chown(path, uid, gid)


def search_line(prog):
    """The SEARCH arguments, needles with 8-bit bytes as literals."""
    out = b"CHARSET UTF-8"
    for tok in re.findall(r'"[^"]*"|\S+', prog):
        b = tok.encode()
        if any(c > 127 for c in b):
            v = tok.strip('"').encode()
            out += b" {%d+}\r\n%s" % (len(v), v)
        else:
            out += b" " + b
    return out


def run_dovecot(tmp, msgs):
    home = os.path.join(tmp, "dovecot")
    md = os.path.join(home, "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, d))
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0:
        uid = gid = 65534  # Dovecot refuses mail access as root
    write_maildir(os.path.join(md, "cur"), msgs, uid, gid)
    for root, dirs, names in os.walk(home):
        for x in dirs:
            os.chown(os.path.join(root, x), uid, gid)
    os.chown(home, uid, gid)
    d = dovecot_imap.Session(tmp, md, uid, gid, user="searchtest")
    command = d.command
    found = []
    try:
        command(b"a", b"SELECT INBOX")
        for k, prog in enumerate(SEARCHES):
            res = command(b"s%d" % k, b"SEARCH " + search_line(prog))
            m = re.search(rb"\* SEARCH([ 0-9]*)\r\n", res)
            found.append(m.group(1).split() if m else res)
    finally:
        d.close()
    return found


def run_ours(msgs):
    found = []
    with Env() as env:
        cur = os.path.join(env.home("demo"), "Maildir", "cur")
        for name in os.listdir(cur):
            os.unlink(os.path.join(cur, name))
        write_maildir(cur, msgs, env.uid, env.gid)
        proc, port = env.start_standalone()
        m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        m.login("demo", "secret")
        m.select("INBOX")
        for prog in SEARCHES:
            line = search_line(prog)
            if b"{" in line:
                head, lit = line.split(b" {", 1)
                size, rest = lit.split(b"+}\r\n", 1)
                # imaplib sends one literal, the last argument.
                m.literal = rest
                typ, data = m.search(None, head.decode())
            else:
                typ, data = m.search(None, line.decode())
            found.append(data[0].split() if typ == "OK" else data)
        m.logout()
        env.check_exit(proc)
    return found


def main():
    if not os.access(DOVECOT_IMAP, os.X_OK):
        print("skipped: %s not installed" % DOVECOT_IMAP)
        print("0 passed, 0 failed")
        return 0
    rnd = random.Random(3501)
    msgs = [generate(rnd, n) for n in range(COUNT)]
    tmp = tempfile.mkdtemp(prefix="imapmoved-search-")
    os.chmod(tmp, 0o755)
    try:
        theirs = run_dovecot(tmp, msgs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mine = run_ours(msgs)
    passed = failed = 0
    for prog, a, b in zip(SEARCHES, mine, theirs):
        # A program that matches nothing (or everything) on both sides
        # proves little: the corpus must make each one discriminate, but
        # for the few meant to be empty or full.
        if prog not in TRIVIAL and (not a or len(a) == COUNT):
            failed += 1
            print("FAIL SEARCH %s: %d of %d match, not a test"
                  % (prog, len(a), COUNT))
        elif a == b:
            passed += 1
        else:
            failed += 1
            print("FAIL SEARCH %s\n  ours:    %s\n  dovecot: %s" % (prog, a, b))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
