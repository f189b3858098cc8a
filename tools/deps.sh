#!/bin/sh
# Make sure the Debian packages that building, testing and the demo need are
# installed: as root install the missing ones with apt-get, otherwise print
# the exact command to run and fail. Add a package here, nowhere else.
PKGS="build-essential pkg-config libgnutls28-dev gnutls-bin libcmocka-dev
libcrypt-dev python3 clang libclang-rt-14-dev openssl"
# Extra packages a part of the test suite needs are listed in tools/deps-*.txt
for f in "$(dirname "$0")"/deps-*.txt; do
	[ -f "$f" ] && PKGS="$PKGS $(grep -v '^#' "$f")"
done
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
	exit 0
fi
echo "deps: missing Debian packages. Run as root:" >&2
echo "  apt-get install$missing" >&2
exit 1
