/* Unit tests for server/tls.c: certificate and key loading with its error
 * texts, and server handshakes against a GnuTLS client forked on the other
 * end of a socketpair (or a pipe pair, as under inetd), including clients
 * that are refused, send garbage, hang up or stay silent. The certificates
 * are generated at test time in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "lib/io.h"
#include "server/tls.h"

/* 2000-01-01, 2001-01-01, 2090-01-01 and 2091-01-01, 00:00:00 UTC. */
#define T_2000 ((time_t)946684800)
#define T_2001 ((time_t)978307200)
#define T_2090 ((time_t)3786912000)
#define T_2091 ((time_t)3818448000)

/* A generous bound for handshakes that should finish at once: a test that
 * hits it fails instead of hanging. */
#define HS_LIMIT 20

static char dir[64];
/* An ECDSA P-256 and an RSA 2048 server, both for localhost. */
static struct tls_ctx *ctx;
static struct tls_ctx *ctx_rsa;
/* A leaf signed by a test CA, sent with the CA. */
static struct tls_ctx *ctx_chain;

static const char *
fixture(const char *name)
{
	static char paths[8][128];
	static unsigned next;
	char *p = paths[next++ % 8];

	(void)snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static void
write_datum(const char *name, const gnutls_datum_t *d, mode_t mode)
{
	int fd = open(fixture(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      mode);

	assert_true(fd >= 0);
	assert_int_equal(io_write_all(fd, d->data, d->size), 0);
	assert_int_equal(close(fd), 0);
}

static gnutls_x509_privkey_t
make_key(const char *name)
{
	gnutls_x509_privkey_t k;
	gnutls_datum_t out;

	assert_int_equal(gnutls_x509_privkey_init(&k), 0);
	assert_int_equal(
		gnutls_x509_privkey_generate(
			k, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
		0);
	assert_int_equal(
		gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &out), 0);
	write_datum(name, &out, 0600);
	gnutls_free(out.data);
	return k;
}

static gnutls_x509_privkey_t
make_rsa_key(const char *name)
{
	gnutls_x509_privkey_t k;
	gnutls_datum_t out;

	assert_int_equal(gnutls_x509_privkey_init(&k), 0);
	assert_int_equal(
		gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, 2048, 0), 0);
	assert_int_equal(
		gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &out), 0);
	write_datum(name, &out, 0600);
	gnutls_free(out.data);
	return k;
}

/* The same key, encrypted with a passphrase in PKCS #8. */
static void
make_encrypted_key(const char *name, gnutls_x509_privkey_t k)
{
	gnutls_datum_t out;

	assert_int_equal(gnutls_x509_privkey_export2_pkcs8(
				 k, GNUTLS_X509_FMT_PEM, "secret",
				 GNUTLS_PKCS_PBES2_AES_256, &out),
			 0);
	write_datum(name, &out, 0600);
	gnutls_free(out.data);
}

/* A certificate for cn with key k, valid from..until, signed by issuer
 * (with issuer_key), or self-signed when issuer is NULL. A CA certificate
 * may sign others. The caller frees it. */
static gnutls_x509_crt_t
new_cert(const char *cn, gnutls_x509_privkey_t k, time_t from, time_t until,
	 bool is_ca, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuer_key)
{
	static unsigned char serial = 1;
	gnutls_x509_crt_t c;

	assert_int_equal(gnutls_x509_crt_init(&c), 0);
	assert_int_equal(gnutls_x509_crt_set_version(c, 3), 0);
	serial++;
	assert_int_equal(gnutls_x509_crt_set_serial(c, &serial, 1), 0);
	assert_int_equal(gnutls_x509_crt_set_activation_time(c, from), 0);
	assert_int_equal(gnutls_x509_crt_set_expiration_time(c, until), 0);
	assert_int_equal(
		gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0,
					      cn, (unsigned int)strlen(cn)),
		0);
	assert_int_equal(gnutls_x509_crt_set_subject_alt_name(
				 c, GNUTLS_SAN_DNSNAME, cn,
				 (unsigned int)strlen(cn), GNUTLS_FSAN_SET),
			 0);
	assert_int_equal(gnutls_x509_crt_set_basic_constraints(c, is_ca, -1),
			 0);
	if (is_ca)
		assert_int_equal(
			gnutls_x509_crt_set_key_usage(
				c, GNUTLS_KEY_KEY_CERT_SIGN |
					   GNUTLS_KEY_DIGITAL_SIGNATURE),
			0);
	assert_int_equal(gnutls_x509_crt_set_key(c, k), 0);
	assert_int_equal(gnutls_x509_crt_sign2(c, issuer != NULL ? issuer : c,
					       issuer != NULL ? issuer_key : k,
					       GNUTLS_DIG_SHA256, 0),
			 0);
	return c;
}

/* Write the certificates as one PEM file, in the order given. */
static void
write_certs(const char *name, gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
	gnutls_x509_crt_t both[2] = {a, b};
	gnutls_datum_t out;
	char *all = NULL;
	size_t len = 0, i;

	for (i = 0; i < 2 && both[i] != NULL; i++) {
		assert_int_equal(gnutls_x509_crt_export2(
					 both[i], GNUTLS_X509_FMT_PEM, &out),
				 0);
		all = realloc(all, len + out.size);
		assert_non_null(all);
		memcpy(all + len, out.data, out.size);
		len += out.size;
		gnutls_free(out.data);
	}
	out.data = (unsigned char *)all;
	out.size = (unsigned int)len;
	write_datum(name, &out, 0644);
	free(all);
}

