"""Black-box test harness for imapmoved: temporary environments, server
start-up in every mode, an IMAP client that reads literals, and the
interpreter for the cases/NNN-name.imap scripts.

Python 3 standard library only. The binary under test is $IMAPMOVED_BIN
(default: ./imapmoved at the top of the tree). Nothing here sleeps to
synchronise: every wait polls a condition with a deadline.
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("IMAPMOVED_BIN", os.path.join(TOP, "imapmoved"))

# Generous per-response deadline: the suite also runs under ASan on a
# shared machine. A healthy server answers in milliseconds.
TIMEOUT = float(os.environ.get("IMAPTEST_TIMEOUT", "10"))

# Accounts in every test passwd file: name -> (password field, password).
PASSWORD_SHA512 = (
    "{SHA512-CRYPT}$6$saltsalt$pqxtaP8VN9msji06dnBCbUbaSGTOXyo9jZDqZxik1rPexo"
    "qRIW4UKuiD0ZHZchCSd7S4/HoRU8bcFbnz2ihUr."
)
PASSWORD_BARE = (
    "$6$barebare$IHyn9cCd4VTg2CffZGhYYpPnyoyBY/nbQzH.6B8EIOM4ANxFRnEFXtWF8GZ7"
    "OtMc5li9rBEuWHdf3g8L3.S9Z."
)
USERS = {
    "demo": ("{PLAIN}secret", "secret"),
    "alice": (PASSWORD_SHA512, "wonderland"),  # openssl passwd -6
    "bare": (PASSWORD_BARE, "bare-pass"),  # crypt string, no scheme
    "quote": ('{PLAIN}p"w\\x', 'p"w\\x'),  # needs escapes when quoted
}

SANITIZER_MARKERS = (
    b"ERROR: AddressSanitizer",
    b"ERROR: LeakSanitizer",
    b"LeakSanitizer has encountered",
    b"runtime error:",
    b"ERROR: UndefinedBehaviorSanitizer",
)


class TestFailure(Exception):
    """A check failed; the message says what was expected and what came."""


def fail(msg):
    raise TestFailure(msg)


def show(data):
    """Printable form of bytes for failure messages."""
    if isinstance(data, str):
        return data
    return repr(data)[2:-1] if len(data) < 400 else repr(data[:400])[2:-1] + "..."


def mail_ids():
    """uid, gid the sessions serve mail as: nobody when the tests run as
    root (the server drops privileges), else the current user."""
    if os.geteuid() == 0:
        return 65534, 65534
    return os.getuid(), os.getgid()


def binary_has_asan():
    try:
        with open(BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def free_port(host="127.0.0.1", family=socket.AF_INET):
    """A TCP port that was free a moment ago on host."""
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listening_ports():
    """Set of (hex ip, port) pairs in LISTEN state from /proc/net/tcp."""
    found = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A":
                        ip, port = parts[1].split(":")
                        found.add((ip, int(port, 16)))
        except OSError:
            pass
    return found


def _proc_net_ip(host):
    """host as /proc/net/tcp writes it (IPv4 only), or None."""
    try:
        packed = socket.inet_aton(host)
    except (OSError, TypeError):
        return None
    return "%08X" % int.from_bytes(packed, "little")


def is_listening(port, host="127.0.0.1"):
    """True when something listens on host:port (any address for an IPv6
    host; a wildcard listener counts too)."""
    want = _proc_net_ip(host)
    for ip, p in _listening_ports():
        if p == port and (want is None or ip in (want, "00000000")):
            return True
    return False


def wait_for(cond, what, deadline=None, proc=None):
    """Poll cond() until true or the deadline passes; fail if proc died."""
    end = time.monotonic() + (deadline if deadline is not None else TIMEOUT)
    delay = 0.005
    while True:
        if cond():
            return
        if proc is not None and proc.poll() is not None and not cond():
            fail("%s: server exited with %s; stderr: %s"
                 % (what, proc.returncode, show(proc.stderr_text()[-2000:])))
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def local_nonloopback_ipv4():
    """An IPv4 address of this machine outside 127/8, or None."""
    try:
        with open("/proc/net/fib_trie") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines):
        if "/32 host LOCAL" in line and i > 0:
            ip = lines[i - 1].split()[-1]
            if not ip.startswith("127."):
                try:
                    s = socket.socket()
                    s.bind((ip, 0))
                    s.close()
                    return ip
                except OSError:
                    continue
    return None


# ---------------------------------------------------------------------------
# Processes


class Proc:
    """A server process in its own process group, stderr kept in a file."""

    def __init__(self, argv, stderr_path, **kw):
        self.stderr_path = stderr_path
        self.argv = argv
        with open(stderr_path, "ab") as err:
            self.p = subprocess.Popen(argv, stderr=err, start_new_session=True,
                                      **kw)
        self.pid = self.p.pid

    @property
    def returncode(self):
        return self.p.returncode

    def poll(self):
        return self.p.poll()

    def wait(self, timeout=None):
        try:
            return self.p.wait(timeout if timeout is not None else TIMEOUT)
        except subprocess.TimeoutExpired:
            fail("server pid %d did not exit within %ss" % (self.pid, timeout or TIMEOUT))

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def children(self):
        """Pids of the direct children (forked sessions)."""
        kids = []
        try:
            for tid in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/children" % (self.pid, tid)) as f:
                    kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return kids

    def kill(self):
        """End the process and the sessions it forked. Only while it is
        not yet reaped can its pid (and group id) not have been reused,
        so the group is signalled then; sessions orphaned later are
        reparented to us (see become_subreaper) and ended by Env.close."""
        if self.p.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass


def become_subreaper():
    """Make this process the reaper of its orphaned descendants
    (PR_SET_CHILD_SUBREAPER), so a session that outlives its listener is
    still ours to find and end by pid."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def my_children():
    kids = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/children" % tid) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


