#!/usr/bin/python3
"""Deployment tests: the shipped systemd units, inetd and xinetd examples
and `make install`, run the way an administrator's system runs them.

- systemd: systemd-socket-activate starts the command line of each shipped
  unit, with --accept (imapmoved@.service, imapmoved-tls@.service: one
  `imapmoved -i` per connection) and without (imapmoved.service fed the
  sockets of imapmoved-listener*.socket, named with their
  FileDescriptorName=); systemd-analyze verify checks every unit. The
  processes run confined the way each unit's CapabilityBoundingSet=,
  NoNewPrivileges= and UMask= confine them (prctl), and strace shows the
  server staying inside the units' SystemCallFilter=,
  RestrictAddressFamilies= and MemoryDenyWriteExecute=.
- inetd: a small inetd in this file accepts on a loopback port and starts
  the command of each inetd.conf / xinetd line with the connection as
  standard input, output and error, as inetd does.
- Signals: SIGTERM gives open sessions `* BYE` and the listener exits 0;
  SIGHUP makes new connections use the changed configuration.

Each exchange is a real IMAP session (greeting, LOGIN, LOGOUT), over TLS
with Python's ssl and the certificate of tools/gencert.sh where the socket
speaks implicit TLS. The binary is $IMAPMOVED_BIN. Prints one line per test
and a final "N passed, N failed"; exits non-zero on failure.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaptest  # noqa: E402
from imaptest import BIN, TIMEOUT, TOP, Env, fail, wait_for  # noqa: E402

UNITS = os.path.join(TOP, "server", "systemd")
INETD = os.path.join(TOP, "server", "inetd")
ACTIVATE = shutil.which("systemd-socket-activate")
ANALYZE = shutil.which("systemd-analyze")
TESTS = []


class Skip(Exception):
    """The test does not apply to this binary; counted apart."""


def test(fn):
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------------------
# The shipped files


def read_unit(name):
    """{section: [(key, value), ...]} of a unit file under server/systemd."""
    sections = {}
    current = None
    with open(os.path.join(UNITS, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], [])
                continue
            key, _, value = line.partition("=")
            current.append((key, value))
    return sections


def unit_values(name, section, key):
    return [v for k, v in read_unit(name).get(section, []) if k == key]


def installed_argv(words, conf):
    """A unit's or inetd line's command with the installed paths replaced
    by the binary under test and the test's configuration."""
    out = []
    for w in words:
        if w == "@SBINDIR@/imapmoved":
            w = BIN
        elif w == "@SYSCONFDIR@/imapmoved.conf":
            w = conf
        elif "@" in w:
            fail("unexpected placeholder in %r" % words)
        out.append(w)
    return out


def unit_exec(name, conf, key="ExecStart"):
    values = unit_values(name + ".in", "Service", key)
    if len(values) != 1:
        fail("%s: expected one %s, got %r" % (name, key, values))
    return installed_argv(shlex.split(values[0]), conf)


def need(path, what):
    if path is None:
        fail("%s not installed (tools/deps.sh installs it)" % what)


# ---------------------------------------------------------------------------
# Clients


def tls_context(env):
    return ssl.create_default_context(cafile=env.cert)


def make_cert(env):
    """tools/gencert.sh into the test directory; sets env.cert/env.key."""
    r = subprocess.run(["sh", os.path.join(TOP, "tools", "gencert.sh"), env.dir],
                       capture_output=True)
    if r.returncode != 0:
        fail("gencert.sh: %s" % r.stderr.decode(errors="replace"))
    env.cert, env.key = env.path("cert.pem"), env.path("key.pem")
    return ["tls_cert = " + env.cert, "tls_key = " + env.key]


class TlsClient:
    """The few Client calls these tests use, over a blocking TLS socket."""

    def __init__(self, sock, name):
        self.sock = sock
        self.name = name
        self.buf = b""

    def readline(self):
        while b"\r\n" not in self.buf:
            try:
                data = self.sock.recv(4096)
            except (ssl.SSLError, OSError):
                data = b""
            if not data:
                raise EOFError()
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def expect_line(self):
        try:
            return self.readline()
        except EOFError:
            fail("%s: connection closed, a response was expected" % self.name)

    def greeting(self):
        line = self.expect_line()
        if not line.startswith(b"* OK"):
            fail("%s: bad greeting %r" % (self.name, line))
        return line

    def command(self, tag, text, expect=None):
        self.sock.sendall(("%s %s\r\n" % (tag, text)).encode())
        untagged = []
        while True:
            line = self.expect_line()
            if line.startswith(tag.encode() + b" "):
                break
            untagged.append(line)
        if expect is not None and line.split(b" ")[1] != expect.encode():
            fail("%s: %s %s: got %r" % (self.name, tag, text, line))
        return untagged, line

    def login(self, user="demo", password="secret"):
        return self.command("L1", "LOGIN %s %s" % (user, password), expect="OK")

    def logout(self):
        untagged, _ = self.command("Z9", "LOGOUT", expect="OK")
        if not any(u.startswith(b"* BYE") for u in untagged):
            fail("%s: LOGOUT without * BYE" % self.name)
        try:
            rest = self.readline()
            fail("%s: data after LOGOUT: %r" % (self.name, rest))
        except EOFError:
            pass

    def close(self):
        self.sock.close()


