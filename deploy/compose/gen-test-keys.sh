#!/bin/sh
# Generates THROWAWAY keys for the compose demo into the directory given (default /keys):
# a merchant key pair, an "Antom" key pair for antom-sim, and the ids secret. TEST ONLY: these
# keys sign nothing real; production keys come from Antom's portal and your secret store.
# Idempotent: existing keys are kept, so a restart does not orphan queued reversals.
set -eu
dir="${1:-/keys}"
mkdir -p "$dir"
umask 077
for who in merchant antom; do
  if [ ! -s "$dir/${who}_private.pem" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/${who}_private.pem"
    openssl pkey -in "$dir/${who}_private.pem" -pubout -out "$dir/${who}_public.pem"
  fi
done
[ -s "$dir/ids.secret" ] || openssl rand -hex 32 > "$dir/ids.secret"
# The switch and the simulator run as uid 10001 and only need to read.
chown -R 10001:10001 "$dir" 2>/dev/null || true
chmod 0500 "$dir"
chmod 0400 "$dir"/*
echo "test-only keys ready in $dir"
