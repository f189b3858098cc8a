#!/usr/bin/python3
"""Real, unmodified IMAP clients against imapmoved.

Each test starts the server standalone on loopback ports (plain, and
implicit TLS with a certificate from tools/gencert.sh that the clients
take as their CA) over a generated Maildir, drives one Debian client
non-interactively (the terminal ones in a private tmux server), and then
checks the Maildir on disk: per folder, the Message-IDs and flags of the
files in cur/ and new/. Plain connections go through a recording proxy,
so each client's commands are printed (the server does not log
commands) and any NO or BAD the server answered fails the test; over
TLS the client's own trace (curl -v, fetchmail -v -v) serves. The
clients: Python imaplib, curl, mbsync, offlineimap3, imapfilter,
fetchmail, getmail6, neomutt, mutt, Alpine (tools/deps-interop.txt).
INTEROP.md reports what these tests show.

The binary is $IMAPMOVED_BIN (default ./imapmoved). Stdlib only. Prints
one line per test and a final "N passed, N failed[, N skipped]"; exits
non-zero on failure. A check is skipped only when the server does not
advertise the capability it needs (MOVE, IDLE), never because a client
failed or is missing. Arguments, if any, select tests by substring.
$IMAPMOVED_INTEROP_TRACE=DIR writes each client's command lines there.
"""

import email
import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "protocol"))
import imaptest  # noqa: E402

# A client run may take this long before it counts as hung.
CLIENT_TIMEOUT = 60
USER, PASSWORD = "demo", "secret"
TESTS = []
CERT_DIR = None


class Skip(Exception):
    """The server does not advertise what the check needs."""


class Fail(Exception):
    """A check failed; the message says what was expected and what came."""


def test(fn):
    """Register a test; they run in the order defined."""
    TESTS.append(fn)
    return fn


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ---------------------------------------------------------------------------
# Messages and Maildirs on disk


def make_message(msgid, subject, body="Some text.", crlf=False):
    """An RFC 5322 message; LF line ends unless crlf (Maildirs hold both)."""
    lines = [
        "From: Carol <carol@example.org>",
        "To: demo@example.org",
        "Subject: " + subject,
        "Date: Tue, 24 Nov 2026 10:%02d:00 +0000" % (sum(map(ord, msgid)) % 60),
        "Message-ID: <%s>" % msgid,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        body,
        "-- ",
        "Carol",
        "",
    ]
    return ("\r\n" if crlf else "\n").join(lines).encode()


def folder_dir(root, folder):
    """Maildir++ directory of a folder in the server's layout."""
    return root if folder == "INBOX" else os.path.join(root, "." + folder)


