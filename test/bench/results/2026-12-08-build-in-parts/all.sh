#!/bin/bash
# The whole comparison, in turn on a quiet machine: in memory and in parts (223MB, a quarter
# of the graph), serial and with one worker, each followed by its recall sweep.
cd "$(dirname "$0")"
for run in "mem 1GB 1" "parts 223MB 1" "mem 1GB 0" "parts 223MB 0"; do
	set -- $run
	bash build.sh "$@"
	/usr/bin/python3 recall.py "$1-$2-w$3"
done
