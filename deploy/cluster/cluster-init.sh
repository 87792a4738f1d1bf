#!/bin/sh
# Forms the Redis Cluster of deploy/cluster/docker-compose.yml once, then waits until it can take
# the switch's writes. Arguments: the nodes as ip:port, masters first (with --cluster-replicas 1
# and six nodes redis-cli makes the first three masters and pairs each of the others with one).
# Idempotent: when the first node already has slots, the cluster exists and is not touched.
set -eu
[ "$#" -ge 6 ] || { echo "usage: $0 ip:port ... (six nodes)" >&2; exit 64; }
first="$1"
host="${first%:*}"
port="${first##*:}"

if redis-cli -h "$host" -p "$port" cluster info | grep -q '^cluster_slots_assigned:0'; then
  redis-cli --cluster create "$@" --cluster-replicas 1 --cluster-yes
fi

# Healthy = every slot served, the nodes agree on the layout, and every master has a replica in
# sync: with min-replicas-to-write 1 a master without one refuses the switch's writes.
i=0
while [ "$i" -lt 60 ]; do
  i=$((i + 1))
  ok=yes
  redis-cli -h "$host" -p "$port" cluster info | grep -q '^cluster_state:ok' || ok=no
  redis-cli --cluster check "$first" >/dev/null 2>&1 || ok=no
  for node in "$@"; do
    info=$(redis-cli -h "${node%:*}" -p "${node##*:}" info replication 2>/dev/null || true)
    if echo "$info" | grep -q '^role:master'; then
      echo "$info" | grep -q '^min_slaves_good_slaves:[1-9]' || ok=no
    fi
  done
  if [ "$ok" = yes ]; then
    redis-cli -h "$host" -p "$port" cluster nodes
    echo "cluster ready"
    exit 0
  fi
  sleep 1
done
echo "the cluster did not become ready in 60 s" >&2
exit 1
