/*
 * bench_kernels.c — how fast the distance kernels are, per ISA, and what sgemm buys for
 * nearest-centroid assignment. Prints a table; judges nothing.
 *
 * Two regimes, because a kernel is either compute-bound or memory-bound and never both:
 *  - L1-resident: a 32 KB set of rows (at least four) and the query, swept over and over. GB/s
 *    counts every operand the kernel loads: two vectors a call for 1x1, five for 1x4.
 *  - streaming: one pass over 512 MB of rows (128 MB with --quick; far beyond any L3) with the
 *    query in cache, as a scan of a table or an inverted list does. GB/s counts only row
 *    bytes, the ones that come from DRAM, and is also shown as a share of this core's
 *    measured read bandwidth.
 * ns/call is per call: a 1x4 call covers four rows.
 *
 * Usage: bench_kernels [--quick]   (--quick: smaller arrays and problems, a few seconds)
 */
#include "batch.h"
#include "distance.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

typedef struct BenchConfig
{
	size_t		bandwidth_bytes;	/* array summed to measure read bandwidth */
	size_t		stream_bytes;	/* rows streamed by the kernels (a prefix of the same array) */
	double		resident_seconds;	/* minimum length of one L1-resident measurement */
	int			resident_repeats;	/* best of this many */
	int			repeats;		/* best of this many, for everything else */
	size_t		assign_rows_128;	/* rows of dim 128 to assign to centroids */
	size_t		assign_rows_784;
} BenchConfig;

typedef enum KernelKind
{
	K_L2SQ,
	K_DOT,
	K_L1,
	K_COSINE,
	K_L2SQ_1X4,
	N_KERNEL_KINDS
} KernelKind;

static const char *const kernel_names[N_KERNEL_KINDS] = {"l2sq", "dot", "l1", "cosine_parts", "l2sq_1x4"};
static const size_t bench_dims[] = {128, 384, 784, 1536};

#define N_BENCH_DIMS (sizeof(bench_dims) / sizeof(bench_dims[0]))
#define RESIDENT_SET_BYTES (32 << 10)
#define N_CENTROIDS 1024

/* Results land here so that no call can be optimised away. */
static volatile float sink;

static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static void *
MustAlloc(size_t bytes)
{
	void	   *p = aligned_alloc(64, (bytes + 63) & ~(size_t) 63);

	if (p == NULL)
	{
		fprintf(stderr, "bench_kernels: cannot allocate %zu MB\n", bytes >> 20);
		exit(1);
	}
	return p;
}

/* Values in [-1, 1) from an LCG: cheap enough for a gigabyte, and never denormal. */
static void
FillFloats(float *v, size_t n, uint32_t seed)
{
	uint32_t	state = seed;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		state = state * 1664525u + 1013904223u;
		v[i] = (float) (state >> 8) * (2.0f / 16777216.0f) - 1.0f;
	}
}

/* ---------------------------------------------------------------- memory bandwidth */

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static float
SumAvx2(const float *p, size_t n)
{
	__m256		s0 = _mm256_setzero_ps(),
				s1 = _mm256_setzero_ps(),
				s2 = _mm256_setzero_ps(),
				s3 = _mm256_setzero_ps();
	size_t		i;

	/* two cache lines a step, four chains: the adds never wait on each other */
	for (i = 0; i + 32 <= n; i += 32)
	{
		s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
		s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
		s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
		s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
	}
	s0 = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
	{
		float		lanes[8];
		float		total = 0.0f;
		int			k;

		_mm256_storeu_ps(lanes, s0);
		for (k = 0; k < 8; k++)
			total += lanes[k];
		for (; i < n; i++)
			total += p[i];
		return total;
	}
}
#endif

static float
SumScalar(const float *p, size_t n)
{
	float		s0 = 0.0f,
				s1 = 0.0f,
				s2 = 0.0f,
				s3 = 0.0f;
	size_t		i;

	for (i = 0; i + 4 <= n; i += 4)
	{
		s0 += p[i];
		s1 += p[i + 1];
		s2 += p[i + 2];
		s3 += p[i + 3];
	}
	for (; i < n; i++)
		s0 += p[i];
	return s0 + s1 + s2 + s3;
}

/* Single-core read bandwidth in GB/s: best of `repeats` sums over the whole array. */
static double
MeasureReadBandwidth(const float *array, size_t bytes, int repeats, const char **how)
{
	double		best = 1e30;
	int			r;
	bool		avx2 = vs_isa_supported(VS_ISA_AVX2);

	*how = avx2 ? "AVX2 loads" : "scalar loads";
	for (r = 0; r < repeats; r++)
	{
		double		t0 = Now();

#if defined(__x86_64__) || defined(__i386__)
		sink = avx2 ? SumAvx2(array, bytes / sizeof(float)) : SumScalar(array, bytes / sizeof(float));
#else
		sink = SumScalar(array, bytes / sizeof(float));
#endif
		t0 = Now() - t0;
		if (t0 < best)
			best = t0;
	}
	return (double) bytes / best * 1e-9;
}

