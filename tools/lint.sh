#!/bin/sh
# make lint: the layering rules of ../shared/STYLE.md section 1, checked by
# grep, then clang-format, clang-tidy (.clang-tidy) and cppcheck when
# installed (make check requires them: tools/deps-lint.txt).
cd "$(dirname "$0")/.." || exit 1
rc=0
# Missing directories (early in the project) are not a breach.
exec 3>&2 2>/dev/null
breach() { echo "layering: $*"; rc=1; }

# protocol/ never touches the filesystem or a socket.
if grep -nE '#include <(dirent|fcntl|sys/stat|sys/socket|sys/inotify|gnutls/[a-z]*)\.h>' protocol/*.[ch]; then
	breach "protocol/ includes a filesystem, socket or TLS header"
fi
if grep -nE '\b(open|openat|rename|renameat|link|linkat|unlink|unlinkat|readdir|opendir|fopen|socket|accept)\(' protocol/*.c; then
	breach "protocol/ calls the filesystem or sockets"
fi
# protocol/ may include maildir/maildir.h only, never server/.
if grep -nE '#include "(server/|maildir/[a-z-]*-private\.h)' protocol/*.[ch]; then
	breach "protocol/ includes server/ or maildir/ internals"
fi
# maildir/ and lib/ never speak IMAP nor reach up.
if grep -nE '#include "(protocol|server)/' maildir/*.[ch] lib/*.[ch]; then
	breach "maildir/ or lib/ includes a higher layer"
fi
if grep -nE '#include "(maildir)/' lib/*.[ch]; then
	breach "lib/ includes maildir/"
fi
if grep -nE '"(\* |[A-Za-z0-9]+ )?(OK|NO|BAD) \[' maildir/*.c; then
	breach "maildir/ writes IMAP response text"
fi
if grep -nE '\b(fork|setuid|setgid|gnutls_[a-z_]*|poll|ppoll)\(' protocol/*.c maildir/*.c lib/*.c; then
	breach "only server/ forks, drops privileges, polls or does TLS"
fi
if grep -nE '\b(atoi|atol|strtoul|strtol|strcpy|strcat|sprintf)\(' lib/*.c maildir/*.c protocol/*.c server/*.c; then
	breach "use lib/num.c and lib/buf.c instead of atoi/strto*/strcpy/strcat/sprintf"
fi

exec 2>&3
SRCS=$(ls lib/*.[ch] maildir/*.[ch] protocol/*.[ch] server/*.[ch] 2>/dev/null)
if command -v clang-format >/dev/null; then
	for f in $SRCS; do
		if ! clang-format "$f" | cmp -s - "$f"; then
			echo "format: $f differs from clang-format (make format)"
			rc=1
		fi
	done
fi
if command -v clang-tidy >/dev/null; then
	# .clang-tidy holds the checks; one file per run, as many runs as CPUs.
	FLAGS="-std=c11 -D_GNU_SOURCE -I. -DIMAPMOVED_VERSION=\"lint\" -DSYSCONFDIR=\"/etc\" $(pkg-config --cflags gnutls 2>/dev/null)"
	# shellcheck disable=SC2086
	if ls lib/*.c maildir/*.c protocol/*.c server/*.c |
		xargs -P "$(nproc)" -I{} clang-tidy -quiet {} -- $FLAGS \
			2>/dev/null | grep -A3 'error:'; then
		echo "clang-tidy: findings above"
		rc=1
	fi
fi
if command -v cppcheck >/dev/null; then
	cppcheck -q --enable=warning,portability,performance --error-exitcode=1 \
		--inline-suppr -I. -D_GNU_SOURCE lib maildir protocol server || rc=1
fi
exit $rc
