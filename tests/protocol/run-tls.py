#!/usr/bin/python3
"""Black-box TLS tests of issue 7 against the real binary ($IMAPMOVED_BIN):
the STARTTLS command-injection defence (CVE-2011-0411 class), scripted
gnutls-cli and openssl s_client sessions (STARTTLS and implicit TLS),
LOGINDISABLED before TLS and the post-TLS capabilities, bad client hellos,
clients that hang up or stay silent mid-handshake, certificate/key errors
caught by -t, and Python's imaplib over IMAP4_SSL and starttls().

Certificates come from tools/gencert.sh (certtool, Debian gnutls-bin); the
certificate is its own CA. Prints one line per test and a final
"N passed, N failed"; exits non-zero on failure.
"""

import imaplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import traceback
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaptest  # noqa: E402
from imaptest import (  # noqa: E402
    BIN, TIMEOUT, TOP, Env, capabilities, fail, free_port, is_listening,
    local_nonloopback_ipv4, show, wait_for)

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Skip(Exception):
    pass


# ---------------------------------------------------------------------------
# Helpers


def make_cert(env, sub=""):
    """tools/gencert.sh into env.dir/sub; returns (cert path, key path)."""
    d = env.path(sub) if sub else env.dir
    r = subprocess.run(["sh", os.path.join(TOP, "tools", "gencert.sh"), d],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        fail("gencert.sh: %s" % r.stderr.decode(errors="replace"))
    return os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")


def tls_env(env):
    """Certificate in env; returns the config lines naming it."""
    env.cert, env.key = make_cert(env)
    return ["tls_cert = " + env.cert, "tls_key = " + env.key]


def context(env):
    return ssl.create_default_context(cafile=env.cert)


def start_tls_server(env, extra=(), host="127.0.0.1"):
    """Standalone server with a plain listener and a listen_tls one on
    host; returns (proc, plain port, TLS port)."""
    tport = free_port(host)
    proc, port = env.start_standalone(
        tls_env(env) + list(extra) + ["listen_tls = %s:%d" % (host, tport)],
        host=host)
    wait_for(lambda: is_listening(tport, host), "%s:%d to listen" % (host, tport),
             proc=proc)
    return proc, port, tport


class Line:
    """Blocking line reader over a plain socket that can turn into TLS."""

    def __init__(self, sock, name):
        self.sock = sock
        self.name = name
        self.buf = b""
        self.transcript = []

    def recv_more(self):
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            fail("%s: no response within %ss; transcript %s"
                 % (self.name, TIMEOUT, self.transcript))
        except (ssl.SSLError, OSError):
            data = b""
        if not data:
            raise EOFError()
        self.buf += data

    def readline(self):
        while b"\r\n" not in self.buf:
            self.recv_more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        self.transcript.append(b"S: " + line)
        return line

    def expect_line(self):
        try:
            return self.readline()
        except EOFError:
            fail("%s: connection closed, a response was expected; transcript %s"
                 % (self.name, self.transcript))

    def send(self, data):
        self.transcript.append(b"C: " + data)
        self.sock.sendall(data)

    def command(self, tag, text, expect=None):
        self.send(("%s %s\r\n" % (tag, text)).encode())
        untagged = []
        while True:
            line = self.expect_line()
            if line.startswith(tag.encode() + b" "):
                break
            untagged.append(line)
        if expect is not None and line.split(b" ")[1].upper() != expect.encode():
            fail("%s: %s %s: got %s; transcript %s"
                 % (self.name, tag, text, show(line), self.transcript))
        return untagged, line

    def starttls(self, env, tag="s"):
        self.command(tag, "STARTTLS", expect="OK")
        self.wrap(env)

    def wrap(self, env):
        if self.buf:
            fail("%s: bytes after the STARTTLS OK before the handshake: %s"
                 % (self.name, show(self.buf)))
        try:
            self.sock = context(env).wrap_socket(self.sock, server_hostname="localhost")
        except (ssl.SSLError, OSError) as e:
            fail("%s: TLS handshake after STARTTLS: %s" % (self.name, e))

    def caps(self, tag="k"):
        untagged, _ = self.command(tag, "CAPABILITY", expect="OK")
        lines = [u for u in untagged if u.upper().startswith(b"* CAPABILITY")]
        if len(lines) != 1:
            fail("%s: CAPABILITY answered %s" % (self.name, untagged))
        return capabilities(lines[0])

    def logout(self):
        untagged, _ = self.command("z", "LOGOUT", expect="OK")
        if not any(u.startswith(b"* BYE") for u in untagged):
            fail("%s: LOGOUT without * BYE" % self.name)

    def close(self):
        self.sock.close()


def connect(env, port, host="127.0.0.1", tls=False):
    raw = socket.create_connection((host, port), timeout=TIMEOUT)
    c = Line(raw, "%s:%d" % (host, port))
    env.clients.append(c)
    if tls:
        try:
            c.sock = context(env).wrap_socket(raw, server_hostname="localhost")
        except (ssl.SSLError, OSError) as e:
            fail("TLS handshake on port %d: %s" % (port, e))
    return c


def mail_session(env, port, tls):
    """A good session: greeting, LOGIN, SELECT INBOX, LOGOUT."""
    c = connect(env, port, tls=tls)
    c.expect_line()
    if not tls:
        c.starttls(env)
    c.command("a", "LOGIN demo secret", expect="OK")
    c.command("b", "SELECT INBOX", expect="OK")
    c.logout()
    c.close()


def sessions_end(proc, what):
    """Wait (bounded) until the listener has no forked session left."""
    wait_for(lambda: not proc.children(), what + ": session process to end",
             proc=proc)


def handshake_failures(proc):
    return proc.stderr_text().count(b"TLS handshake failed")


# ---------------------------------------------------------------------------
# 1. STARTTLS command injection


@test
def starttls_discards_commands_pipelined_before_the_handshake():
    with Env() as env:
        proc, port, _ = start_tls_server(env)
        c = connect(env, port)
        c.expect_line()
        c.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
        seen = []
        while True:
            line = c.expect_line()
            seen.append(line)
            if line.startswith(b"a "):
                break
        if not seen[-1].startswith(b"a OK"):
            fail("STARTTLS answered %s" % show(seen[-1]))
        if len(seen) > 1 or c.buf:
            fail("the server spoke in clear around STARTTLS: %s %s" % (seen, show(c.buf)))
        c.wrap(env)
        untagged, _ = c.command("c", "NOOP", expect="OK")
        for line in untagged:
            if line.upper().startswith(b"* CAPABILITY") or line.startswith(b"b "):
                fail("injected command executed after TLS: %s" % show(line))
        # Nothing for b may follow either: a CAPABILITY round trip proves
        # the stream is in order and b never appears.
        untagged, _ = c.command("d", "CAPABILITY", expect="OK")
        if len([u for u in untagged if u.upper().startswith(b"* CAPABILITY")]) != 1:
            fail("d CAPABILITY answered %s" % untagged)
        if any(t.startswith(b"S: b ") for t in c.transcript):
            fail("the injected b was answered: %s" % c.transcript)
        c.logout()
        env.check_exit(proc)


# ---------------------------------------------------------------------------
# 2. gnutls-cli and openssl s_client


def run_tool(argv, script):
    try:
        r = subprocess.run(argv, input=script, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail("%s did not finish" % " ".join(argv))
    return r, r.stdout.decode(errors="replace")


def need(tool, package):
    path = shutil.which(tool)
    if path is None:
        raise Skip("%s not installed (Debian package %s)" % (tool, package))
    return path


@test
def gnutls_cli_starttls_and_implicit_tls_log_in():
    gnutls = need("gnutls-cli", "gnutls-bin")
    with Env() as env:
        proc, port, tport = start_tls_server(env)
        script = b"a LOGIN demo secret\r\nb SELECT INBOX\r\nc LOGOUT\r\n"
        for argv in ([gnutls, "--starttls-proto=imap", "--x509cafile", env.cert,
                      "-p", str(port), "localhost"],
                     [gnutls, "--x509cafile", env.cert, "-p", str(tport), "localhost"]):
            r, out = run_tool(argv, script)
            for want in ("a OK", "b OK", "* BYE", "c OK"):
                if want not in out:
                    fail("%s: no %r; rc %d\n%s\n%s"
                         % (" ".join(argv), want, r.returncode, out[-1500:],
                            r.stderr.decode(errors="replace")[-800:]))
        env.check_exit(proc)


@test
def openssl_s_client_starttls_and_implicit_tls_log_in():
    openssl = need("openssl", "openssl")
    with Env() as env:
        proc, port, tport = start_tls_server(env)
        script = b"a LOGIN demo secret\nb SELECT INBOX\nc LOGOUT\n"
        for argv in ([openssl, "s_client", "-starttls", "imap", "-connect",
                      "127.0.0.1:%d" % port, "-CAfile", env.cert, "-crlf", "-quiet",
                      "-ign_eof"],
                     [openssl, "s_client", "-connect", "127.0.0.1:%d" % tport,
                      "-CAfile", env.cert, "-crlf", "-quiet", "-ign_eof"]):
            r, out = run_tool(argv, script)
            for want in ("a OK", "b OK", "* BYE", "c OK"):
                if want not in out:
                    fail("%s: no %r; rc %d\n%s\n%s"
                         % (" ".join(argv), want, r.returncode, out[-1500:],
                            r.stderr.decode(errors="replace")[-800:]))
        env.check_exit(proc)


@test
def second_connection_resumes_the_tls_session():
    """A client reconnecting presents the ticket the first session issued;
    another session process of the same listener accepts it (the ticket
    key is made before the listener forks), for TLS 1.2 and 1.3, on the
    implicit TLS port and after STARTTLS."""
    with Env() as env:
        proc, port, tport = start_tls_server(env)
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = ssl.create_default_context(cafile=env.cert)
            ctx.minimum_version = ctx.maximum_version = version
            for starttls in (False, True):
                session = None
                for attempt in range(2):
                    raw = socket.create_connection(
                        ("127.0.0.1", port if starttls else tport), timeout=10)
                    if starttls:
                        f = raw.makefile("rb")
                        f.readline()
                        raw.sendall(b"s STARTTLS\r\n")
                        if not f.readline().startswith(b"s OK"):
                            fail("STARTTLS refused")
                    tls = ctx.wrap_socket(raw, server_hostname="localhost",
                                          session=session)
                    f = tls.makefile("rb")
                    if not starttls:
                        f.readline()  # the greeting; TLS 1.3 tickets come with it
                    tls.sendall(b"a NOOP\r\n")
                    f.readline()
                    if attempt == 1 and not tls.session_reused:
                        fail("%s%s: second connection not resumed" % (
                            version.name, " after STARTTLS" if starttls else ""))
                    session = tls.session
                    tls.sendall(b"z LOGOUT\r\n")
                    f.read()
                    tls.close()
        env.check_exit(proc)


# ---------------------------------------------------------------------------
# 3. Capabilities before and after TLS


@test
def non_secure_connection_gets_logindisabled_then_auth_after_starttls():
    ip = local_nonloopback_ipv4()
    if ip is None:
        raise Skip("no non-loopback IPv4 address on this machine")
    with Env() as env:
        proc, port, _ = start_tls_server(env, host=ip)
        c = connect(env, port, host=ip)
        c.expect_line()
        caps = c.caps("a")
        if ("STARTTLS" not in caps or "LOGINDISABLED" not in caps
                or any(x.startswith("AUTH=") for x in caps)):
            fail("%s before TLS: capabilities %s" % (ip, sorted(caps)))
        _, tagged = c.command("b", "LOGIN demo secret")
        if not tagged.startswith(b"b NO [PRIVACYREQUIRED]"):
            fail("LOGIN in clear on %s: %s" % (ip, show(tagged)))
        c.starttls(env, "c")
        caps = c.caps("d")
        if ("AUTH=PLAIN" not in caps or "LOGINDISABLED" in caps
                or "STARTTLS" in caps):
            fail("%s after TLS: capabilities %s" % (ip, sorted(caps)))
        c.command("e", "LOGIN demo secret", expect="OK")
        c.logout()
        env.check_exit(proc)


@test
def loopback_offers_starttls_once():
    with Env() as env:
        proc, port, _ = start_tls_server(env)
        c = connect(env, port)
        c.expect_line()
        caps = c.caps("a")
        if "STARTTLS" not in caps:
            fail("loopback before TLS: capabilities %s" % sorted(caps))
        c.starttls(env, "b")
        caps = c.caps("c")
        if "STARTTLS" in caps or "LOGINDISABLED" in caps or "AUTH=PLAIN" not in caps:
            fail("loopback after TLS: capabilities %s" % sorted(caps))
        c.command("d", "STARTTLS", expect="BAD")
        c.command("e", "LOGIN demo secret", expect="OK")
        c.logout()
        env.check_exit(proc)


# ---------------------------------------------------------------------------
# 4. and 5. Bad client hellos, hang-ups, silence


def raw_exchange(port, data):
    """Send data on the TLS port, then read until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        s.sendall(data)
        while True:
            try:
                if not s.recv(4096):
                    break
            except ConnectionResetError:
                break
            except socket.timeout:
                fail("server kept the connection open after a bad hello %s"
                     % show(data[:40]))
    finally:
        s.close()


# An SSLv2-style CLIENT-HELLO (2-byte record header with the high bit set).
SSLV2_HELLO = bytes.fromhex(
    "802e0103010015000000100100800300800700c0060040020080040080"
    "00000400fe0000000a00fe00") + bytes(16)


@test
def bad_client_hellos_end_the_session_and_the_listener_keeps_serving():
    with Env() as env:
        proc, _, tport = start_tls_server(env)
        n = 0
        # Fixed garbage: random bytes may happen to start like a record
        # header announcing a long record (a byte with the high bit set
        # reads as an SSLv2 header), which rightly waits for the rest
        # until login_timeout; that case is the silent-client test.
        garbage = bytes(range(1, 65))
        for data in (garbage, b"a LOGIN demo secret\r\n", SSLV2_HELLO):
            raw_exchange(tport, data)
            n += 1
            wait_for(lambda: handshake_failures(proc) >= n,
                     "a log line for bad hello %d" % n, proc=proc)
        # A client that only speaks TLS 1.0.
        ctx = context(env)
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.maximum_version = ssl.TLSVersion.TLSv1
        raw = socket.create_connection(("127.0.0.1", tport), timeout=TIMEOUT)
        try:
            ctx.wrap_socket(raw, server_hostname="localhost")
            fail("a TLS 1.0-only client completed a handshake")
        except (ssl.SSLError, OSError):
            pass
        finally:
            raw.close()
        n += 1
        wait_for(lambda: handshake_failures(proc) >= n,
                 "a log line for the TLS 1.0 client", proc=proc)
        sessions_end(proc, "bad hellos")
        mail_session(env, tport, tls=True)
        env.check_exit(proc)


@test
def hang_up_mid_handshake_and_silent_client_end_the_session():
    with Env() as env:
        proc, _, tport = start_tls_server(env, ["login_timeout = 2"])
        # The first bytes of a real TLS ClientHello record, then EOF.
        s = socket.create_connection(("127.0.0.1", tport), timeout=TIMEOUT)
        s.sendall(bytes.fromhex("160301020001"))
        s.close()
        sessions_end(proc, "hang-up mid-handshake")
        # A client that connects and says nothing: login_timeout ends it.
        s = socket.create_connection(("127.0.0.1", tport), timeout=TIMEOUT)
        try:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                fail("silent client still connected after %ss (login_timeout = 2)"
                     % TIMEOUT)
            if data:
                fail("the server sent %s to a silent client before TLS" % show(data[:60]))
        finally:
            s.close()
        sessions_end(proc, "silent client")
        # A client that starts the handshake and stalls in it: the
        # handshake is bounded by login_timeout too.
        s = socket.create_connection(("127.0.0.1", tport), timeout=TIMEOUT)
        try:
            s.sendall(bytes.fromhex("160301020001"))
            start = time.monotonic()
            try:
                while s.recv(4096):
                    pass  # an alert, perhaps; then the close
            except ConnectionResetError:
                pass
            except socket.timeout:
                fail("stalled handshake still open after %ss" % TIMEOUT)
            if time.monotonic() - start > 2 + 5:
                fail("stalled handshake closed only after %.1fs "
                     "(login_timeout = 2)" % (time.monotonic() - start))
        finally:
            s.close()
        sessions_end(proc, "stalled handshake")
        mail_session(env, tport, tls=True)
        env.check_exit(proc)


# ---------------------------------------------------------------------------
# 6. -t


def check_t(env, lines, what, words):
    conf = env.write_config(lines)
    r = env.run(["-t", "-c", conf])
    err = r.stderr.decode(errors="replace")
    if r.returncode != 1:
        fail("-t with %s: exit %d, stderr %s" % (what, r.returncode, err))
    m = re.search(re.escape(conf) + r":(\d+):.*", err)
    if not m or not any(w in m.group(0) for w in words):
        fail("-t with %s: no %s:LINE: naming %s in stderr: %s"
             % (what, conf, "/".join(words), err))


@test
def t_reports_a_certificate_key_mismatch():
    with Env() as env:
        cert1, _ = make_cert(env, "one")
        _, key2 = make_cert(env, "two")
        check_t(env, ["tls_cert = " + cert1, "tls_key = " + key2],
                "a mismatched certificate and key", ("tls_key", "tls_cert"))


EXPIRED_TEMPLATE = """cn = "localhost"
dns_name = "localhost"
activation_date = "2020-01-01 00:00:00"
expiration_date = "2021-01-01 00:00:00"
signing_key
encryption_key
tls_www_server
"""


@test
def t_reports_an_expired_certificate():
    certtool = need("certtool", "gnutls-bin")
    with Env() as env:
        key, cert, tmpl = env.path("old-key.pem"), env.path("old-cert.pem"), \
            env.path("old.tmpl")
        with open(tmpl, "w") as f:
            f.write(EXPIRED_TEMPLATE)
        for argv in ([certtool, "--generate-privkey", "--key-type=rsa", "--bits=2048",
                      "--outfile", key],
                     [certtool, "--generate-self-signed", "--load-privkey", key,
                      "--template", tmpl, "--outfile", cert]):
            r = subprocess.run(argv, capture_output=True, timeout=60)
            if r.returncode != 0:
                fail("%s: %s" % (" ".join(argv), r.stderr.decode(errors="replace")))
        check_t(env, ["tls_cert = " + cert, "tls_key = " + key],
                "an expired certificate", ("tls_cert",))


@test
def t_reports_a_missing_key_file():
    with Env() as env:
        cert, key = make_cert(env)
        check_t(env, ["tls_cert = " + cert, "tls_key = " + key + ".missing"],
                "a missing key file", ("tls_key",))


# ---------------------------------------------------------------------------
# 7. imaplib


@test
def imaplib_imap4_ssl_completes_a_session():
    with Env() as env:
        proc, _, tport = start_tls_server(env)
        m = imaplib.IMAP4_SSL("localhost", tport, ssl_context=context(env),
                              timeout=TIMEOUT)
        try:
            m.login("demo", "secret")
            typ, data = m.select("INBOX")
            if typ != "OK" or data != [b"1"]:
                fail("SELECT INBOX: %s %s" % (typ, data))
            typ, _ = m.logout()
            if typ != "BYE":
                fail("LOGOUT: %s" % typ)
        except BaseException:
            m.shutdown()
            raise
        env.check_exit(proc)


@test
def imaplib_starttls_completes_a_session():
    with Env() as env:
        proc, port, _ = start_tls_server(env)
        m = imaplib.IMAP4("localhost", port, timeout=TIMEOUT)
        try:
            typ, _ = m.starttls(ssl_context=context(env))
            if typ != "OK":
                fail("STARTTLS: %s" % typ)
            m.login("demo", "secret")
            typ, data = m.select("INBOX")
            if typ != "OK" or data != [b"1"]:
                fail("SELECT INBOX: %s %s" % (typ, data))
            typ, _ = m.logout()
            if typ != "BYE":
                fail("LOGOUT: %s" % typ)
        except BaseException:
            m.shutdown()
            raise
        env.check_exit(proc)


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
        except Exception as e:
            print("FAIL " + fn.__name__)
            if isinstance(e, imaptest.TestFailure):
                print("     " + str(e).replace("\n", "\n     "))
            else:
                traceback.print_exc(file=sys.stdout)
            failed += 1
        sys.stdout.flush()
    if skipped:
        print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
