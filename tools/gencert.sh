#!/bin/sh
# Create a self-signed certificate for the demo and the black-box tests:
# DIR/key.pem (RSA 3072, mode 600) and DIR/cert.pem for CN=localhost with
# subject alternative names localhost and 127.0.0.1, valid for ten years.
# The certificate may also serve as the test CA (clients pass it as cafile).
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
trap 'rm -f "$tmpl"' EXIT
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
rm -f "$dir/key.pem.tmp"
certtool --generate-privkey --key-type=rsa --bits=3072 --no-text \
	--outfile "$dir/key.pem.tmp" >/dev/null 2>&1
chmod 600 "$dir/key.pem.tmp"
certtool --generate-self-signed --no-text --load-privkey "$dir/key.pem.tmp" \
	--template "$tmpl" --outfile "$dir/cert.pem.tmp" >/dev/null 2>&1
chmod 644 "$dir/cert.pem.tmp"
mv "$dir/key.pem.tmp" "$dir/key.pem"
mv "$dir/cert.pem.tmp" "$dir/cert.pem"
