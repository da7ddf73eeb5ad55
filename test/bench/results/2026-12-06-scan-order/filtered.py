# Filtered ORDER BY ... LIMIT on each index: short results, order violations, recall vs exact.
import os, sys, numpy as np, psycopg2
# GloVe-100 as fvecs (base.fvecs, query.fvecs): the folder in VS_GLOVE_DIR
GLOVE=os.environ.get('VS_GLOVE_DIR') or sys.exit('set VS_GLOVE_DIR to a folder with GloVe-100 base.fvecs and query.fvecs')
def fvecs(p):
    a=np.fromfile(p,dtype='int32'); d=a[0]; return a.reshape(-1,d+1)[:,1:].view('float32')
N=int(sys.argv[1]); methods=sys.argv[2].split(','); sels=[int(x) for x in sys.argv[3].split(',')]
X=fvecs(os.path.join(GLOVE,'base.fvecs'))[:N]; Q=fvecs(os.path.join(GLOVE,'query.fvecs'))[:40]
c=psycopg2.connect(host='127.0.0.1',port=54340,user='postgres',dbname='postgres'); c.autocommit=True; cur=c.cursor()
notices=[]
cur.execute("SELECT count(*) FROM pg_class WHERE relname='gl'")
if cur.fetchone()[0]==0:
    cur.execute("CREATE TABLE gl (id int, v vector(100))")
    from io import StringIO
    buf=StringIO()
    for i,x in enumerate(X): buf.write("%d\t[%s]\n"%(i,",".join("%g"%f for f in x)))
    buf.seek(0); cur.copy_expert("COPY gl FROM STDIN",buf)
    cur.execute("ANALYZE gl")
def vec(q): return "[%s]"%",".join("%g"%f for f in q)
for m in methods:
    cur.execute("DROP INDEX IF EXISTS gl_i")
    if m=='hnsw': cur.execute("SET maintenance_work_mem='1GB'; CREATE INDEX gl_i ON gl USING hnsw (v vector_cosine_ops)")
    elif m=='ivf': cur.execute("CREATE INDEX gl_i ON gl USING ivf (v vector_cosine_ops) WITH (lists=%d)"%int(N**0.5))
    else: cur.execute("CREATE INDEX gl_i ON gl USING ivfpq (v vector_cosine_ops) WITH (lists=%d)"%int(N**0.5))
    for mode in sys.argv[4].split(','):
      for sel in sels:
        short=viol=0; rec=0.0; nq=0; left=0
        for q in Q:
            cur.execute("SET enable_seqscan=off; SET vecsearch.ivf_scan_order=%s; SET vecsearch.hnsw_scan_order=%s; SET vecsearch.nprobe=%s"%(mode,mode,sys.argv[5]))
            c.notices.clear()
            cur.execute("SELECT id, v <=> %s AS d FROM gl WHERE id %% "+str(sel)+" = 0 ORDER BY v <=> %s LIMIT 10",(vec(q),vec(q)))
            r=cur.fetchall()
            left+=sum('left out' in n for n in c.notices)
            cur.execute("SET enable_indexscan=off; SET enable_bitmapscan=off")
            cur.execute("SELECT id FROM gl WHERE id %% "+str(sel)+" = 0 ORDER BY v <=> %s LIMIT 10",(vec(q),))
            ex=[x[0] for x in cur.fetchall()]
            cur.execute("RESET enable_indexscan; RESET enable_bitmapscan")
            d=[x[1] for x in r]
            viol+= any(d[i+1]<d[i]-1e-6 for i in range(len(d)-1))
            short+= len(r)<len(ex)
            rec+= len(set(x[0] for x in r)&set(ex))/max(1,len(ex)); nq+=1
        print("%s %s sel=1/%d: short %d/%d, out-of-order %d, notices %d, recall %.3f"%(m,mode,sel,short,nq,viol,left,rec/nq),flush=True)
