import os, sys, numpy as np, psycopg2, time
# GloVe-100 as fvecs (base.fvecs, query.fvecs): the folder in VS_GLOVE_DIR
GLOVE=os.environ.get('VS_GLOVE_DIR') or sys.exit('set VS_GLOVE_DIR to a folder with GloVe-100 base.fvecs and query.fvecs')
def fvecs(p):
    a=np.fromfile(p,dtype='int32'); d=a[0]; return a.reshape(-1,d+1)[:,1:].view('float32')
Q=fvecs(os.path.join(GLOVE,'query.fvecs'))[:300]
c=psycopg2.connect(host='127.0.0.1',port=54340,user='postgres',dbname='postgres'); c.autocommit=True; cur=c.cursor()
cur.execute("DROP TABLE IF EXISTS glq; CREATE TABLE glq (qid int, q vector(100))")
for i,q in enumerate(Q): cur.execute("INSERT INTO glq VALUES (%s, %s)",(i,"[%s]"%",".join("%g"%f for f in q)))
cur.execute("""CREATE OR REPLACE FUNCTION timeit(lim int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; r record; n int := 0; BEGIN
 t0 := clock_timestamp();
 FOR r IN SELECT q FROM glq LOOP
   PERFORM count(*) FROM (SELECT id FROM gl ORDER BY v <=> r.q LIMIT lim) s;
 END LOOP;
 RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / 300; END $$""")
for m in sys.argv[1].split(','):
    cur.execute("DROP INDEX IF EXISTS gl_i")
    if m=='hnsw': cur.execute("SET maintenance_work_mem='1GB'; CREATE INDEX gl_i ON gl USING hnsw (v vector_cosine_ops)")
    elif m=='ivf': cur.execute("CREATE INDEX gl_i ON gl USING ivf (v vector_cosine_ops) WITH (lists=316)")
    else: cur.execute("CREATE INDEX gl_i ON gl USING ivfpq (v vector_cosine_ops) WITH (lists=316)")
    cur.execute("SET enable_seqscan=off; SET vecsearch.nprobe=10; SET hnsw.ef_search=%s; SELECT timeit(10)" % (sys.argv[3] if len(sys.argv) > 3 else 40))
    for lim in [int(x) for x in sys.argv[2].split(',')]:
        res={}
        for rep in range(3):
            for mode in ('strict','relaxed'):
                cur.execute("SET vecsearch.ivf_scan_order=%s; SET vecsearch.hnsw_scan_order=%s"%(mode,mode))
                cur.execute("SELECT timeit(%d)"%lim); res.setdefault(mode,[]).append(cur.fetchone()[0])
        print("%s LIMIT %d: strict %.3f ms, relaxed %.3f ms (best of 3 each, alternating)"%(m,lim,min(res['strict']),min(res['relaxed'])),flush=True)
