#!/bin/sh
# Example task: pretends to back up a folder for a few seconds.
echo "backing up ${1:-.}"
sleep "${2:-3}"
echo "backup of ${1:-.} done"