def connect_tls(env, port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        s = tls_context(env).wrap_socket(raw, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        raw.close()
        fail("TLS handshake on port %d: %s" % (port, e))
    c = TlsClient(s, "tls:%d" % port)
    env.clients.append(c)
    return c


def session(client):
    """The exchange every start mode must carry: greeting, LOGIN, LOGOUT."""
    client.greeting()
    client.login()
    client.logout()


# Commands that reach the Maildir once they are implemented; until then
# they are refused. Traced sessions send them, whatever the answers, so the
# sandbox check covers the store's system calls as commands land.
MAIL_COMMANDS = ["LIST \"\" \"*\"", "SELECT INBOX",
                 "UID FETCH 1:* (FLAGS BODY[])", "UID STORE 1:* +FLAGS (\\Seen)",
                 "UID COPY 1:* Sent", "UID MOVE 1:* Archive", "EXPUNGE", "CLOSE"]


def mail_session(client):
    client.greeting()
    client.login()
    for i, cmd in enumerate(MAIL_COMMANDS):
        client.command("m%d" % i, cmd)
    client.logout()


def wait_listening(port, proc):
    wait_for(lambda: imaptest.is_listening(port), "port %d to listen" % port,
             proc=proc)


def wait_log(proc, text):
    wait_for(lambda: text.encode() in proc.stderr_text(),
             "%r in the server log" % text, proc=proc)


# ---------------------------------------------------------------------------
# systemd units


def substituted_units(dirpath, sbindir):
    """The units as make install writes them, with @SBINDIR@ = sbindir."""
    os.makedirs(dirpath, exist_ok=True)
    names = []
    for name in sorted(os.listdir(UNITS)):
        if not (name.endswith(".socket") or name.endswith(".service.in")):
            continue
        with open(os.path.join(UNITS, name)) as f:
            text = f.read()
        text = text.replace("@SBINDIR@", sbindir)
        text = text.replace("@SYSCONFDIR@", "/etc")
        out = name[:-3] if name.endswith(".in") else name
        with open(os.path.join(dirpath, out), "w") as f:
            f.write(text)
        names.append(out)
    return names


def verify(unit_dir, names):
    """systemd-analyze verify output for the named units (empty: clean).
    Unknown keys are only warnings to verify, so any output counts."""
    need(ANALYZE, "systemd-analyze (Debian package systemd)")
    env = dict(os.environ, SYSTEMD_UNIT_PATH=unit_dir + ":",
               SYSTEMD_LOG_COLOR="0")
    r = subprocess.run([ANALYZE, "verify", "--man=no"]
                       + [os.path.join(unit_dir, n) for n in names],
                       capture_output=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace").strip()


def sbin_with_binary(env):
    d = env.path("sbin")
    os.makedirs(d, exist_ok=True)
    os.symlink(BIN, os.path.join(d, "imapmoved"))
    return d


@test
def shipped_units_pass_systemd_analyze_verify():
    with Env() as env:
        udir = env.path("units")
        names = substituted_units(udir, sbin_with_binary(env))
        expected = {"imapmoved.socket", "imapmoved@.service",
                    "imapmoved-tls.socket", "imapmoved-tls@.service",
                    "imapmoved.service", "imapmoved-listener.socket",
                    "imapmoved-listener-tls.socket"}
        if set(names) != expected:
            fail("units shipped: %s" % sorted(names))
        rc, out = verify(udir, names)
        if rc != 0 or out:
            fail("systemd-analyze verify: rc %d\n%s" % (rc, out))


@test
def verify_check_catches_a_misspelt_key():
    with Env() as env:
        udir = env.path("units")
        substituted_units(udir, sbin_with_binary(env))
        path = os.path.join(udir, "imapmoved.service")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("NoNewPrivileges=", "NoNewPrivilege="))
        rc, out = verify(udir, ["imapmoved.service"])
        if "NoNewPrivilege" not in out:
            fail("a misspelt key went unnoticed: rc %d %r" % (rc, out))


@test
def service_units_share_one_hardening_block():
    """The three services differ only in what they run and the
    capabilities they keep; each starts as root and may only give
    privileges up (setuid to the mail user)."""
    specific = {"ExecStart", "ExecStartPre", "ExecReload", "Type", "Sockets",
                "KillMode", "TimeoutStopSec", "Restart", "StandardInput",
                "StandardOutput", "StandardError", "CapabilityBoundingSet"}
    blocks = {}
    for name in ("imapmoved@.service.in", "imapmoved-tls@.service.in",
                 "imapmoved.service.in"):
        service = read_unit(name)["Service"]
        blocks[name] = sorted((k, v) for k, v in service if k not in specific)
        caps = set(unit_values(name, "Service", "CapabilityBoundingSet")[0].split())
        if not {"CAP_SETUID", "CAP_SETGID"} <= caps:
            fail("%s cannot drop to the mail user: %s" % (name, caps))
        if "CAP_DAC_OVERRIDE" in caps or "CAP_SYS_ADMIN" in caps:
            fail("%s keeps %s" % (name, caps))
        if ("NoNewPrivileges", "yes") not in blocks[name]:
            fail("%s lacks NoNewPrivileges=yes" % name)
    first = blocks["imapmoved.service.in"]
    for name, block in blocks.items():
        if block != first:
            fail("%s hardening differs from imapmoved.service: %s"
                 % (name, sorted(set(block) ^ set(first))))
    caps = unit_values("imapmoved.service.in", "Service", "CapabilityBoundingSet")[0]
    if "CAP_KILL" not in caps.split():
        fail("the listener cannot SIGTERM sessions running as mail users")


@test
def sockets_pair_with_their_services():
    for name, accept, service in (("imapmoved.socket", "yes", None),
                                  ("imapmoved-tls.socket", "yes", None),
                                  ("imapmoved-listener.socket", None,
                                   "imapmoved.service"),
                                  ("imapmoved-listener-tls.socket", None,
                                   "imapmoved.service")):
        if unit_values(name, "Socket", "Accept") != ([accept] if accept else []):
            fail("%s: Accept=%r" % (name, unit_values(name, "Socket", "Accept")))
        if unit_values(name, "Socket", "Service") != ([service] if service else []):
            fail("%s: Service=%r" % (name, unit_values(name, "Socket", "Service")))
    if unit_values("imapmoved-listener-tls.socket", "Socket",
                   "FileDescriptorName") != ["imaps"]:
        fail("the listener's port 993 socket is not named imaps")
    if unit_values("imapmoved-listener.socket", "Socket",
                   "FileDescriptorName")[0] in ("imaps", "tls"):
        fail("the listener's port 143 socket is named as implicit TLS")
    sockets = unit_values("imapmoved.service.in", "Service", "Sockets")[0].split()
    if sorted(sockets) != ["imapmoved-listener-tls.socket",
                           "imapmoved-listener.socket"]:
        fail("imapmoved.service Sockets=%r" % sockets)


# Capability numbers from linux/capability.h, for the names the units use.
CAPS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
        "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
        "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_ADMIN": 21}

# What systemd does to a unit's processes for CapabilityBoundingSet=,
# NoNewPrivileges= and UMask=, done with prctl(2) before exec: the
# capability bounding set (PR_CAPBSET_DROP, 24) limits what root keeps
# across execve; PR_SET_NO_NEW_PRIVS (38) forbids gaining privileges.
_CONFINE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
keep = {int(c) for c in sys.argv[1].split(",") if c}
with open("/proc/sys/kernel/cap_last_cap") as f:
    last = int(f.read())
for cap in range(last + 1):
    if cap not in keep and libc.prctl(24, cap, 0, 0, 0) != 0:
        sys.exit("PR_CAPBSET_DROP %d: %s" % (cap, os.strerror(ctypes.get_errno())))
if sys.argv[2] == "yes" and libc.prctl(38, 1, 0, 0, 0) != 0:
    sys.exit("PR_SET_NO_NEW_PRIVS: " + os.strerror(ctypes.get_errno()))
os.umask(int(sys.argv[3], 8))
os.execv(sys.argv[4], sys.argv[4:])
"""


def confinement(unit):
    """(argv prefix, bounding set mask) that confine a process the way the
    unit's settings do. Only root can lower its bounding set: other users
    run unconfined (prefix []) and their sessions never change uid."""
    unit = unit + ".in"
    names = unit_values(unit, "Service", "CapabilityBoundingSet")[0].split()
    unknown = [n for n in names if n not in CAPS]
    if unknown:
        fail("%s: add %s to CAPS" % (unit, unknown))
    keep = sorted(CAPS[n] for n in names)
    mask = sum(1 << c for c in keep)
    if os.geteuid() != 0:
        return [], None
    nnp = unit_values(unit, "Service", "NoNewPrivileges")
    umask = unit_values(unit, "Service", "UMask")
    return ([sys.executable, "-c", _CONFINE, ",".join(map(str, keep)),
             nnp[0] if nnp else "no", umask[0] if umask else "0022"], mask)


def status_field(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1:]
    fail("no %s for pid %d" % (key, pid))


def check_confined_session(env, pid, mask):
    """A logged-in session process: running as the mail user, with no
    capability left, inside the unit's bounding set."""
    uids, gids, _ = imaptest.proc_ids(pid)
    if uids != [env.uid] * 4 or gids != [env.gid] * 4:
        fail("session %d runs as uids %s gids %s" % (pid, uids, gids))
    if mask is None:
        return
    if int(status_field(pid, "CapEff")[0], 16) != 0:
        fail("session %d kept capabilities %s" % (pid, status_field(pid, "CapEff")))
    if int(status_field(pid, "CapBnd")[0], 16) != mask:
        fail("session %d bounding set %s, the unit says %x"
             % (pid, status_field(pid, "CapBnd"), mask))
    if status_field(pid, "NoNewPrivs") != ["1"]:
        fail("session %d without no_new_privs" % pid)


def start_accept(env, unit, extra=(), inetd=False):
    """systemd-socket-activate --accept running the unit's ExecStart on
    a free loopback port, confined as the unit says. Returns (proc, port)."""
    need(ACTIVATE, "systemd-socket-activate (Debian package systemd)")
    conf = env.write_config(extra)
    port = imaptest.free_port()
    argv = [ACTIVATE, "--accept", "-l", "127.0.0.1:%d" % port]
    if inetd:
        argv.append("--inetd")
    prefix, env.capmask = confinement(unit)
    proc = env.spawn(prefix + argv + unit_exec(unit, conf),
                     stdin=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc, port


@test
def accept_yes_service_runs_one_process_per_connection():
    with Env() as env:
        proc, port = start_accept(env, "imapmoved@.service")
        a = env.connect(port, name="first")
        b = env.connect(port, name="second")
        a.greeting()
        b.greeting()
        wait_for(lambda: len(proc.children()) == 2,
                 "two session processes", proc=proc)
        a.login()
        b.login()
        for pid in proc.children():
            check_confined_session(env, pid, env.capmask)
        a.logout()
        b.logout()
        wait_for(lambda: not proc.children(), "the sessions to exit", proc=proc)
        env.check_exit(proc)


@test
def accept_yes_session_says_bye_when_stopped():
    """systemctl stop sends SIGTERM to every process of the session's unit."""
    with Env() as env:
        proc, port = start_accept(env, "imapmoved@.service")
        c = env.connect(port)
        c.greeting()
        c.login()
        wait_for(lambda: len(proc.children()) == 1, "the session", proc=proc)
        os.kill(proc.children()[0], signal.SIGTERM)
        rest = c.expect_eof()
        if not rest or not rest[0].startswith(b"* BYE"):
            fail("expected * BYE on SIGTERM, got %r" % rest)
        wait_for(lambda: not proc.children(), "the session to exit", proc=proc)
        env.check_exit(proc)


@test
def accept_yes_service_works_with_the_connection_on_stdin():
    """StandardInput=socket: the connection on fds 0 and 1 (--inetd)."""
    with Env() as env:
        proc, port = start_accept(env, "imapmoved@.service", inetd=True)
        session(env.connect(port))
        env.check_exit(proc)


@test
def accept_yes_tls_service_speaks_implicit_tls():
    with Env() as env:
        proc, port = start_accept(env, "imapmoved-tls@.service", make_cert(env))
        c = connect_tls(env, port)
        c.greeting()
        untagged, _ = c.command("C1", "CAPABILITY", expect="OK")
        caps = imaptest.capabilities(untagged[0])
        if "STARTTLS" in caps or "AUTH=PLAIN" not in caps:
            fail("capabilities over implicit TLS: %s" % sorted(caps))
        c.login()
        check_confined_session(env, proc.children()[0], env.capmask)
        c.logout()
        env.check_exit(proc)


def start_listener(env, extra=()):
    """systemd-socket-activate without --accept running imapmoved.service's
    ExecStart with the two listener sockets, named as their units name
    them, confined as the unit says. The config's own listen line names a
    third port, which must stay closed. Returns (proc, plain port, TLS port, config port)."""
    need(ACTIVATE, "systemd-socket-activate (Debian package systemd)")
    plain, tls, other = (imaptest.free_port() for _ in range(3))
    while len({plain, tls, other}) < 3:
        tls, other = imaptest.free_port(), imaptest.free_port()
    conf = env.write_config(list(extra) + ["listen = 127.0.0.1:%d" % other])
    names = []
    for name in unit_values("imapmoved.service.in", "Service", "Sockets")[0].split():
        names += unit_values(name, "Socket", "FileDescriptorName")
    if names != ["imap", "imaps"]:
        fail("listener socket names %r" % names)
    argv = [ACTIVATE, "-l", "127.0.0.1:%d" % plain, "-l",
            "127.0.0.1:%d" % tls, "--fdname=" + ":".join(names)]
    check = subprocess.run(unit_exec("imapmoved.service", conf, "ExecStartPre"),
                           capture_output=True, timeout=TIMEOUT)
    if check.returncode != 0:
        fail("ExecStartPre failed: %r" % check.stderr)
    prefix, env.capmask = confinement("imapmoved.service")
    proc = env.spawn(prefix + argv + unit_exec("imapmoved.service", conf),
                     stdin=subprocess.DEVNULL)
    # The activator listens and execs the server in its own place at the
    # first connection, as systemd starts a service on demand.
    wait_listening(plain, proc)
    wait_listening(tls, proc)
    return proc, plain, tls, other, conf


@test
def accept_no_listener_serves_the_plain_and_imaps_sockets():
    with Env() as env:
        proc, plain, tls, other, _ = start_listener(env, make_cert(env))
        c = env.connect(plain)
        caps = imaptest.capabilities(c.greeting())
        if "STARTTLS" not in caps:
            fail("no STARTTLS on the socket named imap: %s" % sorted(caps))
        wait_log(proc, "ready on 2 sockets")
        c.login()
        c.logout()
        session(connect_tls(env, tls))
        if imaptest.is_listening(other):
            fail("the listener bound its config's listen line too")
        env.check_exit(proc)


@test
def accept_no_listener_stop_says_bye_and_exits_0():
    """systemctl stop with KillMode=mixed: SIGTERM to the listener only."""
    with Env() as env:
        proc, plain, tls, _, _ = start_listener(env, make_cert(env))
        a = env.connect(plain)
        a.greeting()
        a.login()
        b = connect_tls(env, tls)
        b.greeting()
        b.login()
        wait_for(lambda: len(proc.children()) == 2, "two sessions", proc=proc)
        for pid in proc.children():
            check_confined_session(env, pid, env.capmask)
        # The sessions run as the mail user now: the listener needs
        # CAP_KILL to pass SIGTERM on.
        proc.signal(signal.SIGTERM)
        for c in (a, b):
            line = c.expect_line()
            if not line.startswith(b"* BYE"):
                fail("%s: expected * BYE on stop, got %r" % (c.name, line))
        if proc.wait() != 0:
            fail("listener exited %s" % proc.returncode)
        env.check_exit(proc)


@test
def accept_no_listener_reload_keeps_the_inherited_sockets():
    """systemctl reload: ExecReload checks the file, then SIGHUP."""
    with Env() as env:
        proc, plain, _, _, conf = start_listener(env, make_cert(env))
        long_id = 'ID ("name" "%s")' % ("x" * 300)
        c = env.connect(plain)
        c.greeting()
        c.command("a", long_id, expect="OK")
        with open(conf, "a") as f:
            f.write("max_line_length = 128\n")
        reload = unit_values("imapmoved.service.in", "Service", "ExecReload")
        if len(reload) != 2 or not reload[1].startswith("/bin/kill -HUP"):
            fail("ExecReload=%r" % reload)
        check = subprocess.run(installed_argv(shlex.split(reload[0]), conf),
                               capture_output=True, timeout=TIMEOUT)
        if check.returncode != 0:
            fail("ExecReload check failed: %r" % check.stderr)
        proc.signal(signal.SIGHUP)
        wait_log(proc, "reloaded")
        d = env.connect(plain)
        d.greeting()
        d.command("b", long_id, expect="BAD")
        c.command("c", long_id, expect="OK")  # the old session keeps its limit
        env.check_exit(proc)


def syscall_groups():
    """{"@group": set of members} from systemd-analyze syscall-filter."""
    need(ANALYZE, "systemd-analyze (Debian package systemd)")
    r = subprocess.run([ANALYZE, "syscall-filter", "--no-pager"],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    groups, current = {}, None
    for line in r.stdout.decode().splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), set())
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.add(line.strip())
    return groups


def expand(name, groups):
    out = set()
    for member in groups.get(name, ()):
        out |= expand(member, groups) if member.startswith("@") else {member}
    return out


def traced_calls(path):
    """Names of the system calls in an strace -f output file."""
    calls = set()
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) < 2:
                continue
            rest = parts[1]
            if rest.startswith("<... "):
                rest = rest[5:]
            name = rest.split("(", 1)[0].split(" ", 1)[0]
            if name.replace("_", "").isalnum() and not rest.startswith("+++") \
                    and not rest.startswith("---"):
                calls.add(name)
    return calls


