#!/usr/bin/python3
"""Black-box tests of IDLE (RFC 2177) and change notification.

Session A idles on INBOX while session B, a delivery agent writing into
new/, or another Maildir client renaming files change the mailbox; A must
be told with the right untagged responses and sequence numbers. Also DONE
and BAD handling, the keepalive, the forced polling fallback, zero CPU
while idle, coalescing of a 1,000-message burst, a mutt/Thunderbird-style
IDLE-DONE-FETCH-IDLE loop, identical updates for IDLE and NOOP sessions,
and IDLE over implicit TLS.

Every wait is bounded by a generous deadline; nothing asserts speed. The
binary is $IMAPMOVED_BIN. Prints one line per test and a final
"N passed, N failed" (skips are counted apart); exits non-zero on failure.

Usage: run-idle.py [-v] [-k SUBSTRING]...
"""

import errno
import os
import re
import signal
import shutil
import socket
import ssl
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imaptest import (  # noqa: E402
    BIN, TOP, TIMEOUT, USERS, Client, Env, TestFailure, capabilities, fail,
    show, wait_for)

TESTS = []
# A change must reach an idling client within this bound. Generous: the
# suite runs under ASan on a loaded machine; the server takes milliseconds.
WAIT = max(TIMEOUT, 10.0)
VERBOSE = "-v" in sys.argv


class Skip(Exception):
    """The test cannot run here (a command not in this build, no certtool)."""


def test(fn):
    TESTS.append((fn.__name__, fn))
    return fn


# ---------------------------------------------------------------------------
# Helpers

# FETCH (FLAGS) of message 1 (the fixture, \Recent in the first session
# that selected the mailbox).
FLAGGED_SEEN = rb"\* 1 FETCH \(FLAGS \(\\Flagged \\Seen( \\Recent)?\)\)"
SEEN = rb"\* 1 FETCH \(FLAGS \(\\Seen( \\Recent)?\)\)"


def start(env, extra=(), user="demo", select="INBOX"):
    """imapmoved -i -f (log on stderr) over a socketpair, logged in and,
    unless select is None, with a mailbox selected. Returns (proc, client,
    untagged lines of the SELECT)."""
    conf = env.write_config(extra)
    ours, theirs = socket.socketpair()
    proc = env.spawn([BIN, "-i", "-f", "-c", conf], stdin=theirs.fileno(),
                     stdout=theirs.fileno())
    theirs.close()
    c = Client.from_socket(ours, name="session-%d" % len(env.procs))
    env.clients.append(c)
    c.greeting()
    c.login(user, env_password(user))
    untagged = []
    if select is not None:
        untagged, _ = c.command("S1", "SELECT " + select, expect="OK")
    return proc, c, untagged


def env_password(user):
    return USERS[user][1]


def maildir(env, user="demo", box=""):
    return os.path.join(env.home(user), "Maildir", box)


_seq = [0]


def unique_name():
    _seq[0] += 1
    return "%d.M%dP%d.idletest" % (int(time.time()), _seq[0], os.getpid())


def deliver(env, n=1, user="demo", box="", body="Subject: new\r\n\r\nhi\r\n"):
    """Deliver as a delivery agent does: write tmp/NAME, rename into
    new/NAME. Returns the names."""
    root = maildir(env, user, box)
    names = []
    tmpnames = []
    for _ in range(n):
        name = unique_name()
        tmp = os.path.join(root, "tmp", name)
        with open(tmp, "w") as f:
            f.write(body)
        os.chown(tmp, env.uid, env.gid)
        tmpnames.append((tmp, name))
    for tmp, name in tmpnames:
        os.rename(tmp, os.path.join(root, "new", name))
        names.append(name)
    return names


def cur_files(env, user="demo", box=""):
    return sorted(os.listdir(os.path.join(maildir(env, user, box), "cur")))