/* A self-signed certificate for localhost, valid from..until. */
static void
make_cert(const char *name, gnutls_x509_privkey_t k, time_t from, time_t until)
{
	gnutls_x509_crt_t c =
		new_cert("localhost", k, from, until, false, NULL, NULL);

	write_certs(name, c, NULL);
	gnutls_x509_crt_deinit(c);
}

/* A test CA and a leaf for localhost signed by it, written leaf first
 * (as the server sends it) and in the wrong order. */
static void
make_chain(const char *sorted, const char *unsorted, gnutls_x509_privkey_t k,
	   time_t now)
{
	gnutls_x509_privkey_t ca_key = make_key("ca-key.pem");
	gnutls_x509_crt_t ca, leaf;

	ca = new_cert("imapmoved test CA", ca_key, now - 86400,
		      now + (time_t)86400 * 365, true, NULL, NULL);
	leaf = new_cert("localhost", k, now - 86400, now + (time_t)86400 * 365,
			false, ca, ca_key);
	write_certs("ca.pem", ca, NULL);
	write_certs(sorted, leaf, ca);
	write_certs(unsorted, ca, leaf);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(ca_key);
}

static void
write_text(const char *name, const char *text)
{
	gnutls_datum_t d;

	d.data = (unsigned char *)(uintptr_t)text;
	d.size = (unsigned int)strlen(text);
	write_datum(name, &d, 0644);
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int
setup_group(void **state)
{
	gnutls_x509_privkey_t k, other, rsa;
	time_t now = time(NULL);
	char err[256];

	(void)state;
	assert_int_equal(tls_global_init(), 0);
	(void)snprintf(dir, sizeof(dir), "/tmp/test-tls.XXXXXX");
	assert_non_null(mkdtemp(dir));
	k = make_key("key.pem");
	other = make_key("other-key.pem");
	make_cert("cert.pem", k, now - 86400, now + (time_t)86400 * 365);
	make_cert("expired.pem", k, T_2000, T_2001);
	make_cert("future.pem", k, T_2090, T_2091);
	make_chain("chain.pem", "chain-unsorted.pem", k, now);
	write_text("garbage.pem", "this is not a certificate\n");
	write_text("empty.pem", "");
	make_encrypted_key("encrypted-key.pem", k);
	rsa = make_rsa_key("rsa-key.pem");
	make_cert("rsa-cert.pem", rsa, now - 86400, now + (time_t)86400 * 365);
	gnutls_x509_privkey_deinit(k);
	gnutls_x509_privkey_deinit(other);
	gnutls_x509_privkey_deinit(rsa);
	if (tls_ctx_load(fixture("cert.pem"), fixture("key.pem"), NULL, &ctx,
			 err, sizeof(err)) < 0 ||
	    tls_ctx_load(fixture("rsa-cert.pem"), fixture("rsa-key.pem"), NULL,
			 &ctx_rsa, err, sizeof(err)) < 0 ||
	    tls_ctx_load(fixture("chain.pem"), fixture("key.pem"), NULL,
			 &ctx_chain, err, sizeof(err)) < 0) {
		(void)fprintf(stderr, "fixture: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown_group(void **state)
{
	(void)state;
	tls_ctx_free(&ctx);
	tls_ctx_free(&ctx_rsa);
	tls_ctx_free(&ctx_chain);
	if (nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) < 0)
		(void)fprintf(stderr, "cannot remove %s: %s\n", dir,
			      strerror(errno));
	tls_global_deinit();
	return 0;
}

/* With TEST_TLS_VERBOSE set, print each error text for a reader to judge. */
static void
show(const char *name, const char *err)
{
	if (getenv("TEST_TLS_VERBOSE") != NULL)
		printf("  %s: %s\n", name, err);
}

/* --- Loading: the texts that `imapmoved -t` shows an administrator. --- */

struct load_case {
	const char *name;
	const char *cert;
	const char *key;
	const char *priority;
	/* NULL: loading succeeds; else every string must be in the error. */
	const char *err1;
	const char *err2;
};

static const struct load_case load_cases[] = {
	{"good_pair_loads", "cert.pem", "key.pem", NULL, NULL, NULL},
	{"chain_leaf_first_loads", "chain.pem", "key.pem", NULL, NULL, NULL},
	{"chain_out_of_order_refused", "chain-unsorted.pem", "key.pem", NULL,
	 "chain-unsorted.pem: chain out of order", NULL},
	{"good_pair_with_own_priority_loads", "cert.pem", "key.pem",
	 "SECURE256:-VERS-ALL:+VERS-TLS1.3", NULL, NULL},
	{"missing_cert_names_file_and_errno", "nonexistent.pem", "key.pem",
	 NULL, "tls_cert ", "nonexistent.pem: No such file or directory"},
	{"missing_key_names_file_and_errno", "cert.pem", "nokey.pem", NULL,
	 "tls_key ", "nokey.pem: No such file or directory"},
	{"unreadable_cert_names_file_and_errno", ".", "key.pem", NULL,
	 "tls_cert ", "Is a directory"},
	{"mismatched_key_refused", "cert.pem", "other-key.pem", NULL,
	 "certificate and key do not match", "other-key.pem"},
	{"expired_cert_refused_with_dates", "expired.pem", "key.pem", NULL,
	 "expired on 2001-01-01 00:00:00 UTC",
	 "valid from 2000-01-01 00:00:00 UTC"},
	{"future_cert_refused_with_dates", "future.pem", "key.pem", NULL,
	 "not yet valid",
	 "valid from 2090-01-01 00:00:00 UTC until "
	 "2091-01-01 00:00:00 UTC"},
	{"garbage_cert_refused", "garbage.pem", "key.pem", NULL,
	 "garbage.pem: no PEM certificate found", NULL},
	{"empty_cert_refused", "empty.pem", "key.pem", NULL,
	 "empty.pem: no PEM certificate found", NULL},
	{"cert_given_as_key_refused", "cert.pem", "cert.pem", NULL, "tls_key ",
	 "cert.pem: no PEM private key found"},
	{"encrypted_key_refused", "cert.pem", "encrypted-key.pem", NULL,
	 "encrypted-key.pem: the key is encrypted", NULL},
	{"bad_priority_keyword_reports_position", "cert.pem", "key.pem",
	 "SECURE128:+NOSUCHTHING", "tls_priority \"SECURE128:+NOSUCHTHING\"",
	 "bad syntax at position 11 (\"+NOSUCHTHING\")"},
	{"bad_priority_first_word_reports_position", "cert.pem", "key.pem",
	 "BOGUS", "at position 1 (\"BOGUS\")", NULL},
	{"priority_without_versions_refused", "cert.pem", "key.pem",
	 "NORMAL:-VERS-ALL", "enables no TLS version or no cipher", NULL},
	{"priority_without_ciphers_refused", "cert.pem", "key.pem",
	 "NORMAL:-CIPHER-ALL", "enables no TLS version or no cipher", NULL},
};

static void
load_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *t = &load_cases[i];
		struct tls_ctx *c = NULL;
		char cert[128], key[128], err[512];
		int ret;

		(void)snprintf(cert, sizeof(cert), "%s", fixture(t->cert));
		(void)snprintf(key, sizeof(key), "%s", fixture(t->key));
		memset(err, 'x', sizeof(err));
		ret = tls_ctx_load(cert, key, t->priority, &c, err,
				   sizeof(err));
		if (t->err1 == NULL) {
			if (ret != 0 || c == NULL)
				fail_msg("%s: failed: %s", t->name, err);
			tls_ctx_free(&c);
			assert_null(c);
			tls_ctx_free(&c);
			continue;
		}
		if (ret != -1)
			fail_msg("%s: loaded", t->name);
		show(t->name, err);
		if (memchr(err, '\0', sizeof(err)) == NULL)
			fail_msg("%s: error text not terminated", t->name);
		if (strchr(err, '\n') != NULL)
			fail_msg("%s: error text is not one line", t->name);
		if (strstr(err, t->err1) == NULL ||
		    (t->err2 != NULL && strstr(err, t->err2) == NULL))
			fail_msg("%s: unexpected error \"%s\"", t->name, err);
	}
}

static void
load_error_truncated_to_errlen(void **state)
{
	struct tls_ctx *c = NULL;
	char err[12];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(tls_ctx_load(fixture("nonexistent.pem"),
				      fixture("key.pem"), NULL, &c, err,
				      sizeof(err)),
			 -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_null(c);
}

/* tools/gencert.sh (run from the top of the tree, as tests/check.sh does)
 * makes a pair that loads, with a private key file and the names and
 * lifetime that the demo and the black-box tests rely on. */
static void
gencert_output_loads(void **state)
{
	static const unsigned char loopback[4] = {127, 0, 0, 1};
	char cmd[256], err[256];
	struct tls_ctx *c = NULL;
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	struct stat st;
	time_t now = time(NULL), until;

	(void)state;
	if (access("tools/gencert.sh", R_OK) < 0)
		fail_msg("run from the top of the source tree "
			 "(tools/gencert.sh: "
			 "%s)",
			 strerror(errno));
	(void)snprintf(cmd, sizeof(cmd), "sh tools/gencert.sh %s/gen", dir);
	assert_int_equal(system(cmd), 0);
	if (tls_ctx_load(fixture("gen/cert.pem"), fixture("gen/key.pem"), NULL,
			 &c, err, sizeof(err)) < 0)
		fail_msg("gencert output: %s", err);
	tls_ctx_free(&c);
	assert_int_equal(stat(fixture("gen/key.pem"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(gnutls_load_file(fixture("gen/cert.pem"), &d), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM),
			 0);
	assert_true(gnutls_x509_crt_check_hostname(crt, "localhost"));
	assert_true(gnutls_x509_crt_check_ip(crt, loopback, 4, 0));
	assert_false(gnutls_x509_crt_check_hostname(crt, "example.org"));
	until = gnutls_x509_crt_get_expiration_time(crt);
	assert_in_range(until, now + (time_t)3649 * 86400,
			now + (time_t)3651 * 86400);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(d.data);
}

/* --- The client, forked on the other end. --- */

enum client_exit {
	CLIENT_OK = 0,
	CLIENT_SETUP_FAILED = 10,
	CLIENT_HANDSHAKE_FAILED = 11,
	CLIENT_DATA_WRONG = 12,
	CLIENT_HUNG_UP = 13,
};

struct client {
	/* GnuTLS priority string; NULL: "NORMAL". */
	const char *priority;
	/* Hang up once this many bytes were sent (0: never). */
	size_t send_limit;
	/* Hang up as soon as the first bytes from the server arrive. */
	bool hangup_after_read;
	/* After the handshake, wait for "go" from the server first. */
	bool wait_go;
	/* Send this and expect it echoed back (NULL: nothing). */
	const char *echo;
	/* End with close_notify rather than just closing. */
	bool bye;
	/* Verify the server certificate for localhost against cafile, or
	 * against no CA at all, so that the client aborts with an alert. */
	bool verify;
	const char *cafile;
	/* After the handshake, try to renegotiate (TLS 1.2) and insist that
	 * the server refuses. */
	bool renegotiate;
	/* After all that, write these bytes raw, past TLS, and leave. */
	const char *raw;
	size_t raw_len;
};

struct client_io {
	int in, out;
	size_t sent;
	const struct client *cl;
};

static ssize_t
client_push(gnutls_transport_ptr_t ptr, const void *p, size_t n)
{
	struct client_io *io = ptr;
	ssize_t w;

	if (io->cl->send_limit != 0 && io->sent + n >= io->cl->send_limit) {
		(void)io_write_all(io->out, p, io->cl->send_limit - io->sent);
		_exit(CLIENT_HUNG_UP);
	}
	w = write(io->out, p, n);
	if (w > 0)
		io->sent += (size_t)w;
	return w;
}

static ssize_t
client_pull(gnutls_transport_ptr_t ptr, void *p, size_t n)
{
	struct client_io *io = ptr;
	ssize_t r = io_read(io->in, p, n);

	if (r > 0 && io->cl->hangup_after_read)
		_exit(CLIENT_HUNG_UP);
	return r;
}

static int
client_recv_exact(gnutls_session_t s, char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = gnutls_record_recv(s, p + got, n - got);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int
client_talk(gnutls_session_t s, const struct client *cl)
{
	char got[256];
	size_t n;

	if (cl->wait_go &&
	    (client_recv_exact(s, got, 2) < 0 || memcmp(got, "go", 2) != 0))
		return -1;
	if (cl->echo == NULL)
		return 0;
	n = strlen(cl->echo);
	if (n > sizeof(got) || gnutls_record_send(s, cl->echo, n) != (ssize_t)n)
		return -1;
	if (client_recv_exact(s, got, n) < 0 || memcmp(got, cl->echo, n) != 0)
		return -1;
	return 0;
}

/* The whole client; runs in the child and never returns. _exit keeps the
 * child from running cmocka's or the sanitizer's exit handlers. */
static void __attribute__((noreturn))
client_main(int in, int out, const struct client *cl)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct client_io io = {in, out, 0, cl};
	int ret;

	(void)signal(SIGPIPE, SIG_IGN);
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
	    gnutls_priority_set_direct(
		    s, cl->priority != NULL ? cl->priority : "NORMAL", NULL) <
		    0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
	    gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9) < 0)
		_exit(CLIENT_SETUP_FAILED);
	if (cl->cafile != NULL &&
	    gnutls_certificate_set_x509_trust_file(cred, cl->cafile,
						   GNUTLS_X509_FMT_PEM) != 1)
		_exit(CLIENT_SETUP_FAILED);
	if (cl->verify || cl->cafile != NULL)
		gnutls_session_set_verify_cert(s, "localhost", 0);
	gnutls_transport_set_ptr(s, &io);
	gnutls_transport_set_push_function(s, client_push);
	gnutls_transport_set_pull_function(s, client_pull);
	do
		ret = gnutls_handshake(s);
	while (ret < 0 && gnutls_error_is_fatal(ret) == 0);
	if (ret < 0) {
		/* As a real client does: say why (GnuTLS leaves it to us). */
		(void)gnutls_alert_send_appropriate(s, ret);
		_exit(CLIENT_HANDSHAKE_FAILED);
	}
	if (cl->renegotiate) {
		do
			ret = gnutls_handshake(s);
		while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
		if (ret != GNUTLS_E_WARNING_ALERT_RECEIVED ||
		    gnutls_alert_get(s) != GNUTLS_A_NO_RENEGOTIATION)
			_exit(CLIENT_DATA_WRONG);
		_exit(CLIENT_OK);
	}
	if (client_talk(s, cl) < 0)
		_exit(CLIENT_DATA_WRONG);
	if (cl->raw != NULL && io_write_all(out, cl->raw, cl->raw_len) < 0)
		_exit(CLIENT_DATA_WRONG);
	if (cl->bye)
		(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	_exit(CLIENT_OK);
}

/* Fork a client on a socketpair; the server end goes to *fd_r. */
static pid_t
start_client(const struct client *cl, int *fd_r)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)close(sv[0]);
		client_main(sv[1], sv[1], cl);
	}
	assert_int_equal(close(sv[1]), 0);
	*fd_r = sv[0];
	return pid;
}

