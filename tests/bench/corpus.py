#!/usr/bin/python3
"""Deterministic corpus of realistic messages for `make bench`.

Message i depends only on (seed, i), so the first 10,000 messages of a
100,000-message corpus are the 10,000-message corpus. Sizes run from 1 KB to
a few hundred KB with a long tail (log-normal body, attachments on about one
message in six); headers look like real mail (Received, Return-Path, From,
To, Cc, Subject, Date, Message-ID, In-Reply-To, References, List-Id, MIME);
Message-IDs are distinct; file names carry ",S=" and ",W=" sizes and flags
(":2,S", ":2,FS", ...), and a few messages sit in new/.

As a program: corpus.py DIR COUNT [SEED] writes a Maildir (cur/ new/ tmp/)
and prints the time it took. The harness imports write_maildir().
"""

import base64
import os
import random
import sys
import time

VERSION = 1  # bump when the output changes, so cached corpora are rebuilt

FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert",
         "Sybil", "Trent", "Victor", "Walter", "Yolanda", "Zoltan", "Agnes",
         "Bertrand", "Chloé", "Dmitri", "Elena", "Farid", "Gunnar", "Hana",
         "Ines", "Jürgen", "Kenji", "Lucía", "Marek", "Nadia", "Oskar"]
LAST = ["Anderson", "Baker", "Castillo", "Dubois", "Eriksen", "Fischer",
        "García", "Hoffmann", "Ivanova", "Jensen", "Kowalski", "Lindqvist",
        "Moreau", "Nakamura", "O'Brien", "Petrov", "Quinn", "Rossi",
        "Schmidt", "Tanaka", "Urbanski", "Varga", "Weber", "Xu", "Young",
        "Zimmermann"]
DOMAINS = ["example.org", "example.com", "example.net", "mail.example.org",
           "lists.example.net", "corp.example.com", "uni.example.edu",
           "shop.example.co.uk", "dev.example.io"]
LISTS = ["announce", "devel", "users", "security", "jobs", "events"]
WORDS = ("the of and to in is for that on with as was it be by this are "
         "from at or an have not which has but were their all been will one "
         "more can also its other after some would these new first about "
         "meeting report budget invoice quarterly schedule release draft "
         "review project customer server backup network printer holiday "
         "contract delivery payment update agenda minutes proposal design "
         "migration deadline feedback question answer thanks please regards "
         "attached document figures summary weekly monthly office training "
         "security patch outage incident ticket support order shipment "
         "account password travel hotel flight conference slides notes "
         "photos lunch coffee team manager director sales marketing legal "
         "finance audit analysis forecast target plan risk issue test").split()
SUBJECT_WORDS = WORDS[40:]
ATTACH = [("application/pdf", "pdf"), ("image/jpeg", "jpg"),
          ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
          ("application/zip", "zip"), ("image/png", "png"),
          ("application/msword", "doc")]
MAILERS = ["Mozilla Thunderbird 115.4.1", "Evolution 3.46.4",
           "Apple Mail (2.3731.700.6)", "Microsoft Outlook 16.0",
           "Mutt/2.2.9 (2022-11-12)", "Roundcube Webmail/1.6.5",
           "K-9 Mail for Android", "Claws Mail 4.1.1"]
FLAG_CHOICES = [("S", 55), ("", 25), ("FS", 5), ("RS", 8), ("F", 2),
                ("DS", 1), ("ST", 2), ("new", 2)]
BASE_TIME = 1672531200  # 2023-01-01 00:00:00 UTC; dates span two years
SPAN = 2 * 365 * 86400
SEARCH_FROM = "zimmermann"  # a last name: about 1 message in 26 matches
SEARCH_TEXT = "zeppelin"    # put into about 3 bodies in 100

_pool = {}