def rename_flags(env, old, flags, user="demo", box=""):
    """Change a message's flags the way another Maildir client does: rename
    cur/BASE:2,OLD to cur/BASE:2,NEW."""
    d = os.path.join(maildir(env, user, box), "cur")
    base = old.split(":2,")[0]
    new = base + ":2," + flags
    os.rename(os.path.join(d, old), os.path.join(d, new))
    return new


def idle(c, tag="I1"):
    """Send IDLE and read up to "+ idling". Returns the untagged lines
    sent before it."""
    c.sendline(tag + " IDLE")
    before = []
    while True:
        line = c.expect_line()
        if line.startswith(b"+"):
            if line != b"+ idling":
                fail("IDLE continuation: %s" % show(line))
            return before
        if not line.startswith(b"* "):
            fail("IDLE answered %s\n%s" % (show(line), c.transcript_text()))
        before.append(line)


def done(c, tag="I1", word="DONE"):
    """End an IDLE; returns (untagged lines, tagged line)."""
    c.sendline(word)
    untagged, tagged = c.response(tag)
    if not tagged.startswith(tag.encode() + b" OK"):
        fail("DONE: %s\n%s" % (show(tagged), c.transcript_text()))
    return untagged, tagged


def read_until(c, want, what, timeout=None):
    """Read untagged lines until one equals want (bytes) or matches it (a
    compiled regex); returns every line read. Fails at the deadline."""
    end = time.monotonic() + (timeout or WAIT)
    got = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            fail("no %s within %ss; got %s\n%s"
                 % (what, timeout or WAIT, show(b" | ".join(got)),
                    c.transcript_text()))
        line = c.expect_line(timeout=left)
        got.append(line)
        if (line == want if isinstance(want, bytes) else want.fullmatch(line)):
            return got


def has_command(c, tag, text):
    """Run a command that may not exist in this build: returns (untagged,
    tagged) or None when the server does not know it."""
    untagged, tagged = c.command(tag, text)
    if re.match(rb"\S+ BAD .*(Unknown|UID command)", tagged):
        return None
    return untagged, tagged


def unrecent(lines):
    """lines without RECENT responses and \\Recent flags."""
    return [ln.replace(b" \\Recent", b"") for ln in lines
            if not ln.endswith(b" RECENT")]