/* Fork a client on two pipes, as inetd gives stdin and stdout. */
static pid_t
start_client_pipes(const struct client *cl, int *in_r, int *out_r)
{
	int to_srv[2], to_cl[2];
	pid_t pid;

	assert_int_equal(pipe2(to_srv, O_CLOEXEC), 0);
	assert_int_equal(pipe2(to_cl, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)close(to_srv[0]);
		(void)close(to_cl[1]);
		client_main(to_cl[0], to_srv[1], cl);
	}
	assert_int_equal(close(to_srv[1]), 0);
	assert_int_equal(close(to_cl[0]), 0);
	*in_r = to_srv[0];
	*out_r = to_cl[1];
	return pid;
}

/* The client's exit code, or -1 when it died from a signal. */
static int
wait_client(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One read, polling first while a non-blocking fd has nothing yet, as the
 * session loop does. */
static ssize_t
server_read_some(struct tls_conn *c, int fd, char *p, size_t n)
{
	ssize_t r;

	while ((r = tls_conn_read(c, p, n)) < 0 && errno == EAGAIN) {
		struct pollfd pfd = {fd, POLLIN, 0};

		assert_false(tls_conn_pending(c));
		assert_int_equal(poll(&pfd, 1, HS_LIMIT * 1000), 1);
	}
	return r;
}

/* Read exactly n bytes. */
static void
server_read_exact(struct tls_conn *c, int fd, char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = server_read_some(c, fd, p + got, n - got);
		if (r <= 0)
			fail_msg("read: %zd: %s", r, tls_conn_error(c));
		got += (size_t)r;
	}
}