def _pools(seed):
    """Big shared pools of text and bytes, built once per seed, from which
    each message takes slices (fast, and still deterministic)."""
    if seed in _pool:
        return _pool[seed]
    rng = random.Random("pool:%d" % seed)
    lines = []
    for _ in range(40000):
        n = rng.randint(4, 14)
        line = " ".join(rng.choice(WORDS) for _ in range(n))
        lines.append(line[0].upper() + line[1:] + rng.choice(".,;:!?."))
        if rng.random() < 0.12:
            lines.append("")
    text = "\n".join(lines) + "\n"
    blob = rng.randbytes(1 << 20)
    _pool[seed] = (text, blob)
    return _pool[seed]


def _person(rng):
    first = rng.choice(FIRST)
    last = rng.choice(LAST)
    local = (first + "." + last).lower().replace("'", "")
    local = local.encode("ascii", "ignore").decode()
    return first, last, "%s@%s" % (local, rng.choice(DOMAINS))


def _addr(rng):
    first, last, email = _person(rng)
    if rng.random() < 0.15:
        return email
    name = "%s %s" % (first, last)
    if not name.isascii():
        enc = base64.b64encode(name.encode()).decode()
        name = "=?UTF-8?B?%s?=" % enc
    elif "'" in name:
        name = '"%s"' % name
    return "%s <%s>" % (name, email)


