"""Deterministic synthetic vectors with overlapping clusters, a degeneracy report, and readers
for the real sets (fvecs / ivecs / IDX).

Why not Gaussian blobs: well-separated isotropic blobs are degenerate in two ways. An IVF cell
holds whole blobs, so one probe finds every neighbour. Inside a blob, high-dimensional isotropic
noise makes the 1st and the 10th neighbour almost equally far, so any quantizer looks broken.
generate(..., degenerate=True) makes such blobs for contrast. Real embeddings sit between the
two cases, and this generator is tuned to sit there too. test/bench/DATASETS.md has the measured
table, and `python3 -m vsbench.synthetic --report` (run from test/bench) reproduces it.

The model. Centres have norm ~1, and the other scales are relative to that.
  * K = 256 cluster centres c_k ~ N(0, I/dim), about 1.41 apart.
  * Zipf-like sizes: P(k) ~ 1/sqrt(k+1), so the largest cluster is 16x the smallest, like the
    k-means cell sizes of real sets. Exponent 1 would put 13% of the data in one cluster.
  * A point of cluster k is  c_k + spread * u @ B_k / sqrt(dim) + NOISE * e / sqrt(dim), where:
      - B_k is the cluster's own random basis: r_k Gaussian rows of length dim. r_k is drawn
        per cluster from [r_hi/3, r_hi], with r_hi = min(16 + dim/16, 48): 24 at dim 128, 40
        at 384. It sets the local intrinsic dimension (LID), and it grows slowly with dim because
        real sets have a LID of 15-18 whatever their width (SIFT 128, GloVe 100, Fashion-MNIST
        784, MiniLM 384; see DATASETS.md). In tuning, ranks of dim/16..3dim/16 at dim 384 gave
        LID 28, with d10/d1 down to 1.10.
      - u = a_k * s_kj + sqrt(1 - a_k^2) * g, scaled to unit expected norm. This is a two-level
        hierarchy, like topics and sub-topics: each cluster has 32 sub-centres s_kj, and a_k ~
        U(0, 0.9) sets how clumped cluster k is. It widens the per-query spread of contrast and
        LID. In the real sets the 10th-90th percentile of per-query LID runs from about 6 to 30,
        and a single-level model gave about 10 to 21.
      - spread = 2 * (dim/128)**(1/4) makes a cluster wider than the gap between centres, so
        clusters overlap. The overlap matters when IVF cells hold whole clusters (pgvector's
        lists = rows/1000). At 200k x 128 with 60 lists, recall@10 at nprobe=1 was 0.96, 0.91,
        0.70 and 0.56 for spreads 0.4, 0.75, 1.5 and 2. With nlist = 4 sqrt(n) the cells are
        smaller than a cluster, and it is the LID that keeps one probe below recall 1. The
        dim**(1/4) factor is there because a fixed spread overlaps less at higher dim: spread 2
        gave 0.79 at dim 384 against 0.56 at dim 128.
      - e is isotropic noise with NOISE = 0.5, small next to the low-rank part. More noise
        concentrates distances: at 200k x 128 (spread 1.5), noise 0.35 -> 0.7 took d10/d1 from
        1.25 to 1.16.

Determinism: the bytes depend only on (n, dim, seed, metric, degenerate). Rows come in fixed
blocks of CHUNK rows, and block i of stream s draws from its own PCG64 stream,
default_rng([seed, s, i]). Any prefix of a larger generation is the smaller generation, and no
thread count enters. The only BLAS call, the u @ B_k product, is made exact: u and B_k are
rounded to multiples of 2**-12 and 2**-10 with |.| <= 8, so every product and partial sum fits
the 53-bit float64 mantissa. The result therefore does not depend on the BLAS kernel, its
summation order or its threads. Everything else is elementwise IEEE arithmetic (+ - * / sqrt,
all correctly rounded) or numpy's Generator. The model itself depends on (dim, seed) and not on
n, so sets of any size share the same clusters.
"""
import gzip
import math
import struct
import time

import numpy as np

