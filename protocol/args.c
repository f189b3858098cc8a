/* Typed getters over the argument tree (RFC 3501 section 9): astring,
 * string, nstring, numbers, sequence sets, mailbox names, date-time, date
 * and flag lists. Each failure is a static text for the tagged BAD. A NUL
 * byte is refused in every string, never truncated at (RFC 3501 9: CHAR8
 * excludes %x00), so "user\0x" can never become "user".
 */
#include "protocol/imap-private.h"

#include <string.h>
#include <strings.h>

#include "lib/num.h"

bool
imap_arg_is_nil(const struct imap_arg *arg)
{
	return imap_arg_is_atom(arg, "NIL");
}

bool
imap_arg_is_atom(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0 &&
	       arg->len == strlen(word);
}

static int
bad(const char **error_r, const char *text)
{
	*error_r = text;
	return -1;
}

/* string          = quoted / literal                       (RFC 3501 9) */
int
imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
		    size_t *len_r, const char **error_r)
{
	if (arg->type != IMAP_ARG_QUOTED && arg->type != IMAP_ARG_LITERAL)
		return bad(error_r, "Expected a string");
	if (memchr(arg->str, '\0', arg->len) != NULL)
		return bad(error_r, "NUL byte in string");
	*str_r = arg->str;
	*len_r = arg->len;
	return 0;
}

/* astring         = 1*ASTRING-CHAR / string
 * ASTRING-CHAR    = ATOM-CHAR / resp-specials              (RFC 3501 9) */
int
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
		     size_t *len_r, const char **error_r)
{
	size_t i;

	if (arg->type != IMAP_ARG_ATOM)
		return imap_arg_get_string(arg, str_r, len_r, error_r);
	for (i = 0; i < arg->len; i++) {
		unsigned char c = (unsigned char)arg->str[i];

		if (!imap_is_atom_char(c) && c != ']')
			return bad(error_r, "Invalid character in atom");
	}
	*str_r = arg->str;
	*len_r = arg->len;
	return 0;
}

/* nstring         = string / nil                           (RFC 3501 9) */
int
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
		     size_t *len_r, const char **error_r)
{
	if (imap_arg_is_nil(arg)) {
		*str_r = NULL;
		*len_r = 0;
		return 0;
	}
	return imap_arg_get_string(arg, str_r, len_r, error_r);
}

/* number          = 1*DIGIT
 *                     ; Unsigned 32-bit integer (0 <= n < 4,294,967,296)
 *                                                          (RFC 3501 9) */
int
imap_arg_get_number(const struct imap_arg *arg, uint32_t *n_r,
		    const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return bad(error_r, "Expected a number");
	if (num_parse_u32(arg->str, arg->len, n_r) < 0)
		return bad(error_r, "Invalid number (0 to 4294967295)");
	return 0;
}

/* nz-number       = digit-nz *DIGIT                        (RFC 3501 9) */
int
imap_arg_get_nz_number(const struct imap_arg *arg, uint32_t *n_r,
		       const char **error_r)
{
	if (imap_arg_get_number(arg, n_r, error_r) < 0)
		return -1;
	if (*n_r == 0 || arg->str[0] == '0')
		return bad(error_r, "Invalid number (1 to 4294967295)");
	return 0;
}

int
imap_arg_get_seqset(struct arena *a, const struct imap_arg *arg,
		    struct imap_seqset *set_r, const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(a, arg->str, arg->len, set_r) < 0)
		return bad(error_r, "Invalid sequence set");
	return 0;
}

/* mailbox         = "INBOX" / astring
 *                     ; INBOX is case-insensitive.          (RFC 3501 9)
 * Other names are modified UTF-7 (RFC 3501 5.1.3), returned as UTF-8. */
int
imap_arg_get_mailbox(struct arena *a, const struct imap_arg *arg,
		     const char **name_r, const char **error_r)
{
	const char *s;
	size_t len;
	struct buf b;

	if (imap_arg_get_astring(arg, &s, &len, error_r) < 0)
		return -1;
	if (len == 5 && strncasecmp(s, "INBOX", 5) == 0) {
		*name_r = "INBOX";
		return 0;
	}
	buf_init(&b, 0);
	if (imap_utf7_to_utf8(s, len, &b) < 0) {
		buf_free(&b);
		return bad(error_r, "Invalid modified UTF-7 in mailbox name");
	}
	*name_r = arena_strndup(a, buf_cstr(&b), b.len);
	buf_free(&b);
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the classic
 * days-from-civil computation). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Read n digits at s into *v. */
static bool
digits(const char *s, size_t n, unsigned *v_r)
{
	uint32_t v;

	if (num_parse_u32(s, n, &v) < 0)
		return false;
	*v_r = v;
	return true;
}

/* date-month "-" date-year, then check the day is in that month. Sets
 * *days_r. s points at the month. */