/* ---------------------------------------------------------------- kernel sweeps */

/*
 * One sweep: the kernel over `nrows` consecutive rows against one query. The switch sits
 * outside the loops so the loops are nothing but calls.
 */
static void
Sweep(const VsKernelTable *t, KernelKind kind, const float *q, const float *rows,
	  size_t nrows, size_t dim)
{
	float		acc = 0.0f;
	float		out[4];
	size_t		r;

	switch (kind)
	{
		case K_L2SQ:
			for (r = 0; r < nrows; r++)
				acc += t->l2sq(q, rows + r * dim, dim);
			break;
		case K_DOT:
			for (r = 0; r < nrows; r++)
				acc += t->dot(q, rows + r * dim, dim);
			break;
		case K_L1:
			for (r = 0; r < nrows; r++)
				acc += t->l1(q, rows + r * dim, dim);
			break;
		case K_COSINE:
			for (r = 0; r < nrows; r++)
			{
				t->cosine_parts(q, rows + r * dim, dim, out);
				acc += out[0];
			}
			break;
		case K_L2SQ_1X4:
			for (r = 0; r + 4 <= nrows; r += 4)
			{
				const float *group[4] = {rows + r * dim, rows + (r + 1) * dim,
				rows + (r + 2) * dim, rows + (r + 3) * dim};

				t->l2sq_1x4(q, group, dim, out);
				acc += out[0] + out[3];
			}
			break;
		case N_KERNEL_KINDS:
			break;
	}
	sink = acc;
}

static size_t
CallsPerSweep(KernelKind kind, size_t nrows)
{
	return kind == K_L2SQ_1X4 ? nrows / 4 : nrows;
}

/* Vectors the kernel loads per call, query included. */
static size_t
VectorsLoadedPerCall(KernelKind kind)
{
	return kind == K_L2SQ_1X4 ? 5 : 2;
}

/* Row vectors per call: the bytes that come from DRAM when streaming. */
static size_t
RowsPerCall(KernelKind kind)
{
	return kind == K_L2SQ_1X4 ? 4 : 1;
}

typedef struct Measurement
{
	double		ns_per_call;
	double		gb_per_s;
} Measurement;

static Measurement
MeasureResident(const VsKernelTable *t, KernelKind kind, const float *q, const float *rows,
				size_t dim, const BenchConfig *cfg)
{
	size_t		nrows = RESIDENT_SET_BYTES / (dim * sizeof(float));
	double		best = 1e30;
	size_t		calls = 0;
	int			r;
	Measurement m;

	nrows = nrows < 4 ? 4 : nrows & ~(size_t) 3;
	Sweep(t, kind, q, rows, nrows, dim);	/* warm the cache */
	for (r = 0; r < cfg->resident_repeats; r++)
	{
		double		t0 = Now();
		double		elapsed;
		size_t		sweeps = 0;

		do
		{
			Sweep(t, kind, q, rows, nrows, dim);
			sweeps++;
		} while ((elapsed = Now() - t0) < cfg->resident_seconds);
		calls = sweeps * CallsPerSweep(kind, nrows);
		if (elapsed / (double) calls < best)
			best = elapsed / (double) calls;
	}
	m.ns_per_call = best * 1e9;
	m.gb_per_s = (double) (VectorsLoadedPerCall(kind) * dim * sizeof(float)) / best * 1e-9;
	return m;
}

static Measurement
MeasureStreaming(const VsKernelTable *t, KernelKind kind, const float *q, const float *rows,
				 size_t dim, const BenchConfig *cfg)
{
	size_t		nrows = (cfg->stream_bytes / (dim * sizeof(float))) & ~(size_t) 3;
	size_t		calls = CallsPerSweep(kind, nrows);
	double		best = 1e30;
	int			r;
	Measurement m;

	for (r = 0; r < cfg->repeats; r++)
	{
		double		t0 = Now();

		Sweep(t, kind, q, rows, nrows, dim);
		t0 = Now() - t0;
		if (t0 < best)
			best = t0;
	}
	m.ns_per_call = best / (double) calls * 1e9;
	m.gb_per_s = (double) (calls * RowsPerCall(kind) * dim * sizeof(float)) / best * 1e-9;
	return m;
}