def unit_syscalls(unit, groups):
    """The system calls a unit's SystemCallFilter= allows (an allow list:
    a deny list starting with ~ is not what the units use)."""
    value = unit_values(unit, "Service", "SystemCallFilter")
    if len(value) != 1 or value[0].startswith("~"):
        fail("%s: SystemCallFilter=%r" % (unit, value))
    allowed = set()
    for word in value[0].split():
        allowed |= expand(word, groups) if word.startswith("@") else {word}
    return allowed


def check_trace(path, unit, groups):
    """What strace saw against the unit's SystemCallFilter=,
    RestrictAddressFamilies= and MemoryDenyWriteExecute=."""
    used = traced_calls(path) - {"execve"}
    outside = sorted(used - unit_syscalls(unit, groups))
    if outside:
        fail("%s: SystemCallFilter= lacks %s" % (unit, outside))
    families = set(unit_values(unit, "Service", "RestrictAddressFamilies")[0].split())
    mdwe = unit_values(unit, "Service", "MemoryDenyWriteExecute") == ["yes"]
    with open(path) as f:
        for line in f:
            m = re.search(r"\bsocket\((AF_\w+)", line)
            if m and m.group(1) not in families:
                fail("%s: RestrictAddressFamilies= lacks %s: %s"
                     % (unit, m.group(1), line.strip()))
            if mdwe and ((re.search(r"\bmmap\(", line) and "PROT_WRITE" in line
                          and "PROT_EXEC" in line)
                         or (re.search(r"\b(pkey_)?mprotect\(", line)
                             and "PROT_EXEC" in line)):
                fail("%s: MemoryDenyWriteExecute= forbids %s" % (unit, line.strip()))