def cpu_ticks(pid):
    """utime + stime of pid in clock ticks (/proc/PID/stat fields 14, 15)."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def check(env, *procs):
    """Each session process ends by itself (LOGOUT, BYE) with no signal
    and no sanitizer report (leaks are reported at exit)."""
    for p in procs:
        p.wait()
        env.check_exit(p)
    rep = env.sanitizer_report()
    if rep:
        fail("sanitizer: " + rep)


# ---------------------------------------------------------------------------
# IDLE basics


@test
def idle_is_advertised_after_login():
    with Env() as env:
        proc, c, _ = start(env, select=None)
        untagged, _ = c.command("C", "CAPABILITY", expect="OK")
        if "IDLE" not in capabilities(untagged[0]):
            fail("no IDLE in %s" % show(untagged[0]))
        c.logout()
        proc.wait()
        check(env, proc)


@test
def idle_answers_idling_and_done_ends_it():
    with Env() as env:
        proc, c, _ = start(env)
        if idle(c, "A1"):
            fail("untagged data before + idling on a quiet mailbox")
        _, tagged = done(c, "A1")
        if tagged != b"A1 OK IDLE terminated.":
            fail("tagged: %s" % show(tagged))
        c.command("A2", "NOOP", expect="OK")
        c.logout()
        proc.wait()
        check(env, proc)


@test
def done_in_any_case_ends_idle():
    with Env() as env:
        proc, c, _ = start(env)
        for i, word in enumerate(("done", "Done", "dOnE")):
            idle(c, "D%d" % i)
            done(c, "D%d" % i, word)
        c.logout()
        proc.wait()
        check(env, proc)


@test
def other_line_during_idle_is_bad_and_ends_idle():
    with Env() as env:
        proc, c, _ = start(env)
        idle(c, "B1")
        c.sendline("x NOOP")
        line = c.expect_line()
        if line != b"B1 BAD Expected DONE.":
            fail("got %s" % show(line))
        # The line was not run, and the session is back at a command
        # boundary: the next command works, a late DONE is unknown.
        c.command("B2", "NOOP", expect="OK")
        c.command("B3", "CAPABILITY", expect="OK")
        c.logout()
        proc.wait()
        check(env, proc)


@test
def overlong_line_during_idle_is_bad_and_ends_idle():
    with Env() as env:
        proc, c, _ = start(env, ["max_line_length = 1K"])
        idle(c, "L1")
        c.sendline("x" * 5000)
        line = c.expect_line()
        if not line.startswith(b"L1 BAD"):
            fail("got %s" % show(line))
        c.command("L2", "NOOP", expect="OK")
        c.logout()
        proc.wait()
        check(env, proc)


@test
def done_pipelined_with_next_command():
    with Env() as env:
        proc, c, _ = start(env)
        idle(c, "P1")
        c.send(b"DONE\r\nP2 NOOP\r\n")
        _, t1 = c.response("P1")
        _, t2 = c.response("P2")
        if not t1.startswith(b"P1 OK") or not t2.startswith(b"P2 OK"):
            fail("%s / %s" % (show(t1), show(t2)))
        c.logout()
        proc.wait()
        check(env, proc)


@test
def idle_in_authenticated_state_is_allowed():
    with Env() as env:
        proc, c, _ = start(env, select=None)
        if idle(c, "U1"):
            fail("untagged data in the authenticated state")
        deliver(env)
        done(c, "U1")
        c.logout()
        proc.wait()
        check(env, proc)


@test
def idle_before_login_is_bad():
    with Env() as env:
        proc, c = env.start_inetd()
        c.greeting()
        _, tagged = c.command("N1", "IDLE")
        if not tagged.startswith(b"N1 BAD"):
            fail("IDLE before login: %s" % show(tagged))
        c.logout()
        proc.wait()
        check(env, proc)


# ---------------------------------------------------------------------------
# Changes made by others reach the idling session


@test
def delivery_into_new_pushes_exists_and_recent():
    with Env() as env:
        proc, c, _ = start(env)
        idle(c)
        deliver(env)
        got = read_until(c, b"* 2 EXISTS", "* 2 EXISTS")
        # RECENT counts the session's \Recent messages: the fixture's
        # and the new one.
        read_until(c, b"* 2 RECENT", "* 2 RECENT")
        if len(got) != 1:
            fail("extra lines before EXISTS: %s" % show(b" | ".join(got)))
        deliver(env, 2)
        read_until(c, b"* 4 EXISTS", "* 4 EXISTS")
        done(c)
        c.logout()
        proc.wait()
        check(env, proc)


@test
def append_by_other_session_pushes_exists():
    with Env() as env:
        pa, a, _ = start(env)
        pb, b, _ = start(env, select=None)
        idle(a)
        msg = b"Subject: appended\r\n\r\nbody\r\n"
        b.send(b"B1 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
        _, tagged = b.response("B1")
        if not tagged.startswith(b"B1 OK"):
            fail("APPEND: %s" % show(tagged))
        read_until(a, b"* 2 EXISTS", "* 2 EXISTS")
        done(a)
        a.logout()
        b.logout()
        check(env, pa, pb)


@test
def flag_change_by_other_pushes_fetch_flags():
    """STORE in session B when this build has it; otherwise (and also) a
    rename in cur/, as another Maildir client changes flags."""
    with Env() as env:
        pa, a, _ = start(env)
        pb, b, _ = start(env)
        idle(a)
        r = has_command(b, "B1", "STORE 1 +FLAGS (\\Flagged)")
        if r is not None:
            if not r[1].startswith(b"B1 OK"):
                fail("STORE: %s" % show(r[1]))
            read_until(a, re.compile(FLAGGED_SEEN),
                       "FETCH after STORE")
            old = cur_files(env)[0]
            rename_flags(env, old, "S")
        else:
            old = cur_files(env)[0]
            rename_flags(env, old, "FS")
            read_until(a, re.compile(FLAGGED_SEEN),
                       "FETCH after rename")
            rename_flags(env, cur_files(env)[0], "S")
        read_until(a, re.compile(SEEN),
                   "FETCH after flag removal")
        done(a)
        a.logout()
        b.logout()
        check(env, pa, pb)


@test
def expunge_by_other_session_pushes_expunge_with_right_numbers():
    with Env() as env:
        deliver(env, 3)  # messages 2, 3, 4
        pa, a, sel = start(env)
        if b"* 4 EXISTS" not in sel:
            fail("SELECT: %s" % show(b" | ".join(sel)))
        pb, b, _ = start(env)
        idle(a)
        # Mark messages 2 and 4 \Deleted as another client would, then
        # EXPUNGE them in session B.
        files = cur_files(env)
        if len(files) != 4:
            fail("cur/ holds %s" % files)
        # The files sort by name: the fixture first, then the deliveries
        # in order, which is UID order.
        rename_flags(env, files[1], "T")
        rename_flags(env, files[3], "T")
        b.command("B1", "EXPUNGE", expect="OK")
        got = read_until(a, b"* 3 EXPUNGE", "the second EXPUNGE")
        expunges = [ln for ln in got if ln.endswith(b"EXPUNGE")]
        # Message 2 goes first; message 4 is then number 3.
        if expunges != [b"* 2 EXPUNGE", b"* 3 EXPUNGE"]:
            fail("EXPUNGEs: %s" % show(b" | ".join(got)))
        done(a)
        # A's view now has two messages.
        untagged, _ = a.command("A2", "NOOP", expect="OK")
        if any(ln.endswith(b"EXISTS") or ln.endswith(b"EXPUNGE")
               for ln in untagged):
            fail("late updates: %s" % show(b" | ".join(untagged)))
        a.logout()
        b.logout()
        check(env, pa, pb)


@test
def rename_out_and_in_by_another_maildir_client():
    """A message moved to another folder by a rename (mutt, mbsync) is an
    EXPUNGE for the idler; one moved in is an EXISTS."""
    with Env() as env:
        deliver(env, 1)
        pa, a, _ = start(env)
        idle(a)
        files = cur_files(env)
        src = os.path.join(maildir(env), "cur", files[0])
        os.rename(src, os.path.join(maildir(env, box=".Archive"), "cur",
                                    files[0]))
        read_until(a, b"* 1 EXPUNGE", "EXPUNGE after a rename out")
        inbound = deliver(env, 1, box=".Archive")[0]
        os.rename(os.path.join(maildir(env, box=".Archive"), "new", inbound),
                  os.path.join(maildir(env), "cur", inbound + ":2,"))
        read_until(a, b"* 2 EXISTS", "EXISTS after a rename in")
        done(a)
        a.logout()
        check(env, pa)


@test
def move_out_and_in_by_other_session():
    with Env() as env:
        deliver(env, 2)
        pa, a, _ = start(env)
        pb, b, _ = start(env)
        idle(a)
        r = has_command(b, "B1", "MOVE 2 Archive")
        if r is None:
            done(a)
            raise Skip("MOVE is not in this build")
        if not r[1].startswith(b"B1 OK"):
            fail("MOVE: %s" % show(r[1]))
        read_until(a, b"* 2 EXPUNGE", "EXPUNGE after MOVE out")
        b.command("B2", "SELECT Archive", expect="OK")
        b.command("B3", "MOVE 1 INBOX", expect="OK")
        read_until(a, b"* 3 EXISTS", "EXISTS after MOVE in")
        done(a)
        a.logout()
        b.logout()
        check(env, pa, pb)


@test
def idle_and_noop_sessions_see_identical_updates():
    """RFC 3501 and RFC 2177 updates come from the same sync: after each
    change, the idler's pushed lines equal what a NOOP reports."""
    with Env() as env:
        pa, a, _ = start(env)
        pc, c, _ = start(env)
        idle(a)
        steps = [
            ("deliver", lambda: deliver(env, 2), b"* 3 EXISTS"),
            ("flag", lambda: rename_flags(env, cur_files(env)[0], "FS"),
             re.compile(rb"\* 1 FETCH .*")),
            ("expunge", lambda: os.unlink(os.path.join(
                maildir(env), "cur", cur_files(env)[0])), b"* 1 EXPUNGE"),
        ]
        for i, (what, change, last) in enumerate(steps):
            change()
            pushed = read_until(a, last, what)
            # The idler may get a change in more than one push only if
            # the change itself is split; each step here is one sync.
            untagged, _ = c.command("C%d" % i, "NOOP", expect="OK")
            # \Recent belongs to one session (A selected first): compare
            # everything else.
            pushed, untagged = unrecent(pushed), unrecent(untagged)
            if pushed != untagged:
                fail("%s: IDLE got %s, NOOP got %s"
                     % (what, show(b" | ".join(pushed)),
                        show(b" | ".join(untagged))))
        done(a)
        a.logout()
        c.logout()
        check(env, pa, pc)


