#!/bin/sh
# Lint manual pages with mandoc -Tlint and fail on any message of level
# WARNING or above (WARNING, ERROR, UNSUPP); STYLE messages, such as a
# referenced page not installed on this machine, are not shown.
# Usage: tools/manlint.sh [PAGE...]   (default: man/imapmoved.8 and
# man/imapmoved.conf.5). Needs mandoc (Debian package mandoc).
cd "$(dirname "$0")/.." || exit 1
if ! command -v mandoc >/dev/null 2>&1; then
	echo "manlint: mandoc not found; run: apt-get install mandoc" >&2
	exit 1
fi
[ $# -eq 0 ] && set -- man/imapmoved.8 man/imapmoved.conf.5
status=0
for page in "$@"; do
	# mandoc exits 2 and above for WARNING and worse; its notes about an
	# outdated mandoc.db are not about the page and carry no level.
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	rc=$?
	msgs=$(printf '%s\n' "$out" | grep -E ': (WARNING|ERROR|UNSUPP|BADARG|SYSERR): ')
	if [ $rc -ne 0 ] || [ -n "$msgs" ]; then
		echo "manlint: $page:"
		printf '%s\n' "$out" | grep -v 'outdated mandoc.db'
		status=1
	fi
done
exit $status