/* --- Handshakes that succeed. --- */

struct ok_case {
	const char *name;
	/* Client priority string (NULL: "NORMAL"). */
	const char *priority;
	/* Server credentials (NULL: the ECDSA one). */
	struct tls_ctx **server;
	/* A CA file the client verifies the server against (NULL: none). */
	const char *cafile;
	bool pipes;
	bool nonblock;
	/* Expected in tls_conn_describe(). */
	const char *proto;
};

static const struct ok_case ok_cases[] = {
	{.name = "default_client_gets_tls13", .proto = "(TLS1.3)"},
	{.name = "tls12_only_client_gets_tls12",
	 .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
	 .proto = "(TLS1.2)"},
	{.name = "tls12_aes128_gcm_client_accepted",
	 .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM",
	 .proto = "(AES-128-GCM)"},
	{.name = "rsa_cert_default_client_gets_tls13",
	 .server = &ctx_rsa,
	 .proto = "(TLS1.3)"},
	{.name = "rsa_cert_tls12_ecdhe_client_accepted",
	 .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA",
	 .server = &ctx_rsa,
	 .proto = "(ECDHE-"},
	/* No finite-field group offered, so the server must fall back to its
	 * own DH parameters. */
	{.name = "rsa_cert_dhe_client_without_groups_gets_known_dh_params",
	 .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-RSA:"
		     "-GROUP-ALL:+GROUP-SECP256R1",
	 .server = &ctx_rsa,
	 .proto = "(DHE-"},
	/* The client trusts only the CA, so the server must send the chain. */
	{.name = "chain_verified_by_client_trusting_only_the_ca",
	 .server = &ctx_chain,
	 .cafile = "ca.pem",
	 .proto = "(TLS1.3)"},
	{.name = "chain_verified_by_tls12_client_trusting_only_the_ca",
	 .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
	 .server = &ctx_chain,
	 .cafile = "ca.pem",
	 .proto = "(TLS1.2)"},
	{.name = "inetd_pipe_pair_echo", .pipes = true, .proto = "(TLS1.3)"},
	{.name = "nonblocking_fd_echo", .nonblock = true, .proto = "(TLS1.3)"},
	{.name = "nonblocking_pipe_pair_echo",
	 .priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
	 .pipes = true,
	 .nonblock = true,
	 .proto = "(TLS1.2)"},
};