@test
def burst_of_1000_deliveries_is_coalesced():
    with Env() as env:
        pa, a, _ = start(env)
        idle(a)
        deliver(env, 1000)
        got = read_until(a, b"* 1001 EXISTS", "* 1001 EXISTS",
                         timeout=max(WAIT, 60))
        exists = [ln for ln in got if ln.endswith(b" EXISTS")]
        if VERBOSE:
            print("     1000 deliveries: %d EXISTS lines" % len(exists))
        # One sync per settled burst: a handful at most, never one per
        # message.
        if len(exists) > 20:
            fail("%d EXISTS lines for one burst" % len(exists))
        late, _ = done(a)
        if any(ln.endswith(b" EXISTS") for ln in late):
            fail("EXISTS after the burst: %s" % show(b" | ".join(late)))
        a.logout()
        check(env, pa)


@test
def paced_deliveries_are_batched():
    """A delivery agent writing 1,000 messages one by one over a while (a
    pause of 0.5 ms after each, pacing the load, not synchronising): the
    server waits for a burst to settle (20 ms) before each sync, so it
    sends at most one EXISTS per 10 ms of the whole exchange, however
    slow the machine. Reporting each wake-up at once gives ~10 times more."""
    with Env() as env:
        pa, a, _ = start(env)
        idle(a)
        t0 = time.monotonic()
        for _ in range(1000):
            deliver(env, 1)
            time.sleep(0.0005)
        got = read_until(a, b"* 1001 EXISTS", "* 1001 EXISTS",
                         timeout=max(WAIT, 60))
        elapsed = time.monotonic() - t0
        exists = [ln for ln in got if ln.endswith(b" EXISTS")]
        if VERBOSE:
            print("     paced over %.2fs: %d EXISTS lines"
                  % (elapsed, len(exists)))
        if len(exists) > elapsed / 0.010 + 5:
            fail("%d EXISTS lines in %.2fs" % (len(exists), elapsed))
        done(a)
        a.logout()
        check(env, pa)


