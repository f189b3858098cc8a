#!/usr/bin/python3
"""Black-box tests of MOVE and UID MOVE (RFC 6851) with COPYUID (RFC 4315):
exact responses, what happens on disk (the same inode in the target, flags
and keywords carried over), other sessions' views, crashes at every step
of a 1,000-message MOVE, and several processes moving, expunging and
delivering at once.

The binary is $IMAPMOVED_BIN. The crash tests need a build with fault
points (-DIMAPMOVED_FAULTS): the sanitizer build is one; for the release
binary they use build/faults/imapmoved beside it, and are skipped when
neither is there. Prints one line per test and a final "N passed, N
failed"; exits non-zero on any failure.

Usage: run-move.py [-v] [-k SUBSTRING]...
"""

import os
import random
import re
import socket
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imaptest import (  # noqa: E402
    BIN, TOP, Client, Env, TestFailure, binary_has_asan, fail, show)

TESTS = []
IS_ASAN = binary_has_asan()


class Skip(Exception):
    """The test cannot run here; reported, not counted."""


def verbose_stats():
    return os.environ.get("MOVE_STATS") == "1"


def test(fn):
    TESTS.append((fn.__name__, fn))
    return fn


# ---------------------------------------------------------------------------
# The Maildir on disk


def box_path(env, box, user="demo"):
    root = os.path.join(env.home(user), "Maildir")
    return root if box == "INBOX" else os.path.join(root, "." + box)


def chown(env, path):
    os.chown(path, env.uid, env.gid)


def put(env, box, ids, flags="", start=0, user="demo"):
    """Write one message per Message-ID into box's cur/ with these info
    flags; returns the file names in order. mtimes differ per message."""
    cur = os.path.join(box_path(env, box, user), "cur")
    names = []
    for i, mid in enumerate(ids):
        n = start + i
        name = "17000%05d.M%dP%d.test:2,%s" % (n, n, os.getpid(), flags)
        path = os.path.join(cur, name)
        with open(path, "w") as f:
            f.write("From: a@example.org\r\nTo: b@example.org\r\n"
                    "Subject: m%d\r\nMessage-ID: <%s>\r\n\r\nbody %d\r\n"
                    % (n, mid, n))
        os.utime(path, (1600000000 + n, 1600000000 + n))
        chown(env, path)
        names.append(name)
    return names


def remove_default(env, user="demo"):
    """Remove the greeting message every test Maildir starts with."""
    cur = os.path.join(box_path(env, "INBOX", user), "cur")
    for n in os.listdir(cur):
        os.unlink(os.path.join(cur, n))


