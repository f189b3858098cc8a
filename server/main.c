/* imapmoved entry point: the command line, the config, and the choice of
 * mode: standalone listener (default, or systemd socket activation),
 * inetd (-i, one session on stdin/stdout, --tls for implicit TLS) or a
 * configuration check (-t). Exit status: 0, 1 on a config or start-up
 * error, 64 on a usage error.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/num.h"
#include "server/server.h"

#define DEFAULT_CONFIG SYSCONFDIR "/imapmoved.conf"
#define EXIT_USAGE 64

struct opts {
	const char *config;
	bool foreground;
	bool inetd;
	bool tls;
	bool check;
};

static void
usage(FILE *f)
{
	(void)fprintf(f,
		      "usage: imapmoved [-c FILE] [-f]      standalone server\n"
		      "       imapmoved -i [--tls] [-c FILE] [-f]"
		      "  one session on stdin/stdout\n"
		      "       imapmoved -t [-c FILE]        check the "
		      "configuration\n"
		      "       imapmoved --version | --help\n"
		      "  -c FILE  configuration file (default %s)\n"
		      "  -f       foreground, log to stderr\n"
		      "  -i       inetd mode (systemd Accept=yes too)\n"
		      "  --tls    with -i: implicit TLS (port 993)\n"
		      "  -t       check config, passwd file and TLS files\n",
		      DEFAULT_CONFIG);
}

/* Returns 0 to go on, or an exit status + 1000 to stop with. */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"tls", no_argument, NULL, 'T'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:fit", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'i':
			o->inetd = true;
			break;
		case 't':
			o->check = true;
			break;
		case 'T':
			o->tls = true;
			break;
		case 'V':
			(void)printf("imapmoved %s\n", IMAPMOVED_VERSION);
			return 1000;
		case 'h':
			usage(stdout);
			return 1000;
		default:
			usage(stderr);
			return 1000 + EXIT_USAGE;
		}
	}
	if (optind != argc || (o->tls && !o->inetd) || (o->check && o->inetd)) {
		usage(stderr);
		return 1000 + EXIT_USAGE;
	}
	return 0;
}

/* -t: everything a start would need, reported as FILE:LINE: reason. */
static int
check_config(const struct server_config *cfg)
{
	struct passwd_file *pf = NULL;
	struct tls_ctx *tls = NULL;
	char err[512];
	int status = 0;
	size_t i;

	if (passwd_load(cfg->passwd_file, &pf, err, sizeof(err)) < 0 ||
	    passwd_check(pf, cfg->passwd_file, err, sizeof(err)) < 0) {
		if (cfg->passwd_file_line != 0)
			(void)fprintf(stderr, "%s:%u: passwd_file: %s\n",
				      cfg->path, cfg->passwd_file_line, err);
		else
			(void)fprintf(stderr, "%s: passwd_file: %s\n",
				      cfg->path, err);
		status = 1;
	}
	/* Users whose line parses but whose login would fail anyway. */
	for (i = 0; pf != NULL && status == 0 && i < pf->n_entries; i++) {
		const struct passwd_entry *e = &pf->entries[i];

		if (auth_check_user(cfg, e, err, sizeof(err)) < 0) {
			(void)fprintf(stderr, "%s:%u: user %s: %s\n",
				      cfg->passwd_file, e->line, e->user, err);
			status = 1;
		}
	}
	passwd_free(&pf);
	if (transport_tls_load(cfg, &tls, err, sizeof(err)) < 0) {
		(void)fprintf(stderr, "%s\n", err);
		status = 1;
	}
	transport_tls_free(&tls);
	if (status == 0)
		(void)printf("%s: configuration OK\n", cfg->path);
	return status;
}

/* The connection's fd in -i mode: stdin, or fd 3 when a socket activator
 * passed one connection the sd_listen_fds(3) way (LISTEN_FDS=1 and
 * LISTEN_PID ours), as systemd-socket-activate --accept does. */
static int
inetd_fd(void)
{
	const char *pid_s = getenv("LISTEN_PID"), *n_s = getenv("LISTEN_FDS");
	uint64_t pid, n;

	if (pid_s == NULL || n_s == NULL ||
	    num_parse_str_u64(pid_s, UINT32_MAX, &pid) < 0 ||
	    (pid_t)pid != getpid() || num_parse_str_u64(n_s, 1, &n) < 0 ||
	    n != 1)
		return STDIN_FILENO;
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return 3;
}

/* -i: a start-up error. Without -f the log is syslog, since under
 * classic inetd stderr is the connection itself; the client gets a BYE
 * (RFC 3501 section 7.1.5) rather than a silent close. Under --tls the
 * client expects a TLS handshake, so it gets no plaintext at all. */
static int
inetd_refuse(int fd, const struct opts *o)
{
	static const char bye[] = "* BYE Server configuration error\r\n";

	if (!o->tls)
		(void)io_write_all(fd, bye, sizeof(bye) - 1); /* exiting */
	return 1;
}

/* -i: one session on stdin/stdout, or on fd. */
static int
run_inetd(const struct server_config *cfg, const struct opts *o, int fd)
{
	struct session_params p;
	struct tls_ctx *tls = NULL;
	char err[512], peer[80], sid[32];
	int status;

	if (o->tls && cfg->tls_cert == NULL) {
		log_error("--tls needs tls_cert and tls_key in %s", cfg->path);
		return inetd_refuse(fd, o);
	}
	if (transport_tls_load(cfg, &tls, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return inetd_refuse(fd, o);
	}
	memset(&p, 0, sizeof(p));
	p.fd_in = fd;
	p.fd_out = p.fd_in == STDIN_FILENO ? STDOUT_FILENO : p.fd_in;
	server_peer_of_fd(p.fd_in, peer, sizeof(peer), &p.is_local);
	(void)snprintf(sid, sizeof(sid), "%ld", (long)getpid());
	p.cfg = cfg;
	p.tls = tls;
	p.implicit_tls = o->tls;
	p.session_id = sid;
	p.peer = peer;
	status = session_run(&p);
	transport_tls_free(&tls);
	return status;
}

/* -i from the start: the log opens before the config is read, so a
 * config error goes to syslog (or stderr with -f), never to a stderr
 * that may be the client's connection. */
static int
main_inetd(const struct opts *o)
{
	struct server_config cfg;
	char err[512];
	int fd, r;

	log_open("imapmoved", o->foreground, LOG_LEVEL_INFO);
	fd = inetd_fd();
	if (config_load(o->config, &cfg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return inetd_refuse(fd, o);
	}
	log_set_level(cfg.log_level);
	r = run_inetd(&cfg, o, fd);
	config_free(&cfg);
	return r;
}

int
main(int argc, char **argv)
{
	struct server_config cfg;
	struct listen_opts lo;
	struct opts o;
	char err[512], abspath[PATH_MAX];
	int r;

	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r - 1000;
	/* An absolute path, so SIGHUP finds the file after daemon()'s
	 * chdir("/") and relative paths inside resolve the same way. */
	if (realpath(o.config, abspath) != NULL)
		o.config = abspath;
	if (o.inetd) {
		r = main_inetd(&o);
		transport_tls_deinit();
		return r;
	}
	if (config_load(o.config, &cfg, err, sizeof(err)) < 0) {
		(void)fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (o.check) {
		r = check_config(&cfg);
		config_free(&cfg);
	} else {
		log_open("imapmoved", o.foreground, cfg.log_level);
		lo.config_path = o.config;
		lo.foreground = o.foreground;
		r = listen_run(&cfg, &lo);
	}
	transport_tls_deinit();
	return r;
}
