#!/bin/sh
# make-certs.sh DIR [TOPIC] [DAYS] - a test PKI for the APNs stand-in, with
# the openssl CLI: ca.pem/ca.key (test CA), server.pem/server.key (the
# stand-in, SAN IP:127.0.0.1 and DNS:localhost), push.pem/push.key (an MDM
# push certificate: RSA 2048, subject UID=TOPIC, clientAuth, valid DAYS).
set -eu
dir=$1
topic=${2:-com.apple.mgmt.External.ardoise-test}
days=${3:-365}
mkdir -p "$dir"
cd "$dir"
umask 077
ext=$(mktemp)
trap 'rm -f "$ext"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.pem -days 3650 -subj "/CN=Ardoise test APNs CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
	-out server.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$ext"
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
	-days 3650 -extfile "$ext" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout push.key -out push.csr \
	-subj "/UID=$topic/CN=APSP:ardoise-test/OU=ardoise/O=Ardoise test/C=FR" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' > "$ext"
openssl x509 -req -in push.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out push.pem \
	-days "$days" -extfile "$ext" 2>/dev/null
rm -f server.csr push.csr ca.srl
chmod 644 ca.pem server.pem push.pem
chmod 600 ca.key server.key push.key
