#!/usr/bin/python3
"""make bench: imapmoved side by side with Dovecot (issue 9, issue 5).

Generates a deterministic corpus (corpus.py), lays identical Maildirs for
imapmoved and for Dovecot (each server its own folders and index files; the
message files are hard links to one master copy, which neither server ever
writes), starts both on loopback ports, runs every scenario on both,
alternating which goes first, and prints a table of medians with the
imapmoved/Dovecot ratio; the same goes to build/bench/results.json.

Speed is never asserted: this only reports. A scenario whose command a
server rejects (tagged NO or BAD) is shown as "n/a (server: <its text>)".

Environment: BENCH_QUICK=1 (small corpus, one repetition, a few minutes),
BENCH_REPS, BENCH_BIG (size of the "100k" folder), BENCH_ONLY=group,...
(login select content move append many pss idle), BENCH_DIR (work and
corpus cache, default /var/tmp/imapmoved-bench; must be reachable by the
unprivileged mail user), BENCH_KEEP=1 (keep the work directory),
IMAPMOVED_BIN (default ./imapmoved). Stdlib only.
"""

import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
BIN = os.path.abspath(os.environ.get("IMAPMOVED_BIN",
                                     os.path.join(TOP, "imapmoved")))
RENAME_TOOL = os.path.join(TOP, "build/rel/tests/tools/bench-rename")
BENCH_DIR = os.environ.get("BENCH_DIR", "/var/tmp/imapmoved-bench")
RESULTS = os.path.join(TOP, "build/bench/results.json")
SEED = 9
USER = "bench"
PASSWORD = "bench-pw-9"
BENCH_USER = "imapbench"
# Dovecot trusts its index only when a folder has been quiet for 2 s; both
# servers get the same pause after every change the harness makes.
SETTLE = 2.6
TIMEOUT = 120  # seconds one command may take before it counts as an error
IDLE_TIMEOUT = 10

if QUICK:
    N_MID, N_BIG, N_SMALL, N_APPEND = 1000, 5000, 200, 200
    REPS, WARM_K = 1, 2
    LOGIN_SEQ, LOGIN_PAR = 30, 64
    MANY_CLIENTS, MANY_SESSIONS = 50, 2
    PSS_SESSIONS, IDLE_K = 5, 3
else:
    N_MID, N_BIG, N_SMALL, N_APPEND = 10000, 100000, 1000, 1000
    REPS, WARM_K = 3, 3
    LOGIN_SEQ, LOGIN_PAR = 200, 400
    MANY_CLIENTS, MANY_SESSIONS = 50, 10
    PSS_SESSIONS, IDLE_K = 10, 5
REPS = int(os.environ.get("BENCH_REPS", REPS))
N_BIG = int(os.environ.get("BENCH_BIG", N_BIG))
N_IDLE_BOX = 100


def kfmt(n):
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


class Rejected(Exception):
    """The server answered a command with a tagged NO or BAD."""


