#!/usr/bin/python3
"""Black-box protocol tests for imapmoved.

Runs every cases/NNN-name.imap script against `imapmoved -i`, then the
Python-coded tests below (start modes, limits, concurrency, real clients).
The binary is $IMAPMOVED_BIN. Prints one line per test and a final
"N passed, N failed"; exits non-zero on any failure.

Usage: run-protocol.py [-v] [-k SUBSTRING]...
"""

import base64
import glob
import imaplib
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imaptest import (  # noqa: E402
    BIN, Env, Script, TestFailure, binary_has_asan, capabilities, fail,
    free_port, hwm_kib, is_listening, local_nonloopback_ipv4, my_children, proc_ids,
    rss_kib, run_script, show, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = []


class Skip(Exception):
    """The test cannot run on this machine; reported, not counted."""


def test(fn):
    TESTS.append((fn.__name__, fn))
    return fn


def status_of(tagged):
    parts = tagged.split(b" ", 2)
    return parts[1].upper() if len(parts) > 1 else b""


def text_after_tag(tagged):
    return tagged.split(b" ", 1)[1] if b" " in tagged else tagged


# ---------------------------------------------------------------------------
# Sessions in -i mode


@test
def greeting_capabilities_equal_capability_command():
    with Env() as env:
        proc, c = env.start_inetd()
        g = c.greeting()
        if not g.endswith(b"] imapmoved ready."):
            fail("greeting text: %s" % show(g))
        before = capabilities(g)
        untagged, _ = c.command("a", "CAPABILITY", expect="OK")
        caps = [u for u in untagged if u.startswith(b"* CAPABILITY ")]
        if len(caps) != 1:
            fail("expected one * CAPABILITY line, got %s" % show(b" | ".join(untagged)))
        listed = capabilities(caps[0])
        if before != listed:
            fail("greeting lists %s, CAPABILITY lists %s"
                 % (sorted(before), sorted(listed)))
        for need in ("IMAP4REV1", "AUTH=PLAIN", "AUTH=LOGIN", "SASL-IR",
                     "LITERAL+", "ID"):
            if need not in listed:
                fail("capability %s missing from %s" % (need, sorted(listed)))
        for never in ("LOGINDISABLED", "STARTTLS"):
            if never in listed:
                fail("capability %s advertised on a local socketpair without TLS"
                     % never)
        c.logout()
        proc.wait()
        env.check_exit(proc)


@test
def login_failure_same_answer_for_unknown_user_and_wrong_password():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        _, wrong = c.command("a", "LOGIN demo wrongpass", expect="NO")
        _, unknown = c.command("a", "LOGIN nosuchuser wrongpass", expect="NO")
        if text_after_tag(wrong) != text_after_tag(unknown):
            fail("wrong password: %s / unknown user: %s" % (show(wrong), show(unknown)))
        if not text_after_tag(wrong).startswith(b"NO [AUTHENTICATIONFAILED]"):
            fail("no [AUTHENTICATIONFAILED]: %s" % show(wrong))
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        _, wrong = c.command("b", "AUTHENTICATE PLAIN "
                             + base64.b64encode(b"\0demo\0wrongpass").decode(), expect="NO")
        _, unknown = c.command("b", "AUTHENTICATE PLAIN "
                               + base64.b64encode(b"\0nosuchuser\0wrongpass").decode(),
                               expect="NO")
        if text_after_tag(wrong) != text_after_tag(unknown):
            fail("AUTHENTICATE wrong password: %s / unknown user: %s"
                 % (show(wrong), show(unknown)))


def three_failures(commands):
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        for i, cmd in enumerate(commands[:2]):
            c.command("f%d" % i, cmd, expect="NO")
        c.sendline(("f2 " + commands[2]).encode())
        lines = c.expect_eof()
        tagged = [l for l in lines if l.startswith(b"f2 ")]
        if len(tagged) != 1 or not tagged[0].startswith(b"f2 NO [AUTHENTICATIONFAILED]"):
            fail("third failure: expected f2 NO [AUTHENTICATIONFAILED], got %s"
                 % show(b" | ".join(lines)))
        if not any(l.startswith(b"* BYE") for l in lines):
            fail("session closed without * BYE: %s" % show(b" | ".join(lines)))
        proc.wait()
        env.check_exit(proc)


@test
def session_closed_after_three_failed_logins():
    three_failures(["LOGIN demo bad1", "LOGIN nosuchuser bad2", "LOGIN demo bad3"])


@test
def session_closed_after_three_failures_mixing_login_and_authenticate():
    three_failures(["LOGIN demo bad1",
                    "AUTHENTICATE PLAIN " + base64.b64encode(b"\0demo\0bad2").decode(),
                    "LOGIN demo bad3"])


@test
def line_over_max_line_length_bad_then_session_usable():
    with Env(config=["max_line_length = 1024"]) as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.sendline(b"a NOOP " + b"x" * 2000)
        line = c.expect_line()
        if not (line.startswith(b"a BAD") or line.startswith(b"* BAD")):
            fail("over-long line: expected a BAD, got %s" % show(line))
        c.command("b", "NOOP", expect="OK")
        # 32 MiB in one line: the server drops it as it comes; its peak
        # resident size must not grow by anything like the line.
        base = hwm_kib(proc.pid)
        c.send(b"c NOOP ")
        chunk = b"y" * (1 << 20)
        for _ in range(32):
            c.send(chunk)
        c.send(b"\r\n")
        line = c.expect_line()
        if not (line.startswith(b"c BAD") or line.startswith(b"* BAD")):
            fail("32 MiB line: expected a BAD, got %s" % show(line))
        c.command("d", "NOOP", expect="OK")
        grew = hwm_kib(proc.pid) - base
        if grew > 8 * 1024:
            fail("peak RSS grew by %d KiB while a 32 MiB line was refused" % grew)
        c.login(tag="c")
        c.logout()
        proc.wait()
        env.check_exit(proc)


@test
def line_within_max_line_length_accepted():
    with Env(config=["max_line_length = 1024"]) as env:
        proc, c = env.start_inetd()
        c.greeting()
        # 1000 octets with CRLF, under the 1024 limit.
        head = b'a ID ("name" "'
        tail = b'")'
        c.sendline(head + b"n" * (998 - len(head) - len(tail)) + tail)
        _, tagged = c.response("a")
        if status_of(tagged) != b"OK":
            fail("1000-octet line refused: %s" % show(tagged))


@test
def line_over_default_limit_bad_then_session_usable():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.sendline(b'a LOGIN demo "' + b"p" * (65 * 1024) + b'"')
        line = c.expect_line()
        if not (line.startswith(b"a BAD") or line.startswith(b"* BAD")):
            fail("line over 64 KiB: expected a BAD, got %s" % show(line))
        c.login(tag="b")


@test
def pipelined_noops_answered_in_order_with_bounded_rss():
    n = 20000
    limit_kib = (96 if binary_has_asan() else 16) * 1024
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.login()
        base = rss_kib(proc.pid)
        data = b"".join(b"n%d NOOP\r\n" % i for i in range(n))
        errors = []

        def writer():
            try:
                c.send(data, timeout=60)
            except TestFailure as e:
                errors.append(str(e))

        t = threading.Thread(target=writer)
        t.start()
        peak = base
        try:
            for i in range(n):
                line = c.expect_line()
                while line.startswith(b"* "):
                    line = c.expect_line()
                want = b"n%d OK" % i
                if not line.startswith(want):
                    fail("response %d: expected %s..., got %s" % (i, show(want), show(line)))
                if i % 500 == 0:
                    peak = max(peak, rss_kib(proc.pid))
        finally:
            t.join(60)
        if errors:
            fail(errors[0])
        peak = max(peak, rss_kib(proc.pid))
        if peak - base > limit_kib:
            fail("RSS grew from %d KiB to %d KiB over %d NOOPs" % (base, peak, n))
        c.logout()
        proc.wait()
        env.check_exit(proc)


@test
def client_that_stops_reading_cannot_grow_server_memory():
    """A client pipelines 200000 NOOPs (2.6 MB) and reads nothing: the
    server must stop reading once its replies back up, not queue them."""
    n = 200000
    limit_kib = (12 if binary_has_asan() else 4) * 1024
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.login()
        base = rss_kib(proc.pid)
        data = b"".join(b"n%d NOOP\r\n" % i for i in range(n))
        errors = []

        def writer():
            try:
                c.send(data, timeout=120)
            except TestFailure as e:
                errors.append(str(e))

        t = threading.Thread(target=writer)
        t.start()
        # Not reading: watch memory until the writer is stuck (no bytes
        # accepted for half a second) or, with a server that queues
        # everything, done.
        last, still_since = -1, time.monotonic()
        while t.is_alive() and time.monotonic() - still_since < 0.5:
            grew = rss_kib(proc.pid) - base
            if grew > limit_kib:
                fail("server RSS grew by %d KiB while the client read nothing "
                     "(%d of %d bytes sent)" % (grew, c.bytes_sent, len(data)))
            if c.bytes_sent != last:
                last, still_since = c.bytes_sent, time.monotonic()
            time.sleep(0.02)
        grew = rss_kib(proc.pid) - base
        if grew > limit_kib:
            fail("server RSS grew by %d KiB while the client read nothing "
                 "(%d of %d bytes sent)" % (grew, c.bytes_sent, len(data)))
        for i in range(n):
            line = c.expect_line()
            if not line.startswith(b"n%d OK" % i):
                fail("response %d: %s" % (i, show(line)))
        t.join(60)
        if errors:
            fail(errors[0])
        c.logout()
        proc.wait()
        env.check_exit(proc)


@test
def many_small_literals_cannot_grow_one_command_without_bound():
    """Each {1+} literal is tiny and each line short, but one command of
    a million of them (8 MB) must still hit a limit, not memory."""
    n = 1000000
    limit_kib = (24 if binary_has_asan() else 8) * 1024
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        base = rss_kib(proc.pid)
        data = b"a ID (" + b"{1+}\r\nx " * n + b")\r\n"
        errors = []

        def writer():
            try:
                c.send(data, timeout=60)
            except TestFailure as e:
                errors.append(str(e))  # the server hung up: allowed

        t = threading.Thread(target=writer)
        t.start()
        answer = None
        peak = base
        while answer is None:
            peak = max(peak, rss_kib(proc.pid))
            try:
                line = c.readline(timeout=60)
            except EOFError:
                break
            if line.startswith(b"a ") or line.startswith(b"* BYE"):
                answer = line
        t.join(60)
        peak = max(peak, rss_kib(proc.pid))
        if answer is None or status_of(answer) == b"OK":
            fail("a million literals in one command: answered %s" % show(answer or b"nothing"))
        if peak - base > limit_kib:
            fail("RSS grew from %d to %d KiB on one command of small literals" % (base, peak))
        c.close()
        proc.wait()
        env.check_exit(proc)


@test
def client_that_stops_reading_is_dropped_after_idle_timeout():
    """idle_timeout also bounds how long a write to a client that stopped
    reading may block (imapmoved.conf(5)): the session must end on its own
    while the client never reads."""
    with Env(config=["idle_timeout = 1"]) as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.login()
        data = b"".join(b"n%d NOOP\r\n" % i for i in range(200000))

        def writer():
            try:
                c.send(data, timeout=60)
            except TestFailure:
                pass  # the server hung up: expected

        t = threading.Thread(target=writer)
        t.start()
        proc.wait(timeout=20)
        t.join(60)
        c.close()
        env.check_exit(proc)


@test
def sigterm_to_session_sends_bye_and_closes():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.login()
        proc.signal(signal.SIGTERM)
        lines = c.expect_eof()
        if not any(l.startswith(b"* BYE") for l in lines):
            fail("SIGTERM: expected * BYE before close, got %s" % show(b" | ".join(lines)))
        proc.wait()
        env.check_exit(proc)


@test
def client_eof_ends_session_process():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.login()
        c.sendline(b"a NOOP")
        c.response("a")
        c.shutdown_write()
        c.expect_eof()
        proc.wait()
        env.check_exit(proc)


@test
def inetd_on_loopback_tcp_counts_as_secure():
    with Env() as env:
        proc, c = env.start_inetd_tcp()
        caps = capabilities(c.greeting())
        if "LOGINDISABLED" in caps or "AUTH=PLAIN" not in caps:
            fail("-i on loopback TCP: capabilities %s" % sorted(caps))
        c.login()
        c.logout()
        proc.wait()
        env.check_exit(proc)


@test
def inetd_on_non_loopback_tcp_refuses_plaintext_login():
    ip = local_nonloopback_ipv4()
    if ip is None:
        raise Skip("no non-loopback IPv4 address on this machine")
    with Env() as env:
        proc, c = env.start_inetd_tcp(host=ip)
        caps = capabilities(c.greeting())
        if ("LOGINDISABLED" not in caps or "SASL-IR" in caps
                or any(x.startswith("AUTH=") for x in caps)):
            fail("-i on %s, plaintext_auth=no: capabilities %s" % (ip, sorted(caps)))
        _, tagged = c.command("a", "LOGIN demo secret")
        if not tagged.startswith(b"a NO [PRIVACYREQUIRED]"):
            fail("LOGIN in clear on %s: expected NO [PRIVACYREQUIRED], got %s"
                 % (ip, show(tagged)))
        c.command("b", "NOOP", expect="OK")


@test
def login_drops_privileges_to_passwd_uid_and_gid():
    if os.geteuid() != 0:
        raise Skip("not running as root: nothing to drop")
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.login()
        uids, gids, groups = proc_ids(proc.pid)
        if set(uids) != {env.uid} or set(gids) != {env.gid} or not set(groups) <= {env.gid}:
            fail("after LOGIN: Uid %s Gid %s Groups %s, expected all %d/%d"
                 % (uids, gids, groups, env.uid, env.gid))
        c.logout()
        proc.wait()
        env.check_exit(proc)


def open_paths(pid):
    paths = [os.readlink("/proc/%d/cwd" % pid)]
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            paths.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return paths


@test
def nothing_under_the_mail_homes_is_opened_before_login():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        c.command("a", "LOGIN demo wrong", expect="NO")
        c.command("b", "ID NIL", expect="OK")
        homes = env.path("home")
        touched = [p for p in open_paths(proc.pid) if p.startswith(homes)]
        if touched:
            fail("before login the session has open: %s" % touched)


@test
def account_with_uid_or_gid_zero_is_never_served():
    if os.geteuid() != 0:
        raise Skip("not running as root")
    for ids in ("0:0", "0:65534", "65534:0"):
        with Env() as env:
            with open(env.passwd, "a") as f:
                f.write("rooty:{PLAIN}rootpw:%s::%s::\n" % (ids, env.home("demo")))
            proc, c = env.start_inetd()
            c.greeting()
            c.sendline(b"a LOGIN rooty rootpw")
            try:
                line = c.readline()
            except EOFError:
                line = b""
            if line.startswith(b"a OK"):
                fail("LOGIN as an account with uid:gid %s succeeded: %s" % (ids, show(line)))
            try:
                uids, gids, _ = proc_ids(proc.pid)
            except (OSError, TypeError):
                uids = gids = None  # the session has ended
            if uids is not None and proc.poll() is None:
                if 0 not in uids + gids:
                    fail("uid:gid %s: the session changed ids to %s/%s without logging in"
                         % (ids, uids, gids))
            c.close()
            proc.wait()
            env.check_exit(proc)


@test
def id_with_thousands_of_arguments_answered():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        pairs = b" ".join(b'"k%d" "v"' % i for i in range(3000))
        c.sendline(b"a ID (" + pairs + b")")
        _, tagged = c.response("a")
        if status_of(tagged) not in (b"OK", b"BAD"):
            fail("ID with 3000 pairs: %s" % show(tagged))
        c.command("b", "NOOP", expect="OK")
        c.logout()
        proc.wait()
        env.check_exit(proc)


def soup_line(rng, i):
    """One random command line from IMAP-ish tokens (seeded, so the same
    lines every run). No synchronizing literals, so no '+' to wait for."""
    def token():
        k = rng.randrange(12)
        if k == 0:
            return b"NIL"
        if k == 1:
            return str(rng.choice([0, 1, 4294967295, 4294967296, 2 ** 64, -1])).encode()
        if k == 2:
            body = bytes(rng.choice(b'ab\\" \x00\x7f\xe9*%()') for _ in range(rng.randrange(6)))
            return b'"' + body + (b'"' if rng.random() < 0.8 else b"")
        if k == 3:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
            n = len(data) + (rng.choice([0, 0, 0, 1, -1]) if data else 0)
            return b"{%d+}\r\n" % max(n, 0) + data
        if k == 4:
            return b"(" * rng.randrange(1, 40)
        if k == 5:
            return b")" * rng.randrange(1, 4)
        if k == 6:
            return rng.choice([b"1:*", b"*:4", b"0", b"1,2,3", b"$", b"1:4294967296"])
        if k == 7:
            return rng.choice([b"[", b"]", b"\\Seen", b"BODY[HEADER]", b"<0.10>", b"~{3+}\r\nabc"])
        if k == 8:
            return bytes(rng.randrange(33, 127) for _ in range(rng.randrange(1, 10))).replace(b"{", b"x")
        if k == 9:
            return rng.choice([b"PLAIN", b"LOGIN", b"=", b"AGRlbW8Ad3Jvbmc=", b"*"])
        if k == 10:
            return b" "
        return b"x" * rng.choice([1, 100, 2000])
    cmd = rng.choice([b"NOOP", b"CAPABILITY", b"ID", b"LOGIN", b"AUTHENTICATE",
                      b"STARTTLS", b"SELECT", b"FETCH", b"UID", b"MOVE", b"XYZZY",
                      b"", b"ID (", b"LOGIN {3+}\r\nabc"])
    words = [token() for _ in range(rng.randrange(0, 6))]
    return b"s%d " % i + cmd + b"".join(b" " + w for w in words)


MAILBOX_WORDS = [
    b"INBOX", b"inbox", b"Archive", b"Sent", b"Archive.Sub", b"../x", b"..", b".",
    b"a/b", b"/etc", b".hidden", b"&Jjo-", b"&Jjo", b"&-", b"&", b"a..b", b"a.",
    b".a", b"%", b"*", b'"q"', b'"a\\\\b"', b'""', b"NIL", b"{3+}\r\nabc",
    b"{0+}\r\n", b'"\xc3\xa9t\xc3\xa9"', b'"\xff\xfe"', b"x" * 300, b'"a\x01b"',
    b"INBOX.x", b"~", b'"../../../../../escape"', b"Trash", b'"Sent."', b'"tmp"',
    b"cur", b"new"]


def authed_soup_line(rng, i):
    """One random authenticated-state command: mailbox names that are
    hostile to a Maildir++ mapping, status items, APPEND literals."""
    cmd = rng.choice([b"SELECT", b"EXAMINE", b"CREATE", b"DELETE", b"RENAME",
                      b"SUBSCRIBE", b"UNSUBSCRIBE", b"LIST", b"LSUB", b"STATUS",
                      b"APPEND", b"CHECK", b"CLOSE", b"EXPUNGE", b"UID EXPUNGE",
                      b"UNSELECT", b"NOOP"])
    args = []
    for _ in range(rng.randrange(0, 4)):
        k = rng.randrange(6)
        if k < 3:
            args.append(rng.choice(MAILBOX_WORDS))
        elif k == 3:
            args.append(rng.choice([b"(MESSAGES)", b"(UIDNEXT UIDVALIDITY UNSEEN RECENT MESSAGES)",
                                    b"()", b"(FOO)", b"MESSAGES", b"(MESSAGES"]))
        elif k == 4:
            body = b"From: a@b\r\nSubject: t\r\n\r\nhi\r\n"
            args.append(rng.choice([b"(\\Seen)", b"()", b"(\\Bogus)",
                                    b'"01-Jan-2020 00:00:00 +0000"', b""])
                        + b" {%d+}\r\n" % len(body) + body)
        else:
            args.append(rng.choice([b"1", b"1:*", b"0", b"*", b"4294967295", b'""', b'"*"', b'"%"']))
    return b"s%d " % i + cmd + b"".join(b" " + a for a in args)


def token_soup(seed, make_line, login, total=600, need=400):
    """Send total seeded random lines, each followed by a NOOP probe that
    must be answered OK: no line may crash a session or leave it out of
    step. A session that ends (BYE after 3 failed logins or 20 BADs in a
    row) is replaced by a new one."""
    rng = random.Random(seed)
    i = answered = sessions = 0
    while i < total:
        sessions += 1
        with Env() as env:
            proc, c = env.start_inetd()
            c.greeting()
            if login:
                c.login()
            closed = saw_bye = False
            while i < total and not closed:
                line = make_line(rng, i)
                tag = b"s%d " % i
                probe = b"p%d" % i
                i += 1
                eaten = False
                try:
                    c.send(line + b"\r\n" + probe + b" NOOP\r\n")
                except TestFailure:
                    closed = True  # the server hung up (BYE) mid-send
                    break
                while True:
                    try:
                        resp = c.readline()
                    except EOFError:
                        closed = True
                        break
                    saw_bye = saw_bye or resp.startswith(b"* BYE")
                    if resp.startswith(b"+"):
                        # AUTHENTICATE took the pipelined probe as its
                        # response line; probe again after its answer.
                        eaten = True
                        continue
                    if eaten and resp.startswith(tag):
                        probe = b"q%d" % i
                        eaten = False
                        c.send(probe + b" NOOP\r\n")
                        continue
                    if resp.startswith(probe + b" "):
                        if status_of(resp) != b"OK":
                            fail("NOOP after %s: %s\n%s" % (show(line), show(resp),
                                                             c.transcript_text()))
                        answered += 1
                        break
            c.close()
            proc.wait()
            if closed and not saw_bye:
                fail("session closed without BYE after %s (exit %s):\n%s\n%s"
                     % (show(line), proc.returncode, c.transcript_text(),
                        show(proc.stderr_text()[-1500:])))
            if proc.returncode < 0 or env.sanitizer_report():
                fail("after %s:\n%s\n%s" % (show(line), c.transcript_text(),
                                              env.sanitizer_report() or ""))
            env.check_exit(proc)
    if answered < need:
        fail("only %d of %d probes answered over %d sessions" % (answered, total, sessions))


@test
def token_soup_never_crashes_and_each_session_resyncs():
    token_soup(2026, soup_line, login=False)


@test
def authenticated_token_soup_never_crashes_and_each_session_resyncs():
    token_soup(2026, authed_soup_line, login=True)


@test
def passwd_edits_apply_at_the_next_login():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        with open(env.passwd, "a") as f:
            f.write("newbie:{PLAIN}nb-pw:%d:%d::%s::\n" % (env.uid, env.gid, env.home("demo")))
        c.command("a", "LOGIN newbie nb-pw", expect="OK")
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        good = open(env.passwd).read()
        with open(env.passwd, "a") as f:
            f.write("a line without fields\n")
        # A malformed file fails every login with a temporary error (not
        # AUTHENTICATIONFAILED), until it is fixed.
        _, tagged = c.command("a", "LOGIN demo secret")
        if not tagged.startswith(b"a NO [UNAVAILABLE]"):
            fail("LOGIN with a malformed passwd file: %s" % show(tagged))
        with open(env.passwd, "w") as f:
            f.write(good)
        c.command("b", "LOGIN demo secret", expect="OK")


@test
def passwd_empty_uid_gid_home_use_the_config_defaults():
    if os.geteuid() != 0:
        raise Skip("not running as root: uid and gid are ignored")
    with Env(config=["default_uid = 65534", "default_gid = nogroup"]) as env:
        with open(env.passwd, "a") as f:
            f.write("virt@example.org:{PLAIN}virt-pw::::::\n")
        vhome = env.path("vhome")
        os.makedirs(os.path.join(vhome, "example.org", "virt"))
        for d, _, _ in os.walk(vhome):
            os.chown(d, 65534, 65534)
        proc, c = env.start_inetd(extra=["default_home = %s/%%d/%%n" % vhome])
        c.greeting()
        c.command("a", "LOGIN virt@example.org virt-pw", expect="OK")
        uids, gids, _ = proc_ids(proc.pid)
        if set(uids) != {65534} or set(gids) != {65534}:
            fail("defaults not applied: Uid %s Gid %s" % (uids, gids))
    with Env() as env:
        # No uid in the file and no default: that user cannot log in.
        with open(env.passwd, "a") as f:
            f.write("noids:{PLAIN}noids-pw::::%s::\n" % env.home("demo"))
        proc, c = env.start_inetd()
        c.greeting()
        _, tagged = c.command("a", "LOGIN noids noids-pw")
        if status_of(tagged) == b"OK":
            fail("a user without uid logged in as root's child: %s" % show(tagged))


@test
def user_names_that_would_escape_the_maildir_template_are_refused():
    bad = ["..", ".", "a/b", "x/../y", "a@b/c", "a@..", "..@x"]
    with Env() as env:
        with open(env.passwd, "a") as f:
            for u in bad + ["ok@dom"]:
                f.write("%s:{PLAIN}pw:%d:%d::%s::\n" % (u, env.uid, env.gid, env.home("demo")))
        mail = env.path("mail")
        os.makedirs(mail)
        os.chown(mail, env.uid, env.gid)
        lines = [l for l in env.base_config() if not l.startswith("maildir")]
        conf_lines = lines + ["maildir = %s/%%d/%%n" % mail]
        for u in bad + ["ok@dom"]:
            env.config = []
            conf = env.write_config(lines=conf_lines)
            proc = env.spawn([BIN, "-i", "-c", conf], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
            out, _ = proc.p.communicate(b'a LOGIN "%s" pw\r\nb LOGOUT\r\n' % u.encode(),
                                        timeout=10)
            ok = b"\r\na OK" in out
            if u == "ok@dom" and not ok:
                fail("LOGIN ok@dom refused: %s" % show(out))
            if u != "ok@dom" and ok:
                fail("LOGIN %r accepted with maildir = %s/%%d/%%n: %s" % (u, mail, show(out)))
        made = sorted(os.listdir(mail))
        if made != ["dom"]:
            fail("%s holds %s, expected only dom/" % (mail, made))


# ---------------------------------------------------------------------------
# Standalone listener


@test
def standalone_fifty_concurrent_sessions_log_in_and_out():
    n = 50
    with Env(config=["max_connections = 100", "max_connections_per_ip = 100"]) as env:
        proc, port = env.start_standalone()
        clients = [env.connect(port, name="conn%d" % i) for i in range(n)]
        for c in clients:
            g = c.greeting()
            if b"LOGINDISABLED" in g:
                fail("LOGINDISABLED offered on loopback: %s" % show(g))
        for i, c in enumerate(clients):
            c.sendline(b"L%d LOGIN demo secret" % i)
        for i, c in enumerate(clients):
            _, tagged = c.response("L%d" % i)
            if status_of(tagged) != b"OK":
                fail("connection %d: LOGIN answered %s" % (i, show(tagged)))
        for i, c in enumerate(clients):
            c.sendline(b"Z%d LOGOUT" % i)
        for i, c in enumerate(clients):
            untagged, tagged = c.response("Z%d" % i)
            if status_of(tagged) != b"OK" or not any(u.startswith(b"* BYE") for u in untagged):
                fail("connection %d: LOGOUT answered %s" % (i, show(tagged)))
            c.expect_eof()
        if proc.poll() is not None:
            fail("listener exited: %s" % show(proc.stderr_text()[-1500:]))
        # Children are reaped: none left, not even as zombies.
        wait_for(lambda: not proc.children(), "the listener to reap its sessions")
        env.check_exit(proc)


@test
def standalone_log_lines_for_connect_login_logout_without_passwords():
    with Env(config=["log_level = debug"]) as env:
        proc, port = env.start_standalone()
        c = env.connect(port)
        client_port = c.keep.getsockname()[1]
        c.greeting()
        c.command("a", "LOGIN alice Hunter2-not-it", expect="NO")
        c.command("b", "AUTHENTICATE PLAIN "
                  + base64.b64encode(b"\0alice\0Sasl-pw-not-it").decode(), expect="NO")
        c.sendline(b"c LOGIN alice {10}")
        c.expect_line()
        c.sendline(b"wonderland")
        _, tagged = c.response("c")
        if status_of(tagged) != b"OK":
            fail("LOGIN with a literal password: %s" % show(tagged))
        c.logout()
        wait_for(lambda: not proc.children(), "the session to end")
        err = proc.stderr_text()
        tail = show(err[-2000:])
        for secret in (b"Hunter2-not-it", b"Sasl-pw-not-it", b"wonderland",
                       base64.b64encode(b"\0alice\0Sasl-pw-not-it")):
            if secret in err:
                fail("password %s appears in the log:\n%s" % (show(secret), tail))
        lines = err.splitlines()
        peer = b"127.0.0.1:%d" % client_port
        if sum(1 for l in lines if peer in l and b"connect" in l.lower()) != 1:
            fail("expected one connect line naming %s:\n%s" % (show(peer), tail))
        fails = [l for l in lines if b"alice" in l and b"fail" in l.lower()]
        if len(fails) != 2:
            fail("expected two failed-login lines naming alice:\n%s" % tail)
        oks = [l for l in lines if b"alice" in l and b"login" in l.lower()
               and b"fail" not in l.lower()]
        if len(oks) != 1:
            fail("expected one login line naming alice:\n%s" % tail)
        # The logout line carries the session's byte counts in and out.
        outs = [l for l in lines if b"logout" in l.lower()]
        sent, received = str(c.bytes_sent).encode(), str(c.bytes_received).encode()
        if len(outs) != 1 or not re.search(rb"\b%s\b" % sent, outs[0]) \
                or not re.search(rb"\b%s\b" % received, outs[0]):
            fail("expected one logout line with bytes in=%s out=%s:\n%s"
                 % (sent.decode(), received.decode(), tail))
        env.check_exit(proc)


def too_many(env, port, keep):
    """Open keep connections, then one more which must be refused."""
    held = [env.connect(port, name="held%d" % i) for i in range(keep)]
    for c in held:
        c.greeting()
    extra = env.connect(port, name="extra")
    lines = extra.expect_eof()
    if not lines or not lines[0].startswith(b"* BYE") or b"Too many connections" not in lines[0]:
        fail("connection over the limit: expected * BYE Too many connections, got %s"
             % show(b" | ".join(lines)))
    return held


def accepted_again(env, port):
    """After a held connection closes, the listener accepts again (it must
    first reap the child, so retry until the deadline)."""
    def ok():
        c = env.connect(port, name="retry")
        line = c.expect_line()
        c.close()
        return line.startswith(b"* OK")
    wait_for(ok, "a new connection to be accepted after one closed")


@test
def standalone_max_connections_per_ip_refuses_with_bye():
    with Env(config=["max_connections = 50", "max_connections_per_ip = 2"]) as env:
        proc, port = env.start_standalone()
        held = too_many(env, port, 2)
        # The limit is per address: another loopback address still gets in.
        other = env.connect(port, source="127.0.0.2", name="from-127.0.0.2")
        other.greeting()
        other.logout()
        held[0].logout()
        accepted_again(env, port)
        env.check_exit(proc)


@test
def standalone_max_connections_refuses_with_bye():
    with Env(config=["max_connections = 3", "max_connections_per_ip = 10"]) as env:
        proc, port = env.start_standalone()
        held = too_many(env, port, 3)
        held[1].close()
        accepted_again(env, port)
        env.check_exit(proc)


@test
def standalone_loopback_counts_as_secure():
    with Env() as env:
        proc, port = env.start_standalone()
        c = env.connect(port)
        caps = capabilities(c.greeting())
        if "LOGINDISABLED" in caps or "AUTH=PLAIN" not in caps:
            fail("loopback with plaintext_auth=no: capabilities %s" % sorted(caps))
        c.login()
        c.logout()


@test
def standalone_non_loopback_refuses_plaintext_login():
    ip = local_nonloopback_ipv4()
    if ip is None:
        raise Skip("no non-loopback IPv4 address on this machine")
    with Env() as env:
        proc, port = env.start_standalone(host=ip)
        c = env.connect(port, host=ip)
        caps = capabilities(c.greeting())
        if ("LOGINDISABLED" not in caps or "SASL-IR" in caps
                or any(x.startswith("AUTH=") for x in caps)):
            fail("%s without TLS, plaintext_auth=no: capabilities %s" % (ip, sorted(caps)))
        # RFC 9051 6.2.3 and issue 7: NO [PRIVACYREQUIRED], never a login.
        for tag, cmd in (("a", "LOGIN demo secret"),
                         ("b", "AUTHENTICATE PLAIN AGRlbW8Ac2VjcmV0"),
                         ("c", "AUTHENTICATE LOGIN")):
            _, tagged = c.command(tag, cmd)
            if not tagged.startswith(tag.encode() + b" NO [PRIVACYREQUIRED]"):
                fail("%s in clear on %s: expected NO [PRIVACYREQUIRED], got %s"
                     % (cmd, ip, show(tagged)))
        c.command("d", "NOOP", expect="OK")


@test
def standalone_non_loopback_plaintext_auth_yes_allows_login():
    ip = local_nonloopback_ipv4()
    if ip is None:
        raise Skip("no non-loopback IPv4 address on this machine")
    with Env(config=["plaintext_auth = yes"]) as env:
        proc, port = env.start_standalone(host=ip)
        c = env.connect(port, host=ip)
        caps = capabilities(c.greeting())
        if "LOGINDISABLED" in caps:
            fail("plaintext_auth=yes still advertises LOGINDISABLED: %s" % sorted(caps))
        c.login()
        c.logout()


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@test
def standalone_listens_on_every_listen_line_including_ipv6():
    if not have_ipv6_loopback():
        raise Skip("no IPv6 loopback here")
    with Env() as env:
        p6 = free_port("::1", socket.AF_INET6)
        proc, port = env.start_standalone(extra=["listen = [::1]:%d" % p6])
        wait_for(lambda: is_listening(p6, "::1"), "[::1]:%d to listen" % p6, proc=proc)
        for host, p in (("127.0.0.1", port), ("::1", p6)):
            c = env.connect(p, host=host)
            caps = capabilities(c.greeting())
            if "LOGINDISABLED" in caps:
                fail("%s counts as insecure: %s" % (host, sorted(caps)))
            c.login()
            c.logout()


@test
def standalone_without_f_detaches_and_serves():
    with Env() as env:
        port = free_port()
        conf = env.write_config(["listen = 127.0.0.1:%d" % port])
        r = env.run(["-c", conf])
        if r.returncode != 0:
            fail("imapmoved -c (daemon): exit %d, stderr %s" % (r.returncode, show(r.stderr)))
        # The daemon is reparented to this runner (a subreaper) once any
        # intermediate process of its double fork has exited.
        wait_for(lambda: is_listening(port), "the daemon to listen on %d" % port)
        def live_children():
            # The double fork's intermediate process may linger here as a
            # zombie (we are the subreaper): reap it, count only the living.
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            return my_children()
        wait_for(lambda: len(live_children()) == 1, "the daemon to be reparented")
        daemons = my_children()
        c = env.connect(port)
        c.greeting()
        c.login()
        c.logout()
        os.kill(daemons[0], signal.SIGTERM)
        _, status = os.waitpid(daemons[0], 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGTERM:
            fail("daemon ended by signal %d" % os.WTERMSIG(status))


@test
def standalone_listen_address_in_use_fails_with_file_and_line():
    with Env() as env:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        lines = env.base_config() + ["listen = 127.0.0.1:%d" % port]
        conf = env.write_config(lines=lines)
        proc = env.spawn([BIN, "-f", "-c", conf], stdin=subprocess.DEVNULL)
        rc = proc.wait()
        s.close()
        where = ("%s:%d:" % (conf, len(lines))).encode()
        if rc == 0 or where not in proc.stderr_text():
            fail("listen on a busy port: exit %s, stderr %s (expected %s)"
                 % (rc, show(proc.stderr_text()), show(where)))


@test
def standalone_sigterm_stops_listener():
    with Env() as env:
        proc, port = env.start_standalone()
        c = env.connect(port)
        c.greeting()
        proc.signal(signal.SIGTERM)
        proc.wait()
        if is_listening(port):
            fail("port %d still listening after SIGTERM" % port)
        env.check_exit(proc)


@test
def standalone_sigterm_ends_sessions_with_bye():
    with Env() as env:
        proc, port = env.start_standalone()
        c = env.connect(port)
        c.greeting()
        c.login()
        proc.signal(signal.SIGTERM)
        proc.wait()
        lines = c.expect_eof()
        if not any(l.startswith(b"* BYE") for l in lines):
            fail("session after SIGTERM to the listener: expected * BYE, got %s"
                 % show(b" | ".join(lines)))
        env.check_exit(proc)


@test
def standalone_survives_clients_that_reset_after_greeting():
    with Env() as env:
        proc, port = env.start_standalone()
        # 15 stays under the default per-address limit of 20 even if
        # every one of them is still alive.
        for i in range(15):
            c = env.connect(port, name="reset%d" % i)
            c.greeting()
            # SO_LINGER 0: close sends RST instead of FIN.
            c.keep.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
        # Those sessions end and are reaped, so the per-address count
        # (default 20) frees up again.
        wait_for(lambda: not proc.children(), "the listener to reap the reset sessions")
        accepted_again(env, port)
        c = env.connect(port)
        c.greeting()
        c.login()
        c.logout()
        env.check_exit(proc)


@test
def standalone_imaplib_login_capability_logout():
    with Env() as env:
        proc, port = env.start_standalone()
        m = imaplib.IMAP4("127.0.0.1", port, timeout=10)
        try:
            if "IMAP4REV1" not in m.capabilities:
                fail("imaplib capabilities: %s" % (m.capabilities,))
            typ, _ = m.login("alice", "wonderland")
            if typ != "OK":
                fail("imaplib login: %s" % typ)
            typ, data = m.capability()
            if typ != "OK" or b"IMAP4rev1" not in data[0] and b"IMAP4REV1" not in data[0]:
                fail("imaplib capability: %s %s" % (typ, data))
            typ, data = m.noop()
            if typ != "OK":
                fail("imaplib noop: %s %s" % (typ, data))
        finally:
            typ, data = m.logout()
        if typ != "BYE":
            fail("imaplib logout: %s %s" % (typ, data))


# ---------------------------------------------------------------------------
# Socket activation (LISTEN_FDS)


@test
def listen_fds_socket_is_served_and_config_listen_ignored():
    with Env() as env:
        proc, (port,), other = env.start_socket_activated()
        c = env.connect(port)
        c.greeting()
        c.login()
        c.logout()
        if is_listening(other):
            fail("with LISTEN_FDS the config's listen port %d was opened too" % other)
        if proc.poll() is not None:
            fail("activated server exited: %s" % show(proc.stderr_text()[-1500:]))
        env.check_exit(proc)


@test
def listen_fds_two_sockets_both_served():
    with Env() as env:
        proc, ports, _ = env.start_socket_activated(count=2)
        for port in ports:
            c = env.connect(port)
            c.greeting()
            c.login()
            c.logout()
        env.check_exit(proc)


@test
def listen_fds_ignored_when_listen_pid_is_another_process():
    with Env() as env:
        proc, _, other = env.start_socket_activated(listen_pid_ok=False)
        wait_for(lambda: is_listening(other),
                 "the config's listen port when LISTEN_PID names another process",
                 proc=proc)
        c = env.connect(other)
        c.greeting()
        c.logout()


# ---------------------------------------------------------------------------
# Command line: -t, --version, --help


def check_config_error(env, conf, expect_prefix):
    r = env.run(["-t", "-c", conf])
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 1:
        fail("-t on a bad config: exit %d (expected 1); stderr: %s" % (r.returncode, err))
    if expect_prefix not in err:
        fail("-t: expected %r in stderr, got %r" % (expect_prefix, err))
    return err


@test
def config_check_accepts_good_config():
    with Env() as env:
        conf = env.write_config([
            "# every documented key",
            "listen = 127.0.0.1:11143",
            "listen = [::1]:11143",
            "plaintext_auth = no",
            "max_connections = 100",
            "max_connections_per_ip = 10",
            "max_line_length = 65536",
            "max_literal_size = 67108864",
            "idle_timeout = 1800",
            "login_timeout = 60",
            "log_level = info",
        ])
        r = env.run(["-t", "-c", conf])
        if r.returncode != 0:
            fail("-t on a good config: exit %d; stderr: %s"
                 % (r.returncode, r.stderr.decode("utf-8", "replace")))


@test
def config_check_unknown_key_names_file_and_line():
    with Env() as env:
        conf = env.write_config(lines=env.base_config() + ["", "frobnicate = yes"])
        check_config_error(env, conf, "%s:%d:" % (conf, len(env.base_config()) + 2))


@test
def config_check_bad_listen_address_names_file_and_line():
    for bad in ("127.0.0.1:99999", "not an address", "300.1.2.3:143", "127.0.0.1"):
        with Env() as env:
            lines = env.base_config() + ["listen = " + bad]
            conf = env.write_config(lines=lines)
            check_config_error(env, conf, "%s:%d:" % (conf, len(lines)))


@test
def config_check_missing_passwd_file_names_file_and_line():
    with Env() as env:
        lines = ["# passwd file that does not exist",
                 "maildir = %h/Maildir",
                 "passwd_file = " + env.path("no-such-passwd")]
        conf = env.write_config(lines=lines)
        check_config_error(env, conf, "%s:3:" % conf)


@test
def config_check_bad_passwd_line_names_passwd_file_and_line():
    with Env() as env:
        with open(env.passwd, "a") as f:
            f.write("broken-line-without-fields\n")
        nlines = sum(1 for _ in open(env.passwd))
        conf = env.write_config(["listen = 127.0.0.1:11143"])
        check_config_error(env, conf, "%s:%d:" % (env.passwd, nlines))


@test
def config_check_names_users_that_could_never_be_served():
    """Lines that parse but whose login would fail anyway: no uid with no
    default_uid, and a maildir template needing a home the user lacks."""
    cases = [
        ("bob:{PLAIN}x::::/home/bob::", [], "user bob: no uid and default_uid is unset"),
        # The tests' maildir template is %h/Maildir.
        ("eve:{PLAIN}x:1000:1000::::", [], "user eve: maildir:"),
    ]
    for line, extra, want in cases:
        with Env() as env:
            with open(env.passwd, "a") as f:
                f.write(line + "\n")
            nlines = sum(1 for _ in open(env.passwd))
            conf = env.write_config(extra)
            err = check_config_error(env, conf, "%s:%d:" % (env.passwd, nlines))
            if want not in err:
                fail("-t: %r lacks %r" % (err, want))


@test
def config_check_bad_number_names_file_and_line():
    for bad in ("max_connections = lots", "max_line_length = 99999999999999999999999",
                "login_timeout = -1", "plaintext_auth = maybe"):
        with Env() as env:
            lines = env.base_config() + [bad]
            conf = env.write_config(lines=lines)
            check_config_error(env, conf, "%s:%d:" % (conf, len(lines)))


@test
def config_check_missing_config_file_fails():
    with Env() as env:
        missing = env.path("nope.conf")
        r = env.run(["-t", "-c", missing])
        if r.returncode != 1 or missing.encode() not in r.stderr:
            fail("-t on a missing file: exit %d, stderr %s" % (r.returncode, show(r.stderr)))


@test
def unknown_option_fails_with_usage():
    with Env() as env:
        r = env.run(["-x"])
        if r.returncode == 0 or b"usage" not in r.stderr.lower():
            fail("-x: exit %d, stderr %s" % (r.returncode, show(r.stderr)))


@test
def inetd_with_bad_config_exits_with_file_and_line():
    # With -f the error stays on stderr; without it, it goes to syslog
    # (run-server.py checks that the client then reads only a BYE).
    with Env() as env:
        lines = env.base_config() + ["frobnicate = 1"]
        conf = env.write_config(lines=lines)
        proc = env.spawn([BIN, "-i", "-f", "-c", conf], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL)
        rc = proc.wait()
        if rc != 1 or ("%s:%d:" % (conf, len(lines))).encode() not in proc.stderr_text():
            fail("-i with a bad config: exit %s, stderr %s" % (rc, show(proc.stderr_text())))


@test
def version_option_prints_version():
    with Env() as env:
        r = env.run(["--version"])
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0 or not out.startswith("imapmoved "):
            fail("--version: exit %d, stdout %r" % (r.returncode, out))


@test
def help_option_prints_usage():
    with Env() as env:
        r = env.run(["--help"])
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        if r.returncode != 0:
            fail("--help: exit %d" % r.returncode)
        for opt in ("-c", "-f", "-i", "-t"):
            if opt not in out:
                fail("--help does not mention %s: %r" % (opt, out))


# ---------------------------------------------------------------------------


def script_tests():
    out = []
    for path in sorted(glob.glob(os.path.join(HERE, "cases", "*.imap"))):
        script = Script(path)
        out.append(("case/" + script.name, lambda s=script: run_script(s)))
    return out


def main(argv):
    verbose = "-v" in argv
    filters = [argv[i + 1] for i, a in enumerate(argv) if a == "-k" and i + 1 < len(argv)]
    if not os.access(BIN, os.X_OK):
        print("imapmoved binary not found: %s (set IMAPMOVED_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    print("binary: %s" % BIN)
    passed = failed = skipped = 0
    failures = []
    start = time.monotonic()
    for name, fn in script_tests() + TESTS:
        if filters and not any(f in name for f in filters):
            continue
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e))
            continue
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
    print("%.1fs; %d skipped%s" % (time.monotonic() - start, skipped,
                                   ("; failed: " + " ".join(failures)) if failures else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