static void
handshake_echo_table(void **state)
{
	static const char msg[] = "a1 CAPABILITY\r\n";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *t = &ok_cases[i];
		struct client cl = {
			.priority = t->priority,
			.cafile = t->cafile != NULL ? fixture(t->cafile) : NULL,
			.wait_go = true,
			.echo = msg,
			.bye = true,
		};
		struct tls_conn *c = NULL;
		char err[256], buf[64];
		int in, out;
		pid_t pid;

		if (t->pipes)
			pid = start_client_pipes(&cl, &in, &out);
		else {
			pid = start_client(&cl, &in);
			out = in;
		}
		if (t->nonblock) {
			assert_int_equal(io_set_nonblock(in, 1), 0);
			assert_int_equal(io_set_nonblock(out, 1), 0);
		}
		if (tls_conn_handshake(t->server != NULL ? *t->server : ctx, in,
				       out, HS_LIMIT, &c, err, sizeof(err)) < 0)
			fail_msg("%s: %s", t->name, err);
		show(t->name, tls_conn_describe(c));
		if (strstr(tls_conn_describe(c), t->proto) == NULL)
			fail_msg("%s: got %s", t->name, tls_conn_describe(c));
		/* The client waits for "go", so nothing can be read yet. */
		if (t->nonblock) {
			assert_int_equal(tls_conn_read(c, buf, sizeof(buf)),
					 -1);
			assert_int_equal(errno, EAGAIN);
		}
		assert_int_equal(tls_conn_write(c, "go", 2), 0);
		server_read_exact(c, in, buf, strlen(msg));
		assert_memory_equal(buf, msg, strlen(msg));
		assert_int_equal(tls_conn_write(c, buf, strlen(msg)), 0);
		/* close_notify from the client reads as end of stream. */
		assert_int_equal(server_read_some(c, in, buf, sizeof(buf)), 0);
		if (wait_client(pid) != CLIENT_OK)
			fail_msg("%s: client failed", t->name);
		/* The client is gone: our close_notify must meet EPIPE, not
		 * raise SIGPIPE (left at its default here, so it would kill
		 * the test). */
		tls_conn_close(&c);
		assert_null(c);
		tls_conn_close(&c);
		assert_int_equal(close(in), 0);
		if (out != in)
			assert_int_equal(close(out), 0);
	}
}

static void
partial_read_leaves_rest_pending(void **state)
{
	struct client cl = {.echo = "hello"};
	struct tls_conn *c = NULL;
	char err[256], buf[16];
	int fd;
	pid_t pid = start_client(&cl, &fd);

	(void)state;
	assert_int_equal(
		tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err, sizeof(err)),
		0);
	assert_int_equal(tls_conn_read(c, buf, 2), 2);
	assert_memory_equal(buf, "he", 2);
	assert_true(tls_conn_pending(c));
	assert_int_equal(tls_conn_read(c, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "llo", 3);
	assert_false(tls_conn_pending(c));
	assert_int_equal(tls_conn_write(c, "hello", 5), 0);
	/* The client leaves without close_notify: still an end of stream,
	 * every time it is read. */
	assert_int_equal(tls_conn_read(c, buf, sizeof(buf)), 0);
	assert_int_equal(tls_conn_read(c, buf, sizeof(buf)), 0);
	tls_conn_close(&c);
	assert_int_equal(wait_client(pid), CLIENT_OK);
	assert_int_equal(close(fd), 0);
}

