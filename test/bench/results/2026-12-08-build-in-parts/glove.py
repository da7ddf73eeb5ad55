"""GloVe-100 (200,000 x 100, cosine; the prepared copy in $GLOVE_DIR, base/query/groundtruth
.fvecs/.ivecs) on the second cluster (port 54350): build time and recall@10 over 1,000 queries
of hnsw (m 16, ef_construction 64) built with each LABEL:MEM:WORKERS given.
usage: GLOVE_DIR=.../glove-100-angular glove.py mem:512MB:1 parts:48MB:1 old:16MB:1"""
import os, sys, numpy as np, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
from vsbench import synthetic, pg
base = synthetic.read_fvecs(os.environ['GLOVE_DIR'] + '/base.fvecs')
q = synthetic.read_fvecs(os.environ['GLOVE_DIR'] + '/query.fvecs')[:1000]
gt = synthetic.read_ivecs(os.environ['GLOVE_DIR'] + '/groundtruth.ivecs')[:1000, :10]
conn = pg.connect("host=127.0.0.1 port=54350 user=postgres dbname=postgres")
cur = conn.cursor()
cur.execute("SELECT to_regclass('glove')")
if cur.fetchone()[0] is None:
    pg.load_table(conn, 'glove', base)
    cur.execute("VACUUM ANALYZE glove")
lits = [pg.vector_literal(v) for v in q]
def run(label, mem, workers):
    cur.execute("DROP INDEX IF EXISTS glove_idx")
    cur.execute(f"SET maintenance_work_mem = '{mem}'")
    cur.execute(f"SET max_parallel_maintenance_workers = {workers}")
    cur.execute("SET client_min_messages = warning")
    t = time.time()
    cur.execute("CREATE INDEX glove_idx ON glove USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
    bt = time.time() - t
    out = []
    for ef in (10, 20, 40, 80, 120):
        found, lat = pg.run_queries(conn, 'glove', 'cosine', lits, 10, {'hnsw.ef_search': ef})
        rec = np.mean([len(set(f) & set(g.tolist())) / 10 for f, g in zip(found, gt)])
        out.append(f"ef{ef} {rec:.4f}")
    print(f"{label} build {bt:.1f} s", *out, flush=True)
for spec in sys.argv[1:]:
    label, mem, w = spec.split(':')
    run(label, mem, int(w))
