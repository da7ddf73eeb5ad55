"""recall@10 of big10m_idx over the 10M set's 1,000 queries at several ef_search (one pass each)."""
import os, sys, numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..'))
from vsbench import pg
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'data', 'cache', 'synthetic-10m-96') + '/'
q = np.load(d + 'queries.npy'); gt = np.load(d + 'gt.npy')[:, :10]
conn = pg.connect("host=127.0.0.1 port=54350 user=postgres dbname=postgres")
lits = [pg.vector_literal(v) for v in q]
for ef in (20, 40, 60, 80, 120):
    found, lat = pg.run_queries(conn, 'big10m', 'l2', lits, 10, {'hnsw.ef_search': ef})
    rec = np.mean([len(set(f) & set(g.tolist())) / 10 for f, g in zip(found, gt)])
    print(f"parts10m ef_search {ef}: recall@10 {rec:.4f}  QPS {len(lat)/lat.sum():.0f} (one pass)", flush=True)