become_subreaper()


def proc_ids(pid):
    """(uids, gids, groups) of a live process from /proc/PID/status."""
    uids = gids = groups = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key == "Uid":
                uids = [int(x) for x in val.split()]
            elif key == "Gid":
                gids = [int(x) for x in val.split()]
            elif key == "Groups":
                groups = [int(x) for x in val.split()]
    return uids, gids, groups


def hwm_kib(pid):
    """VmHWM (peak resident set) of pid in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    fail("no VmHWM for pid %d" % pid)


def rss_kib(pid):
    """VmRSS of pid and its direct children, in KiB (0 if gone)."""
    total = 0
    pids = [pid]
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


# ---------------------------------------------------------------------------
# Environment: config, passwd file and Maildirs in a temporary directory


def scratch_dir():
    """Where test directories go: $IMAPTEST_TMPDIR, else /dev/shm when it
    is usable (creating and removing the Maildirs there is ~30x faster
    than on a loaded disk), else the system default."""
    d = os.environ.get("IMAPTEST_TMPDIR")
    if d:
        return d
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        return "/dev/shm"
    return None


class Env:
    """One test's world. Use as a context manager: on exit every process
    started through it is killed (with its forked sessions) and the
    directory removed."""

    def __init__(self, config=(), users=USERS):
        self.dir = tempfile.mkdtemp(prefix="imapmoved-test-", dir=scratch_dir())
        # The session reaches the Maildir after dropping to the mail uid.
        os.chmod(self.dir, 0o755)
        self.procs = []
        self.clients = []
        self.config = list(config)
        self.uid, self.gid = mail_ids()
        self.passwd = os.path.join(self.dir, "passwd")
        self.write_passwd(users)
        for user in users:
            self.make_maildir(user)
        self.nconf = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        for c in self.clients:
            c.close()
        for p in self.procs:
            p.kill()
        # Sessions orphaned by a listener that already exited are now our
        # children: end and reap them by pid.
        for pid in my_children():
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def home(self, user):
        return self.path("home", user)

    def write_passwd(self, users):
        with open(self.passwd, "w") as f:
            for user, (pw, _) in users.items():
                f.write("%s:%s:%d:%d::%s::\n" % (user, pw, self.uid, self.gid,
                                                 self.home(user)))

    def make_maildir(self, user):
        root = os.path.join(self.home(user), "Maildir")
        for box in ("", ".Archive", ".Sent"):
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(root, box, sub), exist_ok=True)
            if box:
                open(os.path.join(root, box, "maildirfolder"), "w").close()
        msg = ("From: Bob <bob@example.org>\r\nTo: %s@example.org\r\n"
               "Subject: hello\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
               "Message-ID: <1@example.org>\r\n\r\nHi there.\r\n" % user)
        with open(os.path.join(root, "cur", "1700000000.M1P1.test:2,S"), "w") as f:
            f.write(msg)
        for dirpath, dirnames, filenames in os.walk(self.home(user)):
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), self.uid, self.gid)
        os.chown(self.home(user), self.uid, self.gid)

    def base_config(self):
        return [
            "# written by tests/protocol/imaptest.py",
            "passwd_file = " + self.passwd,
            "maildir = %h/Maildir",
            "auth_failure_delay = 0",
        ]

    def write_config(self, extra=(), lines=None):
        """Write a config file; returns its path. lines replaces the whole
        body when given (for -t tests)."""
        self.nconf += 1
        path = self.path("imapmoved-%d.conf" % self.nconf)
        body = lines if lines is not None else (self.base_config() + self.config
                                                + list(extra))
        with open(path, "w") as f:
            f.write("\n".join(body) + "\n")
        return path

    def spawn(self, argv, **kw):
        n = len(self.procs)
        p = Proc(argv, self.path("stderr-%d.log" % n), **kw)
        self.procs.append(p)
        return p

    def run(self, args, timeout=None):
        """Run the binary to completion (for -t, --help, --version)."""
        try:
            return subprocess.run([BIN] + list(args), capture_output=True,
                                  timeout=timeout or TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            fail("%s did not exit" % " ".join(args))

    # -- start modes ------------------------------------------------------

    def start_inetd(self, extra=(), pipes=False):
        """imapmoved -i over a socketpair (or two pipes). Returns (proc,
        client) with the greeting not yet read."""
        conf = self.write_config(extra)
        if pipes:
            c_in_r, c_in_w = os.pipe()  # client -> server
            c_out_r, c_out_w = os.pipe()  # server -> client
            proc = self.spawn([BIN, "-i", "-c", conf], stdin=c_in_r, stdout=c_out_w)
            os.close(c_in_r)
            os.close(c_out_w)
            client = Client(c_out_r, c_in_w, name="pipe")
        else:
            ours, theirs = socket.socketpair()
            proc = self.spawn([BIN, "-i", "-c", conf], stdin=theirs.fileno(),
                              stdout=theirs.fileno())
            theirs.close()
            client = Client.from_socket(ours, name="socketpair")
        self.clients.append(client)
        return proc, client

    def start_inetd_tcp(self, extra=(), host="127.0.0.1"):
        """imapmoved -i with a TCP connection on host as stdin/stdout, as
        inetd or systemd Accept=yes would pass it. Returns (proc, client)."""
        conf = self.write_config(extra)
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            lsock.bind((host, 0))
            lsock.listen(1)
            ours = socket.create_connection(lsock.getsockname(), timeout=TIMEOUT)
            theirs, _ = lsock.accept()
        finally:
            lsock.close()
        proc = self.spawn([BIN, "-i", "-c", conf], stdin=theirs.fileno(),
                          stdout=theirs.fileno())
        theirs.close()
        client = Client.from_socket(ours, name="inetd-tcp")
        self.clients.append(client)
        return proc, client

    def start_standalone(self, extra=(), host="127.0.0.1"):
        """imapmoved -f on a free port of host; returns (proc, port) once
        the port is listening."""
        port = free_port(host)
        conf = self.write_config(list(extra) + ["listen = %s:%d" % (host, port)])
        proc = self.spawn([BIN, "-f", "-c", conf], stdin=subprocess.DEVNULL)
        wait_for(lambda: is_listening(port, host), "%s:%d to listen" % (host, port),
                 proc=proc)
        return proc, port

    def start_socket_activated(self, extra=(), listen_pid_ok=True, count=1):
        """imapmoved -f with count listening sockets inherited from fd 3 on
        and LISTEN_FDS=count, LISTEN_PID=<its pid> (or a wrong pid). The
        config's own listen line names another free port. Returns (proc,
        [inherited ports], config port)."""
        socks = []
        for _ in range(count):
            lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(16)
            socks.append(lsock)
        ports = [s.getsockname()[1] for s in socks]
        other = free_port()
        conf = self.write_config(list(extra) + ["listen = 127.0.0.1:%d" % other])
        fds = [s.fileno() for s in socks]
        wrapper = [sys.executable, "-c", _ACTIVATE, ",".join(map(str, fds)),
                   "1" if listen_pid_ok else "0", BIN, "-f", "-c", conf]
        proc = self.spawn(wrapper, pass_fds=fds, stdin=subprocess.DEVNULL)
        for s in socks:
            s.close()
        return proc, ports, other

    def connect(self, port, host="127.0.0.1", name=None, source=None):
        s = socket.create_connection((host, port), timeout=TIMEOUT,
                                     source_address=(source, 0) if source else None)
        c = Client.from_socket(s, name=name or "tcp:%d" % port)
        self.clients.append(c)
        return c

    def check_exit(self, proc):
        """Fail if proc died of a signal or a sanitizer spoke."""
        rep = self.sanitizer_report()
        if rep:
            fail("sanitizer: " + rep)
        if proc.returncode is not None and proc.returncode < 0:
            fail("server killed by signal %d; stderr: %s"
                 % (-proc.returncode, show(proc.stderr_text()[-1500:])))

    def sanitizer_report(self):
        """Sanitizer error text from any process's stderr, or None."""
        for p in self.procs:
            err = p.stderr_text()
            for m in SANITIZER_MARKERS:
                i = err.find(m)
                if i >= 0:
                    return "%s: %s" % (os.path.basename(p.stderr_path),
                                       err[max(0, i - 200):i + 1500].decode("utf-8", "replace"))
        return None