def populate(env, layout, user=USER):
    """Replace user's Maildir with layout: {folder: [(msgid, flags), ...]};
    flags None puts the message in new/, else in cur/ with ':2,flags'.
    Returns the Maildir root."""
    root = os.path.join(env.home(user), "Maildir")
    shutil.rmtree(root, ignore_errors=True)
    n = 0
    for folder, msgs in layout.items():
        d = folder_dir(root, folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        if folder != "INBOX":
            open(os.path.join(d, "maildirfolder"), "w").close()
        for msgid, flags in msgs:
            n += 1
            name = "%d.M%dP%d.interop" % (1764000000 + n, n, os.getpid())
            subject = msgid.split("@")[0].replace("-", " ")
            data = make_message(msgid, subject, crlf=(n % 2 == 0))
            if flags is None:
                path = os.path.join(d, "new", name)
            else:
                path = os.path.join(d, "cur", name + ":2," + flags)
            with open(path, "wb") as f:
                f.write(data)
    for dirpath, dirnames, filenames in os.walk(env.home(user)):
        for nm in dirnames + filenames:
            os.chown(os.path.join(dirpath, nm), env.uid, env.gid)
    return root


def message_id(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f)
    mid = msg.get("Message-ID", "")
    return mid.strip().strip("<>")


def read_folder(d):
    """(sorted [(msgid, flags)], files in cur, files in new) of one
    Maildir folder. Flags are the upper-case letters after ':2,'."""
    items = []
    counts = []
    for sub in ("cur", "new"):
        names = [n for n in os.listdir(os.path.join(d, sub)) if not n.startswith(".")]
        counts.append(len(names))
        for n in names:
            flags = ""
            if ":2," in n:
                flags = "".join(sorted(c for c in n.split(":2,", 1)[1] if c.isupper()))
            items.append((message_id(os.path.join(d, sub, n)), flags))
    return sorted(items), counts[0], counts[1]


def server_state(root):
    """{folder: sorted [(msgid, flags)]} of the server's Maildir++."""
    state = {"INBOX": read_folder(root)[0]}
    for n in sorted(os.listdir(root)):
        if n.startswith(".") and os.path.isdir(os.path.join(root, n, "cur")):
            state[n[1:]] = read_folder(os.path.join(root, n))[0]
    return state


def plain_state(root):
    """{folder: sorted [(msgid, flags)]} of a tree of Maildirs, one per
    folder (how mbsync and offlineimap lay out the local side); a
    folder's name is its path below root with '.' for '/'."""
    state = {}
    for dirpath, dirnames, _ in os.walk(root):
        dirnames.sort()
        if dirpath != root and os.path.isdir(os.path.join(dirpath, "cur")):
            name = os.path.relpath(dirpath, root).replace(os.sep, ".")
            state[name] = read_folder(dirpath)[0]
            for sub in ("cur", "new", "tmp"):
                if sub in dirnames:
                    dirnames.remove(sub)
    return state


def ids(items):
    return sorted(m for m, _ in items)


def expect_folder(root, folder, want):
    """The server folder holds exactly want: [(msgid, flags)] (flags None:
    any), each Message-ID once."""
    have, _, _ = read_folder(folder_dir(root, folder))
    check(ids(have) == sorted(m for m, _ in want),
          "%s holds %s, expected %s" % (folder, ids(have), sorted(m for m, _ in want)))
    flags = dict(have)
    for m, f in want:
        if f is not None:
            check(flags[m] == f, "%s: %s has flags %r, expected %r"
                  % (folder, m, flags[m], f))


def same_states(server, local, what):
    if server != local:
        lines = ["%s: server and local differ" % what]
        for f in sorted(set(server) | set(local)):
            if server.get(f) != local.get(f):
                lines.append("  %s: server %s" % (f, server.get(f)))
                lines.append("  %s: local  %s" % (f, local.get(f)))
        raise Fail("\n".join(lines))


def crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


def file_of(root, folder, msgid):
    d = folder_dir(root, folder)
    for sub in ("cur", "new"):
        for n in os.listdir(os.path.join(d, sub)):
            p = os.path.join(d, sub, n)
            if message_id(p) == msgid:
                return p
    raise Fail("%s not in %s on disk" % (msgid, folder))


# ---------------------------------------------------------------------------
# The recording proxy and what the clients sent


class TraceProxy:
    """A loopback TCP proxy to the server's plain port that keeps what
    each client connection sent."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.sessions = []  # what each client sent
        self.replies = []  # what the server sent it
        self.socks = []
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target), timeout=10)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            rec, reply = bytearray(), bytearray()
            self.sessions.append(rec)
            self.replies.append(reply)
            self.socks += [c, s]
            for src, dst, r in ((c, s, rec), (s, c, reply)):
                t = threading.Thread(target=self._pump, args=(src, dst, r), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def _pump(src, dst, rec):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if rec is not None:
                    rec += data
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        for t in self.threads:
            t.join(5)
        for s in self.socks:
            s.close()

    def idling(self):
        """True once a client has sent IDLE and the server's last words to
        it were the '+' continuation."""
        return any(re.search(rb"\r\n\S+ IDLE\r\n", bytes(r))
                   and re.search(rb"(^|\r\n)\+ [^\r]*\r\n$", bytes(self.replies[i]))
                   for i, r in enumerate(self.sessions))

    def refusals(self):
        """Tagged NO and BAD responses, and untagged BAD, the server sent
        through the proxy."""
        out = []
        for rec in self.replies:
            data = bytes(rec)
            i = 0
            while i < len(data):
                j = data.find(b"\r\n", i)
                if j < 0:
                    break
                line = data[i:j]
                i = j + 2
                m = re.search(rb"\{(\d+)\}$", line)
                if m:
                    i += int(m.group(1))  # a literal (message data) follows
                if re.match(rb"(\* BAD|[^*+ ]\S* (NO|BAD))( |$)", line):
                    out.append(line[:200])
        return out

    def commands(self):
        """(command names of all sessions in order of first use, command
        lines) as parse_commands gives them."""
        # The clients have exited: wait until the proxy has read all they
        # sent (each pump ends at its end of file).
        end = time.monotonic() + imaptest.TIMEOUT
        for t in list(self.threads):
            t.join(max(0.0, end - time.monotonic()))
        names, lines = [], []
        for n, rec in enumerate(self.sessions):
            a, b = parse_commands(bytes(rec))
            names += a
            lines += ["%d: %s" % (n, x) for x in b]
        return unique(names), lines


def parse_commands(data, trace=False):
    """(command names with their UID prefix, in order of first use;
    command lines) of what a client sent. '{n+}' adds the name
    'LITERAL+', a synchronising literal 'literal'. Literal bytes are
    skipped and LOGIN passwords masked. Stops at STARTTLS unless data is
    a client's own cleartext trace (trace true), which also leaves
    literals out."""
    out = []
    lines = []
    i = 0
    skip_next = False
    while i < len(data):
        j = data.find(b"\n", i)
        if j < 0:
            j = len(data)
        line = data[i:j].rstrip(b"\r")
        i = j + 1
        first = line
        text = line
        # Follow literals to the end of the command.
        while True:
            m = re.search(rb"\{(\d+)(\+?)\}$", line)
            if not m:
                break
            out.append("LITERAL+" if m.group(2) else "literal")
            if trace:
                break  # a -v trace leaves the literal's bytes out
            i += int(m.group(1))
            j = data.find(b"\n", i)
            if j < 0:
                j = len(data)
            line = data[i:j].rstrip(b"\r")
            text += b" <literal> " + line
            i = j + 1
        if skip_next:
            skip_next = False
            lines.append("<SASL response>")
            continue
        words = first.split()
        if not words:
            continue
        if len(words) == 1:
            if words[0].upper() == b"DONE":
                out.append("DONE")
            lines.append(text.decode("utf-8", "replace"))
            continue
        name = words[1].upper().decode(errors="replace")
        if name == "UID" and len(words) > 2:
            name += " " + words[2].upper().decode(errors="replace")
        out.append(name)
        if name == "LOGIN":
            text = b" ".join(words[:3]) + b" <password>"
        elif name == "AUTHENTICATE" and len(words) > 3:
            text = b" ".join(words[:3]) + b" <initial response>"
        lines.append(text.decode("utf-8", "replace")[:300])
        if name == "AUTHENTICATE" and len(words) == 3:
            skip_next = True  # the client's answer to the '+'
        if name == "STARTTLS" and not trace:
            break  # TLS from here on
    return unique(out), lines


def curl_commands(stderr):
    """parse_commands of curl -v's trace (lines '> tag CMD ...')."""
    return parse_commands(b"\r\n".join(
        m.group(1) for m in re.finditer(rb"^> (.*?)\r?$", stderr, re.M)), trace=True)


def unique(seq):
    out = []
    for x in seq:
        if x not in out:
            out.append(x)
    return out


def record(client, commands):
    """Print what a client sent; with $IMAPMOVED_INTEROP_TRACE naming a
    directory, also write its command lines there (for INTEROP.md)."""
    names, lines = commands
    print("#   %s sent: %s" % (client, " ".join(names)))
    d = os.environ.get("IMAPMOVED_INTEROP_TRACE")
    if d:
        os.makedirs(d, exist_ok=True)
        name = re.sub(r"[^a-z0-9]+", "-", client.lower()).strip("-")
        with open(os.path.join(d, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------
# The server


class Server:
    """imapmoved standalone on a plain and an implicit-TLS loopback port,
    STARTTLS offered when tls is true (some clients upgrade by themselves
    when STARTTLS is offered, which would hide their commands from the
    proxy)."""

    def __init__(self, layout, tls=False):
        self.env = imaptest.Env(users={USER: imaptest.USERS[USER]})
        self.root = populate(self.env, layout)
        extra = []
        self.tls_port = None
        if tls:
            self.tls_port = imaptest.free_port()
            extra = ["tls_cert = " + os.path.join(CERT_DIR, "cert.pem"),
                     "tls_key = " + os.path.join(CERT_DIR, "key.pem"),
                     "listen_tls = 127.0.0.1:%d" % self.tls_port]
        self.proc, self.port = self.env.start_standalone(extra)
        if tls:
            imaptest.wait_for(lambda: imaptest.is_listening(self.tls_port),
                              "the TLS port", proc=self.proc)
        self.proxy = TraceProxy(self.port)
        self.caps = None
        self.work = self.env.path("client")
        os.makedirs(self.work)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except Fail as e:
            if exc_type is None:
                raise
            # Keep the test's own failure; add what the server said.
            print("#   also: %s" % e)
        return False

    def close(self):
        """Stop the proxy and the server; fail if the server died early, a
        sanitizer reported an error, or the server refused a proxied
        client's command (tagged NO or BAD: none of these sessions should
        provoke one)."""
        self.proxy.close()
        refused = self.proxy.refusals()
        try:
            rep = self.env.sanitizer_report()
            if rep is None and self.proc.poll() is not None:
                rep = "server exited with %s" % self.proc.returncode
        finally:
            self.env.close()
        if rep:
            raise Fail(rep)
        if refused:
            raise Fail("the server refused client commands:\n  %s"
                       % "\n  ".join(x.decode("utf-8", "replace") for x in refused))

    def admin(self):
        """A logged-in imaplib session straight to the server (not traced)
        for setting up and changing the server side."""
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=imaptest.TIMEOUT)
        m.login(USER, PASSWORD)
        if self.caps is None:
            # imaplib keeps the greeting's list; ask again after LOGIN.
            typ, data = m.capability()
            self.caps = set(data[0].decode().upper().split())
        return m

    def capabilities(self):
        if self.caps is None:
            self.admin().logout()
        return self.caps

    def uids(self, folder):
        """{msgid: uid} of a folder, as the server numbers it."""
        m = self.admin()
        try:
            typ, _ = m.select(imap_quote(folder), readonly=True)
            check(typ == "OK", "SELECT %s failed" % folder)
            typ, data = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            out = {}
            for item in data:
                if isinstance(item, tuple):
                    uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                    mid = re.search(rb"<([^>]*)>", item[1]).group(1).decode()
                    out[mid] = uid
            return out
        finally:
            m.logout()

    def run(self, argv, what, env=None, ok=(0,), stdin=None):
        """Run a client to completion; fail on timeout or an exit status
        outside ok. Returns the CompletedProcess."""
        e = client_env(self.work)
        if env:
            e.update(env)
        try:
            r = subprocess.run(argv, capture_output=True, timeout=CLIENT_TIMEOUT,
                               env=e, cwd=self.work, input=stdin,
                               stdin=None if stdin is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as ex:
            raise Fail("%s hung: %s\n%s" % (what, " ".join(argv),
                                            tail(ex.stderr or b"")))
        if r.returncode not in ok:
            raise Fail("%s exited %d\nstdout: %s\nstderr: %s"
                       % (what, r.returncode, tail(r.stdout), tail(r.stderr)))
        return r

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path


def client_env(home):
    e = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LC_ALL": "C.UTF-8",
         "TERM": "xterm", "USER": "root", "LOGNAME": "root"}
    return e


def tail(data, n=2500):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data[-n:]


def imap_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def need(server, cap):
    if cap not in server.capabilities():
        raise Skip("server does not advertise %s" % cap)


def tls_context():
    ctx = ssl.create_default_context(cafile=os.path.join(CERT_DIR, "cert.pem"))
    return ctx


def imaplib_ok(result, what):
    typ, data = result
    check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data


# ---------------------------------------------------------------------------
# Versions


def package_version(pkg):
    """The installed Debian package's version, or None."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def require(binary, pkg):
    """Fail (never skip) when a client is missing: tools/deps.sh installs it."""
    if shutil.which(binary) is None:
        raise Fail("%s not installed (Debian package %s; run tools/deps.sh)"
                   % (binary, pkg))


# ---------------------------------------------------------------------------
# Python imaplib

IMAPLIB_LAYOUT = {
    "INBOX": [("m1@interop", "S"), ("m2@interop", "S"), ("m3@interop", None),
              ("m4@interop", ""), ("m5@interop", "F")],
    "Archive": [("a1@interop", "S")],
    "Sent": [],
}


@test
def imaplib_full_session():
    """LIST, CREATE, SUBSCRIBE, STATUS, SELECT, SEARCH, FETCH, STORE,
    APPEND, COPY, EXPUNGE, CLOSE, LOGOUT through the proxy."""
    with Server(IMAPLIB_LAYOUT) as srv:
        uids = srv.uids("INBOX")
        m = imaplib.IMAP4("127.0.0.1", srv.proxy.port, timeout=imaptest.TIMEOUT)
        imaplib_ok(m.login(USER, PASSWORD), "LOGIN")
        boxes = b"\n".join(imaplib_ok(m.list(), "LIST"))
        for name in (b"INBOX", b"Archive", b"Sent"):
            check(name in boxes, "LIST lacks %s: %r" % (name, boxes))
        imaplib_ok(m.create("Work"), "CREATE")
        imaplib_ok(m.subscribe("Work"), "SUBSCRIBE")
        lsub = imaplib_ok(m.lsub(), "LSUB")
        check(any(b"Work" in x for x in lsub if x), "LSUB lacks Work: %r" % lsub)
        st = imaplib_ok(m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)"), "STATUS")[0]
        check(b"MESSAGES 5" in st and b"UNSEEN 3" in st, "STATUS: %r" % st)
        n = imaplib_ok(m.select("INBOX"), "SELECT")[0]
        check(n == b"5", "SELECT INBOX: %r messages" % n)
        unseen = imaplib_ok(m.uid("SEARCH", None, "UNSEEN"), "UID SEARCH")[0].split()
        want = sorted(uids[m] for m in ("m3@interop", "m4@interop", "m5@interop"))
        check(sorted(int(u) for u in unseen) == want,
              "UID SEARCH UNSEEN: %r, uids %r" % (unseen, uids))
        env = imaplib_ok(m.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE)"), "FETCH")
        check(len(env) == 5 and b"ENVELOPE" in env[0], "FETCH 1:*: %r" % env[:2])
        body = imaplib_ok(m.uid("FETCH", str(uids["m1@interop"]), "(BODY.PEEK[])"),
                          "UID FETCH")[0][1]
        with open(file_of(srv.root, "INBOX", "m1@interop"), "rb") as f:
            check(body == crlf(f.read()), "BODY[] differs from the file: %r" % body[:200])
        imaplib_ok(m.uid("STORE", str(uids["m2@interop"]), "+FLAGS", "(\\Flagged)"),
                   "UID STORE")
        typ, data = m.append("Sent", "(\\Seen)", imaplib.Time2Internaldate(time.time()),
                             make_message("sent1@interop", "sent one", crlf=True))
        check(typ == "OK", "APPEND: %r" % data)
        if "UIDPLUS" in srv.capabilities():
            check(b"APPENDUID" in data[0], "APPEND without APPENDUID: %r" % data)
        typ, data = m.uid("COPY", str(uids["m1@interop"]), "Archive")
        check(typ == "OK", "UID COPY: %r" % data)
        if "UIDPLUS" in srv.capabilities():
            code = m.response("COPYUID")[1][0]
            check(code is not None, "UID COPY without COPYUID")
        seq = [i + 1 for i, u in enumerate(sorted(uids.values())) if u == uids["m4@interop"]][0]
        imaplib_ok(m.store(str(seq), "+FLAGS", "(\\Deleted)"), "STORE")
        gone = imaplib_ok(m.expunge(), "EXPUNGE")
        check(gone == [str(seq).encode()], "EXPUNGE reported %r, expected %d" % (gone, seq))
        imaplib_ok(m.close(), "CLOSE")
        m.logout()
        expect_folder(srv.root, "INBOX", [("m1@interop", "S"), ("m2@interop", "FS"),
                                         ("m3@interop", ""), ("m5@interop", "F")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("m1@interop", "S")])
        expect_folder(srv.root, "Sent", [("sent1@interop", "S")])
        expect_folder(srv.root, "Work", [])
        record("imaplib", srv.proxy.commands())


@test
def imaplib_move():
    """UID MOVE and MOVE with COPYUID; the source loses the messages."""
    with Server(IMAPLIB_LAYOUT) as srv:
        need(srv, "MOVE")
        uids = srv.uids("INBOX")
        m = imaplib.IMAP4("127.0.0.1", srv.proxy.port, timeout=imaptest.TIMEOUT)
        imaplib_ok(m.login(USER, PASSWORD), "LOGIN")
        imaplib_ok(m.select("INBOX"), "SELECT")
        typ, data = m.uid("MOVE", "%d,%d" % (uids["m1@interop"], uids["m3@interop"]),
                          "Archive")
        check(typ == "OK", "UID MOVE: %r" % data)
        if "UIDPLUS" in srv.capabilities():
            code = m.response("COPYUID")[1][0]
            check(code is not None, "UID MOVE without COPYUID: %r" % (m.untagged_responses,))
            check(code.split()[1:] == [b"%d,%d" % (uids["m1@interop"], uids["m3@interop"]),
                                       b"2:3"], "UID MOVE: COPYUID %r" % code)
        typ, data = m._simple_command("MOVE", "1", "Sent")  # now m2
        check(typ == "OK", "MOVE: %r" % data)
        n = imaplib_ok(m.select("INBOX"), "SELECT")[0]
        check(n == b"2", "INBOX has %r messages after the moves" % n)
        m.logout()
        expect_folder(srv.root, "INBOX", [("m4@interop", ""), ("m5@interop", "F")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("m1@interop", "S"),
                                           ("m3@interop", "")])
        expect_folder(srv.root, "Sent", [("m2@interop", "S")])
        record("imaplib (move)", srv.proxy.commands())


def idle_wait(m, rx):
    """Read untagged lines during IDLE up to one matching rx (others, such
    as RECENT or FETCH, are allowed); imaplib's timeout bounds the wait."""
    seen = []
    while True:
        try:
            line = m.readline()
        except (OSError, imaplib.IMAP4.abort) as e:
            raise Fail("IDLE: waiting for %r: %s after %r" % (rx, e, seen))
        check(line.startswith(b"* "), "IDLE: expected %r, got %r after %r"
              % (rx, line, seen))
        if re.match(rx + rb"\r\n", line):
            return
        seen.append(line)


@test
def imaplib_idle():
    """IDLE (sent by hand: imaplib of Python 3.11 has no idle()) sees an
    APPEND and an EXPUNGE made by another session."""
    with Server(IMAPLIB_LAYOUT) as srv:
        need(srv, "IDLE")
        m = imaplib.IMAP4("127.0.0.1", srv.proxy.port, timeout=imaptest.TIMEOUT)
        imaplib_ok(m.login(USER, PASSWORD), "LOGIN")
        imaplib_ok(m.select("INBOX"), "SELECT")
        imaplib.Commands.setdefault("IDLE", ("AUTH", "SELECTED"))
        tag = m._command("IDLE")
        cont = m.readline()
        check(cont.startswith(b"+"), "IDLE: no continuation: %r" % cont)
        other = srv.admin()
        other.append("INBOX", None, None, make_message("idle@interop", "during idle"))
        idle_wait(m, rb"\* 6 EXISTS")
        imaplib_ok(other.select("INBOX"), "SELECT")
        imaplib_ok(other.store("2", "+FLAGS", "(\\Deleted)"), "STORE")
        imaplib_ok(other.expunge(), "EXPUNGE")
        other.logout()
        idle_wait(m, rb"\* 2 EXPUNGE")
        m.send(b"DONE\r\n")
        typ, data = m._command_complete("IDLE", tag)
        check(typ == "OK", "IDLE ended with %r %r" % (typ, data))
        m.logout()
        expect_folder(srv.root, "INBOX", [("m1@interop", "S"), ("m3@interop", ""),
                                         ("m4@interop", ""), ("m5@interop", "F"),
                                         ("idle@interop", "")])
        record("imaplib (idle)", srv.proxy.commands())


@test
def imaplib_starttls():
    """IMAP4.starttls with the test CA, then LOGIN, SELECT, FETCH, STORE."""
    with Server(IMAPLIB_LAYOUT, tls=True) as srv:
        m = imaplib.IMAP4("127.0.0.1", srv.port, timeout=imaptest.TIMEOUT)
        check("STARTTLS" in m.capabilities, "no STARTTLS in %r" % (m.capabilities,))
        imaplib_ok(m.starttls(ssl_context=tls_context()), "STARTTLS")
        check("STARTTLS" not in m.capabilities, "STARTTLS still offered after TLS")
        imaplib_ok(m.login(USER, PASSWORD), "LOGIN")
        imaplib_ok(m.select("INBOX"), "SELECT")
        hdr = imaplib_ok(m.fetch("3", "(BODY[HEADER.FIELDS (SUBJECT)])"), "FETCH")[0][1]
        check(hdr.strip() == b"Subject: m3", "FETCH 3 header: %r" % hdr)
        imaplib_ok(m.store("5", "-FLAGS", "(\\Flagged)"), "STORE")
        m.logout()
        # BODY[] without PEEK set \Seen on message 3.
        expect_folder(srv.root, "INBOX", [("m1@interop", "S"), ("m2@interop", "S"),
                                         ("m3@interop", "S"), ("m4@interop", ""),
                                         ("m5@interop", "")])


@test
def imaplib_ssl():
    """IMAP4_SSL on the implicit-TLS port: LIST, APPEND, UID FETCH."""
    with Server(IMAPLIB_LAYOUT, tls=True) as srv:
        m = imaplib.IMAP4_SSL("127.0.0.1", srv.tls_port, ssl_context=tls_context(),
                              timeout=imaptest.TIMEOUT)
        check("STARTTLS" not in m.capabilities, "STARTTLS offered on TLS: %r"
              % (m.capabilities,))
        imaplib_ok(m.login(USER, PASSWORD), "LOGIN")
        boxes = imaplib_ok(m.list(), "LIST")
        check(len(boxes) == 3, "LIST: %r" % boxes)
        big = make_message("big@interop", "big", body=("y" * 70 + "\r\n") * 3000, crlf=True)
        imaplib_ok(m.append("Archive", None, None, big), "APPEND")
        imaplib_ok(m.select("Archive", readonly=True), "EXAMINE")
        data = imaplib_ok(m.uid("FETCH", "1:*", "(UID RFC822.SIZE BODY.PEEK[])"), "UID FETCH")
        got = [x[1] for x in data if isinstance(x, tuple)]
        check(len(got) == 2 and got[1] == big, "big message did not come back whole: "
              "%d messages, sizes %r, sent %d" % (len(got), [len(x) for x in got], len(big)))
        m.logout()
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("big@interop", "")])


