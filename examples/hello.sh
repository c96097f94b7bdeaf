#!/bin/sh
# Example task: greets, shows its arguments and the task name the supervisor gives it.
echo "hello from $SUPERVISOR_TASK at $(date -u +%FT%TZ), args: $*"