CHUNK = 1 << 14          # rows per RNG block: part of the format, changing it changes the bytes
N_CLUSTERS = 256
N_SUB = 32               # sub-centres per cluster
SUB_MAX = 0.9            # a_k ~ U(0, SUB_MAX): weight of the sub-centre in the latent
SPREAD_128 = 2.0         # norm of the low-rank part at dim 128 (centres have norm ~1)
NOISE = 0.5              # norm of the isotropic part
R_CAP = 48               # most latent dimensions per cluster
N_BLOBS = 4096           # degenerate=True: make_blobs-style separated blobs
_STREAM_MODEL, _STREAM_BASE, _STREAM_QUERY, _STREAM_BASE_NORM, _STREAM_QUERY_NORM = range(5)


def _grid(x, bits):
    """Round to multiples of 2**-bits, clipped to [-8, 8]. This keeps the matmul exact."""
    s = float(1 << bits)
    return np.clip(np.round(x * s), -8 * s, 8 * s) / s


class _Model:
    """The mixture's parameters. They depend on (dim, seed) only, never on n, so that
    generations of different sizes share the same clusters."""

    def __init__(self, dim, seed):
        rng = np.random.default_rng([seed, _STREAM_MODEL])
        K = N_CLUSTERS
        self.dim = dim
        # dim**(1/4) keeps the overlap as dim grows (module docstring); sqrt is correctly
        # rounded everywhere, pow need not be
        self.spread = SPREAD_128 * math.sqrt(math.sqrt(dim / 128))
        self.r_hi = r_hi = min(16 + dim // 16, R_CAP)
        assert r_hi <= 1024  # exactness: |terms| < 2**28 units of 2**-22, <= 2**10 of them
        self.centres = rng.standard_normal((K, dim)) / math.sqrt(dim)
        self.cum_weight = np.cumsum(1.0 / np.sqrt(np.arange(1, K + 1, dtype=np.float64)))
        rank = rng.integers(r_hi // 3, r_hi + 1, K)
        # flat spectrum on the first r_k latent coordinates, zero beyond; 1/sqrt(r_k) gives
        # E|u|^2 = 1, and a Gaussian basis row has E|B_k[j]|^2 = dim, hence the /sqrt(dim)
        self.sigma = np.where(np.arange(r_hi)[None, :] < rank[:, None],
                              1.0 / np.sqrt(rank)[:, None], 0.0)
        self.sub_weight = rng.random(K) * SUB_MAX
        self.sub_centres = rng.standard_normal((K, N_SUB, r_hi))
        # float32 holds the 2**-10 grid values exactly and halves the memory
        self.basis = np.empty((K, r_hi, dim), dtype=np.float32)
        for k in range(K):
            self.basis[k] = _grid(rng.standard_normal((r_hi, dim)), 10)

    def block(self, rng, m):
        lab = np.searchsorted(self.cum_weight, rng.random(m) * self.cum_weight[-1], side='right')
        lab = np.minimum(lab, N_CLUSTERS - 1)  # random() * total can round up to total
        sub = rng.integers(0, N_SUB, m)
        g = rng.standard_normal((m, self.r_hi))
        e = rng.standard_normal((m, self.dim), dtype=np.float32)
        a = self.sub_weight[lab][:, None]
        u = _grid((a * self.sub_centres[lab, sub] + np.sqrt(1.0 - a * a) * g) * self.sigma[lab], 12)
        low = np.empty((m, self.dim))
        order = np.argsort(lab, kind='stable')
        for rows in np.split(order, np.flatnonzero(np.diff(lab[order])) + 1):
            low[rows] = u[rows] @ self.basis[lab[rows[0]]].astype(np.float64)
        x = self.centres[lab]
        x += low * (self.spread / math.sqrt(self.dim))
        x += e * (NOISE / math.sqrt(self.dim))
        return x.astype(np.float32)


class _Blobs:
    """The degenerate counter-example, in the style of sklearn's make_blobs: equal-sized
    N(centre, I) blobs with centres uniform in [-10, 10]^dim, far apart next to their radius."""

    def __init__(self, dim, seed):
        rng = np.random.default_rng([seed, _STREAM_MODEL, 1])
        self.dim = dim
        self.centres = rng.random((N_BLOBS, dim)) * 20.0 - 10.0

    def block(self, rng, m):
        lab = rng.integers(0, N_BLOBS, m)
        e = rng.standard_normal((m, self.dim), dtype=np.float32)
        return (self.centres[lab] + e).astype(np.float32)


def generate_chunks(n, dim, seed=1234, stream=_STREAM_BASE, metric='l2', degenerate=False,
                    _model=None):
    """Yield the rows of one stream in blocks of at most CHUNK rows (bounded memory). Use it
    to write a 1M-row set to disk without holding it; generate() concatenates it."""
    if metric not in ('l2', 'cosine'):
        raise ValueError(f'metric must be l2 or cosine, not {metric!r}')
    model = _model or (_Blobs if degenerate else _Model)(dim, seed)
    for i, start in enumerate(range(0, n, CHUNK)):
        # always draw a full block and cut it, so a prefix of a bigger generation is identical
        x = model.block(np.random.default_rng([seed, stream, i]), CHUNK)[:n - start]
        if metric == 'cosine':
            # raw, unnormalised vectors: the harness must normalise. Norms vary 0.5..1.5 so a
            # forgotten normalisation shows. The directions are the l2 set's, from its own stream.
            norm_stream = _STREAM_BASE_NORM if stream == _STREAM_BASE else _STREAM_QUERY_NORM
            f = 0.5 + np.random.default_rng([seed, norm_stream, i]).random(CHUNK)[:len(x)]
            x = (x * f[:, None]).astype(np.float32)
        yield np.ascontiguousarray(x)


def generate(n: int, dim: int, seed: int = 1234, n_queries: int = 1000, metric: str = 'l2',
             degenerate: bool = False):
    """base (n x dim float32, C-contiguous) and queries (n_queries x dim float32) from the same
    mixture but from separate random streams, so they are disjoint (checked in test_synthetic).
    Deterministic for (n, dim, seed, metric, degenerate) on any machine and thread count.
    metric='cosine' returns raw vectors (same directions as 'l2', norms 0.5..1.5).
    degenerate=True gives the well-separated-blobs counter-example instead."""
    model = (_Blobs if degenerate else _Model)(dim, seed)

    def take(stream, count):
        out = np.empty((count, dim), dtype=np.float32)
        at = 0
        for x in generate_chunks(count, dim, seed, stream, metric, degenerate, model):
            out[at:at + len(x)] = x
            at += len(x)
        return out

    return take(_STREAM_BASE, n), take(_STREAM_QUERY, n_queries)


# ----------------------------------------------------------------------------- readers

def read_fvecs(path, count=None):
    """Little-endian .fvecs (per vector: int32 d, then d float32) -> (n, d) float32."""
    return _read_vecs(path, '<f4', count)


def read_ivecs(path, count=None):
    """Little-endian .ivecs (per vector: int32 d, then d int32) -> (n, d) int32."""
    return _read_vecs(path, '<i4', count)


def _read_vecs(path, dtype, count):
    with open(path, 'rb') as f:
        d = struct.unpack('<i', f.read(4))[0]
    raw = np.fromfile(path, dtype=dtype, count=-1 if count is None else count * (d + 1))
    raw = raw.reshape(-1, d + 1)
    if not (raw[:, 0].view('<i4') == d).all():
        raise ValueError(f'{path}: rows of mixed dimension')
    return np.ascontiguousarray(raw[:, 1:], dtype=np.dtype(dtype).newbyteorder('='))


def read_idx_images(path_gz):
    """IDX image file (gzip'd if the name ends in .gz): big-endian magic 0x00000803, count,
    rows, cols, then uint8 pixels. Returns (count, rows*cols) float32 with values 0..255."""
    opener = gzip.open if str(path_gz).endswith('.gz') else open
    with opener(path_gz, 'rb') as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack('>IIII', data[:16])
    if magic != 0x00000803:
        raise ValueError(f'{path_gz}: not an IDX uint8 3-d file (magic {magic:#x})')
    pix = np.frombuffer(data, dtype=np.uint8, count=count * rows * cols, offset=16)
    return pix.reshape(count, rows * cols).astype(np.float32)


# ----------------------------------------------------------------------------- diagnostics

NPROBES = (1, 2, 4, 8, 16, 32, 64)


def _unit(x):
    x = np.array(x, dtype=np.float32, order='C', copy=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    norm[norm == 0] = 1
    x /= norm
    return x


def _ivf_recall10(xb, xq, gt, nlist, metric, seed, nprobes):
    import faiss
    d = xb.shape[1]
    if metric == 'cosine':
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.spherical = True
    else:
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist, faiss.METRIC_L2)
    ivf.cp.seed = seed
    ivf.cp.min_points_per_centroid = 1  # no warning for SIFT10K's 25 points per list
    ivf.train(xb)
    ivf.add(xb)
    curve = {}
    for p in nprobes:
        ivf.nprobe = p
        _, found = ivf.search(xq, 10)
        curve[p] = float(np.mean([len(np.intersect1d(found[i], gt[i, :10])) / 10
                                  for i in range(len(xq))]))
    return curve


def degeneracy_report(base: np.ndarray, queries: np.ndarray, metric: str = 'l2',
                      sample: int = 100_000, n_check_queries: int = 200, seed: int = 0,
                      threads: int = 2) -> dict:
    """Diagnostics on a seeded subsample of `sample` base rows (all rows if fewer) and the
    first n_check_queries queries:
      ivf_nprobe1_recall10   recall@10 of faiss IndexIVFFlat, nlist = round(4 sqrt(sample)),
                             at nprobe=1 (k-means trained on the sample)
      ivf_nprobe_for_0.9     smallest nprobe in 1..64 (powers of 2) with recall@10 >= 0.9,
                             inf if none
      relative_contrast_10   mean over queries of d(10th NN) / d(1st NN), L2 distance
      relative_contrast_100  the same with the 100th NN
      lid_mle                Levina-Bickel MLE of local intrinsic dimension over k=20
                             neighbours, mean over queries
      ivf_nprobe1_recall10_small_nlist   recall@10 at nprobe=1 with pgvector's
                             lists = rows/1000 (key small_nlist), comparable to the
                             pgvector figures quoted in DATASETS.md
    For 'cosine' everything is computed on unit vectors (L2 order = cosine order there) and
    the IVF uses inner product with spherical k-means, as pgvector's ivfflat does. Queries
    with d(1st NN) = 0 (a copy of a base row) are left out of the last three and counted."""
    import faiss
    t0 = time.time()
    faiss.omp_set_num_threads(threads)
    if len(base) > sample:
        pick = np.random.default_rng(seed).choice(len(base), sample, replace=False)
        xb = base[np.sort(pick)]
    else:
        xb = base
    xq = queries[:n_check_queries]
    if metric == 'cosine':
        xb, xq = _unit(xb), _unit(xq)
    elif metric == 'l2':
        xb = np.ascontiguousarray(xb, dtype=np.float32)
        xq = np.ascontiguousarray(xq, dtype=np.float32)
    else:
        raise ValueError(f'metric must be l2 or cosine, not {metric!r}')
    n, d = xb.shape
    nlist = int(round(4 * math.sqrt(n)))

    flat = faiss.IndexFlatL2(d)
    flat.add(xb)
    dist2, gt = flat.search(xq, 100)
    dist = np.sqrt(np.maximum(dist2, 0).astype(np.float64))

    curve = _ivf_recall10(xb, xq, gt, nlist, metric, seed, NPROBES)
    # pgvector's advice, lists = rows / 1000: cells hold many points, even whole clusters, so
    # here it is the overlap between clusters that keeps one probe from finding everything
    small_nlist = max(1, int(round(n / 1000)))
    small = _ivf_recall10(xb, xq, gt, small_nlist, metric, seed, (1,))[1]
    reach = [p for p in NPROBES if curve[p] >= 0.9]

    ok = dist[:, 0] > 0
    dk = dist[ok]
    k = 20
    # Levina-Bickel: 1 / mean_{j<k} log(T_k / T_j), per query
    lid = 1.0 / np.maximum(np.log(dk[:, k - 1:k] / dk[:, :k - 1]).mean(axis=1), 1e-12)
    return {
        'ivf_nprobe1_recall10': curve[1],
        'ivf_nprobe_for_0.9': float(reach[0]) if reach else float('inf'),
        'relative_contrast_10': float(np.mean(dk[:, 9] / dk[:, 0])),
        'relative_contrast_100': float(np.mean(dk[:, 99] / dk[:, 0])),
        'lid_mle': float(np.mean(lid)),
        'ivf_recall10_by_nprobe': curve,
        'ivf_nprobe1_recall10_small_nlist': small, 'small_nlist': small_nlist,
        'metric': metric, 'sample': n, 'dim': d, 'nlist': nlist, 'n_check_queries': len(xq),
        'lid_k': k, 'seed': seed, 'threads': threads,
        'queries_with_zero_d1': int((~ok).sum()), 'seconds': round(time.time() - t0, 1),
    }


# ----------------------------------------------------------------------------- CLI

FMNIST = '/usr/share/datasets/fashion-mnist'


def _real_sets():
    """(name, loader, metric) of the real sets, as DATASETS.md describes them."""
    from .datasets import REPO_DATA, SHARED  # datasets imports this module

    def vecs(root, folder):
        return lambda: (read_fvecs(f'{root}/{folder}/base.fvecs'),
                        read_fvecs(f'{root}/{folder}/query.fvecs'))
    return [
        ('GloVe-100 (real)', vecs(SHARED, 'glove-100-angular'), 'cosine'),
        ('SIFT10K (real)', vecs(REPO_DATA, 'sift-10k-euclidean'), 'l2'),
        ('Fashion-MNIST (real)', lambda: (read_idx_images(f'{FMNIST}/train-images-idx3-ubyte.gz'),
                                          read_idx_images(f'{FMNIST}/t10k-images-idx3-ubyte.gz')[:1000]),
         'l2'),
        ('MiniLM fiori docs (real, tiny)', vecs(SHARED, 'fiori-docs-minilm-384-angular'), 'cosine'),
    ]


def _synthetic_sets():
    def gen(n, dim, **kw):
        return lambda: generate(n, dim, **kw)
    return [
        ('synthetic', gen(200_000, 128), 'l2'),
        ('synthetic', gen(200_000, 384), 'l2'),
        ('synthetic, cosine', gen(200_000, 384, metric='cosine'), 'cosine'),
        ('synthetic, SIFT10K size', gen(10_000, 128), 'l2'),
        ('synthetic, Fashion-MNIST size', gen(60_000, 784), 'l2'),
        ('synthetic, test size', gen(50_000, 64), 'l2'),
        ('degenerate blobs', gen(200_000, 128, degenerate=True), 'l2'),
        ('degenerate blobs', gen(200_000, 384, degenerate=True), 'l2'),
    ]


def report(sets, out=print):
    out('| set | n x dim | metric | nlist | R@10 nprobe=1 | nprobe for 0.9 '
        '| lists=n/1000: R@10 nprobe=1 | RC10 | RC100 | LID | load/gen s |')
    out('|---|---|---|---|---|---|---|---|---|---|---|')
    rows = []
    for name, load, metric in sets:
        t0 = time.time()
        base, queries = load()
        t_load = time.time() - t0
        r = degeneracy_report(base, queries, metric, sample=max(len(base), 1))
        r['set'], r['load_seconds'] = name, round(t_load, 1)
        rows.append(r)
        reach = r['ivf_nprobe_for_0.9']
        out(f"| {name} | {len(base):,} x {base.shape[1]} | {metric} | {r['nlist']} "
            f"| {r['ivf_nprobe1_recall10']:.3f} | {'>64' if math.isinf(reach) else int(reach)} "
            f"| {r['ivf_nprobe1_recall10_small_nlist']:.3f} ({r['small_nlist']}) "
            f"| {r['relative_contrast_10']:.3f} | {r['relative_contrast_100']:.3f} "
            f"| {r['lid_mle']:.1f} | {t_load:.1f} |")
    return rows


def _main(argv=None):
    import argparse
    import json
    import resource
    ap = argparse.ArgumentParser(prog='python3 -m vsbench.synthetic',
                                 description='Synthetic vectors: diagnostics table and timing.')
    ap.add_argument('--report', action='store_true',
                    help='print the DATASETS.md table (about 2.5 minutes on 2 cores)')
    ap.add_argument('--only', choices=('synthetic', 'real'), help='with --report: one half')
    ap.add_argument('--json', metavar='PATH', help='with --report: also write the raw reports')
    ap.add_argument('--time', nargs=2, type=int, metavar=('N', 'DIM'),
                    help='time generate(N, DIM) and print the peak memory')
    a = ap.parse_args(argv)
    if a.time:
        t0 = time.time()
        base, _ = generate(*a.time)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f'generate({a.time[0]:,}, {a.time[1]}): {time.time() - t0:.1f} s, peak RSS '
              f'{peak:.0f} MiB for a {base.nbytes / 2**20:.0f} MiB result')
    if a.report:
        sets = ([] if a.only == 'real' else _synthetic_sets()) + \
               ([] if a.only == 'synthetic' else _real_sets())
        rows = report(sets)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump(rows, f, indent=1)
    if not (a.time or a.report):
        ap.print_help()


if __name__ == '__main__':
    _main()
