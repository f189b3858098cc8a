/* The response writer: status responses (RFC 3501 7.1), strings written as
 * atom, quoted string or literal by their content (RFC 3501 4.3, 9), and
 * the one mapping from store error kinds to RFC 5530 response codes.
 * Client text never goes through a format string here; everything reaches
 * the client through the session's write hook.
 */
#include "protocol/imap-private.h"

#include <string.h>
#include <strings.h>

/* Output is handed to the write hook once this much is buffered, and at
 * the end of every command. */
#define RESP_FLUSH_AT 16384

/* Longest string written quoted; longer ones go as literals. */
#define RESP_MAX_QUOTED 1024

/* resp-text-code: the RFC 5530 codes for the store's error kinds. This is
 * the one place they are chosen; TRYCREATE replaces NONEXISTENT for the
 * target of APPEND, COPY and MOVE (imap_cmd_store_error()). */
const char *
imap_resp_code_for(enum md_err kind)
{
	switch (kind) {
	case MD_ERR_NOTFOUND:
		return "NONEXISTENT";
	case MD_ERR_EXISTS:
		return "ALREADYEXISTS";
	case MD_ERR_PERM:
		return "NOPERM";
	case MD_ERR_LOCKED:
		return "INUSE";
	case MD_ERR_NOSPACE:
		return "OVERQUOTA";
	case MD_ERR_LIMIT:
		return "LIMIT";
	case MD_ERR_EXPUNGED:
		return "EXPUNGEISSUED";
	case MD_ERR_TOOBIG:
		return "TOOBIG";
	case MD_ERR_BADNAME:
	case MD_ERR_NOTALLOWED:
		return "CANNOT";
	case MD_ERR_NONE:
	case MD_ERR_INTERNAL:
		break;
	}
	return "SERVERBUG";
}

int
imap_resp_flush(struct imap_session *s)
{
	if (s->out.len > 0 && !s->write_failed &&
	    s->hooks->write(s->ctx, s->out.data, s->out.len) < 0)
		s->write_failed = true;
	buf_reset(&s->out);
	return s->write_failed ? -1 : 0;
}

void
imap_resp_raw(struct imap_session *s, const void *data, size_t len)
{
	if (s->write_failed)
		return;
	/* The output buffer has no maximum: it is flushed at
	 * RESP_FLUSH_AT, so it never holds much more than one response. */
	if (buf_append(&s->out, data, len) < 0)
		s->write_failed = true;
	if (s->out.len >= RESP_FLUSH_AT)
		(void)imap_resp_flush(s); /* a failure sets write_failed */
}

static const char *
kind_word(enum imap_resp_kind kind)
{
	switch (kind) {
	case IMAP_RESP_OK:
		return "OK";
	case IMAP_RESP_NO:
		return "NO";
	case IMAP_RESP_BAD:
		return "BAD";
	case IMAP_RESP_BYE:
		break;
	}
	return "BYE";
}

static void
status_line(struct imap_session *s, const char *tag, enum imap_resp_kind kind,
	    const char *code, const char *text)
{
	struct buf b;

	buf_init(&b, 0);
	if (buf_puts(&b, tag != NULL ? tag : "*") < 0 ||
	    buf_putc(&b, ' ') < 0 || buf_puts(&b, kind_word(kind)) < 0 ||
	    (code != NULL &&
	     (buf_puts(&b, " [") < 0 || buf_puts(&b, code) < 0 ||
	      buf_putc(&b, ']') < 0)) ||
	    buf_putc(&b, ' ') < 0 || buf_puts(&b, text) < 0 ||
	    buf_puts(&b, "\r\n") < 0)
		s->write_failed = true;
	else
		imap_resp_raw(s, b.data, b.len);
	buf_free(&b);
}

void
imap_resp_tagged(struct imap_session *s, const char *tag,
		 enum imap_resp_kind kind, const char *code, const char *text)
{
	if (kind == IMAP_RESP_BAD)
		s->bad_in_row++;
	else
		s->bad_in_row = 0;
	status_line(s, tag, kind, code, text);
}

void
imap_resp_untagged(struct imap_session *s, enum imap_resp_kind kind,
		   const char *code, const char *text)
{
	status_line(s, NULL, kind, code, text);
}

/* Should len bytes go out as a quoted string?
 * quoted          = DQUOTE *QUOTED-CHAR DQUOTE
 * QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
 *                   "\" quoted-specials                    (RFC 3501 9)
 * TEXT-CHAR allows control characters other than CR and LF, but clients
 * (and Dovecot, whose ENVELOPE output the MIME tests compare with) expect
 * them in literals: only printable ASCII is quoted. */
static bool
can_quote(const char *str, size_t len)
{
	size_t i;

	if (len > RESP_MAX_QUOTED)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

static int
put_quoted(struct buf *b, const char *str, size_t len)
{
	size_t i;

	if (buf_putc(b, '"') < 0)
		return -1;
	for (i = 0; i < len; i++) {
		if ((str[i] == '"' || str[i] == '\\') && buf_putc(b, '\\') < 0)
			return -1;
		if (buf_putc(b, str[i]) < 0)
			return -1;
	}
	return buf_putc(b, '"');
}

/* literal         = "{" number "}" CRLF *CHAR8             (RFC 3501 9)
 * CHAR8 excludes NUL: a NUL byte goes out as 0x80, as the NUL bytes of a
 * body section do. */
static int
put_literal(struct buf *b, const char *str, size_t len)
{
	const char *nul;

	if (buf_printf(b, "{%zu}\r\n", len) < 0)
		return -1;
	while (len > 0 && (nul = memchr(str, '\0', len)) != NULL) {
		size_t n = (size_t)(nul - str);

		if (buf_append(b, str, n) < 0 || buf_append(b, "\x80", 1) < 0)
			return -1;
		str += n + 1;
		len -= n + 1;
	}
	return buf_append(b, str, len);
}

int
imap_resp_string(struct buf *b, const char *str, size_t len)
{
	if (can_quote(str, len))
		return put_quoted(b, str, len);
	return put_literal(b, str, len);
}

int
imap_resp_nstring(struct buf *b, const char *str, size_t len)
{
	if (str == NULL)
		return buf_puts(b, "NIL");
	return imap_resp_string(b, str, len);
}

/* astring         = 1*ASTRING-CHAR / string                (RFC 3501 9) */
int
imap_resp_astring(struct buf *b, const char *str, size_t len)
{
	size_t i;

	if (len == 0 || (len == 3 && strncasecmp(str, "NIL", 3) == 0))
		return imap_resp_string(b, str, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];

		if (!imap_is_atom_char(c) && c != ']')
			return imap_resp_string(b, str, len);
	}
	return buf_append(b, str, len);
}

/* mailbox         = "INBOX" / astring                       (RFC 3501 9)
 * A UTF-8 name from the store, encoded in modified UTF-7 (5.1.3). */
int
imap_resp_mailbox(struct buf *b, const char *name)
{
	struct buf enc;
	int ret;

	buf_init(&enc, 0);
	ret = imap_utf8_to_utf7(name, strlen(name), &enc);
	if (ret == 0)
		ret = imap_resp_astring(b, enc.data != NULL ? enc.data : "",
					enc.len);
	buf_free(&enc);
	return ret;
}
