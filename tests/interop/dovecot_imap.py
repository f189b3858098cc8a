"""Dovecot's imap binary (Debian package dovecot-imapd) run pre-authenticated
on one Maildir, for the tests that compare imapmoved with Dovecot or hand a
Maildir over from it. Stdlib only; not a test runner itself.
"""
import os
import re
import subprocess
import threading

DOVECOT_IMAP = "/usr/lib/dovecot/imap"


def available():
    return os.access(DOVECOT_IMAP, os.X_OK)


class Session:
    """One pre-authenticated session serving maildir as uid:gid (Dovecot
    refuses root), its runtime files under workdir. Killed after timeout
    seconds whatever happens."""

    def __init__(self, workdir, maildir, uid, gid, user="test", tz="UTC",
                 timeout=120):
        conf = os.path.join(workdir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("base_dir = %s/run\nstate_dir = %s/state\nlog_path = %s/log\n"
                    "mail_location = maildir:%s\nmail_uid = %d\nmail_gid = %d\n"
                    "first_valid_uid = %d\nfirst_valid_gid = %d\nssl = no\n"
                    % (workdir, workdir, workdir, maildir, uid, gid,
                       min(uid, 500), min(gid, 500)))
        env = dict(os.environ, USER=user, HOME=os.path.dirname(maildir))
        if tz is not None:
            env["TZ"] = tz
        self.p = subprocess.Popen([DOVECOT_IMAP, "-c", conf],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env)
        self.timer = threading.Timer(timeout, self.p.kill)
        self.timer.start()
        self.pending = b""

    def command(self, tag, text):
        """Send one command; return the output up to its tagged answer (or
        whatever came before Dovecot ended). Dovecot stops writing once its
        input is closed, so the input stays open, and one command at a time
        keeps the answers apart."""
        self.p.stdin.write(tag + b" " + text + b"\r\n")
        self.p.stdin.flush()
        done = re.compile(rb"(^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r]*\r\n")
        while not done.search(self.pending):
            chunk = self.p.stdout.read1(65536)
            if not chunk:
                break
            self.pending += chunk
        out, self.pending = self.pending, b""
        return out

    def close(self):
        """LOGOUT and wait for the process."""
        try:
            self.command(b"zz", b"LOGOUT")
            self.p.stdin.close()
            self.p.wait()
        finally:
            self.timer.cancel()
