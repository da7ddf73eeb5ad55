"""halfvec indexes against vector ones (hnsw, ivf) on the same rows: index size, build time, recall@10 and
query latency at the same ef_search. Needs a running server with vecsearch installed
(VS_PORT, default 54340, user postgres), Debian's dataset-fashion-mnist, and GloVe-100 as
fvecs (base.fvecs, query.fvecs) in VS_GLOVE_DIR. Run from the repository root:
  VS_GLOVE_DIR=... /usr/bin/python3 test/bench/results/2026-12-07-halfvec-storage/measure.py
"""
import io, os, subprocess, sys, time
import numpy as np, psycopg2

PORT = int(os.environ.get('VS_PORT', '54340'))
GLOVE = os.environ.get('VS_GLOVE_DIR') or sys.exit('set VS_GLOVE_DIR')
NQ, GLOVE_ROWS = 200, 100000

def fvecs(p):
    a = np.fromfile(p, dtype='int32'); d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].view('float32')

def fmnist(part, limit=None):
    cmd = ['/usr/bin/python3', 'scripts/load_fashion_mnist.py', 'copy', part] + (['--limit', str(limit)] if limit else [])
    rows = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    return np.array([[float(x) for x in r.split('\t')[2].strip('[]').split(',')] for r in rows], dtype='float32')

def lit(v):
    return '[' + ','.join('%.9g' % x for x in v) + ']'

admin = psycopg2.connect(host='127.0.0.1', port=PORT, user='postgres', dbname='postgres'); admin.autocommit = True
# EXT=pgvector: the same measurement of pgvector, installed as extension `pgvector` by
# scripts/pgvector.sh, in a database of its own
EXT = os.environ.get('EXT', 'vecsearch')
DB = 'hs' if EXT == 'vecsearch' else 'hs_' + EXT
admin.cursor().execute('DROP DATABASE IF EXISTS %s' % DB); admin.cursor().execute('CREATE DATABASE %s' % DB)
c = psycopg2.connect(host='127.0.0.1', port=PORT, user='postgres', dbname=DB); c.autocommit = True
cur = c.cursor()
cur.execute('CREATE EXTENSION %s' % EXT)

def load(name, X, dim):
    cur.execute('CREATE TABLE %s (id int, v vector(%d), h halfvec(%d))' % (name, dim, dim))
    buf = io.StringIO(''.join('%d\t%s\t%s\n' % (i, lit(x), lit(x)) for i, x in enumerate(X)))
    cur.copy_expert('COPY %s FROM STDIN' % name, buf)
    cur.execute('VACUUM ANALYZE %s' % name)

def truth(X, Q, metric):
    if metric == 'cosine':
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True); Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        return np.argsort(-(Qn @ Xn.T), axis=1)[:, :10]
    d = (Q ** 2).sum(1)[:, None] - 2 * Q @ X.T + (X ** 2).sum(1)[None, :]
    return np.argsort(d, axis=1)[:, :10]

# (method, reloptions, search setting, values): the benchmark's settings for these sets
METHODS = {
    'hnsw': ('', 'hnsw.ef_search', (40, 100)),
    'ivf': ('WITH (lists = %d)', 'ivfflat.probes', (4, 10)),
}

def run(name, X, Q, metric, lists):
    dim = X.shape[1]
    load(name, X, dim)
    gt = truth(X, Q, metric)
    op = '<=>' if metric == 'cosine' else '<->'
    cur.execute("SET maintenance_work_mem = '2GB'")
    cur.execute('SET enable_seqscan = off')
    for method in os.environ.get('METHODS', 'hnsw,ivf').split(','):
        with_, setting, values = METHODS[method]
        if '%d' in with_:
            with_ = with_ % lists
        for col, typ in (('v', 'vector'), ('h', 'halfvec')):
            t0 = time.time()
            am = 'ivfflat' if method == 'ivf' and EXT != 'vecsearch' else method
            cur.execute('CREATE INDEX %s_%s ON %s USING %s (%s %s_%s_ops) %s' % (name, col, name, am, col, typ, metric, with_))
            build = time.time() - t0
            cur.execute("SELECT pg_relation_size('%s_%s')" % (name, col)); size = cur.fetchone()[0]
            print('%s: %s %s %s: build %.1f s, size %.1f MB' % (EXT, name, method, typ, build, size / 1e6), flush=True)
        for value in values:
            cur.execute('SET %s = %d' % (setting, value))
            for col, typ in (('v', 'vector'), ('h', 'halfvec')):
                sql = 'SELECT id FROM %s ORDER BY %s %s %%s::%s LIMIT 10' % (name, col, op, typ)
                for rep in range(2):  # the first pass warms the cache
                    hits, lat = 0, []
                    for qi, q in enumerate(Q):
                        t0 = time.perf_counter(); cur.execute(sql, (lit(q),)); got = [r[0] for r in cur.fetchall()]
                        lat.append(time.perf_counter() - t0)
                        hits += len(set(got) & set(gt[qi].tolist()))
                lat.sort()
                print('%s: %s %s %s %s %d: recall@10 %.4f, p50 %.3f ms, p99 %.3f ms' %
                      (EXT, name, method, typ, setting, value, hits / (10.0 * len(Q)), 1000 * lat[len(lat) // 2], 1000 * lat[int(len(lat) * 0.99)]), flush=True)
        cur.execute('DROP INDEX %s_v, %s_h' % (name, name))

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
run('fmnist', fmnist('train'), fmnist('test', NQ), 'l2', 60)
run('glove', fvecs(os.path.join(GLOVE, 'base.fvecs'))[:GLOVE_ROWS].copy(), fvecs(os.path.join(GLOVE, 'query.fvecs'))[:NQ].copy(), 'cosine', 200)
