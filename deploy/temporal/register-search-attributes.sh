#!/bin/sh
# Registers Parklot's custom search attributes (all Keyword) in one namespace.
# The temporal-admin service of docker-compose.yml runs it once, after the
# server is healthy; the workers start only when it has exited 0.
#
# Idempotent: an attribute that already exists is left alone, so running it
# again (docker compose up on an existing volume) succeeds. It finishes only
# when the server lists all four, which is what every worker checks at start.
#
# Environment: TEMPORAL_ADDRESS (default temporal:7233), TEMPORAL_NAMESPACE
# (default default).
set -eu

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
attempts=60

listed() {
	temporal operator search-attribute list --address "$address" --namespace "$namespace" 2>/dev/null |
		grep -qw "$1"
}

for name in ParklotPool ParklotTenant ParklotStatus ParklotMailbox; do
	n=0
	until listed "$name"; do
		n=$((n + 1))
		if [ "$n" -gt "$attempts" ]; then
			echo "search attribute $name is still missing from namespace $namespace after $attempts attempts" >&2
			exit 1
		fi
		# A create that fails because the attribute exists (another run got
		# there first) is fine; anything else is printed and retried, since
		# the namespace may still be settling right after the server started.
		if ! out=$(temporal operator search-attribute create --address "$address" --namespace "$namespace" \
			--name "$name" --type Keyword 2>&1); then
			case "$out" in
			*"already exists"*) ;;
			*) echo "create $name: $out" >&2 ;;
			esac
		fi
		sleep 2
	done
	echo "search attribute $name (Keyword) is registered in namespace $namespace"
done