@test
def mutt_style_idle_done_fetch_idle_loop():
    with Env() as env:
        pa, a, _ = start(env)
        has_fetch = has_command(a, "F0", "FETCH 1 (FLAGS)") is not None
        n = 1
        for rnd in range(4):
            tag = "I%d" % rnd
            idle(a, tag)
            deliver(env)
            n += 1
            read_until(a, b"* %d EXISTS" % n, "EXISTS in round %d" % rnd)
            done(a, tag)
            if has_fetch:
                untagged, _ = a.command("F%d" % (rnd + 1),
                                        "FETCH %d (FLAGS)" % n, expect="OK")
                if not any(ln.startswith(b"* %d FETCH" % n) for ln in untagged):
                    fail("FETCH %d: %s" % (n, show(b" | ".join(untagged))))
            else:
                a.command("F%d" % (rnd + 1), "NOOP", expect="OK")
        a.logout()
        check(env, pa)


# ---------------------------------------------------------------------------
# Timers, fallback, CPU


@test
def keepalive_with_short_interval():
    with Env() as env:
        pa, a, _ = start(env, ["idle_keepalive = 1s"])
        idle(a)
        read_until(a, b"* OK Still here", "the first keepalive")
        read_until(a, b"* OK Still here", "the second keepalive")
        done(a)
        # Not idling: no keepalive comes, the next response is NOOP's.
        untagged, _ = a.command("K2", "NOOP", expect="OK")
        if any(b"Still here" in ln for ln in untagged):
            fail("keepalive outside IDLE")
        a.logout()
        check(env, pa)