# The LISTEN_FDS wrapper: put the socket on fd 3, set the variables, and
# exec the server so that LISTEN_PID is the server's own pid.
_ACTIVATE = r"""
import os, sys
fds = [int(x) for x in sys.argv[1].split(",")]
# Move the sockets out of the way first, then onto 3, 4, ...
tmp = [os.dup(fd) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(tmp):
    os.dup2(fd, 3 + i)
    os.close(fd)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid()) if sys.argv[2] == "1" else "1"
os.execv(sys.argv[3], sys.argv[3:])
"""


# ---------------------------------------------------------------------------
# Client


class Client:
    """An IMAP client on a pair of non-blocking fds. Responses are read as
    logical lines: a line ending in {n} is joined with its n bytes of
    literal and the rest of the response, CRLFs kept inside, the final
    CRLF stripped."""

    def __init__(self, rfd, wfd, name="client", keep=None):
        self.rfd, self.wfd = rfd, wfd
        self.keep = keep  # socket object owning the fd, if any
        self.name = name
        self.buf = b""
        self.pending = []  # lines pushed back by peek
        self.eof = False
        self.closed = False
        self.transcript = []
        self.bytes_sent = 0
        self.bytes_received = 0
        os.set_blocking(rfd, False)
        if wfd != rfd:
            os.set_blocking(wfd, False)

    @classmethod
    def from_socket(cls, sock, name="socket"):
        return cls(sock.fileno(), sock.fileno(), name=name, keep=sock)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.keep is not None:
            self.keep.close()
        else:
            for fd in {self.rfd, self.wfd}:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def shutdown_write(self):
        """Half-close: the server reads EOF, we can still read."""
        if self.keep is not None:
            try:
                self.keep.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server has already closed its end
        else:
            os.close(self.wfd)
            self.wfd = -1

    def log(self, who, data):
        self.transcript.append((who, data))
        if len(self.transcript) > 60:
            del self.transcript[:20]

    def transcript_text(self, last=25):
        out = []
        for who, data in self.transcript[-last:]:
            out.append("    %s %s" % (who, show(data)))
        return "\n".join(out)

    # -- writing ------------------------------------------------------------

    def send(self, data, timeout=None):
        if isinstance(data, str):
            data = data.encode()
        self.log("C:", data)
        end = time.monotonic() + (timeout or TIMEOUT)
        view = memoryview(data)
        while view:
            left = end - time.monotonic()
            if left <= 0:
                fail("%s: send blocked (server not reading)" % self.name)
            _, w, _ = select.select([], [self.wfd], [], left)
            if not w:
                continue
            try:
                n = os.write(self.wfd, view[:65536])
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                fail("%s: connection closed by server while sending %s"
                     % (self.name, show(bytes(view[:80]))))
            view = view[n:]
            self.bytes_sent += n

    def sendline(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")

    # -- reading ------------------------------------------------------------

    def _fill(self, end):
        """Read more bytes into buf; False at EOF."""
        if self.eof:
            return False
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            r, _, _ = select.select([self.rfd], [], [], left)
            if not r:
                continue
            try:
                data = os.read(self.rfd, 65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
                return False
            self.buf += data
            self.bytes_received += len(data)
            return True

    _LITERAL = re.compile(rb"\{(\d+)\}$")

    def _read_logical(self, end):
        out = b""
        while True:
            i = self.buf.find(b"\r\n")
            while i < 0:
                if not self._fill(end):
                    if out or self.buf:
                        fail("%s: connection closed in mid-line: %s"
                             % (self.name, show(out + self.buf)))
                    raise EOFError()
                i = self.buf.find(b"\r\n")
            line, self.buf = self.buf[:i], self.buf[i + 2:]
            out += line
            m = self._LITERAL.search(line)
            if not m or out.startswith(b"+ ") or out == b"+":
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                if not self._fill(end):
                    fail("%s: connection closed inside a %d-byte literal"
                         % (self.name, n))
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def readline(self, timeout=None):
        """Next logical response line (bytes). Raises EOFError at EOF and
        fails on timeout."""
        if self.pending:
            return self.pending.pop(0)
        end = time.monotonic() + (timeout or TIMEOUT)
        try:
            line = self._read_logical(end)
        except TimeoutError:
            fail("%s: no response within %ss\n%s"
                 % (self.name, timeout or TIMEOUT, self.transcript_text()))
        self.log("S:", line)
        return line

    def unread(self, line):
        self.pending.insert(0, line)

    def expect_line(self, timeout=None):
        try:
            return self.readline(timeout)
        except EOFError:
            fail("%s: connection closed, a response was expected\n%s"
                 % (self.name, self.transcript_text()))

    def greeting(self):
        line = self.expect_line()
        if not line.startswith(b"* OK"):
            fail("bad greeting: %s" % show(line))
        return line

    def response(self, tag, timeout=None):
        """Read up to and including the tagged response for tag. Returns
        (untagged lines, tagged line)."""
        if isinstance(tag, str):
            tag = tag.encode()
        untagged = []
        while True:
            line = self.expect_line(timeout)
            if line.startswith(tag + b" "):
                return untagged, line
            untagged.append(line)

    def command(self, tag, text, expect=None):
        """Send 'tag text' and read its responses. With expect (e.g. "OK"),
        fail unless the tagged status is that."""
        self.sendline(("%s %s" % (tag, text)).encode())
        untagged, tagged = self.response(tag)
        if expect is not None:
            status = tagged.split(b" ", 2)[1] if b" " in tagged else b""
            if status.decode(errors="replace").upper() != expect:
                fail("%s %s: expected %s, got %s\n%s"
                     % (tag, text, expect, show(tagged), self.transcript_text()))
        return untagged, tagged

    def expect_eof(self, timeout=None):
        """All remaining lines until the server closes; fails if it keeps
        the connection open past the deadline."""
        lines = list(self.pending)
        self.pending = []
        end = time.monotonic() + (timeout or TIMEOUT)
        while True:
            try:
                line = self._read_logical(end)
            except EOFError:
                return lines
            except TimeoutError:
                fail("%s: connection still open, expected the server to close it\n%s"
                     % (self.name, self.transcript_text()))
            self.log("S:", line)
            lines.append(line)

    def login(self, user="demo", password="secret", tag="L1"):
        return self.command(tag, "LOGIN %s %s" % (quote(user), quote(password)),
                            expect="OK")

    def logout(self, tag="Z9"):
        untagged, tagged = self.command(tag, "LOGOUT", expect="OK")
        if not any(u.startswith(b"* BYE") for u in untagged):
            fail("LOGOUT without * BYE: %s" % show(untagged))
        rest = self.expect_eof()
        if rest:
            fail("data after LOGOUT: %s" % show(rest))


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def capabilities(line):
    """Capability names (upper case) from a * CAPABILITY line or from a
    [CAPABILITY ...] response code."""
    text = line.decode("utf-8", "replace")
    m = re.search(r"\[CAPABILITY ([^\]]*)\]", text)
    if m:
        return set(m.group(1).upper().split())
    m = re.match(r"\* CAPABILITY (.*)$", text)
    if m:
        return set(m.group(1).upper().split())
    fail("no capability list in %s" % show(line))


# ---------------------------------------------------------------------------
# Scripts: cases/NNN-name.imap
#
#   # comment                 ignored
#   # config: key = value     appended to the session's config
#   # mode: pipe              -i over two pipes instead of a socketpair
#   C: text                   send text + CRLF ($vars substituted, \xHH = a byte)
#   C-: text                  send text without CRLF
#   S: pattern                the next response must match: '*' matches
#                             anything, except a leading "* " which is the
#                             untagged marker; \* is a literal '*'; $name
#                             binds a token the first time, then must equal it
#   S?: pattern               as S:, but optional: a line that does not
#                             match is left for the next step; at the end
#                             of the session it may also be absent
#   S~: regex                 the next response must fully match the regex
#   S*: pattern               skip responses up to one matching pattern
#                             (for untagged data the case does not check)
#   SHUT                      half-close: the server reads end of input
#   EOF                       the server closes the connection, nothing more


class Script:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.config = []
        self.mode = "socketpair"
        self.steps = []
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.rstrip("\r\n")
                self._parse(line, lineno)

    def _parse(self, line, lineno):
        if not line.strip():
            return
        if line.startswith("#"):
            m = re.match(r"#\s*config:\s*(.*)$", line)
            if m:
                self.config.append(m.group(1))
            m = re.match(r"#\s*mode:\s*(\S+)$", line)
            if m:
                self.mode = m.group(1)
            return
        m = re.match(r"(C|C-|S|S\?|S~|S\*): ?(.*)$", line)
        if m:
            self.steps.append((m.group(1), m.group(2), lineno))
        elif line.strip() in ("EOF", "SHUT"):
            self.steps.append((line.strip(), "", lineno))
        else:
            raise ValueError("%s:%d: cannot parse %r" % (self.path, lineno, line))


_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def glob_to_regex(pattern, bound):
    """Compile an S: pattern; new variables become named groups."""
    out = []
    seen = set()
    i = 0
    if pattern.startswith("* ") or pattern == "*":
        out.append(re.escape("*"))
        i = 1
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*$":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(".*")
            i += 1
            continue
        m = _VAR.match(pattern, i)
        if m:
            name = m.group(1)
            if name in bound:
                out.append(re.escape(bound[name]))
            elif name in seen:
                out.append("(?P=%s)" % name)
            else:
                seen.add(name)
                out.append(r"(?P<%s>[^\s()\[\]]+)" % name)
            i = m.end()
            continue
        out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.S)


def client_bytes(text, bound, where):
    def var(m):
        if m.group(1) not in bound:
            raise TestFailure("%s: variable $%s used before it was bound"
                              % (where, m.group(1)))
        return bound[m.group(1)]

    text = _VAR.sub(var, text)
    out = bytearray()
    parts = re.split(r"(\\x[0-9A-Fa-f]{2})", text)
    for p in parts:
        if re.fullmatch(r"\\x[0-9A-Fa-f]{2}", p):
            out.append(int(p[2:], 16))
        else:
            out += p.encode("utf-8")
    return bytes(out)


def run_script(script):
    """Run one script case in -i mode; raises TestFailure."""
    with Env(config=script.config) as env:
        proc, c = env.start_inetd(pipes=(script.mode == "pipe"))
        bound = {}
        steps = script.steps
        for idx, (kind, arg, lineno) in enumerate(steps):
            where = "%s:%d" % (os.path.basename(script.path), lineno)
            if kind in ("C", "C-"):
                data = client_bytes(arg, bound, where)
                c.send(data + (b"\r\n" if kind == "C" else b""))
            elif kind == "S*":
                rx = glob_to_regex(arg, bound)
                while True:
                    try:
                        line = c.readline()
                    except EOFError:
                        fail("%s: expected %r, the server closed the connection\n%s"
                             % (where, arg, c.transcript_text()))
                    m = rx.fullmatch(line.decode("utf-8", "surrogateescape"))
                    if m:
                        break
                for k, v in m.groupdict().items():
                    bound.setdefault(k, v)
            elif kind in ("S", "S?", "S~"):
                try:
                    line = c.readline()
                except EOFError:
                    if kind == "S?":
                        continue
                    fail("%s: expected %r, the server closed the connection\n%s"
                         % (where, arg, c.transcript_text()))
                text = line.decode("utf-8", "surrogateescape")
                rx = re.compile(arg, re.S) if kind == "S~" else glob_to_regex(arg, bound)
                m = rx.fullmatch(text)
                if not m:
                    if kind == "S?":
                        c.unread(line)
                        continue
                    fail("%s: expected %r\n    got      %r\n%s"
                         % (where, arg, text, c.transcript_text()))
                for k, v in m.groupdict().items():
                    bound.setdefault(k, v)
            elif kind == "SHUT":
                c.shutdown_write()
            elif kind == "EOF":
                rest = c.expect_eof()
                if rest:
                    fail("%s: expected the connection to close, got %s\n%s"
                         % (where, show(rest[0]), c.transcript_text()))
        c.close()
        proc.wait()
        env.check_exit(proc)
