#!/bin/sh
# Example task: fails about half the time, to show retries with backoff.
if [ "$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')" -lt 128 ]; then echo "flaky: failed" >&2; exit 1; fi
echo "flaky: succeeded"