def say(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- client

LITERAL = re.compile(rb"\{(\d+)\+?\}$")


class Conn:
    """A minimal IMAP client: enough to time commands and read responses
    with literals correctly, nothing more."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.n = 0
        self.greeting = self.resp()
        if not self.greeting.startswith(b"* OK"):
            raise Rejected(self.greeting.decode("utf-8", "replace"))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        d = self.s.recv(1 << 20)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _take(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def resp(self):
        """One whole response, literals included."""
        line = self._line()
        if not line.endswith(b"}"):
            return line
        out = [line]
        while True:
            m = LITERAL.search(line)
            if not m:
                break
            out.append(self._take(int(m.group(1))))
            line = self._line()
            out.append(line)
        return b"".join(out)

    def send(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        return tag

    def wait(self, tag, collect=False):
        """Read up to the tagged response; return (untagged, count)."""
        untagged = []
        count = 0
        prefix = tag + b" "
        while True:
            r = self.resp()
            if r.startswith(prefix):
                status = r[len(prefix):]
                if not status.startswith(b"OK"):
                    raise Rejected(status.decode("utf-8", "replace")[:120])
                return untagged, count
            count += 1
            if collect:
                untagged.append(r)

    def cmd(self, text, collect=False):
        return self.wait(self.send(text), collect)

    def timed(self, text):
        t = time.perf_counter()
        self.cmd(text)
        return time.perf_counter() - t

    def login(self):
        self.cmd(b"LOGIN " + USER.encode() + b" " + PASSWORD.encode())

    def select(self, box):
        untagged, _ = self.cmd(b"SELECT " + box.encode(), collect=True)
        for r in untagged:
            m = re.match(rb"\* (\d+) EXISTS", r)
            if m:
                return int(m.group(1))
        return 0

    def logout(self):
        try:
            tag = self.send(b"LOGOUT")
            self.wait(tag)
        finally:
            self.close()

    def append(self, box, data):
        tag = self.send(b"APPEND %s {%d}" % (box.encode(), len(data)))
        while True:
            r = self.resp()
            if r.startswith(b"+"):
                break
            if r.startswith(tag + b" "):
                raise Rejected(r[len(tag) + 1:].decode("utf-8", "replace"))
        self.s.sendall(data + b"\r\n")
        self.wait(tag)


def session(port):
    c = Conn(port)
    c.login()
    return c


# ---------------------------------------------------------------- processes

def proc_table():
    """{pid: (ppid, comm)} for every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        out[int(d)] = (ppid, comm)
    return out


def descendants(root):
    table = proc_table()
    kids = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out = {}
    todo = [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out[k] = table[k][1]
            todo.append(k)
    return out


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until(cond, what, deadline=20.0):
    end = time.time() + deadline
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)  # polling a condition with a deadline
    raise RuntimeError("timed out waiting for " + what)


def drop_caches():
    """Empty the page, dentry and inode caches; False when not permitted."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def run_workers(nclients, per_client, fn):
    """Fork nclients processes that each run fn() per_client times once all
    are ready; return (wall seconds, [session latencies], [errors])."""
    r_go, w_go = os.pipe()
    kids = []
    for _ in range(nclients):
        r_res, w_res = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w_go)
            os.close(r_res)
            os.read(r_go, 1)  # blocks until the parent closes w_go
            lat, err = [], None
            try:
                for _ in range(per_client):
                    t = time.perf_counter()
                    fn()
                    lat.append(time.perf_counter() - t)
            except Rejected as e:
                err = "rejected:" + str(e)
            except Exception as e:  # reported by the parent
                err = "%s: %s" % (type(e).__name__, e)
            data = json.dumps({"lat": lat, "err": err}).encode()
            with os.fdopen(w_res, "wb") as f:
                f.write(data)
            os._exit(0)
        os.close(w_res)
        kids.append((pid, r_res))
    os.close(r_go)
    t0 = time.perf_counter()
    os.close(w_go)
    lats, errs = [], []
    for pid, r in kids:
        with os.fdopen(r, "rb") as f:
            res = json.loads(f.read() or b'{"lat": [], "err": "no result"}')
        lats += res["lat"]
        if res["err"]:
            errs.append(res["err"])
    wall = time.perf_counter() - t0
    for pid, _ in kids:
        os.waitpid(pid, 0)
    for e in errs:
        if e.startswith("rejected:"):
            raise Rejected(e[len("rejected:"):])
    if errs:
        raise RuntimeError("%d clients failed, first: %s" % (len(errs),
                                                             errs[0]))
    return wall, lats, errs


def p99(values):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * 0.99))]


# ---------------------------------------------------------------- setup

def need_root_tools():
    """Dovecot from Debian when missing: installed as root, else the
    apt-get line is printed and the harness stops."""
    if shutil.which("dovecot") and shutil.which("doveconf"):
        return
    if os.geteuid() != 0:
        say("bench: Dovecot is missing. Run as root:\n"
            "  apt-get install dovecot-imapd")
        sys.exit(1)
    say("bench: installing dovecot-imapd")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq",
                    "--no-install-recommends", "dovecot-imapd"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    # Debian starts the system's Dovecot on install; ours is separate and
    # never touches it.


def bench_ids():
    """The unprivileged user that owns the mail and runs the sessions."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name
    try:
        pw = pwd.getpwnam(BENCH_USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", BENCH_USER],
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            pw = pwd.getpwnam("nobody")
            return pw.pw_uid, pw.pw_gid, pw.pw_name
        pw = pwd.getpwnam(BENCH_USER)
    return pw.pw_uid, pw.pw_gid, pw.pw_name


class Corpus:
    """The master copy: BENCH_DIR/corpus-v<version>-s<seed>/, extended on
    demand, reused across runs."""

    def __init__(self, uid, gid):
        self.dir = os.path.join(BENCH_DIR, "corpus-v%d-s%d" % (
            corpus.VERSION, SEED))
        self.uid, self.gid = uid, gid
        self.names = []
        self.generated = 0.0

    def ensure(self, n):
        os.makedirs(self.dir, exist_ok=True)
        list_path = os.path.join(self.dir, "names.txt")
        if os.path.exists(list_path):
            with open(list_path) as f:
                self.names = f.read().split("\n")[:-1]
        if len(self.names) >= n:
            return
        say("bench: generating corpus messages %d..%d in %s" % (
            len(self.names), n - 1, self.dir))
        t = time.time()
        self.names += corpus.write_maildir(self.dir, n, SEED,
                                           start=len(self.names),
                                           uid=self.uid, gid=self.gid)
        self.generated = time.time() - t
        with open(list_path + ".tmp", "w") as f:
            f.write("".join(x + "\n" for x in self.names))
        os.rename(list_path + ".tmp", list_path)
        say("bench: corpus ready (%.0f s)" % self.generated)

    def data(self, i):
        with open(os.path.join(self.dir, self.names[i]), "rb") as f:
            return f.read()


class Server:
    """What both servers share: a home with a Maildir, fresh folders made
    of hard links to the corpus, process lookup for PSS."""

    kind = "?"
    session_comm = None  # None: every child of the master is a session

    def __init__(self, work, port, ids, corp):
        self.dir = os.path.join(work, self.kind)
        self.home = os.path.join(self.dir, "home")
        self.maildir = os.path.join(self.home, "Maildir")
        self.port = port
        self.uid, self.gid, self.uname = ids
        self.corpus = corp
        self.proc = None
        self.seq = 0
        for d in (self.dir, self.home, self.maildir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        self._mkdirs(self.maildir)
        os.chown(self.home, self.uid, self.gid)

    def _mkdirs(self, path):
        for d in ("", "cur", "new", "tmp"):
            p = os.path.join(path, d)
            os.makedirs(p, exist_ok=True)
            os.chown(p, self.uid, self.gid)

    def folder(self, prefix, count):
        """A new folder holding corpus messages 0..count-1; its name."""
        self.seq += 1
        name = "%s%d" % (prefix, self.seq)
        path = os.path.join(self.maildir, "." + name)
        self._mkdirs(path)
        with open(os.path.join(path, "maildirfolder"), "w"):
            pass
        os.chown(os.path.join(path, "maildirfolder"), self.uid, self.gid)
        for rel in self.corpus.names[:count]:
            os.link(os.path.join(self.corpus.dir, rel),
                    os.path.join(path, rel))
        return name

    def folder_path(self, name):
        return os.path.join(self.maildir, "." + name)

    def remove_folders(self):
        for d in os.listdir(self.maildir):
            if d.startswith("."):
                shutil.rmtree(os.path.join(self.maildir, d),
                              ignore_errors=True)

    def wait_ready(self):
        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start-up; see %s" % (
                    self.kind, self.log))
            try:
                c = Conn(self.port)
                c.close()
                return True
            except (OSError, Rejected):
                return False
        wait_until(up, self.kind + " to accept connections")

    def session_pids(self):
        d = descendants(self.proc.pid)
        if self.session_comm is None:
            return set(d)
        return {p for p, comm in d.items() if comm == self.session_comm}

    def shared_pss(self):
        """PSS of the processes no session owns, by name."""
        out = {}
        sessions = self.session_pids()
        for pid, comm in list(descendants(self.proc.pid).items()) + [
                (self.proc.pid, self.kind + " (master)")]:
            if pid in sessions:
                continue
            v = pss_kb(pid)
            if v is not None:
                out[comm] = out.get(comm, 0) + v
        return out

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Imapmoved(Server):
    kind = "imapmoved"
    name = "imapmoved"

    def start(self):
        uid = gid = ""
        if os.geteuid() == 0:
            uid, gid = self.uid, self.gid
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            f.write("%s:{PLAIN}%s:%s:%s::%s::\n" % (USER, PASSWORD, uid, gid,
                                                    self.home))
        os.chmod(passwd, 0o600)
        conf = os.path.join(self.dir, "imapmoved.conf")
        with open(conf, "w") as f:
            f.write("listen = 127.0.0.1:%d\n"
                    "passwd_file = %s\n"
                    "maildir = %%h/Maildir\n"
                    "auth_failure_delay = 0\n"
                    "max_connections = 0\n"
                    "max_connections_per_ip = 0\n" % (self.port, passwd))
        subprocess.run([BIN, "-t", "-c", conf], check=True,
                       stdout=subprocess.DEVNULL)
        self.log = os.path.join(self.dir, "imapmoved.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([BIN, "-f", "-c", conf],
                                         stdout=log, stderr=log,
                                         start_new_session=True)
        self.wait_ready()

    def version(self):
        r = subprocess.run([BIN, "--version"], capture_output=True, text=True)
        return (r.stdout or r.stderr).strip()


class Dovecot(Server):
    kind = "dovecot"
    name = "Dovecot"
    session_comm = "imap"

    def start(self):
        d = self.dir
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
            os.chmod(os.path.join(d, sub), 0o755)
        passwd = os.path.join(d, "passwd")
        uid = gid = ""
        if os.geteuid() == 0:
            uid, gid = self.uid, self.gid
        with open(passwd, "w") as f:
            f.write("%s:{PLAIN}%s:%s:%s::%s::\n" % (USER, PASSWORD, uid, gid,
                                                    self.home))
        os.chmod(passwd, 0o644)
        if os.geteuid() == 0:
            users = "default_login_user = dovenull\n" \
                    "default_internal_user = dovecot\n" \
                    "first_valid_uid = %d\n" % self.uid
        else:
            users = "default_login_user = %s\n" \
                    "default_internal_user = %s\n" % (self.uname, self.uname)
        self.conf = os.path.join(d, "dovecot.conf")
        self.log = os.path.join(d, "dovecot.log")
        with open(self.conf, "w") as f:
            f.write("""# Written by tests/bench/bench.py; Dovecot defaults otherwise.
base_dir = {d}/run
state_dir = {d}/state
instance_name = imapmoved-bench-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
log_path = {log}
mail_location = maildir:~/Maildir
{users}passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
""".format(d=d, port=self.port, log=self.log, users=users, passwd=passwd))
        r = subprocess.run(["doveconf", "-n", "-c", self.conf],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("doveconf -n rejects %s: %s" % (
                self.conf, r.stderr.strip()))
        out = open(os.path.join(d, "dovecot.stderr"), "wb")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=out, stderr=out,
                                     start_new_session=True)
        out.close()
        self.wait_ready()

    def version(self):
        r = subprocess.run(["dovecot", "--version"], capture_output=True,
                           text=True)
        return "Dovecot " + r.stdout.strip()


# ---------------------------------------------------------------- results

class Row:
    def __init__(self, sid, label, unit, better="lower", target=""):
        self.sid, self.label, self.unit = sid, label, unit
        self.better, self.target = better, target
        self.values = {"imapmoved": [], "dovecot": []}
        self.na = {}

    def median(self, kind):
        v = self.values[kind]
        return statistics.median(v) if v else None


class Table:
    def __init__(self):
        self.rows = []
        self.by_sid = {}

    def add(self, *args, **kw):
        row = Row(*args, **kw)
        self.rows.append(row)
        self.by_sid[row.sid] = row
        return row

    def __getitem__(self, sid):
        return self.by_sid[sid]


def fmt_value(v, unit):
    if v is None:
        return "-"
    if unit == "ms":
        return ("%.3g ms" % v) if v < 100 else ("%.0f ms" % v)
    if unit == "/s":
        return "%.0f/s" % v if v >= 100 else "%.3g/s" % v
    if unit == "KB":
        return "%.0f KB" % v
    if unit == "x":
        return "%.2fx" % v
    return "%.3g %s" % (v, unit)


def cell(row, kind):
    if kind in row.na and not row.values[kind]:
        return row.na[kind]
    return fmt_value(row.median(kind), row.unit)


def ratio(row):
    a, b = row.median("imapmoved"), row.median("dovecot")
    if a is None or b is None or b == 0 or row.unit == "x":
        return None
    return a / b


TARGET = re.compile(r"^(<=|>=|<)\s*([0-9.]+)\s*(ms)?")


def target_met(row):
    """Whether issue 9's target for the row holds in this run: True, False,
    or None without a target or a figure. Informative only."""
    m = TARGET.match(row.target)
    if not m:
        return None
    op, limit = m.group(1), float(m.group(2))
    if m.group(3) or row.unit == "x":
        v = row.median("imapmoved")
    else:
        v = ratio(row)
    if v is None:
        return None
    return {"<=": v <= limit, ">=": v >= limit, "<": v < limit}[op]


def target_cell(row):
    met = target_met(row)
    if met is None:
        return row.target
    return "%s (%s)" % (row.target, "met" if met else "missed")


def print_table(table, out):
    w0 = max(len(r.label) for r in table.rows)
    cells = [(r.label, cell(r, "imapmoved"), cell(r, "dovecot"),
              "-" if ratio(r) is None else "%.2f" % ratio(r), target_cell(r))
             for r in table.rows]
    w1 = max(12, max(len(c[1]) for c in cells))
    w2 = max(12, max(len(c[2]) for c in cells))
    head = "%-*s  %-*s  %-*s  %-6s  %s" % (w0, "scenario", w1, "imapmoved",
                                           w2, "Dovecot", "ratio",
                                           "target")
    out.write(head + "\n" + "-" * len(head) + "\n")
    for c in cells:
        out.write("%-*s  %-*s  %-*s  %-6s  %s\n" % (w0, c[0], w1, c[1],
                                                     w2, c[2], c[3], c[4]))


def markdown_table(table):
    lines = ["| scenario | imapmoved | Dovecot | ratio | target |",
             "| --- | --- | --- | --- | --- |"]
    for r in table.rows:
        q = ratio(r)
        lines.append("| %s | %s | %s | %s | %s |" % (
            r.label, cell(r, "imapmoved"), cell(r, "dovecot"),
            "-" if q is None else "%.2f" % q, target_cell(r)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- scenarios
#
# A group prepares folders on both servers, waits SETTLE once, runs its
# "first" phase on both (cold where it says so), waits SETTLE again, then its
# "warm" phase on both. The server that goes first alternates by repetition.

class Group:
    name = "?"
    sids = ()
    needs_settle_first = True

    def prepare(self, srv, st):
        pass

    first = None
    warm = None


def cold_session(srv):
    """Drop the page, dentry and inode caches, then log in (the caller
    times what comes next); return the session."""
    drop_caches()
    return session(srv.port)


class LoginGroup(Group):
    name = "login"
    sids = ("login_lat", "login_p4", "login_p16")
    needs_settle_first = False

    def first(self, srv, st, rec):
        lat = []
        for _ in range(LOGIN_SEQ):
            t = time.perf_counter()
            c = session(srv.port)
            c.logout()
            lat.append(time.perf_counter() - t)
        rec("login_lat", statistics.median(lat) * 1000)

        def one():
            c = session(srv.port)
            c.logout()
        for par, sid in ((4, "login_p4"), (16, "login_p16")):
            wall, lats, _ = run_workers(par, LOGIN_PAR // par, one)
            rec(sid, len(lats) / wall)


class SelectGroup(Group):
    name = "select"
    sids = ("sel_mid_first", "sel_mid_warm", "sel_big_first", "sel_big_warm")

    def prepare(self, srv, st):
        st["mid"] = srv.folder("sel", N_MID)
        st["big"] = srv.folder("selbig", N_BIG)

    def first(self, srv, st, rec):
        for key, sid, n in (("mid", "sel_mid_first", N_MID),
                            ("big", "sel_big_first", N_BIG)):
            c = cold_session(srv)
            t = time.perf_counter()
            exists = c.select(st[key])
            rec(sid, (time.perf_counter() - t) * 1000)
            c.logout()
            if exists != n:
                st.setdefault("notes", []).append(
                    "%s: SELECT %s reported %d EXISTS, expected %d" % (
                        srv.kind, st[key], exists, n))

    def warm(self, srv, st, rec):
        for key, sid in (("mid", "sel_mid_warm"), ("big", "sel_big_warm")):
            for _ in range(WARM_K):
                c = session(srv.port)
                t = time.perf_counter()
                c.select(st[key])
                rec(sid, (time.perf_counter() - t) * 1000)
                c.logout()


CONTENT = [
    ("fetch_fast", b"FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)"),
    ("fetch_env", b"FETCH 1:* ENVELOPE"),
    ("fetch_hdr", b"FETCH 1:* BODY.PEEK[HEADER.FIELDS "
                  b"(From Subject Date Message-ID)]"),
    ("search_from", b"SEARCH FROM \"" + corpus.SEARCH_FROM.encode() + b"\""),
    ("search_text", b"SEARCH TEXT \"" + corpus.SEARCH_TEXT.encode() + b"\""),
]


class ContentGroup(Group):
    """FETCH and SEARCH over a whole folder: each command gets its own
    fresh folder, opened once (untimed) so that "first" times the command
    and not the folder's first SELECT."""
    name = "content"
    sids = tuple(k + s for k, _ in CONTENT for s in ("_first", "_warm"))

    def prepare(self, srv, st):
        for key, _ in CONTENT:
            st[key] = srv.folder(key.replace("_", ""), N_MID)
        # The untimed first SELECT, so that the settle pause follows it.
        for key, _ in CONTENT:
            c = session(srv.port)
            try:
                c.select(st[key])
            finally:
                c.logout()

    def first(self, srv, st, rec):
        for key, command in CONTENT:
            c = cold_session(srv)
            try:
                c.select(st[key])
                rec(key + "_first", c.timed(command) * 1000)
            except Rejected as e:
                rec.na(key + "_first", e)
                rec.na(key + "_warm", e)
            finally:
                c.close()

    def warm(self, srv, st, rec):
        for key, command in CONTENT:
            if rec.is_na(key + "_warm"):
                continue
            # Each warm figure is the first such command of a new session,
            # as a client that opens the folder again would send it; a
            # repeat inside one session would time the session's own memory.
            for _ in range(WARM_K):
                c = session(srv.port)
                try:
                    c.select(st[key])
                    rec(key + "_warm", c.timed(command) * 1000)
                except Rejected as e:
                    rec.na(key + "_warm", e)
                    break
                finally:
                    c.close()


class MoveGroup(Group):
    """UID MOVE of a whole folder, and the three-step form on a twin."""
    name = "move"
    sids = ("move_small", "move_mid", "cse_small", "cse_mid")

    def prepare(self, srv, st):
        for sid, n in (("move_small", N_SMALL), ("move_mid", N_MID),
                       ("cse_small", N_SMALL), ("cse_mid", N_MID)):
            src = srv.folder(sid.replace("_", ""), n)
            st[sid] = (src, srv.folder(sid.replace("_", "") + "to", 0))
            c = session(srv.port)
            try:
                c.select(src)
                c.select(st[sid][1])
            except Rejected:
                pass  # Reported by first(); the folders exist anyway.
            finally:
                c.close()

    def first(self, srv, st, rec):
        for sid in ("move_small", "move_mid"):
            src, dst = st[sid]
            c = session(srv.port)
            try:
                c.select(src)
                rec(sid, c.timed(b"UID MOVE 1:* " + dst.encode()) * 1000)
            except Rejected as e:
                rec.na(sid, e)
            finally:
                c.close()
        for sid in ("cse_small", "cse_mid"):
            src, dst = st[sid]
            c = session(srv.port)
            try:
                c.select(src)
                t = time.perf_counter()
                c.cmd(b"UID COPY 1:* " + dst.encode())
                c.cmd(b"UID STORE 1:* +FLAGS.SILENT (\\Deleted)")
                c.cmd(b"UID EXPUNGE 1:*")
                rec(sid, (time.perf_counter() - t) * 1000)
            except Rejected as e:
                rec.na(sid, e)
            finally:
                c.close()


class AppendGroup(Group):
    name = "append"
    sids = ("append",)

    def prepare(self, srv, st):
        st["box"] = srv.folder("append", 0)
        if "msgs" not in st:
            st["msgs"] = [srv.corpus.data(i).replace(b"\n", b"\r\n")
                          for i in range(N_APPEND)]

    def first(self, srv, st, rec):
        c = session(srv.port)
        try:
            t = time.perf_counter()
            for m in st["msgs"]:
                c.append(st["box"], m)
            rec("append", N_APPEND / (time.perf_counter() - t))
        finally:
            c.close()


class ManyGroup(Group):
    """MANY_CLIENTS clients, each doing MANY_SESSIONS sessions of LOGIN,
    SELECT, FETCH of the last 50 messages, LOGOUT."""
    name = "many"
    sids = ("many_rate", "many_p99")

    def prepare(self, srv, st):
        st["box"] = srv.folder("many", N_MID)

    def first(self, srv, st, rec):
        c = session(srv.port)  # Untimed: builds the folder's index.
        try:
            c.select(st["box"])
        finally:
            c.close()

    def warm(self, srv, st, rec):
        box = st["box"]

        def one():
            c = session(srv.port)
            n = c.select(box)
            c.cmd(b"FETCH %d:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)"
                  % max(1, n - 49))
            c.logout()
        wall, lats, _ = run_workers(MANY_CLIENTS, MANY_SESSIONS, one)
        rec("many_rate", len(lats) / wall)
        rec("many_p99", p99(lats) * 1000)


class PssGroup(Group):
    name = "pss"
    sids = ("pss_login", "pss_select", "pss_shared")

    def prepare(self, srv, st):
        st["box"] = srv.folder("pss", N_MID)

    def first(self, srv, st, rec):
        c = session(srv.port)
        try:
            c.select(st["box"])
        except Rejected:
            pass  # Reported by warm().
        finally:
            c.close()

    def _measure(self, srv, before):
        def ready():
            # A process without a readable PSS has exited (or is not ours
            # to read): only live sessions count.
            now = [pss_kb(p) for p in srv.session_pids() - before]
            now = [v for v in now if v is not None]
            return now if len(now) >= PSS_SESSIONS else None
        vals = wait_until(ready, "%d %s session processes with a readable "
                          "smaps_rollup" % (PSS_SESSIONS, srv.kind))
        return sum(vals) / len(vals)

    def warm(self, srv, st, rec):
        before = srv.session_pids()
        conns = []
        try:
            for _ in range(PSS_SESSIONS):
                conns.append(session(srv.port))
            rec("pss_login", self._measure(srv, before))
            shared = srv.shared_pss()
            st["shared"] = shared
            rec("pss_shared", sum(shared.values()))
            for c in conns:
                c.select(st["box"])
            rec("pss_select", self._measure(srv, before))
        finally:
            for c in conns:
                c.close()


class IdleGroup(Group):
    name = "idle"
    sids = ("idle",)

    def prepare(self, srv, st):
        st["box"] = srv.folder("idle", N_IDLE_BOX)

    def first(self, srv, st, rec):
        c = session(srv.port)
        try:
            c.select(st["box"])
        except Rejected:
            pass  # Reported by warm().
        finally:
            c.close()

    def _deliver(self, srv, box, k):
        data = srv.corpus.data(k)
        base = "%d.M%dP%dQ%d.benchdeliver,S=%d" % (
            time.time(), k, os.getpid(), k, len(data))
        path = srv.folder_path(box)
        tmp = os.path.join(path, "tmp", base)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, srv.uid, srv.gid)
        t = time.perf_counter()
        os.rename(tmp, os.path.join(path, "new", base))
        return t

    def warm(self, srv, st, rec):
        c = session(srv.port)
        try:
            c.select(st["box"])
            c.s.settimeout(IDLE_TIMEOUT)
            for k in range(IDLE_K):
                tag = c.send(b"IDLE")
                while True:
                    r = c.resp()
                    if r.startswith(b"+"):
                        break
                    if r.startswith(tag + b" "):
                        raise Rejected(r[len(tag) + 1:].decode())
                t = self._deliver(srv, st["box"], 500 + k)
                while not re.match(rb"\* \d+ EXISTS", c.resp()):
                    pass
                rec("idle", (time.perf_counter() - t) * 1000)
                c.s.sendall(b"DONE\r\n")
                c.wait(tag)
                time.sleep(0.3)  # spacing between deliveries, not a sync
        finally:
            c.close()


class Recorder:
    def __init__(self, table, srv, sids):
        self.table, self.srv, self.sids = table, srv, sids

    def __call__(self, sid, value):
        self.table[sid].values[self.srv.kind].append(value)

    def na(self, sid, exc):
        self.table[sid].na[self.srv.kind] = "n/a (server: %s)" % exc

    def is_na(self, sid):
        return self.srv.kind in self.table[sid].na

    def all_na(self):
        return all(self.is_na(s) for s in self.sids)


def run_group(group, servers, table, rep, notes):
    order = servers if rep % 2 == 0 else servers[::-1]
    st = {srv.kind: {} for srv in servers}
    live = []
    for srv in order:
        rec = Recorder(table, srv, group.sids)
        if rec.all_na():
            continue
        live.append((srv, rec))
    if not live:
        return
    t0 = time.time()

    def guarded(phase, srv, rec):
        try:
            phase(srv, st[srv.kind], *([rec] if phase != group.prepare
                                       else []))
            return True
        except Rejected as e:
            for sid in group.sids:
                if not table[sid].values[srv.kind]:
                    rec.na(sid, e)
        except Exception as e:
            msg = "error: %s: %s" % (type(e).__name__, e)
            notes.append("%s %s rep %d: %s" % (srv.kind, group.name, rep,
                                                msg))
            for sid in group.sids:
                if not table[sid].values[srv.kind]:
                    table[sid].na[srv.kind] = msg[:60]
        return False

    live = [x for x in live if guarded(group.prepare, *x)]
    for phase_name in ("first", "warm"):
        phase = getattr(group, phase_name)
        if phase is None or not live:
            continue
        if phase_name == "warm" or group.needs_settle_first:
            time.sleep(SETTLE)
        live = [x for x in live if guarded(phase, *x)]
    for srv in servers:
        for n in st[srv.kind].get("notes", []):
            notes.append(n)
        if "shared" in st[srv.kind]:
            table.shared_detail = getattr(table, "shared_detail", {})
            table.shared_detail[srv.kind] = st[srv.kind]["shared"]
    say("bench: %-8s rep %d/%d done in %.1f s" % (group.name, rep + 1, REPS,
                                                   time.time() - t0))
    for srv in servers:
        srv.remove_folders()


def rename_floor(servers, table, rep):
    """The C loop renaming the same N_MID files between two directories."""
    srv = servers[0]
    src = srv.folder_path(srv.folder("floor", N_MID))
    dst = os.path.join(srv.dir, "floor-dst-%d" % rep)
    os.makedirs(dst)
    r = subprocess.run([RENAME_TOOL, os.path.join(src, "cur"), dst],
                       capture_output=True, text=True, check=True)
    m = re.match(r"files (\d+) rename_ns (\d+) fsync_ns (\d+)", r.stdout)
    table["floor"].values["imapmoved"].append(int(m.group(2)) / 1e6)
    table["floor_fsync"].values["imapmoved"].append(
        (int(m.group(2)) + int(m.group(3))) / 1e6)
    shutil.rmtree(dst)
    srv.remove_folders()


def derive(table):
    """Issue 5's ratios, per server: MOVE / raw rename, MOVE / 3-step."""
    floor = table["floor"].median("imapmoved")
    for kind in ("imapmoved", "dovecot"):
        mv = table["move_mid"].median(kind)
        cse = table["cse_mid"].median(kind)
        if mv is not None and floor:
            table["r_move_floor"].values[kind].append(mv / floor)
        elif mv is None:
            table["r_move_floor"].na[kind] = "n/a (no UID MOVE)"
        if mv is not None and cse:
            table["r_move_cse"].values[kind].append(mv / cse)
        elif mv is None or cse is None:
            table["r_move_cse"].na[kind] = "n/a (%s missing)" % (
                "UID MOVE" if mv is None else "3-step")


def build_table():
    t = Table()
    m, b, s, a = kfmt(N_MID), kfmt(N_BIG), kfmt(N_SMALL), kfmt(N_APPEND)
    t.add("login_lat", "connect+LOGIN+LOGOUT latency (median)", "ms",
          target="<= 0.4")
    t.add("login_p4", "connect+LOGIN+LOGOUT, 4 parallel clients", "/s",
          "higher")
    t.add("login_p16", "connect+LOGIN+LOGOUT, 16 parallel clients", "/s",
          "higher")
    t.add("sel_mid_first", "SELECT %s, first" % m, "ms")
    t.add("sel_mid_warm", "SELECT %s, warm" % m, "ms")
    t.add("sel_big_first", "SELECT %s, first" % b, "ms", target="<= 0.8")
    t.add("sel_big_warm", "SELECT %s, warm" % b, "ms", target="<= 1.0")
    labels = {"fetch_fast": "FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
              "fetch_env": "FETCH 1:* ENVELOPE",
              "fetch_hdr": "FETCH 1:* BODY.PEEK[HEADER.FIELDS (4 fields)]",
              "search_from": "SEARCH FROM",
              "search_text": "SEARCH TEXT"}
    targets = {"fetch_fast_first": "<= 0.3", "fetch_fast_warm": "<= 1.0",
               "fetch_env_warm": "<= 1.0", "fetch_hdr_warm": "<= 1.0",
               "search_text_warm": "<= 1.0"}
    for key, _ in CONTENT:
        for sfx in ("_first", "_warm"):
            t.add(key + sfx, "%s on %s, %s" % (labels[key], m, sfx[1:]), "ms",
                  target=targets.get(key + sfx, ""))
    t.add("move_small", "UID MOVE %s" % s, "ms")
    t.add("move_mid", "UID MOVE %s" % m, "ms", target="<= 0.5")
    t.add("cse_small", "UID COPY+STORE \\Deleted+UID EXPUNGE %s" % s, "ms")
    t.add("cse_mid", "UID COPY+STORE \\Deleted+UID EXPUNGE %s" % m, "ms",
          target="<= 1.0")
    t.add("floor", "raw rename floor, %s files (C loop)" % m, "ms")
    t.add("floor_fsync", "raw rename floor + fsync of both dirs", "ms")
    t.add("r_move_floor", "UID MOVE %s / raw rename floor" % m, "x",
          target="<= 1.6 (issue 5: <= 2)")
    t.add("r_move_cse", "UID MOVE %s / 3-step %s" % (m, m), "x",
          target="<= 0.5 (issue 5)")
    t.add("append", "APPEND %s messages" % a, "/s", "higher",
          target=">= 1.0")
    t.add("many_rate", "%d clients x %d sessions (login/select/fetch 50)" % (
        MANY_CLIENTS, MANY_SESSIONS), "/s", "higher", target=">= 1.5")
    t.add("many_p99", "  same, p99 session time", "ms", target="<= 1.0")
    t.add("pss_login", "PSS per idle session after LOGIN", "KB",
          target="<= 1.0")
    t.add("pss_select", "PSS per session with %s selected" % m, "KB")
    t.add("pss_shared", "PSS of shared processes (master, auth...)", "KB")
    t.add("idle", "IDLE: delivery into new/ to EXISTS", "ms",
          target="< 100 ms")
    return t


GROUPS = [LoginGroup(), SelectGroup(), ContentGroup(), MoveGroup(),
          AppendGroup(), ManyGroup(), PssGroup(), IdleGroup()]


def git_rev():
    r = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return r.stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    t_start = time.time()
    if not os.access(BIN, os.X_OK):
        sys.exit("bench: %s is missing; run `make bench`" % BIN)
    if not os.access(RENAME_TOOL, os.X_OK):
        subprocess.run(["make", "-C", TOP, os.path.relpath(RENAME_TOOL, TOP)],
                       check=True, stdout=subprocess.DEVNULL)
    need_root_tools()
    ids = bench_ids()
    os.makedirs(BENCH_DIR, exist_ok=True)
    os.chmod(BENCH_DIR, 0o755)
    corp = Corpus(ids[0], ids[1])
    corp.ensure(max(N_BIG, N_MID, N_APPEND + 500 + IDLE_K))
    work = tempfile.mkdtemp(prefix="run-", dir=BENCH_DIR)
    os.chmod(work, 0o755)
    servers = [Imapmoved(work, free_port(), ids, corp),
               Dovecot(work, free_port(), ids, corp)]
    table = build_table()
    notes = []
    cold = drop_caches()
    say("bench: %s mode, %d repetition(s), settle %.1f s, page cache %s, "
        "mail user %s" % ("quick" if QUICK else "full", REPS, SETTLE,
                          "dropped for 'first'" if cold else
                          "NOT dropped (not permitted): 'first' is not cold",
                          ids[2]))
    try:
        for srv in servers:
            srv.start()
        versions = {s.kind: s.version() for s in servers}
        only = [g for g in os.environ.get("BENCH_ONLY", "").split(",") if g]
        for group in GROUPS:
            if only and group.name not in only:
                continue
            for rep in range(REPS):
                run_group(group, servers, table, rep, notes)
        for rep in range(REPS if not only or "move" in only else 0):
            rename_floor(servers, table, rep)
    finally:
        for srv in servers:
            srv.stop()
    derive(table)
    elapsed = time.time() - t_start
    say("")
    say("imapmoved vs Dovecot, %s; medians of %d repetition(s); ratio = "
        "imapmoved / Dovecot (lower is better for times and memory, higher "
        "for rates); targets are issue 9's, on the ratio unless they name "
        "ms" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), REPS))
    print_table(table, sys.stdout)
    if N_BIG != 100000:
        say("note: the 100k rows ran with %d messages (%s)" % (
            N_BIG, "BENCH_QUICK" if QUICK else "BENCH_BIG"))
    for n in notes:
        say("note: " + n)
    shared = getattr(table, "shared_detail", {})
    for kind, d in shared.items():
        say("shared PSS, %s: %s" % (kind, ", ".join(
            "%s %d KB" % kv for kv in sorted(d.items()))))
    say("run took %.0f s" % elapsed)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "quick" if QUICK else "full", "repetitions": REPS,
        "settle_s": SETTLE, "page_cache_dropped": cold,
        "corpus": {"seed": SEED, "version": corpus.VERSION, "mid": N_MID,
                   "big": N_BIG, "small": N_SMALL, "append": N_APPEND},
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "versions": versions, "imapmoved_git": git_rev(),
        "elapsed_s": round(elapsed, 1), "notes": notes,
        "shared_pss_kb": shared,
        "rows": [{"id": r.sid, "label": r.label, "unit": r.unit,
                  "better": r.better, "target": r.target,
                  "imapmoved": {"values": r.values["imapmoved"],
                                "median": r.median("imapmoved"),
                                "na": r.na.get("imapmoved")},
                  "dovecot": {"values": r.values["dovecot"],
                              "median": r.median("dovecot"),
                              "na": r.na.get("dovecot")},
                  "ratio": ratio(r), "target_met": target_met(r)}
                 for r in table.rows],
    }
    with open(RESULTS + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.rename(RESULTS + ".tmp", RESULTS)
    with open(os.path.join(os.path.dirname(RESULTS), "table.md"), "w") as f:
        f.write(markdown_table(table))
    say("results: %s" % os.path.relpath(RESULTS, TOP))
    if os.environ.get("BENCH_KEEP", "") in ("", "0"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        say("work directory kept: " + work)


if __name__ == "__main__":
    main()