# ---------------------------------------------------------------------------
# curl

CURL_LAYOUT = {
    "INBOX": [("c1@interop", "S"), ("c2@interop", None), ("c3@interop", "S"),
              ("c4@interop", "S")],
    "Archive": [],
    "Sent": [],
}


def curl(srv, used, url, *args, what="curl", tls="starttls"):
    """Run curl -v on url (a path after the host) over STARTTLS or
    implicit TLS; returns its output and adds what curl sent (from
    its trace) to used: ([names], [lines])."""
    require("curl", "curl")
    cacert = os.path.join(CERT_DIR, "cert.pem")
    if tls == "imaps":
        base = "imaps://127.0.0.1:%d/" % srv.tls_port
        opts = ["--cacert", cacert]
    else:
        base = "imap://127.0.0.1:%d/" % srv.port
        opts = ["--ssl-reqd", "--cacert", cacert]
    r = srv.run(["curl", "-v", "-sS", "--max-time", "30", "-u", "%s:%s" % (USER, PASSWORD)]
                + opts + list(args) + [base + url], what)
    refused = re.findall(rb"^< (\S+ (?:NO|BAD) .*?)\r?$", r.stderr, re.M)
    check(not refused, "%s: the server refused %r" % (what, refused))
    names, lines = curl_commands(r.stderr)
    check("STARTTLS" in names if tls == "starttls" else "STARTTLS" not in names,
          "%s: unexpected TLS start: %s" % (what, names))
    used[0].extend(names)
    used[1].extend("%s: %s" % (what, x) for x in lines)
    return r.stdout


@test
def curl_list_select_fetch_append():
    """LIST, SELECT + SEARCH, FETCH by UID (whole, a section, a partial)
    and by sequence number, APPEND by upload, custom STATUS and UID FETCH,
    over STARTTLS; LIST and FETCH over imaps."""
    with Server(CURL_LAYOUT, tls=True) as srv:
        uids = srv.uids("INBOX")
        used = ([], [])
        out = curl(srv, used, "", what="LIST")
        for name in (b"INBOX", b"Archive", b"Sent"):
            check(re.search(rb"^\* LIST .*" + name + rb"\r?$", out, re.M),
                  "LIST output lacks %s: %r" % (name, out))
        out = curl(srv, used, "INBOX?UNSEEN", what="SEARCH")
        check(out.strip() == b"* SEARCH 2", "INBOX?UNSEEN: %r" % out)
        out = curl(srv, used, "INBOX;UID=%d" % uids["c2@interop"], what="FETCH")
        with open(file_of(srv.root, "INBOX", "c2@interop"), "rb") as f:
            check(out == crlf(f.read()), "FETCH by UID: got %r" % out[:300])
        up = srv.write("upload.eml", make_message("up@interop", "uploaded", crlf=True)
                       .decode())
        out = curl(srv, used, "Sent", "-T", up, what="APPEND")
        out = curl(srv, used, "", what="imaps LIST", tls="imaps")
        check(b"Archive" in out, "imaps LIST: %r" % out)
        out = curl(srv, used, "INBOX;UID=%d" % uids["c4@interop"], what="imaps FETCH",
                         tls="imaps")
        with open(file_of(srv.root, "INBOX", "c4@interop"), "rb") as f:
            check(out == crlf(f.read()), "imaps FETCH by UID: got %r" % out[:300])
        with open(file_of(srv.root, "INBOX", "c1@interop"), "rb") as f:
            c1 = crlf(f.read())
        head, text = c1.split(b"\r\n\r\n", 1)
        out = curl(srv, used, "INBOX;UID=%d/;SECTION=TEXT" % uids["c1@interop"],
                   what="FETCH SECTION")
        check(out == text, "SECTION=TEXT: got %r, expected %r" % (out, text))
        out = curl(srv, used, "INBOX;UID=%d/;SECTION=HEADER.FIELDS%%20(SUBJECT)"
                   % uids["c1@interop"], what="FETCH HEADER.FIELDS")
        check(out == b"Subject: c1\r\n\r\n", "SECTION=HEADER.FIELDS: got %r" % out)
        out = curl(srv, used, "INBOX;UID=%d/;PARTIAL=5.20" % uids["c1@interop"],
                   what="FETCH PARTIAL")
        check(out == c1[5:25], "PARTIAL=5.20: got %r, expected %r" % (out, c1[5:25]))
        out = curl(srv, used, "INBOX;MAILINDEX=3", what="FETCH MAILINDEX")
        third = sorted(uids, key=uids.get)[2]
        with open(file_of(srv.root, "INBOX", third), "rb") as f:
            check(out == crlf(f.read()), "MAILINDEX=3: got %r" % out[:100])
        out = curl(srv, used, "", "-X", "STATUS INBOX (MESSAGES UNSEEN)", what="STATUS")
        check(re.search(rb"\* STATUS INBOX \(MESSAGES 4 UNSEEN 0\)", out),
              "STATUS: %r" % out)
        out = curl(srv, used, "INBOX", "-X", "UID FETCH 1:* (FLAGS)", what="custom FETCH")
        check(len(re.findall(rb"^\* \d+ FETCH \(", out, re.M)) == 4,
              "custom UID FETCH printed %r" % out)
        # FETCH BODY[] (not PEEK) set \Seen on c2.
        expect_folder(srv.root, "INBOX", [("c1@interop", "S"), ("c2@interop", "S"),
                                         ("c3@interop", "S"), ("c4@interop", "S")])
        expect_folder(srv.root, "Sent", [("up@interop", "S")])  # APPEND (\\Seen)
        record("curl", (unique(used[0]), used[1]))