@test
def autologout_still_applies_during_idle():
    with Env() as env:
        pa, a, _ = start(env, ["idle_timeout = 2s", "idle_keepalive = 1s"])
        idle(a)
        rest = a.expect_eof(timeout=WAIT)
        if not any(ln.startswith(b"* BYE") for ln in rest):
            fail("no BYE at autologout: %s" % show(b" | ".join(rest)))
        pa.wait()
        check(env, pa)


@test
def forced_poll_fallback_reports_changes():
    with Env() as env:
        pa, a, _ = start(env, ["mailbox_watch = poll",
                               "mailbox_poll_interval = 1s"])
        idle(a)
        deliver(env)
        read_until(a, b"* 2 EXISTS", "EXISTS by polling")
        rename_flags(env, cur_files(env)[0], "FS")
        read_until(a, re.compile(FLAGGED_SEEN),
                   "FETCH by polling")
        done(a)
        idle(a, "I2")
        done(a, "I2")
        a.logout()
        pa.wait()
        log = pa.stderr_text()
        if log.count(b"mailbox_watch = poll") != 1:
            fail("fallback not logged exactly once: %s" % show(log[-800:]))
        check(env, pa)


def hog_inotify(uid, gid):
    """Fork a process that, as uid:gid, takes every inotify instance the
    user may have (fs.inotify.max_user_instances) and holds them until
    killed. Returns its pid; Skip when the limit is too high to reach."""
    import ctypes
    import resource
    with open("/proc/sys/fs/inotify/max_user_instances") as f:
        limit = int(f.read())
    if limit > 8192:
        raise Skip("max_user_instances %d is too high to exhaust" % limit)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            # Room for every instance: EMFILE must mean the user limit.
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (limit + 256, limit + 256))
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            libc = ctypes.CDLL(None, use_errno=True)
            n = 0
            while n <= limit and libc.inotify_init1(0) >= 0:
                n += 1
            os.write(w, b"%d %d\n" % (n, ctypes.get_errno()))
            time.sleep(600)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        n, err = (int(x) for x in f.readline().split())
    if err != errno.EMFILE:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise Skip("inotify instances not exhausted (%d, %s)"
                   % (n, os.strerror(err)))
    return pid


@test
def inotify_exhausted_falls_back_to_polling():
    """With every inotify instance of the mail user taken (by other
    sessions, say), IDLE still reports a delivery: the session logs once
    and checks the mailbox every mailbox_poll_interval instead. While it
    runs, other IDLE sessions of that user on this machine poll too (a
    test suite run in parallel may see slow notifications)."""
    with Env() as env:
        hog = hog_inotify(env.uid, env.gid)
        try:
            pa, a, _ = start(env, ["mailbox_poll_interval = 1s"])
            idle(a)
            deliver(env)
            read_until(a, b"* 2 EXISTS", "EXISTS by polling")
            done(a)
            a.logout()
            pa.wait()
        finally:
            os.kill(hog, signal.SIGKILL)
            os.waitpid(hog, 0)
        log = pa.stderr_text()
        if log.count(b"inotify unavailable") != 1:
            fail("fallback not logged exactly once: %s" % show(log[-800:]))
        check(env, pa)