static void
BenchKernels(const float *array, double bandwidth, const BenchConfig *cfg)
{
	float	   *query = MustAlloc(2048 * sizeof(float));
	float	   *resident = MustAlloc(RESIDENT_SET_BYTES + 4 * 1536 * sizeof(float));
	int			isa;
	size_t		d;
	int			k;

	FillFloats(query, 2048, 7);
	FillFloats(resident, RESIDENT_SET_BYTES / sizeof(float) + 4 * 1536, 11);

	printf("\n%-7s %-13s %5s | %10s %9s | %10s %9s %8s\n", "isa", "kernel", "dim",
		   "L1 ns/call", "L1 GB/s", "str ns/call", "str GB/s", "% of bw");
	for (isa = 0; isa < VS_ISA_COUNT; isa++)
	{
		const VsKernelTable *t = vs_kernel_table((VsIsa) isa);

		if (t == NULL)
		{
			printf("# skip %s: not supported by this CPU\n", vs_isa_name((VsIsa) isa));
			continue;
		}
		for (k = 0; k < N_KERNEL_KINDS; k++)
		{
			for (d = 0; d < N_BENCH_DIMS; d++)
			{
				size_t		dim = bench_dims[d];
				Measurement res = MeasureResident(t, (KernelKind) k, query, resident, dim, cfg);
				Measurement str = MeasureStreaming(t, (KernelKind) k, query, array, dim, cfg);

				printf("%-7s %-13s %5zu | %10.1f %9.1f | %11.1f %8.1f %7.0f%%\n",
					   t->name, kernel_names[k], dim, res.ns_per_call, res.gb_per_s,
					   str.ns_per_call, str.gb_per_s, 100.0 * str.gb_per_s / bandwidth);
				fflush(stdout);
			}
		}
	}
	free(query);
	free(resident);
}

/* ---------------------------------------------------------------- nearest centroid */

typedef struct AssignProblem
{
	const float *x;				/* m rows */
	const float *c;				/* N_CENTROIDS rows */
	size_t		m;
	size_t		dim;
	int		   *nearest;
} AssignProblem;

typedef void (*AssignMethod) (AssignProblem *p);

/* The baseline: every pair through the active l2sq kernel. */
static void
AssignOneByOne(AssignProblem *p)
{
	size_t		i,
				j;

	for (i = 0; i < p->m; i++)
	{
		const float *xi = p->x + i * p->dim;
		float		best = INFINITY;
		int			best_j = 0;

		for (j = 0; j < N_CENTROIDS; j++)
		{
			float		d = vs_kernels->l2sq(xi, p->c + j * p->dim, p->dim);

			if (d < best)
			{
				best = d;
				best_j = (int) j;
			}
		}
		p->nearest[i] = best_j;
	}
}

static void
Assign1xN(AssignProblem *p)
{
	float		d[N_CENTROIDS];
	size_t		i,
				j;

	for (i = 0; i < p->m; i++)
	{
		float		best = INFINITY;
		int			best_j = 0;

		vs_l2sq_1xN(p->x + i * p->dim, p->c, N_CENTROIDS, p->dim, d);
		/* the minimum stays in a register: comparing against d[best_j] would chain loads */
		for (j = 0; j < N_CENTROIDS; j++)
		{
			if (d[j] < best)
			{
				best = d[j];
				best_j = (int) j;
			}
		}
		p->nearest[i] = best_j;
	}
}

static void
AssignSgemm(AssignProblem *p)
{
	vs_nearest_l2(p->x, p->m, p->c, N_CENTROIDS, p->dim, NULL, p->nearest, NULL);
}

static double
BestSeconds(AssignMethod method, AssignProblem *p, int repeats)
{
	double		best = 1e30;
	int			r;

	for (r = 0; r < repeats; r++)
	{
		double		t = Now();

		method(p);
		t = Now() - t;
		best = t < best ? t : best;
	}
	return best;
}

static double
Agreement(const int *a, const int *b, size_t m)
{
	size_t		same = 0,
				i;

	for (i = 0; i < m; i++)
		same += a[i] == b[i];
	return 100.0 * (double) same / (double) m;
}

static void
PrintAssignLine(const char *method, double seconds, double flops, double baseline, double agree)
{
	printf("  %-36s %8.3f s %8.1f GFLOP/s %7.1fx", method, seconds, flops / seconds * 1e-9, baseline / seconds);
	if (agree >= 0.0)
		printf("   %6.2f%% same picks as sgemm", agree);
	printf("\n");
	fflush(stdout);
}

