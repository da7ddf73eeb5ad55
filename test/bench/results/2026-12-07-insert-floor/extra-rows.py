#!/usr/bin/python3
"""pm_extra on pm.sh's cluster: rows 1,000,000-1,229,999 of the synthetic generation that pm.sh
loads the first 1,000,000 of (seed 1234, 128-d), for inserts and queries (insert-floor.sh).
Run from test/bench. (Session 30 made the table in two steps, 30,000 rows and then 200,000,
with the same generation.)"""
import io
import sys

sys.path.insert(0, ".")
from vsbench import pg, synthetic  # noqa: E402

base, _ = synthetic.generate(1_230_000, 128, seed=1234, n_queries=10, metric="l2")
conn = pg.connect("host=127.0.0.1 port=54350 user=postgres dbname=postgres")
conn.autocommit = True
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS pm_extra")
cur.execute("CREATE TABLE pm_extra (id int PRIMARY KEY, embedding vector(128))")
buf = io.StringIO()
for i, v in enumerate(base[1_000_000:]):
    buf.write("%d\t[%s]\n" % (1_000_000 + i, ",".join("%.6g" % x for x in v)))
buf.seek(0)
cur.copy_expert("COPY pm_extra FROM STDIN", buf)
cur.execute("CREATE SEQUENCE IF NOT EXISTS pm_next")
cur.execute("SELECT setval('pm_next', 1000000, false)")