@test
def idle_session_uses_no_cpu():
    with Env() as env:
        pa, a, _ = start(env)
        idle(a)
        # Let the IDLE set-up finish: a NOOP-free way is to wait for the
        # process to block (state S) in ppoll.
        wait_for(lambda: proc_state(pa.pid) == "S", "the session to block")
        before = cpu_ticks(pa.pid)
        time.sleep(3)  # the measurement window, not a synchronisation
        after = cpu_ticks(pa.pid)
        if after - before > 2:
            fail("idle session used %d ticks in 3 s" % (after - before))
        done(a)
        a.logout()
        check(env, pa)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2]


# ---------------------------------------------------------------------------
# TLS


class TLSClient:
    """A line client over an ssl socket (blocking with a timeout)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.sock.settimeout(WAIT)

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                fail("TLS connection closed; have %s" % show(self.buf))
            self.buf += data
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def until(self, pred, what):
        got = []
        while True:
            ln = self.line()
            got.append(ln)
            if pred(ln):
                return got


@test
def idle_over_implicit_tls():
    if shutil.which("certtool") is None:
        raise Skip("certtool (gnutls-bin) not installed")
    with Env() as env:
        r = subprocess.run(["sh", os.path.join(TOP, "tools", "gencert.sh"),
                            env.dir], capture_output=True)
        if r.returncode != 0:
            fail("gencert.sh: %s" % show(r.stderr))
        cert, key = env.path("cert.pem"), env.path("key.pem")
        conf = env.write_config(["tls_cert = " + cert, "tls_key = " + key])
        ours, theirs = socket.socketpair()
        proc = env.spawn([BIN, "-i", "--tls", "-f", "-c", conf],
                         stdin=theirs.fileno(), stdout=theirs.fileno())
        theirs.close()
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        ours.settimeout(WAIT)
        s = ctx.wrap_socket(ours, server_hostname="localhost")
        c = TLSClient(s)
        if not c.line().startswith(b"* OK"):
            fail("no greeting over TLS")
        c.send("L LOGIN demo secret")
        c.until(lambda ln: ln.startswith(b"L "), "login")
        c.send("S SELECT INBOX")
        c.until(lambda ln: ln.startswith(b"S OK"), "select")
        c.send("I IDLE")
        c.until(lambda ln: ln == b"+ idling", "+ idling")
        deliver(env)
        c.until(lambda ln: ln == b"* 2 EXISTS", "EXISTS over TLS")
        c.send("DONE")
        c.until(lambda ln: ln.startswith(b"I OK"), "IDLE's OK")
        c.send("Z LOGOUT")
        c.until(lambda ln: ln.startswith(b"Z OK"), "LOGOUT's OK")
        s.close()
        proc.wait()
        check(env, proc)


# ---------------------------------------------------------------------------


def main(argv):
    verbose = "-v" in argv
    only = [argv[i + 1] for i, a in enumerate(argv) if a == "-k" and i + 1 < len(argv)]
    passed = failed = skipped = 0
    for name, fn in TESTS:
        if only and not any(k in name for k in only):
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
            print("FAIL %s: %s" % (name, e))
            continue
        except Exception:  # noqa: BLE001 - a crash of the test is a failure
            failed += 1
            print("FAIL %s:\n%s" % (name, traceback.format_exc()))
            continue
        passed += 1
        if verbose:
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0))
        else:
            print("ok   %s" % name)
    if skipped:
        print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