@test
def curl_uid_move():
    """-X 'UID MOVE uid Archive' on the INBOX URL, over STARTTLS and imaps."""
    with Server(CURL_LAYOUT, tls=True) as srv:
        need(srv, "MOVE")
        uids = srv.uids("INBOX")
        used = ([], [])
        out = curl(srv, used, "INBOX", "-X", "UID MOVE %d Archive" % uids["c1@interop"],
                         what="UID MOVE")
        check(b"EXPUNGE" in out, "UID MOVE printed %r" % out)
        out = curl(srv, used, "INBOX", "-X", "UID MOVE %d:%d Sent"
                         % (uids["c3@interop"], uids["c4@interop"]),
                         what="imaps UID MOVE", tls="imaps")
        expect_folder(srv.root, "INBOX", [("c2@interop", "")])
        expect_folder(srv.root, "Archive", [("c1@interop", "S")])
        expect_folder(srv.root, "Sent", [("c3@interop", "S"), ("c4@interop", "S")])
        record("curl (move)", (unique(used[0]), used[1]))



# ---------------------------------------------------------------------------
# Two-way sync: mbsync and offlineimap

SYNC_LAYOUT = {
    "INBOX": [("m1@interop", "S"), ("m2@interop", ""), ("m3@interop", "S"),
              ("m4@interop", "FS"), ("m5@interop", None)],
    "Archive": [("a1@interop", "S"), ("a2@interop", "RS")],
    "Sent": [("s1@interop", "S")],
    "Work": [("w1@interop", "")],
    # A child whose parent is no mailbox, a name in modified UTF-7
    # ("Entw\u00fcrfe"), and enough mail for the clients to pipeline.
    "Lists.imap": [("l1@interop", "S")],
    "Entw&APw-rfe": [("e1@interop", "D")],
    "Old Mail": [("o1@interop", "S")],  # a space: quoted on the wire
    "R&-D": [("r1@interop", "")],  # "R&D": '&' is escaped in modified UTF-7
    "Bulk": [("bulk%d@interop" % i, "S" if i % 3 else "") for i in range(150)],
}

# What both sides hold after the changes below and a second sync.
SYNC_AFTER = {
    "INBOX": [("m2@interop", "F"), ("m4@interop", "FRS"), ("m5@interop", "S"),
              ("srvnew@interop", "")],
    "Archive": [("a1@interop", "S"), ("a2@interop", "RS"), ("m1@interop", "S"),
                ("locnew@interop", "")],
    "Sent": [],
    "Work": [("w1@interop", "")],
    "Lists.imap": SYNC_LAYOUT["Lists.imap"],
    "Entw&APw-rfe": SYNC_LAYOUT["Entw&APw-rfe"],
    "Old Mail": SYNC_LAYOUT["Old Mail"],
    "R&-D": SYNC_LAYOUT["R&-D"],
    "Bulk": SYNC_LAYOUT["Bulk"],
    "Drafts": [("draft%d@interop" % i, "DS"[i % 2]) for i in range(40)],
}


def layout_state(layout):
    return {f: sorted((m, "" if fl is None else fl) for m, fl in msgs)
            for f, msgs in layout.items()}


def change_server(srv):
    """New mail, a flag, a deletion and a move, made by another client:
    returns what it did to the Archive (MOVE or COPY+STORE+EXPUNGE)."""
    m = srv.admin()
    try:
        imaplib_ok(m.append("INBOX", None, None, make_message("srvnew@interop", "srv new")),
                   "APPEND")
        imaplib_ok(m.select("INBOX"), "SELECT")
        uids = {}
        data = imaplib_ok(m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"),
                          "FETCH")
        for item in data:
            if isinstance(item, tuple):
                mid = re.search(rb"<([^>]*)>", item[1]).group(1).decode()
                uids[mid] = re.search(rb"UID (\d+)", item[0]).group(1).decode()
        imaplib_ok(m.uid("STORE", uids["m2@interop"], "+FLAGS", "(\\Flagged)"), "STORE")
        imaplib_ok(m.uid("STORE", uids["m3@interop"], "+FLAGS", "(\\Deleted)"), "STORE")
        imaplib_ok(m.expunge(), "EXPUNGE")
        if "MOVE" in srv.capabilities():
            imaplib_ok(m.uid("MOVE", uids["m1@interop"], "Archive"), "UID MOVE")
            how = "MOVE"
        else:
            imaplib_ok(m.uid("COPY", uids["m1@interop"], "Archive"), "UID COPY")
            imaplib_ok(m.uid("STORE", uids["m1@interop"], "+FLAGS", "(\\Deleted)"), "STORE")
            imaplib_ok(m.expunge(), "EXPUNGE")
            how = "COPY+STORE+EXPUNGE"
        m.logout()
        return how
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def local_file(d, msgid):
    for sub in ("cur", "new"):
        for n in os.listdir(os.path.join(d, sub)):
            if message_id(os.path.join(d, sub, n)) == msgid:
                return os.path.join(d, sub, n)
    raise Fail("%s not in local %s" % (msgid, d))


def set_local_flags(path, flags):
    d = os.path.dirname(os.path.dirname(path))
    base = os.path.basename(path).split(":2,", 1)[0]
    os.rename(path, os.path.join(d, "cur", base + ":2," + flags))


def change_local(local, inbox="INBOX"):
    """New mail in Archive, a flag added, a message read, a deletion, and
    a new folder holding 40 messages (one of them 3 MB), which the
    client must create on the server and upload."""
    drafts = os.path.join(local, "Drafts")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(drafts, sub))
    for i in range(40):
        body = ("z" * 76 + "\n") * 40000 if i == 7 else "Draft %d." % i
        with open(os.path.join(drafts, "cur", "%d.draft%d:2,%s" % (i, i, "DS"[i % 2])),
                  "wb") as f:
            f.write(make_message("draft%d@interop" % i, "draft %d" % i, body=body))
    with open(os.path.join(local, "Archive", "tmp", "99.locnew"), "wb") as f:
        f.write(make_message("locnew@interop", "local new"))
    os.rename(os.path.join(local, "Archive", "tmp", "99.locnew"),
              os.path.join(local, "Archive", "new", "99.locnew"))
    set_local_flags(local_file(os.path.join(local, inbox), "m4@interop"), "FRS")
    set_local_flags(local_file(os.path.join(local, inbox), "m5@interop"), "S")
    os.unlink(local_file(os.path.join(local, "Sent"), "s1@interop"))


MBSYNC_RC = """\
IMAPAccount srv
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
SSLType None
Timeout 30

IMAPStore far
Account srv

MaildirStore near
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel both
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState *
"""


@test
def mbsync_two_way_sync():
    """mbsync -a, changes on both sides (server: new mail, flag, deletion,
    move; local: new mail, flags, deletion), mbsync -a again: both
    sides identical."""
    require("mbsync", "isync")
    with Server(SYNC_LAYOUT) as srv:
        local = os.path.join(srv.work, "local")
        os.makedirs(local)  # mbsync creates folders, not the store's root
        rc = srv.write("mbsyncrc", MBSYNC_RC.format(port=srv.proxy.port, user=USER,
                                                    password=PASSWORD, local=local))
        srv.run(["mbsync", "-c", rc, "-a"], "mbsync (first sync)")
        same_states(server_state(srv.root), layout_state(SYNC_LAYOUT),
                    "server after the first sync")
        same_states(server_state(srv.root), plain_state(local), "first sync")
        how = change_server(srv)
        change_local(local)
        srv.run(["mbsync", "-c", rc, "-a"], "mbsync (second sync)")
        same_states(server_state(srv.root), layout_state(SYNC_AFTER),
                    "server after the second sync")
        same_states(server_state(srv.root), plain_state(local), "second sync")
        record("mbsync", srv.proxy.commands())
        print("#   (server-side move done with %s)" % how)


@test
def mbsync_over_tls():
    """mbsync with SSLType IMAPS and then STARTTLS, the test CA as its
    CertificateFile: a one-way first sync leaves both sides identical."""
    require("mbsync", "isync")
    with Server(IMAPLIB_LAYOUT, tls=True) as srv:
        for kind, port in (("IMAPS", srv.tls_port), ("STARTTLS", srv.port)):
            local = os.path.join(srv.work, "local-" + kind)
            os.makedirs(local)
            rc = MBSYNC_RC.format(port=port, user=USER, password=PASSWORD, local=local)
            # mbsync checks the certificate's DNS names, not its IP address.
            rc = rc.replace("Host 127.0.0.1", "Host localhost")
            rc = rc.replace("SSLType None\n", "SSLType %s\n"
                            "CertificateFile %s\n" % (kind, os.path.join(CERT_DIR, "cert.pem")))
            check("SSLType " + kind in rc, "mbsyncrc for %s not rewritten" % kind)
            rc = srv.write("mbsyncrc-" + kind, rc)
            srv.run(["mbsync", "-c", rc, "-a"], "mbsync over " + kind)
            same_states(server_state(srv.root), plain_state(local), "sync over " + kind)
        same_states(server_state(srv.root), layout_state(IMAPLIB_LAYOUT),
                    "server after the syncs")


