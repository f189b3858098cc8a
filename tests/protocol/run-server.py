#!/usr/bin/python3
"""Black-box tests of server/ behaviour the protocol scripts do not reach:
SIGHUP reload, socket activation the way systemd-socket-activate --accept
does it (one connection as fd 3 for -i), IPv6 listeners, implicit TLS on a
systemd socket named "imaps", and the -t report for TLS files.

The binary is $IMAPMOVED_BIN (default ./imapmoved). Stdlib only. Prints one
line per test and a final "N passed, N failed"; exits non-zero on failure.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

BIN = os.path.abspath(os.environ.get("IMAPMOVED_BIN", "./imapmoved"))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = 20  # seconds any awaited condition may take
TESTS = []


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def test(fn):
    TESTS.append(fn)
    return fn


def wait_for(cond, what):
    end = time.time() + DEADLINE
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)  # polling a condition with a deadline, not a sync sleep
    raise Fail("timed out waiting for " + what)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class World:
    """A temporary directory with a passwd file and a config; the processes
    started through it are killed at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="imapmoved-server-")
        os.chmod(self.dir, 0o755)
        self.procs = []
        uid = "" if os.geteuid() != 0 else "65534"
        # The mail user's home: writable by that user, no Maildir yet.
        home = self.path("home")
        os.mkdir(home, 0o700)
        if uid:
            os.chown(home, int(uid), int(uid))
        with open(self.path("passwd"), "w") as f:
            f.write("ann:{PLAIN}s3cret:%s:%s::%s::\n" % (uid, uid, home))

    def path(self, name):
        return os.path.join(self.dir, name)

    def config(self, lines, name="imapmoved.conf"):
        base = ["passwd_file = " + self.path("passwd"),
                "maildir = %h/Maildir", "auth_failure_delay = 0"]
        with open(self.path(name), "w") as f:
            f.write("\n".join(base + list(lines)) + "\n")
        return self.path(name)

    def spawn(self, argv, **kw):
        log = open(self.path("stderr-%d.log" % len(self.procs)), "wb")
        p = subprocess.Popen(argv, stderr=log, start_new_session=True, **kw)
        p.log_path = log.name
        log.close()
        self.procs.append(p)
        return p

    def log(self, p):
        with open(p.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(DEADLINE)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                raise Fail("connection closed; had %r" % self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def tagged(self, tag):
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return line

    def cmd(self, text):
        tag = text.split(b" ", 1)[0]
        self.sock.sendall(text + b"\r\n")
        return self.tagged(tag)


def connect(port, host="127.0.0.1", family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(DEADLINE)
    s.connect((host, port))
    return Client(s)


def listening(port, host="127.0.0.1", family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_standalone(w, lines, port, host="127.0.0.1", family=socket.AF_INET):
    conf = w.config(lines)
    p = w.spawn([BIN, "-f", "-c", conf], stdin=subprocess.DEVNULL)
    wait_for(lambda: p.poll() is not None or listening(port, host, family),
             "port %d" % port)
    if p.poll() is not None:
        raise Fail("server exited: " + w.log(p))
    return p, conf


def have_tls(w):
    """Make a self-signed certificate; Skip when certtool is missing."""
    if shutil.which("certtool") is None:
        raise Skip("certtool (gnutls-bin) not installed")
    r = subprocess.run(["sh", os.path.join(TOP, "tools", "gencert.sh"), w.dir],
                       capture_output=True)
    if r.returncode != 0:
        raise Fail("gencert.sh: %r" % r.stderr)
    return w.path("cert.pem"), w.path("key.pem")


# ---------------------------------------------------------------------------


@test
def sighup_applies_new_config_to_new_connections():
    with World() as w:
        port = free_port()
        p, conf = start_standalone(w, ["listen = 127.0.0.1:%d" % port], port)
        long_id = b' ID ("name" "' + b"x" * 300 + b'")'
        c = connect(port)
        c.line()
        r = c.cmd(b"a" + long_id)
        if not r.startswith(b"a OK"):
            raise Fail("a 320-byte ID refused before the reload: %r" % r)
        w.config(["listen = 127.0.0.1:%d" % port, "max_line_length = 128"])
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: "reloaded" in w.log(p), "the reload log line")
        c2 = connect(port)
        c2.line()
        r = c2.cmd(b"b" + long_id)
        if not r.startswith(b"b BAD"):
            raise Fail("line over the reloaded limit accepted: %r" % r)


@test
def sighup_with_broken_config_keeps_serving():
    with World() as w:
        port = free_port()
        p, conf = start_standalone(w, ["listen = 127.0.0.1:%d" % port], port)
        with open(conf, "a") as f:
            f.write("no_such_key = 1\n")
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: "keeping the old configuration" in w.log(p),
                 "the refused reload")
        if ":5: unknown key 'no_such_key'" not in w.log(p):
            raise Fail("reload error lacks FILE:LINE: " + w.log(p))
        c = connect(port)
        c.line()
        if not c.cmd(b"a LOGIN ann s3cret").startswith(b"a OK"):
            raise Fail("login after a refused reload failed")


@test
def inetd_mode_takes_one_connection_as_fd3():
    """systemd-socket-activate --accept passes the connection as fd 3 with
    LISTEN_FDS=1 and LISTEN_PID set to the service's pid."""
    with World() as w:
        conf = w.config([])
        ours, theirs = socket.socketpair()
        wrapper = ("import os, sys\n"
                   "os.dup2(int(sys.argv[1]), 3)\n"
                   "os.environ['LISTEN_FDS'] = '1'\n"
                   "os.environ['LISTEN_PID'] = str(os.getpid())\n"
                   "os.execv(sys.argv[2], sys.argv[2:])\n")
        w.spawn([sys.executable, "-c", wrapper, str(theirs.fileno()), BIN,
                 "-i", "-f", "-c", conf], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        theirs.close()
        c = Client(ours)
        if not c.line().startswith(b"* OK"):
            raise Fail("no greeting on fd 3")
        if not c.cmd(b"a LOGIN ann s3cret").startswith(b"a OK"):
            raise Fail("login on fd 3 failed")
        c.cmd(b"b LOGOUT")


def session_socket(server_pid, peer):
    """A duplicate (pidfd_getfd) of the socket a session child of server_pid
    holds for the client whose local address is peer; Skip when the kernel
    or the permissions do not allow it."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    kids = []
    for tid in os.listdir("/proc/%d/task" % server_pid):
        with open("/proc/%d/task/%s/children" % (server_pid, tid)) as f:
            kids += [int(x) for x in f.read().split()]
    for kid in kids:
        try:
            pidfd = os.pidfd_open(kid)
        except (AttributeError, OSError) as e:
            raise Skip("pidfd_open: %s" % e)
        try:
            for fd in os.listdir("/proc/%d/fd" % kid):
                try:
                    if not os.readlink("/proc/%d/fd/%s" % (kid, fd)).startswith(
                            "socket:"):
                        continue
                except OSError:
                    continue
                dup = libc.syscall(438, pidfd, int(fd), 0)  # pidfd_getfd
                if dup < 0:
                    raise Skip("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
                s = socket.socket(fileno=dup)
                try:
                    if s.getpeername() == peer:
                        return s
                except OSError:
                    pass
                s.close()
        finally:
            os.close(pidfd)
    raise Fail("no session process holds the connection")


def children(pid):
    """pid's child processes ([] once it is gone)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return None


@test
def nothing_runs_as_root_on_client_input_before_login():
    """Started as root, a connection is served before login by a process
    that has dropped root for good (real, effective and saved uid), while
    its parent stays root only to check passwords; after the login the
    parent has become the user and the login process is gone."""
    if os.geteuid() != 0:
        raise Skip("not root")
    with World() as w:
        port = free_port()
        p, conf = start_standalone(w, ["listen = 127.0.0.1:%d" % port,
                                       "login_user = 4242"], port)
        c = connect(port)
        c.line()
        # The login process logs the connection; its parent is the
        # connection's root process (other children of the listener may
        # be the start-up probe's).
        want = ": connect: peer=127.0.0.1:%d" % c.sock.getsockname()[1]

        def login_pid():
            for line in w.log(p).splitlines():
                m = re.match(r"imapmoved\[(\d+)\]: info: .*" + re.escape(want) + "$",
                             line)
                if m:
                    return int(m.group(1))
            return None
        login = wait_for(login_pid, "the connect line")
        with open("/proc/%d/stat" % login) as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        if uid_of(parent) != [0, 0, 0, 0]:
            raise Fail("the connection's parent is not root: %s" % uid_of(parent))
        if uid_of(login) != [4242] * 4:
            raise Fail("the login process is not login_user 4242 for good: "
                       "Uid %s" % uid_of(login))
        # The parent never reads the client: only the login process
        # holds a TCP socket it polls; the parent waits on its socketpair.
        if not c.cmd(b"a LOGIN ann s3cret").startswith(b"a OK"):
            raise Fail("login failed")
        wait_for(lambda: login not in children(parent), "the login process to end")
        if 0 in uid_of(parent):
            raise Fail("the session still runs as root after login: %s" % uid_of(parent))
        if not c.cmd(b"b SELECT INBOX").startswith(b"b OK"):
            raise Fail("SELECT after the handover failed")
        c.cmd(b"z LOGOUT")


@test
def session_socket_has_nagle_off():
    """The tail of a large response must not wait for the client's delayed
    ACK (40 ms per command on Linux): the session sets TCP_NODELAY."""
    with World() as w:
        port = free_port()
        p, conf = start_standalone(w, ["listen = 127.0.0.1:%d" % port], port)
        c = connect(port)
        c.line()
        if not c.cmd(b"a LOGIN ann s3cret").startswith(b"a OK"):
            raise Fail("login failed")
        s = session_socket(p.pid, c.sock.getsockname())
        try:
            if not s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                raise Fail("TCP_NODELAY is off on the session socket")
        finally:
            s.close()
        c.cmd(b"b LOGOUT")


@test
def ipv6_loopback_listener_serves():
    if not socket.has_ipv6 or not listening_possible_v6():
        raise Skip("no IPv6 loopback")
    with World() as w:
        port = free_port(socket.AF_INET6, "::1")
        start_standalone(w, ["listen = [::1]:%d" % port], port, "::1",
                         socket.AF_INET6)
        c = connect(port, "::1", socket.AF_INET6)
        c.line()
        # ::1 is loopback: a password may be sent without TLS.
        if not c.cmd(b"a LOGIN ann s3cret").startswith(b"a OK"):
            raise Fail("login over [::1] refused")


def listening_possible_v6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@test
def systemd_socket_named_imaps_speaks_implicit_tls():
    with World() as w:
        cert, key = have_tls(w)
        conf = w.config(["tls_cert = " + cert, "tls_key = " + key])
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        port = lsock.getsockname()[1]
        wrapper = ("import os, sys\n"
                   "os.dup2(int(sys.argv[1]), 3)\n"
                   "os.environ['LISTEN_FDS'] = '1'\n"
                   "os.environ['LISTEN_FDNAMES'] = 'imaps'\n"
                   "os.environ['LISTEN_PID'] = str(os.getpid())\n"
                   "os.execv(sys.argv[2], sys.argv[2:])\n")
        w.spawn([sys.executable, "-c", wrapper, str(lsock.fileno()), BIN,
                 "-f", "-c", conf], pass_fds=(lsock.fileno(),),
                stdin=subprocess.DEVNULL)
        lsock.close()
        ctx = ssl.create_default_context(cafile=cert)
        raw = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        c = Client(ctx.wrap_socket(raw, server_hostname="localhost"))
        if not c.line().startswith(b"* OK"):
            raise Fail("no greeting over TLS")
        if not c.cmd(b"a LOGIN ann s3cret").startswith(b"a OK"):
            raise Fail("login over implicit TLS failed")


@test
def config_check_reports_missing_certificate_with_line():
    with World() as w:
        conf = w.config(["tls_cert = " + w.path("nope.pem"),
                         "tls_key = " + w.path("nope.key")])
        r = subprocess.run([BIN, "-t", "-c", conf], capture_output=True)
        err = r.stderr.decode()
        if r.returncode != 1 or not err.startswith(conf + ":4: tls_cert: "):
            raise Fail("rc %d, stderr %r" % (r.returncode, err))


@test
def config_check_accepts_tls_files():
    with World() as w:
        cert, key = have_tls(w)
        conf = w.config(["tls_cert = " + cert, "tls_key = " + key,
                         "listen_tls = 127.0.0.1:993"])
        r = subprocess.run([BIN, "-t", "-c", conf], capture_output=True)
        if r.returncode != 0:
            raise Fail("rc %d, stderr %r" % (r.returncode, r.stderr))


@test
def config_check_refuses_a_uid_0_passwd_line():
    with World() as w:
        conf = w.config([])
        with open(w.path("passwd"), "a") as f:
            f.write("toor:{PLAIN}x:0:0::/root::\n")
        r = subprocess.run([BIN, "-t", "-c", conf], capture_output=True)
        err = r.stderr.decode()
        want = w.path("passwd") + ":2: uid 0 is not allowed"
        if r.returncode != 1 or want not in err:
            raise Fail("rc %d, stderr %r" % (r.returncode, err))


@test
def uid_0_account_gets_a_plain_login_failure():
    with World() as w:
        with open(w.path("passwd"), "a") as f:
            f.write("toor:{PLAIN}x:0:0::/root::\n")
        port = free_port()
        p, _ = start_standalone(w, ["listen = 127.0.0.1:%d" % port], port)
        c = connect(port)
        c.line()
        r = c.cmd(b"a LOGIN toor x")
        if not r.startswith(b"a NO [AUTHENTICATIONFAILED]"):
            raise Fail("uid 0 login answered %r" % r)
        wait_for(lambda: "uid 0 is not allowed" in w.log(p), "the log line")
        if not c.cmd(b"b LOGIN ann s3cret").startswith(b"b OK"):
            raise Fail("the session did not survive the refusal")


def inetd_with_broken_config(w, extra_args, stderr):
    """Run -i with a config holding an unknown key on line 4, the way
    classic inetd does (stdin and stdout the connection); return the exit
    status and every byte the client received."""
    conf = w.config(["no_such_key = 1"])
    ours, theirs = socket.socketpair()
    err = theirs if stderr is None else stderr
    p = subprocess.Popen([BIN, "-i"] + extra_args + ["-c", conf],
                         stdin=theirs, stdout=theirs, stderr=err,
                         start_new_session=True)
    theirs.close()
    ours.settimeout(DEADLINE)
    got = b""
    while True:
        d = ours.recv(4096)
        if not d:
            break
        got += d
    ours.close()
    return p.wait(timeout=DEADLINE), got, conf


@test
def inetd_config_error_gives_the_client_only_a_bye():
    """Classic inetd makes stderr the connection too: the config error
    goes to syslog and the client reads a BYE, not the error text."""
    with World() as w:
        rc, got, _ = inetd_with_broken_config(w, [], None)
        if rc != 1 or got != b"* BYE Server configuration error\r\n":
            raise Fail("rc %d, client got %r" % (rc, got))


@test
def inetd_config_error_with_f_stays_on_stderr():
    with World() as w:
        with open(w.path("stderr.log"), "wb") as log:
            rc, got, conf = inetd_with_broken_config(w, ["-f"], log)
        with open(w.path("stderr.log"), "rb") as f:
            err = f.read().decode("utf-8", "replace")
        if rc != 1 or got != b"* BYE Server configuration error\r\n":
            raise Fail("rc %d, client got %r" % (rc, got))
        if conf + ":4: unknown key 'no_such_key'" not in err:
            raise Fail("stderr lacks FILE:LINE: %r" % err)


def main():
    passed = failed = skipped = 0
    for fn in TESTS:
        try:
            fn()
            print("ok   " + fn.__name__)
            passed += 1
        except Skip as e:
            print("skip %s (%s)" % (fn.__name__, e))
            skipped += 1
        except Exception:
            print("FAIL " + fn.__name__)
            traceback.print_exc(file=sys.stdout)
            failed += 1
    print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
