"""recall@10 and QPS (one client) of pm_idx on the 1M x 128 table `pm` (synthetic, seed 1234; ../2026-12-07-10m-fixed-records/pm.sh) at several ef_search, over the set's 1,000 queries; exact ground truth computed with numpy and cached in /tmp/pm_gt.npz. usage: recall.py LABEL [EF,EF,...]"""
import sys, os, numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
from vsbench import synthetic, pg
cache = '/tmp/pm_gt.npz'
if os.path.exists(cache):
    z = np.load(cache); q, gt = z['q'], z['gt']
else:
    base, q = synthetic.generate(1_000_000, 128, seed=1234, n_queries=1000, metric='l2')
    bn = (base.astype(np.float32) ** 2).sum(1)
    gt = []
    for i in range(0, len(q), 100):
        d = bn[None, :] - 2 * q[i:i+100] @ base.T
        gt.append(np.argsort(d, axis=1)[:, :10])
    gt = np.vstack(gt); np.savez(cache, q=q, gt=gt)
conn = pg.connect("host=127.0.0.1 port=54350 user=postgres dbname=postgres")
lits = [pg.vector_literal(v) for v in q]
label = sys.argv[1] if len(sys.argv) > 1 else ''
for ef in [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else '10,20,40,60,80,120,200').split(',')]:
    found, lat = pg.run_queries(conn, 'pm', 'l2', lits, 10, {'hnsw.ef_search': ef})
    rec = np.mean([len(set(f) & set(g.tolist())) / 10 for f, g in zip(found, gt)])
    print(f"{label} ef_search {ef}: recall@10 {rec:.4f}  QPS {len(lat)/lat.sum():.0f}", flush=True)
