"""Loads the cached synthetic 10M x 96 rows into table big10m of the second cluster (port 54350)."""
import os, sys, numpy as np, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..'))
from vsbench import pg
base = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'data', 'cache', 'synthetic-10m-96', 'base.npy'), mmap_mode='r')
conn = pg.connect("host=127.0.0.1 port=54350 user=postgres dbname=postgres")
cur = conn.cursor()
t = time.time()
pg.load_table(conn, 'big10m', base)
cur.execute("VACUUM ANALYZE big10m")
print("loaded", base.shape, f"{time.time()-t:.0f} s", flush=True)
