#!/usr/bin/python3
"""Self-check of vsbench.synthetic. Run: /usr/bin/python3 test/bench/test_synthetic.py
(Debian's python3: it has numpy and faiss). About 20 s on 2 cores. Prints 'N passed, N failed'
and exits nonzero on a failure."""
import gzip
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from vsbench import synthetic as S  # noqa: E402

# sha256 of base + queries of generate(20_000, 64), made with numpy 1.24.2. NumPy does not
# promise Generator streams across versions, so a new numpy may change it. If so the data
# changed, and benchmark numbers from before and after are not comparable.
GOLDEN = '764b0d652cfd3f89dadc62c5decc8d0a5fae9558537ee64b78228e804ea63694'

passed = failed = 0


def check(name, ok, detail=''):
    global passed, failed
    if ok:
        passed += 1
        print(f'ok    {name}')
    else:
        failed += 1
        print(f'FAIL  {name} {detail}')


def sha(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()


def rows_as_bytes(x):
    return {r.tobytes() for r in x}


t_start = time.time()

# shapes, dtypes, layout
for kw in ({}, {'metric': 'cosine'}, {'degenerate': True}):
    b, q = S.generate(3_000, 48, n_queries=100, **kw)
    check(f'shape/dtype {kw}', b.shape == (3_000, 48) and q.shape == (100, 48)
          and b.dtype == np.float32 and q.dtype == np.float32
          and b.flags['C_CONTIGUOUS'] and q.flags['C_CONTIGUOUS']
          and np.isfinite(b).all() and np.isfinite(q).all())

# determinism
b1, q1 = S.generate(20_000, 64)
b2, q2 = S.generate(20_000, 64)
check('same seed, same bytes', sha(b1, q1) == sha(b2, q2))
check('golden hash (numpy %s)' % np.__version__, sha(b1, q1) == GOLDEN, sha(b1, q1))
b3, q3 = S.generate(20_000, 64, seed=1235)
check('other seed differs', not np.array_equal(b1, b3) and not np.array_equal(q1, q3))
b4, q4 = S.generate(5_000, 64)
check('a smaller n is a prefix, queries do not depend on n',
      np.array_equal(b4, b1[:5_000]) and np.array_equal(q4, q1))
# BLAS threads and kernel must not matter (the low-rank matmul is exact by construction)
env = dict(os.environ, OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1', OPENBLAS_CORETYPE='Prescott')
code = ('import sys, hashlib; sys.path.insert(0, %r); from vsbench.synthetic import generate; '
        'b, q = generate(20_000, 64); h = hashlib.sha256(); h.update(b.tobytes()); '
        'h.update(q.tobytes()); print(h.hexdigest())' % HERE)
other = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
check('same bytes with 1 BLAS thread and another BLAS kernel',
      other.stdout.strip() == sha(b1, q1), other.stdout + other.stderr)

# cosine: raw (not unit) vectors with the l2 set's directions
bc, qc = S.generate(20_000, 64, metric='cosine')
norms = np.linalg.norm(bc, axis=1) / np.linalg.norm(b1, axis=1)
cos = (bc * b1).sum(1) / np.linalg.norm(bc, axis=1) / np.linalg.norm(b1, axis=1)
check('cosine: raw norms in 0.5..1.5, same directions as l2',
      norms.min() >= 0.49 and norms.max() <= 1.51 and norms.std() > 0.2 and cos.min() > 0.99999)

# base and queries disjoint, no duplicate rows
b, q = S.generate(50_000, 64)
base_rows = rows_as_bytes(b)
check('base and queries disjoint', not (base_rows & rows_as_bytes(q)))
check('no duplicate base rows', len(base_rows) == len(b))

# diagnostics on 50,000 x 64. Measured (seed 1234, see DATASETS.md): nprobe=1 recall@10 0.578,
# RC10 1.31. The real sets give 0.39-0.49 and 1.21-1.52; the degenerate blobs give
# 0.957 and 2.22 at this size. The bounds leave room for faiss k-means differences
# between machines while still failing the blobs.
r = S.degeneracy_report(b, q, sample=50_000)
check(f"ivf_nprobe1_recall10 {r['ivf_nprobe1_recall10']:.3f} in (0.3, 0.8)",
      0.3 < r['ivf_nprobe1_recall10'] < 0.8)
check(f"relative_contrast_10 {r['relative_contrast_10']:.3f} > 1.2", r['relative_contrast_10'] > 1.2)
check(f"relative_contrast_100 {r['relative_contrast_100']:.3f} > RC10",
      r['relative_contrast_100'] > r['relative_contrast_10'])
check(f"lid_mle {r['lid_mle']:.1f} in (5, 40)", 5 < r['lid_mle'] < 40)
bd, qd = S.generate(50_000, 64, degenerate=True)
rd = S.degeneracy_report(bd, qd, sample=50_000)
check(f"degenerate blobs fail the recall check ({rd['ivf_nprobe1_recall10']:.3f} >= 0.9)",
      rd['ivf_nprobe1_recall10'] >= 0.9)

# readers, on files written here
with tempfile.TemporaryDirectory() as tmp:
    x = np.arange(12, dtype='<f4').reshape(3, 4) - 5.5
    with open(f'{tmp}/a.fvecs', 'wb') as f:
        for row in x:
            f.write(struct.pack('<i', 4) + row.tobytes())
    with open(f'{tmp}/a.ivecs', 'wb') as f:
        for row in x.astype('<i4'):
            f.write(struct.pack('<i', 4) + row.tobytes())
    img = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 15)
    with gzip.open(f'{tmp}/a-idx3-ubyte.gz', 'wb') as f:
        f.write(struct.pack('>IIII', 0x803, 2, 3, 5) + img.tobytes())
    check('read_fvecs', np.array_equal(S.read_fvecs(f'{tmp}/a.fvecs'), x))
    check('read_ivecs', np.array_equal(S.read_ivecs(f'{tmp}/a.ivecs'), x.astype(np.int32))
          and S.read_ivecs(f'{tmp}/a.ivecs').dtype == np.int32)
    got = S.read_idx_images(f'{tmp}/a-idx3-ubyte.gz')
    check('read_idx_images', got.dtype == np.float32 and np.array_equal(got, img))

# readers on the real files: SIFT10K ships with the repository; Fashion-MNIST where Debian's
# package is installed
sift = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'sift-10k-euclidean')
sb, sq, sg = (S.read_fvecs(f'{sift}/base.fvecs'), S.read_fvecs(f'{sift}/query.fvecs'),
              S.read_ivecs(f'{sift}/groundtruth.ivecs'))
nn = ((sb - sq[0]) ** 2).sum(1).argmin()
check('SIFT10K via read_fvecs/read_ivecs', sb.shape == (10_000, 128) and sq.shape == (100, 128)
      and sg.shape == (100, 100) and nn == sg[0, 0])
fm = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz'
if os.path.exists(fm):
    t = S.read_idx_images(fm)
    check('Fashion-MNIST via read_idx_images', t.shape == (10_000, 784) and t.max() == 255)

# timing is reported, not asserted: speed is the benchmark's business, not a test's
print(f'# ran in {time.time() - t_start:.1f} s')
print(f'{passed} passed, {failed} failed')
sys.exit(1 if failed else 0)