static void
large_write_arrives_whole(void **state)
{
	static char big[100000];
	struct tls_conn *c = NULL;
	char err[256];
	size_t i;
	int fd, sv[2];
	pid_t pid;

	(void)state;
	/* A reader that drains everything, so the server's writes must go
	 * through many records and EAGAINs on a non-blocking socket. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gnutls_certificate_credentials_t cred;
		gnutls_session_t s;
		static char got[sizeof(big)];

		(void)close(sv[0]);
		if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
		    gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
		    gnutls_set_default_priority(s) < 0 ||
		    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
			_exit(CLIENT_SETUP_FAILED);
		gnutls_transport_set_int(s, sv[1]);
		if (gnutls_handshake(s) < 0)
			_exit(CLIENT_HANDSHAKE_FAILED);
		if (client_recv_exact(s, got, sizeof(got)) < 0)
			_exit(CLIENT_DATA_WRONG);
		for (i = 0; i < sizeof(got); i++)
			if (got[i] != (char)(i * 7))
				_exit(CLIENT_DATA_WRONG);
		_exit(CLIENT_OK);
	}
	assert_int_equal(close(sv[1]), 0);
	fd = sv[0];
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(
		tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err, sizeof(err)),
		0);
	assert_int_equal(io_set_nonblock(fd, 1), 0);
	assert_int_equal(tls_conn_write(c, big, sizeof(big)), 0);
	assert_int_equal(wait_client(pid), CLIENT_OK);
	tls_conn_close(&c);
	assert_int_equal(close(fd), 0);
}

/* A client that completes the handshake and then never reads cannot hold
 * the server forever: with a write timeout the write fails with ETIMEDOUT
 * once the socket buffers are full. */
static void
write_to_stalled_client_times_out(void **state)
{
	static char big[1 << 20];
	struct tls_conn *c = NULL;
	char err[256];
	int fd, sv[2], hold[2];
	pid_t pid;
	int ret;
	size_t i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gnutls_certificate_credentials_t cred;
		gnutls_session_t s;
		char x;

		(void)close(sv[0]);
		(void)close(hold[1]);
		if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
		    gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
		    gnutls_set_default_priority(s) < 0 ||
		    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
			_exit(CLIENT_SETUP_FAILED);
		gnutls_transport_set_int(s, sv[1]);
		if (gnutls_handshake(s) < 0)
			_exit(CLIENT_HANDSHAKE_FAILED);
		/* Stall: wait until the parent closes the pipe. */
		while (read(hold[0], &x, 1) < 0 && errno == EINTR)
			;
		_exit(CLIENT_OK);
	}
	assert_int_equal(close(sv[1]), 0);
	assert_int_equal(close(hold[0]), 0);
	fd = sv[0];
	assert_int_equal(
		tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err, sizeof(err)),
		0);
	assert_int_equal(io_set_nonblock(fd, 1), 0);
	tls_conn_set_write_timeout(c, 1);
	ret = 0;
	for (i = 0; i < 64 && ret == 0; i++)
		ret = tls_conn_write(c, big, sizeof(big));
	assert_int_equal(ret, -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(close(hold[1]), 0);
	assert_int_equal(wait_client(pid), CLIENT_OK);
	tls_conn_close(&c);
	assert_int_equal(close(fd), 0);
}

/* A record that is not what it claims to be after the handshake: the read
 * fails with a reason, the close after it does not crash. */
static void
corrupt_record_read_fails_with_reason(void **state)
{
	static const char junk[] = "\x17\x03\x03\x00\x20"
				   "0123456789abcdef0123456789abcdef";
	struct client cl = {.raw = junk, .raw_len = sizeof(junk) - 1};
	struct tls_conn *c = NULL;
	char err[256], buf[64];
	int fd;
	pid_t pid = start_client(&cl, &fd);

	(void)state;
	assert_int_equal(
		tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err, sizeof(err)),
		0);
	assert_int_equal(tls_conn_read(c, buf, sizeof(buf)), -1);
	assert_int_not_equal(errno, EAGAIN);
	show("corrupt_record", tls_conn_error(c));
	assert_non_null(strstr(tls_conn_error(c), "TLS read failed: "));
	assert_int_equal(wait_client(pid), CLIENT_OK);
	tls_conn_close(&c);
	assert_int_equal(close(fd), 0);
}

/* A TLS 1.2 client asking to renegotiate is told no, and the read reports
 * why the session ends. */
static void
renegotiation_refused(void **state)
{
	struct client cl = {
		.priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
		.renegotiate = true,
	};
	struct tls_conn *c = NULL;
	char err[256], buf[16];
	int fd;
	pid_t pid = start_client(&cl, &fd);

	(void)state;
	assert_int_equal(
		tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err, sizeof(err)),
		0);
	assert_int_equal(tls_conn_read(c, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EPROTO);
	assert_string_equal(tls_conn_error(c),
			    "TLS read failed: client asked to renegotiate, "
			    "which is not supported");
	/* The client saw the no_renegotiation alert. */
	assert_int_equal(wait_client(pid), CLIENT_OK);
	tls_conn_close(&c);
	assert_int_equal(close(fd), 0);
}

