#!/bin/sh
# Create a self-signed certificate for the demo and the black-box tests:
# DIR/key.pem (RSA 3072, mode 600) and DIR/cert.pem for CN=localhost with
# subject alternative names localhost and 127.0.0.1, valid for ten years.
# The certificate may also serve as the test CA (clients pass it as cafile).
# An existing pair in DIR is replaced.
# Usage: tools/gencert.sh DIR     (needs certtool from Debian's gnutls-bin)
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
if ! command -v certtool >/dev/null 2>&1; then
	echo "gencert: certtool not found; run: apt-get install gnutls-bin" >&2
	exit 1
fi
mkdir -p "$dir"
tmpl=$(mktemp)
log=$(mktemp)
trap 'rm -f "$tmpl" "$log"' EXIT
cat >"$tmpl" <<'TEMPLATE'
organization = "imapmoved demo"
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
expiration_days = 3650
ca
cert_signing_key
signing_key
encryption_key
tls_www_server
TEMPLATE
# The key never exists with looser permissions, not even for a moment.
umask 077
run() {
	if ! "$@" >"$log" 2>&1; then
		echo "gencert: $1 failed:" >&2
		cat "$log" >&2
		exit 1
	fi
}
rm -f "$dir/key.pem.tmp" "$dir/cert.pem.tmp"
run certtool --generate-privkey --key-type=rsa --bits=3072 --no-text \
	--outfile "$dir/key.pem.tmp"
chmod 600 "$dir/key.pem.tmp"
run certtool --generate-self-signed --no-text \
	--load-privkey "$dir/key.pem.tmp" --template "$tmpl" \
	--outfile "$dir/cert.pem.tmp"
chmod 644 "$dir/cert.pem.tmp"
# Replace any previous pair, key first, each by an atomic rename.
mv -f "$dir/key.pem.tmp" "$dir/key.pem"
mv -f "$dir/cert.pem.tmp" "$dir/cert.pem"
