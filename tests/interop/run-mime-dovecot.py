#!/usr/bin/python3
"""Compare our MIME answers with Dovecot's, message by message.

For every message of the corpus (tests/data/mime-*.eml, a few hundred
generated with Python's email package, and bare-LF copies of all), the
ENVELOPE, BODY, BODYSTRUCTURE, a set of BODY[section]<partial> answers and
the matches of a set of SEARCH keys (BODY, TEXT, header keys, UTF-8) of
build/<variant>/tests/tools/mime-dump are compared with those of Dovecot's
imap binary (Debian package dovecot-imapd) run pre-authenticated
over a temporary Maildir. Strings are compared after IMAP decoding, so a
quoted string and an equal literal match. Skipped (0 passed) when Dovecot
is not installed. One test per message; prints "N passed, N failed".
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from email import policy, utils
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot_imap  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOVECOT_IMAP = dovecot_imap.DOVECOT_IMAP
SECTIONS = ['', 'HEADER', 'TEXT', '1', '1.MIME', '2', '2.MIME', '1.1', '2.1',
            '1.2.1', '3', '3.HEADER', '3.TEXT', '2.HEADER', '2.1.MIME',
            '1.HEADER', '4', '2.2', '1.1.1', 'HEADER.FIELDS (FROM SUBJECT)',
            'HEADER.FIELDS.NOT (FROM TO)', '2.HEADER.FIELDS (SUBJECT)']
PARTIALS = [('1', 3, 10), ('', 5, 7), ('TEXT', 0, 4)]
# SEARCH keys as (Dovecot key, our mime-dump query), needles in UTF-8.
SEARCHES = [('BODY', '?BODY ', 'caf\u00e9'), ('BODY', '?BODY ', 'CAF\u00c9'),
            ('BODY', '?BODY ', 'gr\u00fc\u00dfe'), ('TEXT', '?TEXT ', 'm\u00fcnchen'),
            ('BODY', '?BODY ', 'm\u00fcnchen'), ('SUBJECT', '?HEADER subject ', 'M\u00dcNCHEN'),
            ('BODY', '?BODY ', 'w\u00f6rld plain'), ('FROM', '?HEADER from ', 'j\u00f6rg'),
            ('TEXT', '?TEXT ', 'about caf\u00e9'), ('BODY', '?BODY ', 'preamble'),
            ('HEADER X-None', '?HEADER x-none ', ''), ('HEADER Subject', '?HEADER subject ', ''),
            ('TO', '?HEADER to ', 'r2@'), ('BODY', '?BODY ', 'x' * 85),
            ('CC', '?HEADER cc ', '"D E"'), ('TEXT', '?TEXT ', 'one')]
# Where Dovecot and we differ on purpose. Dovecot lower-cases the
# BODYSTRUCTURE (not the BODY) of a text/plain; charset=us-ascii message
# written in capitals; we keep the message's spelling in both. Dovecot
# drops the line end of a last header field that has none in
# HEADER.FIELDS.NOT only; we end every field with CRLF.
KNOWN = {
    ('mime-plain.eml', 'BODYSTRUCTURE'),
    ('mime-header-only.eml', 'BODY[HEADER.FIELDS.NOT (FROM TO)]'),
}


def generate(dirname, count, seed):
    """Write count realistic messages: nested multiparts, attachments with
    RFC 2231 names, message/rfc822, charsets, encoded headers."""
    rnd = random.Random(seed)
    words = ['hello', 'w\u00f6rld', 'caf\u00e9', 'plain', 'line', 'Gr\u00fc\u00dfe',
             '\u00f1and\u00fa', 'x' * 80, '']

    def text():
        lines = [' '.join(rnd.choice(words) for _ in range(rnd.randint(0, 9)))
                 for _ in range(rnd.randint(0, 12))]
        return '\n'.join(lines) + rnd.choice(['', '\n'])

    def leaf(depth):
        r = rnd.random()
        if r < 0.4:
            cs = rnd.choice(['us-ascii', 'utf-8', 'iso-8859-1'])
            t = text()
            try:
                t.encode(cs)
            except UnicodeEncodeError:
                cs = 'utf-8'
            return MIMEText(t, rnd.choice(['plain', 'html']), cs)
        if r < 0.8 or depth <= 0:
            body = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 300)))
            a = MIMEApplication(body, rnd.choice(['pdf', 'octet-stream']))
            a.add_header('Content-Disposition',
                         rnd.choice(['attachment', 'inline']),
                         filename=rnd.choice(['a.pdf', 'Rechnung M\u00e4rz.pdf',
                                              'r\u00e9sum\u00e9 final.doc',
                                              'x' * 90 + '.bin']))
            if rnd.random() < 0.3:
                a.add_header('Content-ID', '<id%d@x>' % rnd.randint(1, 99))
            if rnd.random() < 0.3:
                a.add_header('Content-Description', 'about ' + rnd.choice(words))
            if rnd.random() < 0.2:
                a.add_header('Content-Language', rnd.choice(['en', 'de, fr']))
            return a
        return MIMEMessage(message(depth - 1))

    def part(depth):
        if depth <= 0 or rnd.random() < 0.4:
            return leaf(depth)
        m = MIMEMultipart(rnd.choice(['mixed', 'alternative', 'related']))
        if rnd.random() < 0.3:
            m.preamble = 'preamble text'
        if rnd.random() < 0.3:
            m.epilogue = 'epilogue'
        for _ in range(rnd.randint(1, 4)):
            m.attach(part(depth - 1))
        return m

    def message(depth):
        m = part(depth)
        m['From'] = utils.formataddr((rnd.choice(['J\u00f6rg M\u00fcller', 'Alice',
                                                   'Quoted, Name', '']),
                                      'u%d@example.com' % rnd.randint(1, 9)))
        m['To'] = ', '.join('r%d@example.org' % i for i in range(rnd.randint(1, 3)))
        if rnd.random() < 0.5:
            m['Cc'] = 'Group: a@b.c, "D E" <d@e.f>;'
        m['Subject'] = rnd.choice(['hi', 'Gr\u00fc\u00dfe aus M\u00fcnchen', 'a ' * 40])
        m['Date'] = utils.formatdate(1600000000 + rnd.randint(0, 10 ** 8))
        m['Message-ID'] = '<%d@example.com>' % rnd.randint(1, 10 ** 9)
        return m

    names = []
    for i in range(count):
        m = message(4)
        try:
            data = m.as_bytes(policy=policy.SMTP if i % 2 else policy.default)
        except UnicodeError:
            data = m.as_string().encode('utf-8', 'surrogateescape')
        name = os.path.join(dirname, 'gen%03d.eml' % i)
        with open(name, 'wb') as f:
            f.write(data)
        names.append(name)
    return names


def tokens(b):
    """An IMAP value as a list: parentheses, atoms, decoded strings."""
    out, i = [], 0
    while i < len(b):
        c = b[i:i + 1]
        if c == b' ':
            i += 1
        elif c in (b'(', b')'):
            out.append(c)
            i += 1
        elif c == b'"':
            i += 1
            s = bytearray()
            while i < len(b) and b[i:i + 1] != b'"':
                if b[i:i + 1] == b'\\':
                    i += 1
                s += b[i:i + 1]
                i += 1
            i += 1
            out.append(('S', bytes(s)))
        elif c == b'{':
            j = b.index(b'}', i)
            n = int(b[i + 1:j])
            out.append(('S', b[j + 3:j + 3 + n]))
            i = j + 3 + n
        else:
            j = i
            while j < len(b) and b[j:j + 1] not in (b' ', b'(', b')'):
                j += 1
            out.append(('A', b[i:j]))
            i = j
    return out


def value_end(buf, i):
    """Index just past the IMAP value (atom, string, list) at i."""
    depth = 0
    while True:
        c = buf[i:i + 1]
        if c == b'"':
            i += 1
            while i < len(buf) and buf[i:i + 1] != b'"':
                i += 2 if buf[i:i + 1] == b'\\' else 1
            i += 1
        elif c == b'{':
            j = buf.index(b'}', i)
            i = j + 3 + int(buf[i + 1:j])
        elif c == b'(':
            depth += 1
            i += 1
        elif c == b')':
            depth -= 1
            i += 1
        elif c == b' ':
            i += 1
            continue
        else:
            while buf[i:i + 1] not in (b' ', b'(', b')', b''):
                i += 1
        if depth == 0:
            return i


def parse_fetch(out):
    """{seq: {item name: raw value}} from untagged FETCH responses."""
    res, pos = {}, 0
    while True:
        k = out.find(b'* ', pos)
        if k < 0:
            return res
        sp = out.index(b' ', k + 2)
        if not out.startswith(b' FETCH (', sp):
            pos = out.index(b'\r\n', k) + 2
            continue
        seq, i, items = int(out[k + 2:sp]), sp + 8, {}
        while out[i:i + 1] != b')':
            j = i
            while out[j:j + 1] not in (b' ',):
                if out[j:j + 1] == b'[':
                    j = out.index(b']', j)
                j += 1
            name = out[i:j].decode()
            e = value_end(out, j + 1)
            items[name] = out[j + 1:e]
            i = e + 1 if out[e:e + 1] == b' ' else e
        res[seq] = items
        pos = i + 1


def run_dovecot(tmp, files, items):
    home = os.path.join(tmp, 'dovecot')
    md = os.path.join(home, 'Maildir')
    shutil.rmtree(home, ignore_errors=True)
    for d in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(md, d))
    for n, f in enumerate(files):
        shutil.copy(f, os.path.join(md, 'cur', '%d.M%dP1.test:2,' % (1000 + n, n)))
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0:
        # Dovecot refuses mail access as root: serve the Maildir as nobody.
        uid = gid = 65534
        for root, dirs, names in os.walk(home):
            for x in dirs + names:
                os.chown(os.path.join(root, x), uid, gid)
        os.chown(home, uid, gid)
    d = dovecot_imap.Session(tmp, md, uid, gid, user='mimetest', tz=None)
    command = d.command

    try:
        command(b'a', b'SELECT INBOX')
        out = command(b'b', ('FETCH 1:* (%s)' % items).encode())
        found = []
        for k, (key, _, needle) in enumerate(SEARCHES):
            v = needle.encode()
            res = command(b's%d' % k, b'SEARCH CHARSET UTF-8 %s {%d+}\r\n%s' % (
                key.encode(), len(v), v))
            m = re.search(rb'\* SEARCH([ 0-9]*)\r\n', res)
            found.append(set(int(x) for x in m.group(1).split()) if m else None)
    finally:
        d.close()
    return parse_fetch(out), found


def ours(tool, f, specs):
    out = subprocess.run([tool, f] + specs, stdout=subprocess.PIPE, check=True).stdout
    res, i = [], 0
    while i < len(out):
        j = out.index(b'\n', i)
        n = int(out[i:j].split()[1])
        res.append(out[j + 1:j + 1 + n])
        i = j + 2 + n
    return res


def main():
    if not os.access(DOVECOT_IMAP, os.X_OK):
        print('Dovecot (dovecot-imapd) not installed: comparison skipped')
        print('0 passed, 0 failed')
        return 0
    binary = os.environ.get('IMAPMOVED_BIN', '')
    variant = 'asan' if '/build/asan/' in binary else 'faults'
    tool = os.path.join(TOP, 'build', variant, 'tests', 'tools', 'mime-dump')
    tmp = tempfile.mkdtemp(prefix='mime-dovecot-')
    os.chmod(tmp, 0o755)
    try:
        files = sorted(os.path.join(TOP, 'tests', 'data', n)
                       for n in os.listdir(os.path.join(TOP, 'tests', 'data'))
                       if n.startswith('mime-') and n.endswith('.eml'))
        gen = os.path.join(tmp, 'gen')
        os.mkdir(gen)
        files += generate(gen, 150, 20261125)
        lf = os.path.join(tmp, 'lf')
        os.mkdir(lf)
        for f in list(files):
            g = os.path.join(lf, 'lf-' + os.path.basename(f))
            with open(f, 'rb') as src, open(g, 'wb') as dst:
                dst.write(src.read().replace(b'\r\n', b'\n'))
            files.append(g)
        names = ['ENVELOPE', 'BODY', 'BODYSTRUCTURE']
        names += ['BODY[%s]' % s for s in SECTIONS]
        names += ['BODY[%s]<%d>' % (s, o) for s, o, _ in PARTIALS]
        items = 'ENVELOPE BODY BODYSTRUCTURE '
        items += ' '.join('BODY.PEEK[%s]' % s for s in SECTIONS) + ' '
        items += ' '.join('BODY.PEEK[%s]<%d.%d>' % p for p in PARTIALS)
        specs = [s.replace(' (', ' ').replace(')', '') for s in SECTIONS]
        specs += ['%s<%d.%d>' % p for p in PARTIALS]
        specs += [q + needle for _, q, needle in SEARCHES]
        names += ['SEARCH %s %s' % (key, needle) for key, _, needle in SEARCHES]
        theirs, found = run_dovecot(tmp, files, items)
        passed = failed = 0
        for n, f in enumerate(files):
            mine = ours(tool, f, specs)
            bad = []
            for k, (name, value) in enumerate(zip(names, mine)):
                other = theirs.get(n + 1, {}).get(name)
                if (os.path.basename(f).replace('lf-', ''), name) in KNOWN:
                    continue
                if name.startswith('SEARCH '):
                    hits = found[k - len(names) + len(SEARCHES)]
                    other = b'1' if hits and n + 1 in hits else b'0'
                    if hits is None or value != other:
                        bad.append((name, value, other))
                    continue
                # Our sections are raw bytes, the rest IMAP values.
                want = [('S', value)] if k >= 3 else tokens(value)
                if other is None or tokens(other) != want:
                    bad.append((name, value, other))
            if bad:
                failed += 1
                name, value, other = bad[0]
                raw = name.startswith('BODY[') or name.startswith('SEARCH')
                a = [('S', value)] if raw else tokens(value)
                b = tokens(other or b'')
                at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y),
                          min(len(a), len(b)))
                print('FAIL %s %s at token %d\n  ours    %r\n  dovecot %r' % (
                    os.path.basename(f), name, at, a[max(0, at - 4):at + 4],
                    b[max(0, at - 4):at + 4]))
            else:
                passed += 1
        print('%d passed, %d failed' % (passed, failed))
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