def message_id(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    m = re.search(rb"^Message-ID: <([^>]*)>", head, re.M | re.I)
    return m.group(1).decode() if m else None


def census(env, user="demo"):
    """{Message-ID: [(folder dir, sub, name)]} over every folder's cur/
    and new/."""
    root = os.path.join(env.home(user), "Maildir")
    found = {}
    for d in [""] + [e for e in os.listdir(root) if e.startswith(".")]:
        for sub in ("cur", "new"):
            p = os.path.join(root, d, sub)
            if not os.path.isdir(p):
                continue
            for n in os.listdir(p):
                mid = message_id(os.path.join(p, n))
                found.setdefault(mid, []).append((d, sub, n))
    return found


def read_uidlist(env, box, user="demo"):
    """(uidvalidity, uidnext, {uid: file name}) of box's UID list; fails
    on a duplicate UID or UIDs out of order."""
    path = os.path.join(box_path(env, box, user), "imapmoved-uidlist")
    with open(path) as f:
        lines = f.read().splitlines()
    if lines[0] != "imapmoved-uidlist 1":
        fail("%s: bad header %r" % (path, lines[0]))
    head = dict((w[0], w[1:]) for w in lines[1].split())
    recs = {}
    last = 0
    for line in lines[2:]:
        uid, _, _, name = line.split(" ", 3)
        uid = int(uid)
        if uid in recs or uid <= last:
            fail("%s: UID %d repeated or out of order" % (path, uid))
        last = uid
        recs[uid] = name
    return int(head["V"]), int(head["N"]), recs


def clear_dead_locks(env, user="demo"):
    """Remove list locks whose owner process is gone: what the store's
    stale-lock breaking does after its delay, without the wait."""
    root = os.path.join(env.home(user), "Maildir")
    for d in [""] + [e for e in os.listdir(root) if e.startswith(".")]:
        p = os.path.join(root, d, "imapmoved-uidlist.lock")
        try:
            with open(p) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if not os.path.exists("/proc/%d" % pid):
            os.unlink(p)


def dir_inodes(env, box, user="demo"):
    """{base name: (inode, mtime)} of box's cur/."""
    cur = os.path.join(box_path(env, box, user), "cur")
    out = {}
    for n in os.listdir(cur):
        st = os.stat(os.path.join(cur, n))
        out[n.split(":")[0]] = (st.st_ino, st.st_mtime)
    return out


def cur_names(env, box, user="demo"):
    return sorted(os.listdir(os.path.join(box_path(env, box, user), "cur")))


# ---------------------------------------------------------------------------
# Sessions


def fault_binary():
    """A binary with fault points: the one under test when it is the
    sanitizer build, else build/faults/imapmoved; None when absent."""
    if IS_ASAN:
        return BIN
    cand = os.path.join(TOP, "build", "faults", "imapmoved")
    if os.path.realpath(BIN) == os.path.realpath(cand) or os.access(cand, os.X_OK):
        return cand
    return None


def start(env, binary=None, fault=None, extra_env=None, login=True):
    """imapmoved -i over a socketpair, logged in; returns (proc, client)."""
    conf = env.write_config()
    ours, theirs = socket.socketpair()
    e = dict(os.environ)
    e.pop("IMAPMOVED_FAULT", None)
    e.pop("IMAPMOVED_FAKE_EXDEV", None)
    if fault:
        e["IMAPMOVED_FAULT"] = fault
    e.update(extra_env or {})
    proc = env.spawn([binary or BIN, "-i", "-c", conf], stdin=theirs.fileno(),
                     stdout=theirs.fileno(), env=e)
    theirs.close()
    c = Client.from_socket(ours, name="session-%d" % len(env.procs))
    env.clients.append(c)
    c.greeting()
    if login:
        c.login()
    return proc, c


def select(c, box, tag="S1", verb="SELECT"):
    """SELECT box; returns {'exists', 'uidvalidity', 'uidnext'}."""
    untagged, _ = c.command(tag, "%s %s" % (verb, box), expect="OK")
    info = {}
    for u in untagged:
        m = re.match(rb"\* (\d+) EXISTS$", u)
        if m:
            info["exists"] = int(m.group(1))
        m = re.search(rb"\[UIDVALIDITY (\d+)\]", u)
        if m:
            info["uidvalidity"] = int(m.group(1))
        m = re.search(rb"\[UIDNEXT (\d+)\]", u)
        if m:
            info["uidnext"] = int(m.group(1))
    return info


def finish(env, proc, c):
    c.logout()
    proc.wait()
    env.check_exit(proc)


def expect_exact(got, want, what):
    """got (untagged lines + tagged) must equal want, line by line."""
    got = [g.decode("utf-8", "replace") for g in got]
    if got != want:
        fail("%s:\n  expected %s\n  got      %s" % (what, want, got))


def run_move(c, tag, cmd):
    untagged, tagged = c.command(tag, cmd)
    return untagged + [tagged]


def uidvalidity_of(c, box, tag="ST"):
    untagged, _ = c.command(tag, "STATUS %s (UIDVALIDITY)" % box, expect="OK")
    for u in untagged:
        m = re.search(rb"UIDVALIDITY (\d+)", u)
        if m:
            return int(m.group(1))
    fail("no UIDVALIDITY in STATUS %s: %s" % (box, show(untagged)))


def with_inbox(n, **kw):
    """A fresh environment whose INBOX holds n messages <1@t> .. <n@t>."""
    env = Env()
    remove_default(env)
    put(env, "INBOX", ["%d@t" % i for i in range(1, n + 1)], **kw)
    return env


# ---------------------------------------------------------------------------
# Protocol: responses, in order


@test
def move_advertised_in_capability_after_login():
    with Env() as env:
        proc, c = start(env)
        untagged, _ = c.command("C1", "CAPABILITY", expect="OK")
        if b"MOVE" not in untagged[0].split():
            fail("no MOVE in %s" % show(untagged[0]))
        finish(env, proc, c)


@test
def move_single_message_copyuid_then_expunge_then_ok():
    with with_inbox(5) as env:
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        got = run_move(c, "M1", "MOVE 2 Archive")
        expect_exact(got, ["* OK [COPYUID %d 2 1] Moved UIDs." % uv,
                           "* 2 EXPUNGE", "M1 OK MOVE completed."], "MOVE 2")
        finish(env, proc, c)


@test
def uid_move_range_reports_ranges_and_shifting_expunges():
    with with_inbox(6) as env:
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        got = run_move(c, "M1", "UID MOVE 2:4 Archive")
        expect_exact(got, ["* OK [COPYUID %d 2:4 1:3] Moved UIDs." % uv,
                           "* 2 EXPUNGE", "* 2 EXPUNGE", "* 2 EXPUNGE",
                           "M1 OK MOVE completed."], "UID MOVE 2:4")
        # The target UIDs continue from the target's UIDNEXT.
        got = run_move(c, "M2", "UID MOVE 5:6 Archive")
        expect_exact(got, ["* OK [COPYUID %d 5:6 4:5] Moved UIDs." % uv,
                           "* 2 EXPUNGE", "* 2 EXPUNGE",
                           "M2 OK MOVE completed."], "UID MOVE 5:6")
        finish(env, proc, c)


@test
def move_star_moves_the_last_message():
    with with_inbox(4) as env:
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        got = run_move(c, "M1", "MOVE * Archive")
        expect_exact(got, ["* OK [COPYUID %d 4 1] Moved UIDs." % uv,
                           "* 4 EXPUNGE", "M1 OK MOVE completed."], "MOVE *")
        got = run_move(c, "M2", "UID MOVE 2:* Archive")
        expect_exact(got, ["* OK [COPYUID %d 2:3 2:3] Moved UIDs." % uv,
                           "* 2 EXPUNGE", "* 2 EXPUNGE",
                           "M2 OK MOVE completed."], "UID MOVE 2:*")
        finish(env, proc, c)


@test
def uid_move_set_with_gaps_numbers_each_expunge_as_client_counts():
    with with_inbox(7) as env:
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        got = run_move(c, "M1", "UID MOVE 7,1,3:4,6 Archive")
        # Sequence numbers 1 3 4 6 7: each EXPUNGE shifts the later ones.
        expect_exact(got, ["* OK [COPYUID %d 1,3:4,6:7 1:5] Moved UIDs." % uv,
                           "* 1 EXPUNGE", "* 2 EXPUNGE", "* 2 EXPUNGE",
                           "* 3 EXPUNGE", "* 3 EXPUNGE",
                           "M1 OK MOVE completed."], "UID MOVE with gaps")
        finish(env, proc, c)


@test
def move_sequence_set_with_gaps():
    with with_inbox(5) as env:
        proc, c = start(env)
        uv = uidvalidity_of(c, "Sent")
        select(c, "INBOX")
        got = run_move(c, "M1", "MOVE 2,4:5 Sent")
        expect_exact(got, ["* OK [COPYUID %d 2,4:5 1:3] Moved UIDs." % uv,
                           "* 2 EXPUNGE", "* 3 EXPUNGE", "* 3 EXPUNGE",
                           "M1 OK MOVE completed."], "MOVE 2,4:5")
        # Now 1 and 3 are left, as sequence numbers 1 and 2.
        got = run_move(c, "M2", "MOVE 2 Sent")
        expect_exact(got, ["* OK [COPYUID %d 3 4] Moved UIDs." % uv,
                           "* 2 EXPUNGE", "M2 OK MOVE completed."], "MOVE 2")
        finish(env, proc, c)


@test
def move_into_selected_mailbox_gives_new_uids_then_exists():
    with with_inbox(3) as env:
        before = dir_inodes(env, "INBOX")
        proc, c = start(env)
        info = select(c, "INBOX")
        uv = info["uidvalidity"]
        got = run_move(c, "M1", "UID MOVE 1:2 INBOX")
        expect_exact(got, ["* OK [COPYUID %d 1:2 4:5] Moved UIDs." % uv,
                           "* 1 EXPUNGE", "* 1 EXPUNGE", "* 3 EXISTS",
                           "* 3 RECENT", "M1 OK MOVE completed."], "into self")
        if dir_inodes(env, "INBOX") != before:
            fail("files changed by a MOVE into the same mailbox")
        # The new UIDs are real: moving them elsewhere works.
        uva = uidvalidity_of(c, "Archive")
        got = run_move(c, "M2", "UID MOVE 4:5 Archive")
        expect_exact(got, ["* OK [COPYUID %d 4:5 1:2] Moved UIDs." % uva,
                           "* 2 EXPUNGE", "* 2 EXPUNGE",
                           "M2 OK MOVE completed."], "moved on")
        finish(env, proc, c)
        uvl, nxt, recs = read_uidlist(env, "INBOX")
        if uvl != uv or sorted(recs) != [3] or nxt != 6:
            fail("INBOX list after: V%d N%d %s" % (uvl, nxt, sorted(recs)))


@test
def move_to_missing_mailbox_trycreate_and_nothing_moved():
    with with_inbox(3) as env:
        before = cur_names(env, "INBOX")
        proc, c = start(env)
        select(c, "INBOX")
        for tag, cmd in (("M1", "MOVE 1:3 Nowhere"), ("M2", "UID MOVE 2 Nowhere"),
                         ("M3", "UID MOVE 99 Nowhere")):
            got = run_move(c, tag, cmd)
            expect_exact(got, ["%s NO [TRYCREATE] Mailbox does not exist." % tag],
                         cmd)
        finish(env, proc, c)
        if cur_names(env, "INBOX") != before:
            fail("INBOX changed by a refused MOVE")
        if os.path.exists(box_path(env, "Nowhere")):
            fail("a MOVE created its target")


@test
def move_in_examine_mode_refused_and_nothing_moved():
    with with_inbox(3) as env:
        before = cur_names(env, "INBOX")
        proc, c = start(env)
        select(c, "INBOX", verb="EXAMINE")
        for tag, cmd in (("M1", "MOVE 1 Archive"), ("M2", "UID MOVE 1:* Archive")):
            got = run_move(c, tag, cmd)
            expect_exact(got, ["%s NO [READ-ONLY] Mailbox is read-only." % tag],
                         cmd)
        finish(env, proc, c)
        if cur_names(env, "INBOX") != before or cur_names(env, "Archive"):
            fail("files moved in EXAMINE mode")


@test
def deleted_messages_outside_the_set_stay_in_source():
    with Env() as env:
        remove_default(env)
        put(env, "INBOX", ["1@t", "2@t"], flags="S")
        deleted = put(env, "INBOX", ["3@t", "4@t"], flags="ST", start=2)
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        got = run_move(c, "M1", "UID MOVE 1:2 Archive")
        # No FETCH (\Deleted) anywhere, no expunge of 3 and 4.
        expect_exact(got, ["* OK [COPYUID %d 1:2 1:2] Moved UIDs." % uv,
                           "* 1 EXPUNGE", "* 1 EXPUNGE",
                           "M1 OK MOVE completed."], "MOVE beside \\Deleted")
        got = run_move(c, "N1", "NOOP")
        expect_exact(got, ["N1 OK NOOP completed."], "NOOP after")
        finish(env, proc, c)
        if cur_names(env, "INBOX") != sorted(deleted):
            fail("INBOX now %s, expected the \\Deleted %s"
                 % (cur_names(env, "INBOX"), deleted))
        if any(n.endswith("T") or "T" in n.split(":2,")[1]
               for n in cur_names(env, "Archive")):
            fail("a moved message got \\Deleted: %s" % cur_names(env, "Archive"))


@test
def message_expunged_meanwhile_is_skipped_and_the_rest_moved():
    with with_inbox(3) as env:
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        # Another program removes message 2 after the client's SELECT.
        cur = os.path.join(box_path(env, "INBOX"), "cur")
        os.unlink(os.path.join(cur, sorted(os.listdir(cur))[1]))
        got = run_move(c, "M1", "UID MOVE 1:3 Archive")
        # Only 1 and 3 moved; the sync before the tagged OK reports the
        # removal of 2 (a UID command may be told of expunges).
        expect_exact(got, ["* OK [COPYUID %d 1,3 1:2] Moved UIDs." % uv,
                           "* 1 EXPUNGE", "* 2 EXPUNGE", "* 1 EXPUNGE",
                           "M1 OK MOVE completed."], "MOVE beside a vanished file")
        finish(env, proc, c)
        if cur_names(env, "INBOX") or len(cur_names(env, "Archive")) != 2:
            fail("after: INBOX %s, Archive %s"
                 % (cur_names(env, "INBOX"), cur_names(env, "Archive")))


@test
def uid_move_of_absent_uids_is_ok_with_nothing_moved():
    with with_inbox(2) as env:
        proc, c = start(env)
        select(c, "INBOX")
        got = run_move(c, "M1", "UID MOVE 50:60 Archive")
        expect_exact(got, ["M1 OK No messages moved."], "UID MOVE 50:60")
        finish(env, proc, c)
        if len(cur_names(env, "INBOX")) != 2 or cur_names(env, "Archive"):
            fail("files moved by an empty MOVE")


@test
def move_bad_arguments_and_wrong_state_are_bad():
    with with_inbox(2) as env:
        proc, c = start(env)
        _, t = c.command("B0", "MOVE 1 Archive")
        if not t.startswith(b"B0 BAD"):
            fail("MOVE without a selection: %s" % show(t))
        select(c, "INBOX")
        for tag, cmd in (("B1", "MOVE 3 Archive"), ("B2", "MOVE 0 Archive"),
                         ("B3", "MOVE 1"), ("B4", "MOVE x Archive"),
                         ("B5", "UID MOVE 1 Archive extra")):
            _, t = c.command(tag, cmd)
            if not t.startswith(tag.encode() + b" BAD"):
                fail("%s: expected BAD, got %s" % (cmd, show(t)))
        finish(env, proc, c)
        if len(cur_names(env, "INBOX")) != 2:
            fail("a BAD MOVE moved something")


@test
def moved_files_keep_their_inode_base_name_and_mtime():
    with with_inbox(20) as env:
        before = dir_inodes(env, "INBOX")
        proc, c = start(env)
        select(c, "INBOX")
        c.command("M1", "UID MOVE 1:10,15 Archive", expect="OK")
        finish(env, proc, c)
        after = dir_inodes(env, "Archive")
        if len(after) != 11:
            fail("Archive holds %d files, expected 11" % len(after))
        for base, st in after.items():
            if before.get(base) != st:
                fail("%s: inode/mtime %s before, %s after"
                     % (base, before.get(base), st))
        rest = dir_inodes(env, "INBOX")
        if len(rest) != 9 or any(before[b] != st for b, st in rest.items()):
            fail("INBOX files changed: %s" % rest)


@test
def flags_and_keywords_travel_with_letters_remapped():
    with Env() as env:
        remove_default(env)
        inbox, arch = box_path(env, "INBOX"), box_path(env, "Archive")
        for d, text in ((inbox, "0 $Important\n1 Work\n2 Later\n"),
                        (arch, "0 Other\n1 Later\n")):
            with open(os.path.join(d, "imapmoved-keywords"), "w") as f:
                f.write(text)
            chown(env, os.path.join(d, "imapmoved-keywords"))
        names = put(env, "INBOX", ["1@t"], flags="FSab")
        names += put(env, "INBOX", ["2@t"], flags="RTc", start=1)
        names += put(env, "INBOX", ["3@t"], flags="", start=2)
        proc, c = start(env)
        select(c, "INBOX")
        c.command("M1", "UID MOVE 1:3 Archive", expect="OK")
        untagged, _ = c.command("S2", "SELECT Archive", expect="OK")
        flags_line = [u for u in untagged if u.startswith(b"* FLAGS")][0]
        for kw in (b"$Important", b"Work", b"Later", b"Other"):
            if kw not in flags_line:
                fail("%s missing from %s" % (kw, show(flags_line)))
        finish(env, proc, c)
        with open(os.path.join(arch, "imapmoved-keywords")) as f:
            table = dict(l.split(" ", 1)[::-1] for l in f.read().split("\n") if l)
        letter = {name: chr(ord("a") + int(i)) for name, i in table.items()}
        want = {
            names[0].split(":")[0]: "FS" + "".join(sorted(letter[k] for k in ("$Important", "Work"))),
            names[1].split(":")[0]: "RT" + letter["Later"],
            names[2].split(":")[0]: "",
        }
        got = {n.split(":")[0]: n.split(":2,")[1] for n in cur_names(env, "Archive")}
        if got != want:
            fail("Archive files %s, expected %s (table %s)" % (got, want, table))
        if table.get("Other") != "0" or table.get("Later") != "1":
            fail("target keyword letters were renumbered: %s" % table)
        for i, n in enumerate(sorted(names)):
            st = os.stat(os.path.join(arch, "cur", [x for x in cur_names(env, "Archive")
                                                    if x.startswith(n.split(":")[0])][0]))
            if int(st.st_mtime) != 1600000000 + i:
                fail("internal date of %s changed: %s" % (n, st.st_mtime))


@test
def other_sessions_see_expunge_on_source_and_exists_recent_on_target():
    with with_inbox(4) as env:
        proc_a, a = start(env)
        proc_b, b = start(env)
        proc_t, t = start(env)
        select(a, "INBOX")
        select(b, "INBOX")
        select(t, "Archive")
        a.command("M1", "UID MOVE 2:3 Archive", expect="OK")
        got = run_move(b, "N1", "NOOP")
        expect_exact(got, ["* 2 EXPUNGE", "* 2 EXPUNGE", "N1 OK NOOP completed."],
                     "source session after the MOVE")
        got = run_move(t, "N2", "NOOP")
        expect_exact(got, ["* 2 EXISTS", "* 2 RECENT", "N2 OK NOOP completed."],
                     "target session after the MOVE")
        # A MOVE by sequence number in b defers the EXPUNGEs of others'
        # changes, but reports its own at once.
        a.command("M2", "UID MOVE 4 Archive", expect="OK")
        got = run_move(b, "M3", "MOVE 1 Sent")
        if got[-1] != b"M3 OK MOVE completed." or got.count(b"* 1 EXPUNGE") != 1 \
                or b"* 2 EXPUNGE" in got:
            fail("MOVE in b: %s" % show(got))
        got = run_move(b, "N3", "NOOP")
        expect_exact(got, ["* 1 EXPUNGE", "N3 OK NOOP completed."], "deferred")
        for p, c in ((proc_a, a), (proc_b, b), (proc_t, t)):
            finish(env, p, c)


@test
def partial_failure_reports_exactly_what_moved():
    if os.geteuid() != 0:
        raise Skip("needs root to own files the mail user cannot rename")
    with with_inbox(5) as env:
        # A sticky cur/ owned by root: the mail user may rename its own
        # files in it but not message 3, which root owns.
        cur = os.path.join(box_path(env, "INBOX"), "cur")
        third = sorted(os.listdir(cur))[2]
        proc, c = start(env)
        uv = uidvalidity_of(c, "Archive")
        select(c, "INBOX")
        os.chown(cur, 0, 0)
        os.chmod(cur, 0o1777)
        os.chown(os.path.join(cur, third), 0, 0)
        got = run_move(c, "M1", "UID MOVE 1:5 Archive")
        want = ["* OK [COPYUID %d 1:2 1:2] Moved UIDs." % uv,
                "* 1 EXPUNGE", "* 1 EXPUNGE"]
        expect_exact(got[:3], want, "partial MOVE")
        tagged = got[-1].decode()
        if len(got) != 4 or not re.fullmatch(
                r"M1 NO \[NOPERM\] .*2 of 5 messages were moved.*", tagged):
            fail("partial MOVE tagged: %s" % show(got))
        finish(env, proc, c)
        cen = census(env)
        where = {mid: [p[0] for p in places] for mid, places in cen.items()}
        if where != {"1@t": [".Archive"], "2@t": [".Archive"], "3@t": [""],
                     "4@t": [""], "5@t": [""]}:
            fail("after a partial MOVE: %s" % where)
        _, _, recs = read_uidlist(env, "Archive")
        if sorted(recs) != [1, 2]:
            fail("Archive list %s" % recs)


# ---------------------------------------------------------------------------
# The binary index (imapmoved-index) of a large box


def fetch_all(c, tag):
    """{uid: the FETCH line's items} of FETCH 1:* (UID FLAGS RFC822.SIZE
    INTERNALDATE), and the UNSEEN/EXISTS of the session's SELECT."""
    untagged, _ = c.command(tag, "FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
                            expect="OK")
    out = {}
    for u in untagged:
        m = re.match(rb"\* (\d+) FETCH \((.*)\)$", u)
        if m:
            uid = int(re.search(rb"UID (\d+)", m.group(2)).group(1))
            items = re.sub(rb" ?\\Recent", b"", m.group(2))
            out[uid] = (int(m.group(1)), items.replace(b"( ", b"("))
    return out


def open_and_fetch(env, tag):
    proc, c = start(env)
    untagged, _ = c.command(tag + "S", "SELECT INBOX", expect="OK")
    head = sorted(u for u in untagged if not u.startswith(b"* FLAGS")
                  and b"PERMANENTFLAGS" not in u and b"RECENT" not in u)
    got = fetch_all(c, tag + "F")
    finish(env, proc, c)
    return head, got


@test
def large_box_reopened_from_the_index_answers_as_from_the_list():
    """A box of 700 messages: the first SELECT writes the index, the next
    sessions open from it and must answer exactly as from the list; after
    changes by another session (flags, expunge, move, a delivery) the index
    is stale and the next session sees the changes."""
    with Env() as env:
        remove_default(env)
        put(env, "INBOX", ["%d@t" % i for i in range(600)], flags="S")
        put(env, "INBOX", ["%d@t" % i for i in range(600, 700)], flags="F",
            start=600)
        time.sleep(0.05)  # past the directory's clock tick
        index = os.path.join(box_path(env, "INBOX"), "imapmoved-index")
        head1, ref = open_and_fetch(env, "A")
        if not os.path.exists(index) or len(ref) != 700:
            fail("no index after the first SELECT of 700 (%d)" % len(ref))
        ino = os.stat(index).st_ino
        for t in ("B", "C"):
            head, got = open_and_fetch(env, t)
            if head != head1 or got != ref:
                fail("session %s from the index differs: %s vs %s" % (
                    t, show(head), show(head1)))
        if os.stat(index).st_ino != ino:
            fail("the index was rewritten though nothing changed")
        # Changes from a session that opened from the index.
        proc, c = start(env)
        select(c, "INBOX")
        c.command("D1", "STORE 1:5 +FLAGS (\\Answered)", expect="OK")
        c.command("D2", "STORE 10 +FLAGS.SILENT (\\Deleted)", expect="OK")
        c.command("D3", "EXPUNGE", expect="OK")
        c.command("D4", "MOVE 650:652 Archive", expect="OK")
        finish(env, proc, c)
        time.sleep(0.05)
        with open(os.path.join(box_path(env, "INBOX"), "new",
                               "1800000000.M1P1.test"), "w") as f:
            f.write("Subject: late\r\n\r\nx\r\n")
        chown(env, os.path.join(box_path(env, "INBOX"), "new",
                                "1800000000.M1P1.test"))
        time.sleep(0.05)
        _, after = open_and_fetch(env, "E")
        if len(after) != 700 - 1 - 3 + 1:
            fail("after the changes %d messages, expected 697" % len(after))
        uids = sorted(ref)
        for u in uids[:5]:
            if b"\\Answered" not in after[u][1]:
                fail("UID %d lost its \\Answered: %s" % (u, after[u][1]))
        # MOVE 650:652 counted after the EXPUNGE of 10: old 651..653.
        for u in [uids[9]] + uids[650:653]:
            if u in after:
                fail("UID %d still there after EXPUNGE/MOVE" % u)
        time.sleep(0.05)
        _, again = open_and_fetch(env, "G")
        if again != after:
            fail("the rewritten index answers differently")


# ---------------------------------------------------------------------------
# Crashes: a MOVE of 1,000 messages killed at each step


BIG = 1000


def crash_world(extra_ids=3):
    """INBOX with BIG messages (some with flags and keywords), Archive with
    a few of its own; both lists created. Returns (env, ids, uv)."""
    env = Env()
    remove_default(env)
    ids = ["%d@big" % i for i in range(BIG)]
    inbox = box_path(env, "INBOX")
    with open(os.path.join(inbox, "imapmoved-keywords"), "w") as f:
        f.write("0 Work\n1 Later\n")
    chown(env, os.path.join(inbox, "imapmoved-keywords"))
    put(env, "INBOX", ids[: BIG // 2], flags="S")
    put(env, "INBOX", ids[BIG // 2:], flags="FRab", start=BIG // 2)
    extra = ["%d@arch" % i for i in range(extra_ids)]
    put(env, "Archive", extra, start=BIG)
    proc, c = start(env)
    uv = {"INBOX": select(c, "INBOX")["uidvalidity"],
          "Archive": select(c, "Archive", tag="S2")["uidvalidity"]}
    finish(env, proc, c)
    return env, ids + extra, uv


def verify_world(env, ids, uv, what):
    """A fresh session and the disk agree: every message exactly once,
    UIDs unique, UIDVALIDITY unchanged, each list naming exactly the files
    of its folder."""
    clear_dead_locks(env)
    proc, c = start(env)
    counts = {}
    for i, box in enumerate(("INBOX", "Archive")):
        info = select(c, box, tag="V%d" % i)
        if info["uidvalidity"] != uv[box]:
            fail("%s: UIDVALIDITY of %s changed %d -> %d"
                 % (what, box, uv[box], info["uidvalidity"]))
        counts[box] = info["exists"]
    finish(env, proc, c)
    cen = census(env)
    dups = {m: p for m, p in cen.items() if len(p) != 1}
    if dups:
        fail("%s: messages not in exactly one place: %s"
             % (what, list(dups.items())[:3]))
    missing = set(ids) - set(cen)
    if missing or set(cen) - set(ids):
        fail("%s: lost %s, unexpected %s" % (what, sorted(missing)[:5],
                                              sorted(set(cen) - set(ids))[:5]))
    if counts["INBOX"] + counts["Archive"] != len(ids):
        fail("%s: the server counts %s, %d messages exist"
             % (what, counts, len(ids)))
    for box in ("INBOX", "Archive"):
        v, nxt, recs = read_uidlist(env, box)
        files = set(cur_names(env, box))
        if v != uv[box] or set(recs.values()) != files or len(recs) != counts[box]:
            fail("%s: %s list (V%d, %d records) does not match its %d files"
                 % (what, box, v, len(recs), len(files)))
        if recs and max(recs) >= nxt:
            fail("%s: %s UIDNEXT %d not above UID %d" % (what, box, nxt, max(recs)))


def crash_once(env, binary, fault, extra_env=None):
    """Run UID MOVE 1:* Archive with IMAPMOVED_FAULT=fault. Returns True
    when the process died at the fault, False when the MOVE completed."""
    proc, c = start(env, binary=binary, fault=fault, extra_env=extra_env)
    select(c, "INBOX")
    c.sendline(b"X1 UID MOVE 1:* Archive")
    while True:
        try:
            line = c.readline(timeout=60)
        except EOFError:
            break
        if line.startswith(b"X1 "):
            if not line.startswith(b"X1 OK"):
                fail("%s: MOVE answered %s" % (fault, show(line)))
            finish(env, proc, c)
            return False
    proc.wait(60)
    env.check_exit(proc)
    if proc.returncode != 99:
        fail("%s: server exited %s, not at the fault point (99)"
             % (fault, proc.returncode))
    return True


def crash_sweep(faults, extra_env=None):
    binary = fault_binary()
    if binary is None:
        raise Skip("no fault-injection build (make build/faults/imapmoved)")
    env, ids, uv = crash_world()
    done = 0
    try:
        for fault in faults:
            env_copy = snapshot(env)
            try:
                died = crash_once(env_copy, binary, fault, extra_env)
                verify_world(env_copy, ids, uv, fault)
                done += died
            except TestFailure as e:
                fail("%s: %s" % (fault, e))
            finally:
                env_copy.close()
    finally:
        env.close()
    return done


def snapshot(env):
    """A copy of env's world (config, passwd, Maildirs) to crash in."""
    import shutil
    copy = Env.__new__(Env)
    copy.__dict__.update(env.__dict__)
    copy.dir = env.dir + ".run"
    shutil.rmtree(copy.dir, ignore_errors=True)
    shutil.copytree(env.dir, copy.dir, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(copy.home("demo")):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), env.uid, env.gid)
    os.chown(copy.home("demo"), env.uid, env.gid)
    # The passwd file names the original homes: point it at the copy.
    with open(copy.passwd.replace(env.dir, copy.dir)) as f:
        text = f.read()
    copy.passwd = copy.passwd.replace(env.dir, copy.dir)
    with open(copy.passwd, "w") as f:
        f.write(text.replace(env.dir, copy.dir))
    copy.procs, copy.clients, copy.nconf = [], [], 100
    return copy


def sample(total, n):
    """About n points spread over 1..total, both ends included."""
    pts = {1, 2, 3, total - 1, total}
    for i in range(n):
        pts.add(1 + (total - 1) * i // max(n - 1, 1))
    return sorted(p for p in pts if 1 <= p <= total)


@test
def crash_at_each_move_fault_point_loses_and_duplicates_nothing():
    points = ["move.after-rename:%d" % k for k in (1, 2, 500, 999, BIG)]
    # The uidlist.* points count from the start of the process, whose
    # SELECT may write a list too: the system-call sweep below covers
    # every step of the list writes instead.
    points += ["move.after-fsync", "move.after-target-list",
               "move.after-source-list"]
    if IS_ASAN:
        points = points[::2]
    died = crash_sweep(points)
    if died < len(points) - 2:
        fail("only %d of %d fault points were reached" % (died, len(points)))


@test
def crash_after_kth_system_call_sweep_loses_and_duplicates_nothing():
    # The MOVE of BIG messages makes BIG renames plus a few dozen other
    # state-changing calls (locks, syncs, keyword table, two list writes,
    # directory fsyncs). Every K before the first rename and after the
    # last one is tried, and a sample of the renames between: each K up to
    # BIG must kill it, and at K = 2 * BIG it has completed, which also
    # shows there is no per-message fsync or list write.
    edge = 12 if IS_ASAN else 36
    ks = sorted(set(range(1, edge + 1)) | set(sample(BIG, 10 if IS_ASAN else 24))
                | set(range(BIG - 4, BIG + edge + 1)))
    died = crash_sweep(["syscall:%d" % k for k in ks + [2 * BIG]])
    must = len([k for k in ks if k <= BIG])
    if died < must or died > len(ks):
        fail("the MOVE died at %d of %d K values (at least %d expected, "
             "and not at K=%d)" % (died, len(ks) + 1, must, 2 * BIG))


@test
def crash_in_cross_filesystem_fallback_leaves_no_duplicate_after_sync():
    # IMAPMOVED_FAKE_EXDEV makes every rename fail with EXDEV: the
    # journal + copy + fsync + rename + unlink path runs.
    points = ["move.after-rename:%d" % k for k in (1, 700)]
    points += ["move.exdev-after-unlink:%d" % k for k in (1, 600, BIG)]
    points += ["move.after-fsync", "move.after-target-list"]
    # Each message costs a few calls here (create, write + fsync, rename,
    # unlink): sample K over the whole fallback.
    points += ["syscall:%d" % k for k in sample(4 * BIG, 12 if IS_ASAN else 28)]
    crash_sweep(points, extra_env={"IMAPMOVED_FAKE_EXDEV": "1"})


# ---------------------------------------------------------------------------
# Several processes at once


@test
def concurrent_moves_expunge_and_delivery_keep_each_message_once():
    n = 150 if IS_ASAN else 300
    with Env() as env:
        remove_default(env)
        keep_a = ["%d@a" % i for i in range(n)]
        keep_b = ["%d@b" % i for i in range(n)]
        dele = ["%d@del" % i for i in range(40)]
        put(env, "INBOX", keep_a, flags="S")
        put(env, "Archive", keep_b, start=n)
        put(env, "INBOX", dele[:20], flags="T", start=2 * n)
        put(env, "Archive", dele[20:], flags="ST", start=2 * n + 20)
        delivered = ["%d@new" % i for i in range(100)]
        sessions = [start(env) for _ in range(3)]
        errors = []
        moved = {"INBOX": 0, "Archive": 0}
        rng = random.Random(6851)

        def mover(c, src, dst, seed):
            r = random.Random(seed)
            try:
                select(c, src)
                for i in range(40):
                    lo = r.randint(1, 3 * n)
                    hi = lo + r.randint(0, n // 3)
                    cmd = ("UID MOVE %d:%d %s" % (lo, hi, dst) if i % 4
                           else "UID MOVE 1:* %s" % dst)
                    u, t = c.command("M%d" % i, cmd)
                    if not t.startswith(b"M%d OK" % i):
                        errors.append("%s: %s" % (cmd, show(t)))
                    moved[src] += sum(1 for x in u if x.endswith(b" EXPUNGE"))
                    c.command("N%d" % i, "NOOP", expect="OK")
            except Exception as e:  # reported by the main thread
                errors.append("mover %s->%s: %s" % (src, dst, e))

        def expunger(c):
            try:
                for i in range(20):
                    select(c, ("INBOX", "Archive")[i % 2], tag="S%d" % i)
                    c.command("E%d" % i, "EXPUNGE", expect="OK")
            except Exception as e:
                errors.append("expunger: %s" % e)

        def deliver():
            root = box_path(env, "INBOX")
            for i, mid in enumerate(delivered):
                name = "1800000000.M%dP%d.deliver" % (i, os.getpid())
                tmp = os.path.join(root, "tmp", name)
                with open(tmp, "w") as f:
                    f.write("Message-ID: <%s>\r\n\r\nnew %d\r\n" % (mid, i))
                    f.flush()
                    os.fsync(f.fileno())
                chown(env, tmp)
                os.rename(tmp, os.path.join(root, "new", name))

        stop = threading.Event()
        renamed = [0]

        def flagger():
            # Another IMAP server on the same Maildir changing flags: a
            # rename within cur/, without the list lock (as Dovecot does).
            dirs = [os.path.join(box_path(env, b), "cur") for b in ("INBOX", "Archive")]
            while not stop.is_set():
                for d in dirs:
                    for name in os.listdir(d)[:50]:
                        if ":2," not in name or "F" in name.split(":2,")[1]:
                            continue
                        base, info = name.split(":2,")
                        new = base + ":2," + "".join(sorted(info + "F"))
                        try:
                            os.rename(os.path.join(d, name), os.path.join(d, new))
                            renamed[0] += 1
                        except FileNotFoundError:
                            pass  # moved or expunged meanwhile

        flag_thread = threading.Thread(target=flagger)
        flag_thread.start()
        threads = [
            threading.Thread(target=mover, args=(sessions[0][1], "INBOX", "Archive", rng.random())),
            threading.Thread(target=mover, args=(sessions[1][1], "Archive", "INBOX", rng.random())),
            threading.Thread(target=expunger, args=(sessions[2][1],)),
            threading.Thread(target=deliver),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        stop.set()
        flag_thread.join(60)
        if errors:
            fail("; ".join(errors[:5]))
        if verbose_stats():
            print("  moved %s, flag renames %d" % (moved, renamed[0]))
        if not all(moved.values()):
            fail("the sessions did not both move messages: %s" % moved)
        for p, c in sessions:
            finish(env, p, c)
        # Every message kept or delivered is in exactly one place; a
        # \Deleted one may have been expunged, never duplicated.
        proc, c = start(env)
        counts = [select(c, b, tag="V%d" % i)["exists"]
                  for i, b in enumerate(("INBOX", "Archive"))]
        finish(env, proc, c)
        cen = census(env)
        for mid in keep_a + keep_b + delivered:
            if len(cen.get(mid, [])) != 1:
                fail("%s found %d times: %s" % (mid, len(cen.get(mid, [])), cen.get(mid)))
        for mid in dele:
            if len(cen.get(mid, [])) > 1:
                fail("%s duplicated: %s" % (mid, cen[mid]))
        if sum(counts) != sum(len(p) for p in cen.values()):
            fail("the server counts %s, the disk holds %d"
                 % (counts, sum(len(p) for p in cen.values())))
        for box in ("INBOX", "Archive"):
            _, _, recs = read_uidlist(env, box)
            if set(recs.values()) != set(cur_names(env, box)):
                fail("%s list does not match its files" % box)


# ---------------------------------------------------------------------------


def main(argv):
    verbose = "-v" in argv
    filters = [argv[i + 1] for i, a in enumerate(argv) if a == "-k" and i + 1 < len(argv)]
    if not os.access(BIN, os.X_OK):
        print("imapmoved binary not found: %s (set IMAPMOVED_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    print("binary: %s (faults: %s)" % (BIN, fault_binary()))
    passed = failed = skipped = 0
    failures = []
    start_t = time.monotonic()
    for name, fn in TESTS:
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
    print("%.1fs; %d skipped%s" % (time.monotonic() - start_t, skipped,
                                   ("; failed: " + " ".join(failures)) if failures else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