OFFLINEIMAP_RC = """\
[general]
accounts = test
metadata = {work}/offlineimap-meta
fsync = false

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {port}
remoteuser = {user}
remotepass = {password}
ssl = no
starttls = no
maxconnections = 1
"""


@test
def offlineimap_two_way_sync():
    """offlineimap -o twice around the same changes on both sides as for
    mbsync: both sides identical."""
    require("offlineimap", "offlineimap3")
    with Server(SYNC_LAYOUT) as srv:
        local = os.path.join(srv.work, "local")
        rc = srv.write("offlineimaprc", OFFLINEIMAP_RC.format(
            work=srv.work, port=srv.proxy.port, user=USER, password=PASSWORD, local=local))
        argv = ["offlineimap", "-c", rc, "-o", "-u", "quiet"]
        check_offlineimap(srv.run(argv, "offlineimap (first sync)"))
        same_states(server_state(srv.root), layout_state(SYNC_LAYOUT),
                    "server after the first sync")
        same_states(server_state(srv.root), plain_state(local), "first sync")
        how = change_server(srv)
        change_local(local)
        check_offlineimap(srv.run(argv, "offlineimap (second sync)"))
        same_states(server_state(srv.root), layout_state(SYNC_AFTER),
                    "server after the second sync")
        same_states(server_state(srv.root), plain_state(local), "second sync")
        record("offlineimap", srv.proxy.commands())
        print("#   (server-side move done with %s)" % how)


def check_offlineimap(r):
    """Besides the exit status, look for offlineimap's errors (on stdout
    or stderr, depending on the UI)."""
    err = (r.stdout + r.stderr).decode("utf-8", "replace")
    check("ERROR" not in err and "Traceback" not in err,
          "offlineimap reported errors: %s" % tail(err))


@test
def offlineimap_over_tls():
    """offlineimap with ssl = yes on the implicit-TLS port, then starttls =
    yes on the plain one, the test CA as sslcacertfile: a first sync
    leaves both sides identical."""
    require("offlineimap", "offlineimap3")
    with Server(IMAPLIB_LAYOUT, tls=True) as srv:
        for kind, port, opts in (("imaps", srv.tls_port, "ssl = yes\n"),
                                 ("starttls", srv.port, "ssl = no\nstarttls = yes\n")):
            local = os.path.join(srv.work, "local-" + kind)
            os.makedirs(os.path.join(srv.work, kind))
            rc = OFFLINEIMAP_RC.format(work=os.path.join(srv.work, kind), port=port,
                                       user=USER, password=PASSWORD, local=local)
            rc = rc.replace("ssl = no\nstarttls = no\n", opts + "sslcacertfile = %s\n"
                            % os.path.join(CERT_DIR, "cert.pem"))
            # imaplib2's own name check reads DNS names only, not the
            # certificate's IP address.
            rc = rc.replace("remotehost = 127.0.0.1", "remotehost = localhost")
            check("sslcacertfile" in rc and "localhost" in rc, "offlineimaprc not rewritten")
            rc = srv.write("offlineimaprc-" + kind, rc)
            check_offlineimap(srv.run(["offlineimap", "-c", rc, "-o", "-u", "quiet"],
                                      "offlineimap over " + kind))
            same_states(server_state(srv.root), plain_state(local), "sync over " + kind)
        same_states(server_state(srv.root), layout_state(IMAPLIB_LAYOUT),
                    "server after the syncs")


# ---------------------------------------------------------------------------
# imapfilter

IMAPFILTER_LAYOUT = {
    "INBOX": [("m1@interop", "S"), ("invoice1@interop", ""), ("m2@interop", None),
              ("invoice2@interop", "S"), ("spam@interop", None), ("news@interop", "")],
    "Archive": [("a1@interop", "S")],
}

IMAPFILTER_RC = """\
options.timeout = 30
options.starttls = false
options.certificates = false
options.create = false
account = IMAP {{ server = '127.0.0.1', port = {port},
                 username = '{user}', password = '{password}' }}
invoices = account.INBOX:contain_subject('invoice')
invoices:move_messages(account['Archive'])
account.INBOX:contain_subject('spam'):delete_messages()
news = account.INBOX:is_unseen() * account.INBOX:contain_subject('news')
news:mark_flagged()
"""


@test
def imapfilter_moves_matching_messages():
    """A Lua config moves the invoices to Archive, deletes the spam and
    flags the unread news: checked in both folders on disk."""
    require("imapfilter", "imapfilter")
    with Server(IMAPFILTER_LAYOUT) as srv:
        rc = srv.write("config.lua", IMAPFILTER_RC.format(
            port=srv.proxy.port, user=USER, password=PASSWORD))
        srv.run(["imapfilter", "-c", rc], "imapfilter")
        expect_folder(srv.root, "INBOX", [("m1@interop", "S"), ("m2@interop", ""),
                                         ("news@interop", "F")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"),
                                           ("invoice1@interop", ""),
                                           ("invoice2@interop", "S")])
        # imapfilter 2.8.1 has no MOVE support: move_messages() is UID
        # COPY, UID STORE +FLAGS.SILENT (\Deleted) and EXPUNGE whatever
        # the server advertises, so the trace is only recorded.
        names, lines = srv.proxy.commands()
        record("imapfilter", (names, lines))


IMAPFILTER_IDLE_RC = """\
options.timeout = 30
options.starttls = false
options.certificates = false
account = IMAP {{ server = '127.0.0.1', port = {port},
                 username = '{user}', password = '{password}' }}
if not account.INBOX:enter_idle() then
    error('enter_idle failed')
end
account.INBOX:contain_subject('invoice'):move_messages(account['Archive'])
"""