/* Writing to a client that has gone fails with EPIPE and a reason, never
 * with SIGPIPE (left at its default here, so it would kill the test). */
static void
write_to_vanished_client_fails_cleanly(void **state)
{
	unsigned pipes;

	(void)state;
	for (pipes = 0; pipes < 2; pipes++) {
		struct client cl = {.priority = NULL};
		struct tls_conn *c = NULL;
		char err[256];
		int in, out;
		pid_t pid;

		if (pipes)
			pid = start_client_pipes(&cl, &in, &out);
		else {
			pid = start_client(&cl, &in);
			out = in;
		}
		assert_int_equal(tls_conn_handshake(ctx, in, out, HS_LIMIT, &c,
						    err, sizeof(err)),
				 0);
		assert_int_equal(wait_client(pid), CLIENT_OK);
		assert_int_equal(tls_conn_write(c, "* BYE\r\n", 7), -1);
		assert_int_equal(errno, EPIPE);
		show("write_to_vanished_client", tls_conn_error(c));
		assert_string_equal(tls_conn_error(c),
				    "TLS write failed: Broken pipe");
		tls_conn_close(&c);
		assert_int_equal(close(in), 0);
		if (out != in)
			assert_int_equal(close(out), 0);
	}
}

/* --- Clients the server refuses. --- */

struct refuse_case {
	const char *name;
	const char *priority;
	bool verify;
	const char *err;
};

static const struct refuse_case refuse_cases[] = {
	{"tls11_only_client_refused", "NORMAL:-VERS-ALL:+VERS-TLS1.1", false,
	 "client offers no TLS version enabled here"},
	{"tls10_only_client_refused", "NORMAL:-VERS-ALL:+VERS-TLS1.0", false,
	 "client offers no TLS version enabled here"},
	{"cbc_only_client_refused",
	 "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC",
	 false, "TLS handshake failed: No supported cipher suites"},
	{"static_rsa_only_client_refused",
	 "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA", false,
	 "TLS handshake failed: No supported cipher suites"},
	{"client_rejecting_certificate_alert_reported", NULL, true,
	 "TLS handshake failed: client sent alert: "},
	{"client_rejecting_certificate_alert_reported_tls12",
	 "NORMAL:-VERS-ALL:+VERS-TLS1.2", true,
	 "TLS handshake failed: client sent alert: "},
};

static void
refused_client_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refuse_cases) / sizeof(refuse_cases[0]); i++) {
		const struct refuse_case *t = &refuse_cases[i];
		struct client cl = {
			.priority = t->priority,
			.echo = "x",
			.bye = true,
			.verify = t->verify,
		};
		struct tls_conn *c = NULL;
		char err[256];
		int fd;
		pid_t pid = start_client(&cl, &fd);

		if (tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err,
				       sizeof(err)) != -1)
			fail_msg("%s: handshake succeeded: %s", t->name,
				 tls_conn_describe(c));
		show(t->name, err);
		assert_null(c);
		/* A client that rejects the certificate may hang up while
		 * the server is still writing its flight: the server then
		 * sees the hang-up before it can read the alert. */
		if (strstr(err, t->err) == NULL &&
		    !(t->verify && strstr(err, "client closed the connection")))
			fail_msg("%s: unexpected error \"%s\"", t->name, err);
		assert_int_equal(close(fd), 0);
		/* The client did try and was turned down: its handshake
		 * failed, it did not fail to set itself up. */
		if (wait_client(pid) != CLIENT_HANDSHAKE_FAILED)
			fail_msg("%s: client did not see the refusal", t->name);
	}
}

/* --- Clients that hang up in the middle. --- */

struct hangup_case {
	const char *name;
	const char *priority;
	size_t send_limit;
	bool hangup_after_read;
};

static const struct hangup_case hangup_cases[] = {
	{"hangup_after_5_bytes_of_client_hello", NULL, 5, false},
	{"hangup_inside_client_hello", NULL, 40, false},
	{"hangup_after_server_hello_tls13", NULL, 0, true},
	{"hangup_after_server_hello_tls12", "NORMAL:-VERS-ALL:+VERS-TLS1.2", 0,
	 true},
};

static void
hangup_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hangup_cases) / sizeof(hangup_cases[0]); i++) {
		const struct hangup_case *t = &hangup_cases[i];
		struct client cl = {
			.priority = t->priority,
			.send_limit = t->send_limit,
			.hangup_after_read = t->hangup_after_read,
		};
		struct tls_conn *c = NULL;
		char err[256];
		int fd;
		pid_t pid = start_client(&cl, &fd);

		if (tls_conn_handshake(ctx, fd, fd, HS_LIMIT, &c, err,
				       sizeof(err)) != -1)
			fail_msg("%s: handshake succeeded", t->name);
		show(t->name, err);
		assert_null(c);
		if (strstr(err, "client closed the connection") == NULL)
			fail_msg("%s: unexpected error \"%s\"", t->name, err);
		if (wait_client(pid) != CLIENT_HUNG_UP)
			fail_msg("%s: client did not hang up as planned",
				 t->name);
		assert_int_equal(close(fd), 0);
	}
}

/* --- Garbage instead of a ClientHello. --- */

struct garbage_case {
	const char *name;
	const char *bytes;
	size_t len;
	/* Close our end after sending, or keep it open. */
	bool close_after;
	const char *err;
};

#define G(s) s, sizeof(s) - 1