@test
def unit_sandbox_allows_everything_the_server_does():
    """Each unit's SystemCallFilter=, RestrictAddressFamilies= and
    MemoryDenyWriteExecute= against what strace sees the server do: the
    listener accepting plain and TLS connections and forking sessions
    that log in (dropping privileges), SIGHUP and SIGTERM; an -i --tls
    session. A call outside the sandbox would fail in production."""
    if imaptest.binary_has_asan():
        raise Skip("the sanitizer runtime's calls are not the server's")
    strace = shutil.which("strace")
    need(strace, "strace (Debian package strace)")
    groups = syscall_groups()
    with Env() as env:
        tls = make_cert(env)
        trace = env.path("listener.trace")
        port = imaptest.free_port()
        tport = imaptest.free_port()
        conf = env.write_config(tls + ["listen = 127.0.0.1:%d" % port,
                                       "listen_tls = 127.0.0.1:%d" % tport])
        proc = env.spawn([strace, "-f", "-qq", "-o", trace] +
                         unit_exec("imapmoved.service", conf),
                         stdin=subprocess.DEVNULL)
        wait_listening(tport, proc)
        mail_session(env.connect(port))
        mail_session(connect_tls(env, tport))
        listener = proc.children()[0]
        os.kill(listener, signal.SIGHUP)
        wait_log(proc, "reloaded")
        c = env.connect(port)
        c.greeting()
        c.login()
        os.kill(listener, signal.SIGTERM)
        c.expect_eof()
        if proc.wait() != 0:
            fail("listener under strace exited %s" % proc.returncode)
        check_trace(trace, "imapmoved.service.in", groups)

        trace = env.path("session.trace")
        argv = unit_exec("imapmoved-tls@.service", env.write_config(tls))
        proc, tport = start_inetd(env, [strace, "-f", "-qq", "-o", trace] + argv,
                                  journal=True)
        mail_session(connect_tls(env, tport))
        proc.wait()
        check_trace(trace, "imapmoved-tls@.service.in", groups)
        check_trace(trace, "imapmoved@.service.in", groups)


