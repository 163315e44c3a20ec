#!/usr/bin/env bash
# Throwaway certificates for the TLS tests, made with the openssl CLI only
# (EC P-256 keys). Never commit what it writes: DIR belongs in the build tree.
#   scripts/make_test_certs.sh DIR
# Writes into DIR:
#   ca.pem ca.key              a test CA
#   server.pem server.key      server cert for DNS:localhost, IP:127.0.0.1 from that CA
#                              (server.pem = leaf, then the CA)
#   client.pem client.key      client cert, CN=fastnet-test-client, from that CA
#   other_ca.pem other_ca.key  a second, unrelated self-signed CA
#   other.pem other.key        a cert from the other CA (localhost, 127.0.0.1; server
#                              and client use), for negative tests
#   expired.pem expired.key    a server cert from the test CA (localhost, 127.0.0.1)
#                              that expired in 2020
# Idempotent: when every file is there and still valid for a day, it does
# nothing; otherwise it makes the whole set again (in a temporary directory,
# then moved into place).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

files=(ca.pem ca.key server.pem server.key client.pem client.key other_ca.pem other_ca.key
       other.pem other.key expired.pem expired.key)

up_to_date() {
  local f
  for f in "${files[@]}"; do
    [[ -s "$dir/$f" ]] || return 1
  done
  openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" "$dir/client.pem" >/dev/null 2>&1 &&
    openssl verify -CAfile "$dir/other_ca.pem" "$dir/other.pem" >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in "$dir/ca.pem" >/dev/null &&
    openssl x509 -checkend 86400 -noout -in "$dir/other_ca.pem" >/dev/null
}

if up_to_date; then
  exit 0
fi

work=$(mktemp -d "$dir/.make_test_certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
umask 077

# Runs a command; shows its output only when it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "$0: failed: $*" >&2
    return 1
  fi
}
newkey() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# A config of our own, so the system's openssl.cnf adds nothing.
cat >ext.cnf <<'EOF'
[ req ]
distinguished_name = dn
[ dn ]
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ both_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# make_ca NAME CN: a self-signed CA, NAME.pem and NAME.key.
make_ca() {
  newkey "$1.key"
  quiet openssl req -new -x509 -config ext.cnf -key "$1.key" -subj "/O=fastnet tests/CN=$2" \
    -days 3650 -sha256 -extensions ca_ext -out "$1.pem"
}

# make_leaf NAME CN CA EXT: NAME.pem and NAME.key, signed by CA.pem/CA.key.
make_leaf() {
  newkey "$1.key"
  quiet openssl req -new -config ext.cnf -key "$1.key" -subj "/O=fastnet tests/CN=$2" \
    -out "$1.csr"
  quiet openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
    -days 825 -sha256 -extfile ext.cnf -extensions "$4" -out "$1.pem"
}

make_ca ca "fastnet test CA"
make_leaf server localhost ca server_ext
cat ca.pem >>server.pem  # leaf first, then the CA
make_leaf client fastnet-test-client ca client_ext
make_ca other_ca "fastnet other CA"
make_leaf other localhost other_ca both_ext

# The expired one: `x509 -req -days` cannot go back in time, `openssl ca`
# takes explicit dates.
newkey expired.key
quiet openssl req -new -config ext.cnf -key expired.key -subj "/O=fastnet tests/CN=localhost" \
  -out expired.csr
mkdir newcerts
: >index.txt
echo 1000 >serial
cat >ca.cnf <<'EOF'
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
organizationName = optional
commonName = supplied
EOF
quiet openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
  -startdate 20200101000000Z -enddate 20200102000000Z -notext \
  -extfile ext.cnf -extensions server_ext -out expired.pem

for f in "${files[@]}"; do
  mv -f "$f" "$dir/$f"
done
up_to_date || { echo "$0: the certificates made do not verify" >&2; exit 1; }