static const struct garbage_case garbage_cases[] = {
	{"plaintext_imap_command", G("a1 CAPABILITY\r\n"), false,
	 "TLS handshake failed: "},
	{"http_request", G("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), false,
	 "TLS handshake failed: "},
	{"zero_bytes", G("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), false,
	 "TLS handshake failed: "},
	{"oversized_record_length", G("\x16\x03\x01\xff\xff"), false,
	 "TLS handshake failed: "},
	{"client_hello_with_bad_body",
	 G("\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00"), false,
	 "TLS handshake failed: "},
	{"alert_instead_of_hello", G("\x15\x03\x01\x00\x02\x02\x28"), false,
	 "TLS handshake failed: "},
	{"record_header_then_close", G("\x16\x03\x01\x00\x80"), true,
	 "client closed the connection"},
	{"nothing_then_close", G(""), true, "client closed the connection"},
};

static void
garbage_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(garbage_cases) / sizeof(garbage_cases[0]); i++) {
		const struct garbage_case *t = &garbage_cases[i];
		struct tls_conn *c = NULL;
		char err[256];
		int sv[2];

		assert_int_equal(
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			0);
		assert_int_equal(io_write_all(sv[1], t->bytes, t->len), 0);
		if (t->close_after)
			assert_int_equal(close(sv[1]), 0);
		if (tls_conn_handshake(ctx, sv[0], sv[0], HS_LIMIT, &c, err,
				       sizeof(err)) != -1)
			fail_msg("%s: handshake succeeded", t->name);
		show(t->name, err);
		assert_null(c);
		/* Refused on sight, not after waiting for more. */
		if (strstr(err, t->err) == NULL ||
		    strstr(err, "timed out") != NULL)
			fail_msg("%s: unexpected error \"%s\"", t->name, err);
		assert_int_equal(close(sv[0]), 0);
		if (!t->close_after)
			assert_int_equal(close(sv[1]), 0);
	}
}

static void
random_garbage_never_crashes(void **state)
{
	uint32_t seed = 12345;
	unsigned round;

	(void)state;
	for (round = 0; round < 200; round++) {
		struct tls_conn *c = NULL;
		unsigned char junk[300];
		char err[256];
		size_t len, i;
		int sv[2];

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(junk);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (unsigned char)(seed >> 16);
		}
		/* Half the rounds look like a handshake record at first. */
		if (round % 2 == 0 && len >= 3) {
			junk[0] = 0x16;
			junk[1] = 0x03;
			junk[2] = (unsigned char)(round % 4);
		}
		assert_int_equal(
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			0);
		assert_int_equal(io_write_all(sv[1], junk, len), 0);
		assert_int_equal(close(sv[1]), 0);
		if (tls_conn_handshake(ctx, sv[0], sv[0], HS_LIMIT, &c, err,
				       sizeof(err)) != -1)
			fail_msg("round %u: handshake succeeded", round);
		if (strstr(err, "TLS handshake") == NULL)
			fail_msg("round %u: unexpected error \"%s\"", round,
				 err);
		assert_int_equal(close(sv[0]), 0);
	}
}

/* --- Silent and stalled clients: a bounded wait, no timing checks. --- */

struct timeout_case {
	const char *name;
	const char *bytes;
	size_t len;
	bool nonblock;
};

static const struct timeout_case timeout_cases[] = {
	{"silent_client_times_out", G(""), false},
	{"silent_client_times_out_nonblocking", G(""), true},
	{"client_stalled_inside_record_times_out",
	 G("\x16\x03\x01\x00\x80\x01\x00\x00"), false},
	{"client_stalled_inside_record_times_out_nonblocking",
	 G("\x16\x03\x01\x00\x80\x01\x00\x00"), true},
};

static void
timeout_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(timeout_cases) / sizeof(timeout_cases[0]); i++) {
		const struct timeout_case *t = &timeout_cases[i];
		struct tls_conn *c = NULL;
		char err[256];
		int sv[2];

		assert_int_equal(
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			0);
		assert_int_equal(io_write_all(sv[1], t->bytes, t->len), 0);
		if (t->nonblock)
			assert_int_equal(io_set_nonblock(sv[0], 1), 0);
		if (tls_conn_handshake(ctx, sv[0], sv[0], 1, &c, err,
				       sizeof(err)) != -1)
			fail_msg("%s: handshake succeeded", t->name);
		show(t->name, err);
		assert_null(c);
		if (strcmp(err, "TLS handshake timed out after 1 s") != 0)
			fail_msg("%s: unexpected error \"%s\"", t->name, err);
		assert_int_equal(close(sv[0]), 0);
		assert_int_equal(close(sv[1]), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(load_table),
		cmocka_unit_test(load_error_truncated_to_errlen),
		cmocka_unit_test(gencert_output_loads),
		cmocka_unit_test(handshake_echo_table),
		cmocka_unit_test(partial_read_leaves_rest_pending),
		cmocka_unit_test(large_write_arrives_whole),
		cmocka_unit_test(write_to_stalled_client_times_out),
		cmocka_unit_test(corrupt_record_read_fails_with_reason),
		cmocka_unit_test(renegotiation_refused),
		cmocka_unit_test(write_to_vanished_client_fails_cleanly),
		cmocka_unit_test(refused_client_table),
		cmocka_unit_test(hangup_table),
		cmocka_unit_test(garbage_table),
		cmocka_unit_test(random_garbage_never_crashes),
		cmocka_unit_test(timeout_table),
	};

	/* A watchdog, not a timing check: a handshake that never ends kills
	 * the run (counted as a failure) instead of hanging it. */
	(void)alarm(300);
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
