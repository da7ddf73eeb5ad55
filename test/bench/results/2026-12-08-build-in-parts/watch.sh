#!/bin/bash
# Logs pg_stat_progress_create_index on the pm cluster every 2 s (the phases' timeline) until killed.
while true; do
	psql -h 127.0.0.1 -p 54350 -U postgres -qAt -c "SELECT to_char(now(), 'HH24:MI:SS'), phase, tuples_done, tuples_total FROM pg_stat_progress_create_index" 2>/dev/null
	sleep 2
done