def _rfc2822(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


def _body_text(rng, text, size):
    start = rng.randrange(0, len(text) - 1)
    start = text.find("\n", start) + 1
    out = []
    need = size
    while need > 0:
        chunk = text[start:start + need]
        if not chunk:
            start = 0
            continue
        out.append(chunk)
        need -= len(chunk)
        start = 0
    body = "".join(out)
    cut = body.rfind("\n")
    return body[:cut + 1] if cut > 0 else body + "\n"


def message(seed, i):
    """Return (bytes, flags, unix_time, in_new) for message i."""
    text, blob = _pools(seed)
    rng = random.Random("msg:%d:%d" % (seed, i))
    t = BASE_TIME + rng.randrange(SPAN)
    sender = _addr(rng)
    sender_email = sender.split("<")[-1].rstrip(">")
    dom = rng.choice(DOMAINS)
    msgid = "<%d.%08x.%d@%s>" % (t, rng.getrandbits(32), i, dom)
    subj = " ".join(rng.choice(SUBJECT_WORDS) for _ in range(rng.randint(2, 7)))
    subj = subj[0].upper() + subj[1:]
    is_reply = rng.random() < 0.35
    if is_reply:
        subj = "Re: " + subj
    is_list = rng.random() < 0.2
    if is_list:
        subj = "[%s] %s" % (rng.choice(LISTS), subj)
    h = []
    h.append("Return-Path: <%s>" % sender_email)
    hops = rng.randint(1, 3)
    for k in range(hops):
        h.append("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n"
                 "\tby mail.example.org (Postfix) with ESMTPS id %08X\n"
                 "\tfor <me@example.org>; %s"
                 % (k + 1, dom, k + 1, dom, rng.randint(1, 254),
                    rng.getrandbits(32), _rfc2822(t - 5 * k)))
    h.append("From: %s" % sender)
    tos = ", ".join(_addr(rng) for _ in range(rng.choice([1, 1, 1, 2, 3])))
    h.append("To: %s" % tos)
    if rng.random() < 0.25:
        h.append("Cc: %s" % ", ".join(_addr(rng)
                                       for _ in range(rng.randint(1, 4))))
    h.append("Subject: %s" % subj)
    h.append("Date: %s" % _rfc2822(t))
    h.append("Message-ID: %s" % msgid)
    if is_reply:
        ref = "<%d.%08x@%s>" % (t - rng.randrange(1, 86400 * 30),
                                rng.getrandbits(32), rng.choice(DOMAINS))
        h.append("In-Reply-To: %s" % ref)
        h.append("References: %s" % ref)
    if is_list:
        lst = rng.choice(LISTS)
        h.append("List-Id: %s list <%s.lists.example.net>" % (lst, lst))
        h.append("List-Unsubscribe: <mailto:%s-leave@lists.example.net>" % lst)
    h.append("X-Mailer: %s" % rng.choice(MAILERS))
    h.append("MIME-Version: 1.0")
    # Body sizes: log-normal, median about 3 KB, long tail, capped.
    body_size = int(min(max(rng.lognormvariate(8.0, 1.1), 400), 250000))
    body = _body_text(rng, text, body_size)
    if rng.random() < 0.03:
        body = "The %s arrived on time.\n" % SEARCH_TEXT + body
    if rng.random() < 0.16:
        boundary = "=_bench_%08x" % rng.getrandbits(32)
        h.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
        parts = ["This is a multi-part message in MIME format.\n",
                 "--%s\nContent-Type: text/plain; charset=utf-8\n"
                 "Content-Transfer-Encoding: 8bit\n\n%s" % (boundary, body)]
        for _ in range(rng.choice([1, 1, 1, 2])):
            ctype, ext = rng.choice(ATTACH)
            n = int(min(max(rng.lognormvariate(10.0, 1.0), 2000), 300000))
            off = rng.randrange(0, len(blob) - n) if n < len(blob) else 0
            data = base64.encodebytes(blob[off:off + n]).decode()
            name = "%s-%d.%s" % (rng.choice(SUBJECT_WORDS), i, ext)
            parts.append("--%s\nContent-Type: %s; name=\"%s\"\n"
                         "Content-Disposition: attachment; filename=\"%s\"\n"
                         "Content-Transfer-Encoding: base64\n\n%s"
                         % (boundary, ctype, name, name, data))
        parts.append("--%s--\n" % boundary)
        body = "\n".join(parts)
    else:
        h.append("Content-Type: text/plain; charset=utf-8; format=flowed")
        h.append("Content-Transfer-Encoding: 8bit")
    raw = ("\n".join(h) + "\n\n" + body).encode()
    # Pad small messages up to 1 KB with a signature, as real mail has.
    if len(raw) < 1024:
        raw += b"\n-- \n" + b"Sent from the bench corpus.\n" * (
            (1024 - len(raw)) // 28 + 1)
    r = rng.randrange(100)
    acc = 0
    flags = ""
    for f, weight in FLAG_CHOICES:
        acc += weight
        if r < acc:
            flags = f
            break
    in_new = flags == "new"
    return raw, ("" if in_new else flags), t, in_new


def file_name(i, raw, flags, t, in_new):
    """Maildir++ name as Dovecot and imapmoved write it."""
    vsize = len(raw) + raw.count(b"\n")
    base = "%d.M%06dP%dQ%d.benchhost,S=%d,W=%d" % (
        t, (i * 7919) % 1000000, 4000 + i % 5000, i, len(raw), vsize)
    if in_new:
        return "new/" + base
    return "cur/%s:2,%s" % (base, flags)


def write_maildir(path, count, seed=9, start=0, uid=-1, gid=-1):
    """Write messages start..count-1 into the Maildir at path (created with
    cur/ new/ tmp/); return the list of relative names written."""
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    names = []
    for i in range(start, count):
        raw, flags, t, in_new = message(seed, i)
        rel = file_name(i, raw, flags, t, in_new)
        full = os.path.join(path, rel)
        with open(full, "wb") as f:
            f.write(raw)
        os.utime(full, (t, t))
        if uid >= 0:
            os.chown(full, uid, gid)
        names.append(rel)
    return names


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: corpus.py DIR COUNT [SEED]")
    t0 = time.time()
    names = write_maildir(sys.argv[1], int(sys.argv[2]),
                          int(sys.argv[3]) if len(sys.argv) > 3 else 9)
    total = sum(os.path.getsize(os.path.join(sys.argv[1], n)) for n in names)
    print("%d messages, %.1f MB, %.1f s" % (len(names), total / 1e6,
                                            time.time() - t0))


if __name__ == "__main__":
    main()
