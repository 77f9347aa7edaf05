#!/bin/sh
# Makes a throwaway CA and one route certificate for 127.0.0.1 (the three
# nodes of examples/cluster/secure share it on one machine; give each host
# its own in production). Writes ca.crt, route.crt and route.key here.
set -eu
cd "$(dirname "$0")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=tollgate-try CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=tollgate-route" -keyout route.key -out route.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > route.ext
openssl x509 -req -in route.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
  -extfile route.ext -out route.crt 2>/dev/null
rm -f route.csr route.ext ca.srl ca.key
echo "wrote $(pwd)/ca.crt route.crt route.key"
