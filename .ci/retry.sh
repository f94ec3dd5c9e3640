#!/usr/bin/env bash
# retry.sh N COMMAND...: runs COMMAND up to N times, waiting longer after each failure
# (RETRY_DELAY seconds times the attempt number; 15 by default). For network steps only (package
# downloads), whose failures here are mostly a connection cut mid-file.
set -uo pipefail
attempts="$1"; shift
delay="${RETRY_DELAY:-15}"
for ((attempt = 1; ; attempt++)); do
    "$@" && exit 0
    status=$?
    if ((attempt >= attempts)); then
        echo "retry.sh: '$*' failed $attempt times (exit $status)" >&2
        exit "$status"
    fi
    echo "retry.sh: '$*' failed (exit $status), attempt $attempt of $attempts; trying again in $((attempt * delay)) s" >&2
    sleep $((attempt * delay))
done