# ---------------------------------------------------------------------------
# inetd and xinetd

# A one-connection inetd: accept on the listening socket (fd argv[1]), then
# exec the server with the connection as fds 0, 1 and 2, as inetd does
# for a "nowait" service (standard error too: so a server that wrote its
# log there would corrupt the session, which the tests would see). A
# sanitizer build keeps standard error in the log file (argv[2] = "log"),
# where check_exit() looks for reports.
_INETD = r"""
import os, socket, sys
ls = socket.socket(fileno=int(sys.argv[1]))
conn, _ = ls.accept()
ls.close()
for fd in (0, 1) if sys.argv[2] == "log" else (0, 1, 2):
    os.dup2(conn.fileno(), fd)
conn.close()
os.execv(sys.argv[3], sys.argv[3:])
"""


def start_inetd(env, argv, journal=False):
    """Listen on a free loopback port; the first connection runs argv.
    With journal, standard error stays the log file, as systemd's
    StandardError=journal keeps it off the connection. Returns (proc, port)."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    stderr = "log" if journal or imaptest.binary_has_asan() else "conn"
    proc = env.spawn([sys.executable, "-c", _INETD, str(lsock.fileno()), stderr]
                     + argv,
                     pass_fds=(lsock.fileno(),), stdin=subprocess.DEVNULL)
    lsock.close()
    return proc, port


def inetd_conf_lines():
    """{service: argv} from server/inetd/inetd.conf.in: service, socket
    type, protocol, wait, user, program, then argv[0] and arguments."""
    out = {}
    with open(os.path.join(INETD, "inetd.conf.in")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            if fields[1:5] != ["stream", "tcp", "nowait", "root"]:
                fail("inetd.conf line %r" % line)
            if fields[6] != "imapmoved" or fields[5] != "@SBINDIR@/imapmoved":
                fail("inetd.conf program %r" % fields[5:7])
            out[fields[0]] = [fields[5]] + fields[7:]
    return out


def xinetd_services():
    """{service: argv} from server/inetd/xinetd.d/imapmoved.in."""
    out = {}
    name = None
    attrs = {}
    with open(os.path.join(INETD, "xinetd.d", "imapmoved.in")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("service "):
                name, attrs = line.split()[1], {}
            elif line == "}":
                if attrs.get("wait") != "no" or attrs.get("disable") != "no":
                    fail("xinetd %s: %r" % (name, attrs))
                out[name] = [attrs["server"]] + attrs["server_args"].split()
            elif "=" in line and not line.startswith("#"):
                k, _, v = line.partition("=")
                attrs[k.strip()] = v.strip()
    return out


def run_inetd_services(services):
    if sorted(services) != ["imap", "imaps"]:
        fail("services %s" % sorted(services))
    with Env() as env:
        tls = make_cert(env)
        for name, words in sorted(services.items()):
            if "-f" in words:
                fail("%s: -f would send the log to the connection" % name)
            conf = env.write_config(tls)
            proc, port = start_inetd(env, installed_argv(words, conf))
            c = connect_tls(env, port) if name == "imaps" else env.connect(port)
            session(c)
            if proc.wait() != 0:
                fail("%s: session exited %s" % (name, proc.returncode))
            env.check_exit(proc)


@test
def inetd_conf_lines_serve_imap_and_imaps():
    run_inetd_services(inetd_conf_lines())


@test
def xinetd_services_serve_imap_and_imaps():
    run_inetd_services(xinetd_services())


# ---------------------------------------------------------------------------
# Standalone listener signals


@test
def sigterm_gives_open_session_bye_and_listener_exits_0():
    with Env() as env:
        proc, port = env.start_standalone()
        c = env.connect(port)
        c.greeting()
        c.login()
        c.command("n", "NOOP", expect="OK")
        proc.signal(signal.SIGTERM)
        rest = c.expect_eof()
        if not rest or not rest[0].startswith(b"* BYE"):
            fail("expected * BYE on SIGTERM, got %r" % rest)
        if proc.wait() != 0:
            fail("listener exited %s" % proc.returncode)
        if imaptest.is_listening(port):
            fail("port %d still listening" % port)
        env.check_exit(proc)


@test
def sighup_new_passwd_file_applies_to_new_connections_only():
    with Env() as env:
        proc, port = env.start_standalone()
        old = env.connect(port, name="old")
        old.greeting()
        old.login()
        newpw = env.path("passwd.new")
        with open(newpw, "w") as f:
            f.write("newbie:{PLAIN}fresh:%d:%d::%s::\n"
                    % (env.uid, env.gid, env.home("demo")))
        conf = proc.argv[proc.argv.index("-c") + 1]
        with open(conf) as f:
            text = f.read().replace("passwd_file = " + env.passwd,
                                    "passwd_file = " + newpw)
        with open(conf, "w") as f:
            f.write(text)
        proc.signal(signal.SIGHUP)
        wait_log(proc, "reloaded")
        a = env.connect(port, name="new-user")
        a.greeting()
        a.login("newbie", "fresh")
        a.logout()
        b = env.connect(port, name="old-user")
        b.greeting()
        b.command("L1", "LOGIN demo secret", expect="NO")
        old.command("n", "NOOP", expect="OK")
        old.logout()
        env.check_exit(proc)


@test
def man_page_openssl_commands_reach_a_login():
    """The troubleshooting commands of imapmoved(8), pointed at a test
    listener, carry a LOGIN over TLS on both ports. -ign_eof (a test-only
    addition) keeps s_client reading until the server closes."""
    openssl = shutil.which("openssl")
    need(openssl, "openssl (Debian package openssl)")
    with open(os.path.join(TOP, "man", "imapmoved.8")) as f:
        commands = [line.split() for line in f
                    if line.startswith("openssl s_client")]
    if len(commands) != 2:
        fail("expected two openssl s_client lines in imapmoved.8: %r" % commands)
    with Env() as env:
        tport = imaptest.free_port()
        proc, port = env.start_standalone(
            make_cert(env) + ["listen_tls = 127.0.0.1:%d" % tport])
        wait_listening(tport, proc)
        ports = {"imap.example.org:143": port, "imap.example.org:993": tport}
        for words in commands:
            argv = [openssl] + [("127.0.0.1:%d" % ports[w]) if w in ports else w
                                for w in words[1:]]
            r = subprocess.run(argv + ["-ign_eof", "-CAfile", env.cert],
                               input=b"a LOGIN demo secret\nb LOGOUT\n",
                               capture_output=True, timeout=TIMEOUT)
            out = r.stdout.decode(errors="replace")
            if "a OK" not in out or "* BYE" not in out \
                    or "Verify return code: 0 (ok)" not in out:
                fail("%s: rc %d\n%s\n%s" % (" ".join(argv), r.returncode, out[-1500:],
                                            r.stderr.decode(errors="replace")[-500:]))
        env.check_exit(proc)


# ---------------------------------------------------------------------------
# make install


def make_install(*assignments):
    if not os.path.exists(os.path.join(TOP, "imapmoved")):
        fail("./imapmoved not built (make imapmoved)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # -o imapmoved: install what is built, never rebuild from a test.
    r = subprocess.run(["make", "-s", "-C", TOP, "-o", "imapmoved", "install"]
                       + list(assignments), capture_output=True, env=env,
                       timeout=120, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        fail("make install: %s" % (r.stdout + r.stderr).decode(errors="replace"))


INSTALLED = ["sbin/imapmoved", "share/man/man8/imapmoved.8",
             "share/man/man5/imapmoved.conf.5",
             "lib/systemd/system/imapmoved.socket",
             "lib/systemd/system/imapmoved@.service",
             "lib/systemd/system/imapmoved-tls.socket",
             "lib/systemd/system/imapmoved-tls@.service",
             "lib/systemd/system/imapmoved.service",
             "lib/systemd/system/imapmoved-listener.socket",
             "lib/systemd/system/imapmoved-listener-tls.socket",
             "share/doc/imapmoved/inetd.conf",
             "share/doc/imapmoved/xinetd.d/imapmoved",
             "share/doc/imapmoved/strict.conf",
             "share/doc/imapmoved/imapmoved.conf.example"]


@test
def make_install_honours_destdir_and_writes_the_paths_into_units():
    with tempfile.TemporaryDirectory(prefix="imapmoved-install-") as dest:
        make_install("DESTDIR=" + dest, "PREFIX=/usr", "SYSCONFDIR=/etc/imapmoved")
        for rel in INSTALLED:
            if not os.path.isfile(os.path.join(dest, "usr", rel)):
                fail("not installed: /usr/" + rel)
        if not os.path.isfile(os.path.join(dest, "etc/imapmoved/imapmoved.conf.example")):
            fail("example config not in SYSCONFDIR")
        for rel in INSTALLED[1:]:
            with open(os.path.join(dest, "usr", rel)) as f:
                text = f.read()
            if "@SBINDIR@" in text or "@SYSCONFDIR@" in text or "/usr/local" in text:
                fail("/usr/%s keeps a placeholder or /usr/local" % rel)
        with open(os.path.join(dest, "usr/lib/systemd/system/imapmoved.service")) as f:
            text = f.read()
        if "ExecStart=/usr/sbin/imapmoved -f -c /etc/imapmoved/imapmoved.conf" not in text:
            fail("imapmoved.service ExecStart not rewritten:\n" + text)
        with open(os.path.join(dest, "usr/share/man/man8/imapmoved.8")) as f:
            if "/etc/imapmoved/imapmoved.conf" not in f.read():
                fail("imapmoved.8 does not name the installed config path")


@test
def installed_units_verify_against_the_installed_binary():
    with tempfile.TemporaryDirectory(prefix="imapmoved-install-") as root:
        make_install("PREFIX=" + root + "/usr", "SYSCONFDIR=" + root + "/etc")
        udir = os.path.join(root, "usr/lib/systemd/system")
        rc, out = verify(udir, sorted(os.listdir(udir)))
        if rc != 0 or out:
            fail("systemd-analyze verify: rc %d\n%s" % (rc, out))


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            print("ok   " + fn.__name__)
            passed += 1
        except Skip as e:
            print("skip %s (%s)" % (fn.__name__, e))
        except Exception as e:
            print("FAIL " + fn.__name__)
            if isinstance(e, imaptest.TestFailure):
                print("     " + str(e).replace("\n", "\n     "))
            else:
                traceback.print_exc(file=sys.stdout)
            failed += 1
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