@test
def imapfilter_idle_then_moves_new_mail():
    """imapfilter waits in IDLE (enter_idle); mail arrives from another
    session; it wakes and moves the new invoice to Archive."""
    require("imapfilter", "imapfilter")
    layout = {"INBOX": [("m1@interop", "S")], "Archive": []}
    with Server(layout) as srv:
        need(srv, "IDLE")
        rc = srv.write("idle.lua", IMAPFILTER_IDLE_RC.format(
            port=srv.proxy.port, user=USER, password=PASSWORD))
        p = subprocess.Popen(["imapfilter", "-c", rc], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=client_env(srv.work), cwd=srv.work,
                             start_new_session=True)
        try:
            # IDLE has begun once the server has answered it with '+'.
            imaptest.wait_for(srv.proxy.idling, "imapfilter to be idling",
                              deadline=CLIENT_TIMEOUT)
            m = srv.admin()
            imaplib_ok(m.append("INBOX", None, None,
                                make_message("invoice3@interop", "invoice3")), "APPEND")
            m.logout()
            try:
                out, _ = p.communicate(timeout=CLIENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Fail("imapfilter did not leave IDLE after new mail")
            check(p.returncode == 0, "imapfilter exited %d: %s" % (p.returncode, tail(out)))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        expect_folder(srv.root, "INBOX", [("m1@interop", "S")])
        expect_folder(srv.root, "Archive", [("invoice3@interop", "")])
        record("imapfilter (idle)", srv.proxy.commands())


@test
def imapfilter_over_tls():
    """imapfilter with ssl = 'auto' on the implicit-TLS port, then with
    options.starttls on the plain one, the test CA given with -t: each
    run moves one invoice. Its -d debug file is the trace."""
    require("imapfilter", "imapfilter")
    with Server(IMAPFILTER_LAYOUT, tls=True) as srv:
        for kind, port, which in (("imaps", srv.tls_port, "invoice1"),
                                  ("starttls", srv.port, "invoice2")):
            rc = IMAPFILTER_RC.format(port=port, user=USER, password=PASSWORD)
            rc = rc.replace("server = '127.0.0.1'", "server = 'localhost'")
            rc = rc.replace("contain_subject('invoice')", "contain_subject('%s')" % which)
            if kind == "imaps":
                rc = rc.replace("password = '%s' }" % PASSWORD,
                                "password = '%s', ssl = 'auto' }" % PASSWORD)
            else:
                rc = rc.replace("options.starttls = false", "options.starttls = true")
            check(("ssl = 'auto'" in rc) != ("starttls = true" in rc), "config not rewritten")
            rc = srv.write("tls-%s.lua" % kind, rc)
            debug = os.path.join(srv.work, "imapfilter-%s.debug" % kind)
            srv.run(["imapfilter", "-c", rc, "-t", os.path.join(CERT_DIR, "cert.pem"),
                     "-d", debug], "imapfilter over " + kind)
            with open(debug, "rb") as f:
                trace = f.read()
            if kind == "starttls":
                check(b"STARTTLS" in trace, "imapfilter did not use STARTTLS")
        expect_folder(srv.root, "INBOX", [("m1@interop", "S"), ("m2@interop", ""),
                                         ("news@interop", "F")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"),
                                           ("invoice1@interop", ""),
                                           ("invoice2@interop", "S")])


# ---------------------------------------------------------------------------
# fetchmail and getmail6

RETRIEVE_LAYOUT = {
    "INBOX": [("f1@interop", "S"), ("f2@interop", "S"), ("f3@interop", None),
              ("f4@interop", ""), ("f5@interop", "F")],
    "Archive": [("a1@interop", "S")],
}

FETCHMAIL_RC = """\
set no syslog
set no bouncemail
poll localhost with protocol IMAP service {port}
    user "{user}" there with password "{password}" is "root" here
    sslcertck sslcertfile "{ca}"
    mda "{work}/deliver.sh"
"""


def fetchmail_commands(stdout):
    """parse_commands of fetchmail -v -v's trace (lines 'IMAP> ...')."""
    return parse_commands(b"\r\n".join(
        m.group(1) for m in re.finditer(rb"^fetchmail: IMAP> (.*?)\r?$", stdout, re.M)),
        trace=True)


def delivered(d):
    """Message-IDs of the files in d (one message per file)."""
    return sorted(message_id(os.path.join(d, n)) for n in os.listdir(d))


def check_fetchmail_trace(stdout):
    refused = re.findall(rb"^fetchmail: IMAP< (\S+ (?:NO|BAD) .*?)\r?$", stdout, re.M)
    check(not refused, "the server refused fetchmail's %r" % refused)


@test
def fetchmail_keep_then_fetchall_delete():
    """fetchmail --keep takes the unseen messages (and they become seen);
    then fetchmail --all --nokeep takes all and deletes them. fetchmail
    6.4 insists on TLS by default (its sslcertck), so this runs over
    STARTTLS with the test CA and its own -v -v trace is recorded."""
    require("fetchmail", "fetchmail")
    with Server(RETRIEVE_LAYOUT, tls=True) as srv:
        out = os.path.join(srv.work, "out")
        os.makedirs(out)
        srv.write("deliver.sh", '#!/bin/sh\nf=$(mktemp -p %s msg.XXXXXX) && exec cat >"$f"\n'
                  % out, mode=0o755)
        rc = srv.write("fetchmailrc", FETCHMAIL_RC.format(
            port=srv.port, user=USER, password=PASSWORD, work=srv.work,
            ca=os.path.join(CERT_DIR, "cert.pem")))
        base = ["fetchmail", "-v", "-v", "-f", rc, "--pidfile",
                os.path.join(srv.work, "pid"), "--nosyslog"]
        fm_env = {"FETCHMAILHOME": srv.work}
        r = srv.run(base + ["--keep"], "fetchmail --keep", env=fm_env)
        names, lines = fetchmail_commands(r.stdout)
        check_fetchmail_trace(r.stdout)
        check("STARTTLS" in names, "fetchmail did not use STARTTLS: %s" % names)
        got = delivered(out)
        check(got == ["f3@interop", "f4@interop", "f5@interop"],
              "fetchmail --keep delivered %s" % got)
        expect_folder(srv.root, "INBOX", [("f1@interop", "S"), ("f2@interop", "S"),
                                         ("f3@interop", "S"), ("f4@interop", "S"),
                                         ("f5@interop", "FS")])
        r = srv.run(base + ["--all", "--nokeep"], "fetchmail --all --nokeep", env=fm_env)
        more = fetchmail_commands(r.stdout)
        check_fetchmail_trace(r.stdout)
        got = delivered(out)
        check(len(got) == 8 and sorted(set(got)) == ["f%d@interop" % i for i in range(1, 6)],
              "after fetchmail --all: delivered %s" % got)
        expect_folder(srv.root, "INBOX", [])
        expect_folder(srv.root, "Archive", [("a1@interop", "S")])
        record("fetchmail", (unique(names + more[0]), lines + ["--"] + more[1]))


@test
def fetchmail_idle_fetches_new_mail():
    """fetchmail --keep --idle takes the unseen messages, waits in IDLE,
    and fetches a message appended by another session at once."""
    require("fetchmail", "fetchmail")
    with Server(RETRIEVE_LAYOUT, tls=True) as srv:
        need(srv, "IDLE")
        out = os.path.join(srv.work, "out")
        os.makedirs(out)
        srv.write("deliver.sh", '#!/bin/sh\nf=$(mktemp -p %s msg.XXXXXX) && exec cat >"$f"\n'
                  % out, mode=0o755)
        rc = srv.write("fetchmailrc", FETCHMAIL_RC.format(
            port=srv.port, user=USER, password=PASSWORD, work=srv.work,
            ca=os.path.join(CERT_DIR, "cert.pem")))
        log = os.path.join(srv.work, "fetchmail.log")

        def trace():
            with open(log, "rb") as f:
                return f.read()
        with open(log, "wb") as logf:
            p = subprocess.Popen(["fetchmail", "-v", "-v", "-f", rc, "--keep", "--idle",
                                  "--nosyslog", "--pidfile", os.path.join(srv.work, "pid")],
                                 stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                 env=dict(client_env(srv.work), FETCHMAILHOME=srv.work),
                                 cwd=srv.work, start_new_session=True)
        try:
            # Idling once the server's last words are its '+' to IDLE.
            imaptest.wait_for(lambda: len(os.listdir(out)) == 3 and re.search(
                rb"IMAP> \S+ IDLE\nfetchmail: IMAP< \+ [^\n]*\n$", trace()),
                "fetchmail to deliver three and idle", deadline=CLIENT_TIMEOUT)
            m = srv.admin()
            imaplib_ok(m.append("INBOX", None, None, make_message("f6@interop", "f six")),
                       "APPEND")
            m.logout()
            imaptest.wait_for(lambda: len(os.listdir(out)) == 4,
                              "fetchmail to fetch the new message", deadline=CLIENT_TIMEOUT)
        finally:
            p.terminate()
            try:
                p.wait(CLIENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        check_fetchmail_trace(trace())
        got = delivered(out)
        check(got == ["f3@interop", "f4@interop", "f5@interop", "f6@interop"],
              "fetchmail --idle delivered %s" % got)
        expect_folder(srv.root, "INBOX", [("f1@interop", "S"), ("f2@interop", "S"),
                                         ("f3@interop", "S"), ("f4@interop", "S"),
                                         ("f5@interop", "FS"), ("f6@interop", "S")])
        record("fetchmail (idle)", fetchmail_commands(trace()))


GETMAIL_RC = """\
[retriever]
type = SimpleIMAPRetriever
server = 127.0.0.1
port = {port}
username = {user}
password = {password}
mailboxes = ("INBOX",)
{extra}
[destination]
type = Maildir
path = {dest}/
{deliver_as}
[options]
read_all = false
delete = {delete}
verbose = 0
"""


def make_getmail_dest(srv, dest):
    """Create the destination Maildir. getmail refuses to deliver as root:
    as root, it delivers as the mail user the server runs as. Returns
    the destination's 'user =' line (or nothing)."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(dest, sub))
    if os.geteuid() != 0:
        return ""
    for dirpath, _, _ in os.walk(dest):
        os.chown(dirpath, srv.env.uid, srv.env.gid)
    return "user = %s\n" % pwd.getpwuid(srv.env.uid).pw_name


@test
def getmail_keep_then_delete_new():
    """getmail6 keeps all five messages (flags untouched: it peeks); a new
    message arrives; with delete and move_on_delete it delivers only the
    new one, and moves all six (the ones it had delivered before too) to
    Archive."""
    require("getmail", "getmail6")
    with Server(RETRIEVE_LAYOUT) as srv:
        dest = os.path.join(srv.work, "dest")
        user = make_getmail_dest(srv, dest)
        gdir = os.path.join(srv.work, "getmail")
        os.makedirs(gdir)
        keep = srv.write("getmailrc-keep", GETMAIL_RC.format(
            port=srv.proxy.port, user=USER, password=PASSWORD, dest=dest,
            delete="false", extra="", deliver_as=user))
        srv.run(["getmail", "--getmaildir", gdir, "--rcfile", keep], "getmail (keep)")
        got = delivered(os.path.join(dest, "new")) + delivered(os.path.join(dest, "cur"))
        check(got == ["f%d@interop" % i for i in range(1, 6)], "getmail delivered %s" % got)
        same_states(server_state(srv.root), layout_state(RETRIEVE_LAYOUT),
                    "server after getmail (keep)")
        m = srv.admin()
        imaplib_ok(m.append("INBOX", None, None, make_message("g6@interop", "g six")),
                   "APPEND")
        m.logout()
        move = srv.write("getmailrc-move", GETMAIL_RC.format(
            port=srv.proxy.port, user=USER, password=PASSWORD, dest=dest,
            delete="true", extra="move_on_delete = Archive\n", deliver_as=user))
        srv.run(["getmail", "--getmaildir", gdir, "--rcfile", move], "getmail (delete)")
        got = delivered(os.path.join(dest, "new")) + delivered(os.path.join(dest, "cur"))
        check(sorted(got) == sorted(["f%d@interop" % i for i in range(1, 6)]
                                    + ["g6@interop"]), "getmail delivered %s" % got)
        # delete also removes the messages delivered by the first run:
        # all of INBOX goes to Archive (by COPY), flags kept.
        after = layout_state(RETRIEVE_LAYOUT)
        after["Archive"] = sorted(after["Archive"] + after["INBOX"] + [("g6@interop", "")])
        after["INBOX"] = []
        same_states(server_state(srv.root), after, "server after getmail (delete)")
        record("getmail", srv.proxy.commands())


@test
def getmail_over_tls():
    """getmail6's SimpleIMAPSSLRetriever with the test CA as ca_certs
    keeps all five messages."""
    require("getmail", "getmail6")
    with Server(RETRIEVE_LAYOUT, tls=True) as srv:
        dest = os.path.join(srv.work, "dest")
        user = make_getmail_dest(srv, dest)
        rc = GETMAIL_RC.format(port=srv.tls_port, user=USER, password=PASSWORD, dest=dest,
                               delete="false", extra="ca_certs = %s\n"
                               % os.path.join(CERT_DIR, "cert.pem"), deliver_as=user)
        rc = rc.replace("type = SimpleIMAPRetriever", "type = SimpleIMAPSSLRetriever")
        rc = rc.replace("server = 127.0.0.1", "server = localhost")
        gdir = os.path.join(srv.work, "getmail")
        os.makedirs(gdir)
        rc = srv.write("getmailrc-ssl", rc)
        srv.run(["getmail", "--getmaildir", gdir, "--rcfile", rc], "getmail over TLS")
        got = delivered(os.path.join(dest, "new")) + delivered(os.path.join(dest, "cur"))
        check(got == ["f%d@interop" % i for i in range(1, 6)], "getmail delivered %s" % got)
        same_states(server_state(srv.root), layout_state(RETRIEVE_LAYOUT),
                    "server after getmail over TLS")


@test
def getmail_idle_retrieves_new_mail():
    """getmail6 --idle INBOX takes the five messages, waits in IDLE, and
    retrieves a message appended by another session at once."""
    require("getmail", "getmail6")
    with Server(RETRIEVE_LAYOUT) as srv:
        need(srv, "IDLE")
        dest = os.path.join(srv.work, "dest")
        user = make_getmail_dest(srv, dest)
        gdir = os.path.join(srv.work, "getmail")
        os.makedirs(gdir)
        rc = srv.write("getmailrc-idle", GETMAIL_RC.format(
            port=srv.proxy.port, user=USER, password=PASSWORD, dest=dest,
            delete="false", extra="", deliver_as=user))

        def count():
            return len(os.listdir(os.path.join(dest, "new"))) + \
                len(os.listdir(os.path.join(dest, "cur")))
        p = subprocess.Popen(["getmail", "--getmaildir", gdir, "--rcfile", rc,
                              "--idle", "INBOX"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=client_env(srv.work), cwd=srv.work,
                             start_new_session=True)
        try:
            imaptest.wait_for(lambda: count() == 5 and srv.proxy.idling(),
                              "getmail to deliver five and idle", deadline=CLIENT_TIMEOUT)
            m = srv.admin()
            imaplib_ok(m.append("INBOX", None, None, make_message("g7@interop", "g seven")),
                       "APPEND")
            m.logout()
            imaptest.wait_for(lambda: count() == 6, "getmail to deliver the new message",
                              deadline=CLIENT_TIMEOUT)
        finally:
            # Not SIGTERM: arriving between getmail's IDLE and its wait
            # (getmailcore/_retrieverbases.py), it makes getmail send
            # CLOSE/LOGOUT inside the IDLE, without DONE, and the server
            # rightly answers BAD (as Dovecot does), which this harness
            # counts as a refusal. The test is over by now anyway.
            p.kill()
            try:
                out, _ = p.communicate(timeout=CLIENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
        got = delivered(os.path.join(dest, "new")) + delivered(os.path.join(dest, "cur"))
        check(sorted(got) == sorted(["f%d@interop" % i for i in range(1, 6)] + ["g7@interop"]),
              "getmail --idle delivered %s; it said: %s" % (got, tail(out)))
        after = layout_state(RETRIEVE_LAYOUT)
        after["INBOX"] = sorted(after["INBOX"] + [("g7@interop", "")])
        same_states(server_state(srv.root), after, "server after getmail --idle")
        record("getmail (idle)", srv.proxy.commands())


# ---------------------------------------------------------------------------
# Terminal clients in a tmux pane: neomutt and mutt (Alpine below)

NEOMUTT_LAYOUT = {
    "INBOX": [("t1@interop", None), ("t2@interop", "S"), ("t3@interop", "")],
    "Archive": [("a1@interop", "S")],
}

NEOMUTT_RC = """\
set folder = "imap://{user}@127.0.0.1:{port}/"
set imap_user = "{user}"
set imap_pass = "{password}"
set spoolfile = "+INBOX"
set record = ""
set postponed = ""
set header_cache = ""
set message_cachedir = ""
set ssl_starttls = no
set ssl_force_tls = no
set confirmappend = no
set delete = yes
set quit = yes
set move = no
set mark_old = no
set mail_check_stats = no
set wait_key = no
set imap_idle = no
set beep = no
"""

# Read t1 (which sets \Seen) and save it to Archive (mutt marks the
# original deleted); flag t3; sync (expunge); open Archive, delete a1,
# sync and quit.
NEOMUTT_KEYS = ("<limit>~i t1@interop<enter><display-message><exit>"
                "<save-message><kill-line>=Archive<enter>"
                "<limit>~i t3@interop<enter><flag-message><sync-mailbox>"
                "<change-folder><kill-line>=Archive<enter>"
                "<limit>~i a1@interop<enter><delete-message><sync-mailbox><quit>")


class Tmux:
    """A detached tmux server of our own (socket under the test's work
    directory) running one command in one pane."""

    def __init__(self, srv, command):
        self.srv = srv
        self.base = ["tmux", "-L", "interop", "-f", "/dev/null"]
        self.env = {"TMUX_TMPDIR": srv.work}
        srv.run(self.base + ["new-session", "-d", "-x", "132", "-y", "40", command],
                "tmux new-session", env=self.env)

    def screen(self):
        return self.srv.run(self.base + ["capture-pane", "-p"], "tmux capture-pane",
                            env=self.env, ok=(0, 1)).stdout.decode("utf-8", "replace")

    def wait(self, rx, what):
        """Wait until the screen matches rx; returns the screen."""
        seen = [""]

        def cond():
            seen[0] = self.screen()
            return re.search(rx, seen[0]) is not None
        try:
            imaptest.wait_for(cond, what, deadline=CLIENT_TIMEOUT)
        except imaptest.TestFailure:
            raise Fail("waiting for %s; the screen:\n%s" % (what, seen[0]))
        return seen[0]

    def wait_gone(self, what):
        """Wait until the command in the pane has ended (and with it the
        tmux session)."""
        imaptest.wait_for(lambda: self.srv.run(
            self.base + ["has-session"], "tmux has-session", env=self.env,
            ok=(0, 1)).returncode != 0, what, deadline=CLIENT_TIMEOUT)

    def keys(self, *keys):
        self.srv.run(self.base + ["send-keys"] + list(keys), "tmux send-keys",
                     env=self.env)

    def close(self):
        self.srv.run(self.base + ["kill-server"], "tmux kill-server", env=self.env,
                     ok=(0, 1))


def run_in_tmux(srv, name, command, drive=None):
    """Run command (a shell command line) in a Tmux pane; call drive(t)
    to type at it, if given; wait for the command to end and fail unless
    it exits 0."""
    require("tmux", "tmux")
    status = os.path.join(srv.work, name + ".status")
    if os.path.exists(status):
        os.unlink(status)  # left by an earlier run
    script = srv.write("run-%s.sh" % name, "#!/bin/sh\n%s\n"
                       "echo $? >%s.tmp && mv %s.tmp %s\n"
                       % (command, status, status, status), mode=0o755)
    t = Tmux(srv, script)
    try:
        if drive is not None:
            drive(t)
        try:
            imaptest.wait_for(lambda: os.path.exists(status), name + " to quit",
                              deadline=CLIENT_TIMEOUT)
        except imaptest.TestFailure:
            raise Fail("%s did not quit; its screen:\n%s" % (name, tail(t.screen())))
    finally:
        t.close()
    with open(status) as f:
        code = f.read().strip()
    check(code == "0", "%s exited %s" % (name, code))


def run_neomutt(srv, rc_text, keys, mua="neomutt"):
    """Run neomutt (or mutt) with rc_text as its only config in a tmux
    pane, pushing keys; fail unless it quits with status 0."""
    require(mua, mua)
    rc = srv.write("neomuttrc", rc_text)
    run_in_tmux(srv, mua, "%s -n -F %s -e 'push \"%s\"'" % (mua, rc, keys))


@test
def neomutt_reads_and_saves_to_another_folder():
    """neomutt in a tmux pane opens INBOX, reads a message and saves it to
    Archive, flags another, syncs, opens Archive and deletes a message
    there: the saved message leaves INBOX, seen, and a1 is gone."""
    with Server(NEOMUTT_LAYOUT) as srv:
        run_neomutt(srv, NEOMUTT_RC.format(port=srv.proxy.port, user=USER,
                                           password=PASSWORD), NEOMUTT_KEYS)
        expect_folder(srv.root, "INBOX", [("t2@interop", "S"), ("t3@interop", "F")])
        expect_folder(srv.root, "Archive", [("t1@interop", "S")])
        record("neomutt", srv.proxy.commands())


@test
def mutt_reads_and_saves_to_another_folder():
    """Classic mutt, the same session as neomutt's."""
    with Server(NEOMUTT_LAYOUT) as srv:
        run_neomutt(srv, NEOMUTT_RC.format(port=srv.proxy.port, user=USER,
                                           password=PASSWORD), NEOMUTT_KEYS, mua="mutt")
        expect_folder(srv.root, "INBOX", [("t2@interop", "S"), ("t3@interop", "F")])
        expect_folder(srv.root, "Archive", [("t1@interop", "S")])
        record("mutt", srv.proxy.commands())


def mutt_over_tls(mua):
    """mua (neomutt or mutt) over imaps:// and then STARTTLS (ssl_force_tls),
    the test CA as its ssl_ca_certificates_file: each run saves one
    message."""
    with Server(NEOMUTT_LAYOUT, tls=True) as srv:
        for url, msg in (("imaps://{user}@localhost:%d/" % srv.tls_port, "t1"),
                         ("imap://{user}@localhost:%d/" % srv.port, "t3")):
            rc = NEOMUTT_RC.format(port=0, user=USER, password=PASSWORD)
            rc = re.sub(r'(?m)^set folder = .*$', 'set folder = "%s"'
                        % url.format(user=USER), rc)
            rc = rc.replace("set ssl_starttls = no\nset ssl_force_tls = no\n",
                            "set ssl_starttls = yes\nset ssl_force_tls = yes\n"
                            "set ssl_ca_certificates_file = \"%s\"\n"
                            % os.path.join(CERT_DIR, "cert.pem"))
            check("ssl_force_tls = yes" in rc, "neomuttrc not rewritten")
            run_neomutt(srv, rc, "<limit>~i %s@interop<enter><save-message><kill-line>"
                        "=Archive<enter><sync-mailbox><quit>" % msg, mua=mua)
        expect_folder(srv.root, "INBOX", [("t2@interop", "S")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("t1@interop", ""),
                                           ("t3@interop", "")])


@test
def neomutt_over_tls():
    """neomutt over imaps:// and STARTTLS (see mutt_over_tls)."""
    mutt_over_tls("neomutt")


@test
def classic_mutt_over_tls():
    """Classic mutt (GnuTLS build) over imaps:// and STARTTLS."""
    mutt_over_tls("mutt")

# ---------------------------------------------------------------------------
# Alpine (UW c-client) under tmux


ALPINE_RC = """\
user-id={user}
personal-name=Demo
user-domain=example.org
inbox-path={{127.0.0.1:{port}/imap/notls/user={user}}}INBOX
folder-collections="Mail" {{127.0.0.1:{port}/imap/notls/user={user}}}[]
default-fcc=
postponed-folder=
feature-list=quit-without-confirm,expunge-without-confirm
"""


def drive_alpine(t):
    """Type at Alpine's prompts as they appear."""
    # A first run shows a greeting once; then the password prompt.
    s = t.wait(r"GREETING TEXT|ENTER PASSWORD", "the greeting or password prompt")
    if "GREETING TEXT" in s:
        t.keys("E")
        t.wait(r"ENTER PASSWORD", "the password prompt")
    t.keys(PASSWORD, "Enter")
    s = t.wait(r"Preserve password|MESSAGE INDEX", "login")
    if "Preserve password" in s:
        t.keys("n")
    t.wait(r"MESSAGE INDEX(.|\n)* t3", "the INBOX index")
    t.keys("Enter")
    t.wait(r"MESSAGE TEXT(.|\n)*Subject: t1", "message t1")
    t.keys("s")
    t.wait(r"SAVE Msg #1 to folder", "the save prompt")
    t.keys("Archive", "Enter")
    # Status lines come and go: wait on the title bar instead.
    t.wait(r"Message 1 of 3 .*DEL", "the save (message 1 marked deleted)")
    t.keys("<")
    t.wait(r"MESSAGE INDEX", "the index")
    t.keys("x")
    t.wait(r"MESSAGE INDEX.*Message \d of 2\b", "the expunge")
    t.keys("End", "*")
    t.wait(r"Flag New, Deleted", "the flag prompt")
    t.keys("Enter")  # the default: Important, i.e. \Flagged
    t.wait(r"(?m)^ *\*.*\b2 .* t3\s*$", "t3 flagged")
    t.keys("q")


@test
def alpine_reads_saves_flags_and_expunges():
    """Alpine (c-client) in a tmux pane: log in, read the first message,
    save it to Archive (which marks it deleted), expunge, flag another
    message, quit."""
    require("alpine", "alpine")
    require("tmux", "tmux")
    with Server(NEOMUTT_LAYOUT) as srv:
        rc = srv.write("pinerc", ALPINE_RC.format(port=srv.proxy.port, user=USER))
        run_in_tmux(srv, "alpine", "alpine -p %s -I i" % rc, drive_alpine)
        expect_folder(srv.root, "INBOX", [("t2@interop", "S"), ("t3@interop", "F")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("t1@interop", "S")])
        record("alpine", srv.proxy.commands())


@test
def alpine_over_tls():
    """The same Alpine session over implicit TLS ({host/imap/ssl}), the test
    CA trusted through SSL_CERT_FILE (OpenSSL's default verify paths, which
    c-client uses), the certificate checked against "localhost"."""
    require("alpine", "alpine")
    require("tmux", "tmux")
    with Server(NEOMUTT_LAYOUT, tls=True) as srv:
        rc = ALPINE_RC.format(port=srv.tls_port, user=USER)
        rc = rc.replace("{{127.0.0.1:%d/imap/notls/" % srv.tls_port,
                        "{{localhost:%d/imap/ssl/" % srv.tls_port)
        rc = rc.replace("{127.0.0.1:%d/imap/notls/" % srv.tls_port,
                        "{localhost:%d/imap/ssl/" % srv.tls_port)
        check("/imap/ssl/" in rc and "notls" not in rc, "pinerc not rewritten")
        rc = srv.write("pinerc", rc)
        run_in_tmux(srv, "alpine", "SSL_CERT_FILE=%s alpine -p %s -I i"
                    % (os.path.join(CERT_DIR, "cert.pem"), rc), drive_alpine)
        expect_folder(srv.root, "INBOX", [("t2@interop", "S"), ("t3@interop", "F")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("t1@interop", "S")])


@test
def neomutt_idle_sees_new_mail():
    """neomutt with imap_idle waits in IDLE between keystrokes; another
    session appends a message, which appears in neomutt's index."""
    with Server(NEOMUTT_LAYOUT) as srv:
        need(srv, "IDLE")
        require("neomutt", "neomutt")
        require("tmux", "tmux")
        rc = NEOMUTT_RC.format(port=srv.proxy.port, user=USER, password=PASSWORD)
        rc = rc.replace("set imap_idle = no\n", "set imap_idle = yes\nset timeout = 1\n")
        check("imap_idle = yes" in rc, "neomuttrc not rewritten")
        rc = srv.write("neomuttrc", rc)
        t = Tmux(srv, "neomutt -n -F %s" % rc)
        try:
            t.wait(r"(?m) t3\s*$", "the INBOX index")
            # IDLE has begun once the server has answered it with '+'.
            imaptest.wait_for(srv.proxy.idling, "neomutt to be idling",
                              deadline=CLIENT_TIMEOUT)
            m = srv.admin()
            imaplib_ok(m.append("INBOX", None, None,
                                make_message("idle@interop", "arrived while idle")),
                       "APPEND")
            m.logout()
            t.wait(r"arrived while idle", "the new message in the index")
            t.keys("q")
            t.wait_gone("neomutt to quit")
        finally:
            t.close()
        expect_folder(srv.root, "INBOX", [("t1@interop", ""), ("t2@interop", "S"),
                                         ("t3@interop", ""), ("idle@interop", "")])
        record("neomutt (idle)", srv.proxy.commands())


# ---------------------------------------------------------------------------
# aerc (go-imap) under tmux

AERC_ACCOUNTS = """\
[test]
source = imap+insecure://{user}:{password}@127.0.0.1:{port}
outgoing = /bin/true
default = INBOX
from = Demo <demo@example.org>
"""


def drive_aerc(t):
    """Move the selected (newest) message, t3, to Archive, then quit."""
    t.wait(r"(?s) t3\s.* t2\s.* t1\s", "the three messages")
    t.keys(":move Archive", "Enter")
    t.wait(r"(?s)INBOX.*1/2", "INBOX down to two messages")
    t.keys(":quit", "Enter")


@test
def aerc_moves_a_message():
    """aerc (go-imap) in a tmux pane moves the selected message to
    Archive: it uses UID MOVE by itself when MOVE is advertised."""
    require("aerc", "aerc")
    with Server(NEOMUTT_LAYOUT) as srv:
        need(srv, "MOVE")
        conf = os.path.join(srv.work, "config")
        os.makedirs(os.path.join(conf, "aerc"))
        srv.write("config/aerc/accounts.conf", AERC_ACCOUNTS.format(
            port=srv.proxy.port, user=USER, password=PASSWORD))
        run_in_tmux(srv, "aerc", "XDG_CONFIG_HOME=%s aerc" % conf, drive_aerc)
        expect_folder(srv.root, "INBOX", [("t1@interop", ""), ("t2@interop", "S")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("t3@interop", "")])
        names, lines = srv.proxy.commands()
        check("UID MOVE" in names, "aerc did not use UID MOVE: %s" % names)
        record("aerc", (names, lines))


@test
def aerc_over_tls():
    """aerc over imaps:// and then imap:// (which makes it use STARTTLS),
    trusting the test CA through SSL_CERT_FILE (Go's crypto/tls reads it):
    each run moves the newest message to Archive."""
    require("aerc", "aerc")
    with Server(NEOMUTT_LAYOUT, tls=True) as srv:
        need(srv, "MOVE")
        conf = os.path.join(srv.work, "config")
        os.makedirs(os.path.join(conf, "aerc"), exist_ok=True)
        for scheme, port, shown, left in (
                ("imaps", srv.tls_port, r"(?s) t3\s.* t2\s.* t1\s", "1/2"),
                ("imap", srv.port, r"(?s) t2\s.* t1\s", "1/1")):
            accounts = AERC_ACCOUNTS.replace(
                "imap+insecure://{user}:{password}@127.0.0.1:{port}",
                "%s://{user}:{password}@localhost:{port}" % scheme)
            check(accounts != AERC_ACCOUNTS, "accounts.conf not rewritten")
            srv.write("config/aerc/accounts.conf", accounts.format(
                port=port, user=USER, password=PASSWORD))

            def drive(t, shown=shown, left=left):
                t.wait(shown, "the messages over " + scheme)
                t.keys(":move Archive", "Enter")
                t.wait(r"(?s)INBOX.*" + left, "INBOX down to " + left)
                t.keys(":quit", "Enter")
            run_in_tmux(srv, "aerc", "SSL_CERT_FILE=%s XDG_CONFIG_HOME=%s aerc"
                        % (os.path.join(CERT_DIR, "cert.pem"), conf), drive)
        expect_folder(srv.root, "INBOX", [("t1@interop", "")])
        expect_folder(srv.root, "Archive", [("a1@interop", "S"), ("t2@interop", "S"),
                                           ("t3@interop", "")])


# ---------------------------------------------------------------------------

CLIENTS = [  # (name, Debian package, command printing the client's version)
    ("imaplib", "python3", None),
    ("curl", "curl", ["curl", "--version"]),
    ("mbsync", "isync", ["mbsync", "--version"]),
    ("offlineimap", "offlineimap3", ["offlineimap", "--version"]),
    ("imapfilter", "imapfilter", ["imapfilter", "-V"]),
    ("fetchmail", "fetchmail", ["fetchmail", "--version"]),
    ("getmail", "getmail6", ["getmail", "--version"]),
    ("neomutt", "neomutt", ["neomutt", "-v"]),
    ("mutt", "mutt", ["mutt", "-v"]),
    ("alpine", "alpine", ["alpine", "-v"]),
    ("aerc", "aerc", ["aerc", "-v"]),
]


def client_version(argv):
    """The client's own version line, or None."""
    if argv is None:
        return "Python " + sys.version.split()[0]
    if shutil.which(argv[0]) is None:
        return None
    try:
        r = subprocess.run(argv, capture_output=True, timeout=CLIENT_TIMEOUT,
                           stdin=subprocess.DEVNULL, env=client_env(CERT_DIR))
    except subprocess.TimeoutExpired:
        return None
    for line in (r.stdout + r.stderr).decode("utf-8", "replace").splitlines():
        if re.search(r"\d+\.\d+|\d{8}", line) and "WARNING" not in line:
            return line.strip()
    return None

def main():
    global CERT_DIR
    only = sys.argv[1:]
    base = imaptest.scratch_dir()
    CERT_DIR = __import__("tempfile").mkdtemp(prefix="imapmoved-interop-", dir=base)
    passed = failed = skipped = 0
    try:
        r = subprocess.run(["sh", os.path.join(TOP, "tools", "gencert.sh"), CERT_DIR],
                           capture_output=True)
        if r.returncode != 0:
            print("gencert.sh failed: %s" % tail(r.stderr))
            print("0 passed, 1 failed")
            return 1
        for name, pkg, argv in CLIENTS:
            print("# %s: Debian %s %s; says: %s" % (name, pkg, package_version(pkg)
                                                   or "(not installed)",
                                                   client_version(argv)))
        for fn in TESTS:
            if only and not any(o in fn.__name__ for o in only):
                continue
            try:
                fn()
            except Skip as e:
                skipped += 1
                print("skip %s: %s" % (fn.__name__, e))
                continue
            except (Fail, imaptest.TestFailure) as e:
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, e))
                continue
            except Exception:
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, traceback.format_exc()))
                continue
            passed += 1
            print("ok   %s" % fn.__name__)
    finally:
        shutil.rmtree(CERT_DIR, ignore_errors=True)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
