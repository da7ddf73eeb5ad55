import sys, time

sys.path.insert(0, "test/bench")
from vsbench import synthetic
import hnswlib, numpy as np
base, q = synthetic.generate(1000000, 128, seed=1234, n_queries=1000)
base = np.ascontiguousarray(base, dtype=np.float32)
for threads in (2,):
    idx = hnswlib.Index(space='l2', dim=128)
    idx.init_index(max_elements=base.shape[0], M=16, ef_construction=64, random_seed=100)
    idx.set_num_threads(threads)
    t0 = time.perf_counter(); idx.add_items(base, np.arange(base.shape[0])); t = time.perf_counter() - t0
    print("hnswlib 1M x 128, M 16, ef_construction 64, %d threads: %.1f s (%.0f rows/s)" % (threads, t, base.shape[0] / t), flush=True)