static void
BenchAssign(size_t m, size_t dim, int repeats)
{
	float	   *x = MustAlloc(m * dim * sizeof(float));
	float	   *c = MustAlloc(N_CENTROIDS * dim * sizeof(float));
	int		   *by_sgemm = MustAlloc(m * sizeof(int));
	int		   *other = MustAlloc(m * sizeof(int));
	AssignProblem p = {x, c, m, dim, by_sgemm};
	AssignProblem warm = {x, c, m / 10 + 1, dim, other};
	double		flops = 2.0 * (double) m * N_CENTROIDS * (double) dim;
	double		t_loop,
				t;
	int			threads = openblas_get_num_procs();
	char		label[64];

	FillFloats(x, m * dim, 21);
	FillFloats(c, N_CENTROIDS * dim, 22);
	printf("\nnearest of %d centroids for %zu rows of dim %zu: %s kernels, nominal 2*m*n*d = %.1f GFLOP,"
		   " best of %d, speedup vs the one-by-one loop\n",
		   N_CENTROIDS, m, dim, vs_kernels->name, flops * 1e-9, repeats);

	vs_blas_set_threads(1);
	AssignSgemm(&warm);			/* OpenBLAS allocates its buffers on first use */
	t = BestSeconds(AssignSgemm, &p, repeats);

	p.nearest = other;
	t_loop = BestSeconds(AssignOneByOne, &p, repeats);
	PrintAssignLine("one-by-one l2sq loop (1 thread)", t_loop, flops, t_loop, Agreement(other, by_sgemm, m));
	PrintAssignLine("vs_l2sq_1xN, 1x4 kernels (1 thread)", BestSeconds(Assign1xN, &p, repeats),
					flops, t_loop, Agreement(other, by_sgemm, m));
	PrintAssignLine("vs_nearest_l2, sgemm (1 thread)", t, flops, t_loop, -1.0);

	vs_blas_set_threads(threads);
	snprintf(label, sizeof(label), "vs_nearest_l2, sgemm (%d threads)", threads);
	PrintAssignLine(label, BestSeconds(AssignSgemm, &p, repeats), flops, t_loop, Agreement(other, by_sgemm, m));
	vs_blas_set_threads(1);

	free(x);
	free(c);
	free(by_sgemm);
	free(other);
}

/* Other work on the machine shows up in every number; say how much there was. */
static void
PrintLoad(const char *when)
{
	FILE	   *f = fopen("/proc/loadavg", "r");
	double		load1;

	if (f != NULL && fscanf(f, "%lf", &load1) == 1)
		printf("load average (1 min) %s: %.2f on %d CPUs\n", when, load1, openblas_get_num_procs());
	if (f != NULL)
		fclose(f);
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	BenchConfig cfg = {
		.bandwidth_bytes = (size_t) 1 << 30,
		.stream_bytes = (size_t) 512 << 20,
		.resident_seconds = 0.01,
		.resident_repeats = 7,
		.repeats = 5,
		.assign_rows_128 = 100000,
		.assign_rows_784 = 20000,
	};
	BenchConfig quick = {
		.bandwidth_bytes = (size_t) 256 << 20,
		.stream_bytes = (size_t) 128 << 20,
		.resident_seconds = 0.002,
		.resident_repeats = 3,
		.repeats = 2,
		.assign_rows_128 = 10000,
		.assign_rows_784 = 2000,
	};
	float	   *array;
	double		bandwidth;
	int			bandwidth_repeats;
	const char *how;
	double		t0 = Now();
	bool		is_quick = argc > 1 && strcmp(argv[1], "--quick") == 0;

	if (is_quick)
		cfg = quick;
	else if (argc > 1)
	{
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}

	vs_kernels_init();
	vs_blas_set_threads(1);
	printf("bench_kernels%s: best ISA %s, active %s; OpenBLAS: %s (core %s)\n",
		   is_quick ? " --quick" : "",
		   vs_isa_name(vs_isa_detect()), vs_kernels->name, openblas_get_config(), openblas_get_corename());
	PrintLoad("at start");

	array = MustAlloc(cfg.bandwidth_bytes);
	FillFloats(array, cfg.bandwidth_bytes / sizeof(float), 3);
	bandwidth_repeats = cfg.repeats > 3 ? cfg.repeats : 3;
	bandwidth = MeasureReadBandwidth(array, cfg.bandwidth_bytes, bandwidth_repeats, &how);
	printf("single-core read bandwidth: %.1f GB/s (sum of %zu MB with %s, best of %d)\n",
		   bandwidth, cfg.bandwidth_bytes >> 20, how, bandwidth_repeats);
	printf("L1: a %d KB set of rows swept repeatedly, GB/s counts query + rows loaded, best of %d;\n"
		   "str: %zu MB of rows streamed once, GB/s counts row bytes only, best of %d\n",
		   RESIDENT_SET_BYTES >> 10, cfg.resident_repeats, cfg.stream_bytes >> 20, cfg.repeats);

	BenchKernels(array, bandwidth, &cfg);
	free(array);

	BenchAssign(cfg.assign_rows_128, 128, cfg.repeats < 3 ? cfg.repeats : 3);
	BenchAssign(cfg.assign_rows_784, 784, cfg.repeats < 3 ? cfg.repeats : 3);

	printf("\n");
	PrintLoad("at end");
	printf("total %.1f s\n", Now() - t0);
	return 0;
}