static bool
month_year(const char *s, unsigned day, int64_t *days_r)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31};
	unsigned m, y, max;

	for (m = 0; m < 12; m++) {
		if (strncasecmp(s, months[m], 3) == 0)
			break;
	}
	if (m == 12 || s[3] != '-' || !digits(s + 4, 4, &y))
		return false;
	max = mdays[m] + (m == 1 && is_leap(y));
	if (day < 1 || day > max)
		return false;
	*days_r = days_from_civil(y, m + 1, day);
	return true;
}

/* date-time       = DQUOTE date-day-fixed "-" date-month "-" date-year
 *                   SP time SP zone DQUOTE
 * date-day-fixed  = (SP DIGIT) / 2DIGIT
 * time            = 2DIGIT ":" 2DIGIT ":" 2DIGIT
 * zone            = ("+" / "-") 4DIGIT                     (RFC 3501 9) */
int
imap_arg_get_datetime(const struct imap_arg *arg, time_t *t_r,
		      int *tz_minutes_r, const char **error_r)
{
	const char *s = arg->str;
	unsigned day, hh, mm, ss, zh, zm;
	int64_t days;
	int tz;

	/* "dd-Mon-yyyy hh:mm:ss +zzzz" is 26 bytes. */
	if (arg->type != IMAP_ARG_QUOTED || arg->len != 26)
		return bad(error_r, "Invalid date-time");
	if (!(s[0] == ' ' ? digits(s + 1, 1, &day) : digits(s, 2, &day)) ||
	    s[2] != '-' || !month_year(s + 3, day, &days) || s[11] != ' ' ||
	    !digits(s + 12, 2, &hh) || s[14] != ':' ||
	    !digits(s + 15, 2, &mm) || s[17] != ':' ||
	    !digits(s + 18, 2, &ss) || s[20] != ' ' ||
	    (s[21] != '+' && s[21] != '-') || !digits(s + 22, 2, &zh) ||
	    !digits(s + 24, 2, &zm))
		return bad(error_r, "Invalid date-time");
	if (hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return bad(error_r, "Invalid date-time");
	tz = (int)(zh * 60 + zm) * (s[21] == '-' ? -1 : 1);
	*t_r = (time_t)(days * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 +
			ss) -
	       (time_t)tz * 60;
	*tz_minutes_r = tz;
	return 0;
}

/* date            = date-text / DQUOTE date-text DQUOTE
 * date-text       = date-day "-" date-month "-" date-year
 * date-day        = 1*2DIGIT                               (RFC 3501 9) */
int
imap_arg_get_date(const struct imap_arg *arg, time_t *t_r, const char **error_r)
{
	const char *s = arg->str;
	size_t dlen;
	unsigned day;
	int64_t days;

	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED)
		return bad(error_r, "Invalid date");
	dlen = arg->len == 10 ? 1 : 2;
	if ((arg->len != 10 && arg->len != 11) || !digits(s, dlen, &day) ||
	    s[dlen] != '-' || !month_year(s + dlen + 1, day, &days))
		return bad(error_r, "Invalid date");
	*t_r = (time_t)(days * 86400);
	return 0;
}

static const struct {
	const char *name;
	enum imap_flag flag;
} system_flags[] = {
	{"\\Answered", IMAP_FLAG_ANSWERED}, {"\\Flagged", IMAP_FLAG_FLAGGED},
	{"\\Deleted", IMAP_FLAG_DELETED},   {"\\Seen", IMAP_FLAG_SEEN},
	{"\\Draft", IMAP_FLAG_DRAFT},
};

/* flag            = "\Answered" / "\Flagged" / "\Deleted" /
 *                   "\Seen" / "\Draft" / flag-keyword / flag-extension
 * flag-keyword    = atom
 * flag-extension  = "\" atom                               (RFC 3501 9) */
static int
add_flag(const struct imap_arg *f, struct imap_flags *flags,
	 const char **error_r)
{
	size_t i;

	if (f->type != IMAP_ARG_ATOM)
		return bad(error_r, "Invalid flag");
	if (f->str[0] == '\\') {
		for (i = 0; i < sizeof(system_flags) / sizeof(*system_flags);
		     i++) {
			if (strcasecmp(f->str, system_flags[i].name) == 0) {
				flags->system |= system_flags[i].flag;
				return 0;
			}
		}
		return bad(error_r, "Unknown or unsettable system flag");
	}
	for (i = 0; i < f->len; i++) {
		if (!imap_is_atom_char((unsigned char)f->str[i]))
			return bad(error_r, "Invalid keyword");
	}
	flags->keywords[flags->keyword_count++] = f->str;
	return 0;
}

/* flag-list       = "(" [flag *(SP flag)] ")"              (RFC 3501 9) */
int
imap_arg_get_flag_list(struct arena *a, const struct imap_arg *arg,
		       struct imap_flags *flags_r, const char **error_r)
{
	unsigned i;

	if (arg->type != IMAP_ARG_LIST)
		return bad(error_r, "Expected a flag list");
	flags_r->system = 0;
	flags_r->keyword_count = 0;
	flags_r->keywords = arena_calloc(a, arg->count, sizeof(char *));
	for (i = 0; i < arg->count; i++) {
		if (add_flag(&arg->list[i], flags_r, error_r) < 0)
			return -1;
	}
	return 0;
}
