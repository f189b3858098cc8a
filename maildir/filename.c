/* Maildir file names: unique base names ("time.M<usec>P<pid>Q<n>.host,S=
 * size", as the Maildir spec describes, plus the Maildir++ size) and the
 * ":2,<flags>" info: upper-case system flags and lower-case keyword letters
 * in ASCII order. Pure string work: never touches the filesystem. */
#include "maildir-private.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/num.h"

/* The digits after ",<tag>=" at s (which points at the tag letter),
 * ended by ',' or the end of the base name. */
static bool
parse_value(const char *s, const char *end, size_t *v_r)
{
	const char *d;
	uint64_t n;

	s += 2;
	for (d = s; d < end && *d >= '0' && *d <= '9'; d++)
		;
	if (d == s || (d != end && *d != ',') ||
	    num_parse_u64(s, (size_t)(d - s), SIZE_MAX, &n) < 0)
		return false;
	*v_r = (size_t)n;
	return true;
}

/* ",S=<digits>" (the file size) and ",W=<digits>" (the size with CRLF
 * line ends) inside the base name, the first valid one of each, in one
 * pass over the commas (this runs for every message of every sync). */
static void
parse_fields(struct md_fname *f)
{
	const char *p = f->base, *end = f->base + f->base_len;

	while (p < end && (p = memchr(p, ',', (size_t)(end - p))) != NULL) {
		p++;
		if (end - p < 2 || p[1] != '=')
			continue;
		if (p[0] == 'S' && !f->has_size)
			f->has_size = parse_value(p, end, &f->size);
		else if (p[0] == 'W' && !f->has_vsize)
			f->has_vsize = parse_value(p, end, &f->vsize);
	}
}

void
md_fname_parse(const char *name, struct md_fname *f)
{
	const char *colon = strchr(name, ':');
	const char *p;

	memset(f, 0, sizeof(*f));
	f->base = name;
	f->base_len = colon ? (size_t)(colon - name) : strlen(name);
	parse_fields(f);
	if (colon == NULL || strncmp(colon, ":2,", 3) != 0)
		return;
	for (p = colon + 3; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			f->flags |= MD_FLAG_LETTER(*p);
		else if (*p >= 'a' && *p <= 'z')
			f->keywords |= 1u << (*p - 'a');
	}
}

int
md_fname_build(const char *base, size_t base_len, uint32_t flags,
	       uint32_t keywords, char *out, size_t outsize)
{
	size_t o;
	int i;

	/* base, ":2,", at most 52 letters and the NUL. */
	if (base_len > outsize || outsize - base_len < 3 + 52 + 1)
		return -1;
	memcpy(out, base, base_len);
	o = base_len;
	memcpy(out + o, ":2,", 3);
	o += 3;
	for (i = 0; i < 26; i++)
		if (flags & (1u << i))
			out[o++] = (char)('A' + i);
	for (i = 0; i < 26; i++)
		if (keywords & (1u << i))
			out[o++] = (char)('a' + i);
	out[o] = '\0';
	return 0;
}

/* The host name with '/' and ':' escaped as the Maildir spec asks. */
static void
safe_host(char *out, size_t outsize)
{
	char host[256];
	size_t i, o = 0;

	if (gethostname(host, sizeof(host)) < 0)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && o + 5 < outsize; i++) {
		if (host[i] == '/' || host[i] == ':' || host[i] == ',') {
			(void)snprintf(out + o, outsize - o, "\\%03o",
				       (unsigned char)host[i]);
			o += 4;
		} else {
			out[o++] = host[i];
		}
	}
	out[o] = '\0';
}

int
md_fname_unique(size_t size, size_t vsize, char *out, size_t outsize)
{
	static unsigned counter;
	struct timeval tv;
	char host[128], w[32] = "";
	int n;

	(void)gettimeofday(&tv, NULL);
	safe_host(host, sizeof(host));
	if (vsize > 0)
		(void)snprintf(w, sizeof(w), ",W=%zu", vsize);
	n = snprintf(out, outsize, "%lld.M%06ldP%ldQ%u.%s,S=%zu%s",
		     (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
		     ++counter, host, size, w);
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}
