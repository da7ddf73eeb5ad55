/*
 * test_pq.c — product quantization (src/kernels/pq.c): shapes, that encoding picks each
 * subspace's nearest centroid, that ADC distances are the distances to the decoded
 * vectors, that trained codebooks reconstruct far better than untrained ones, and
 * determinism.
 *
 * The data are overlapping Gaussian clusters, as for k-means: a quantizer has real work
 * to do on them.
 */
#include "batch.h"
#include "distance.h"
#include "pq.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_RANDOM_SEED 0x7071717571ULL
#include "random.h"

/* n rows of dim around 20 centres, spread about as far as the centres are apart. */
static float *
Clustered(size_t n, size_t dim)
{
	float	   *centres = UnitAlloc(sizeof(float) * 20 * dim);
	float	   *x = UnitAlloc(sizeof(float) * n * dim);
	size_t		i,
				j;

	for (i = 0; i < 20 * dim; i++)
		centres[i] = (float) (3.0 * UnitGaussian());
	for (i = 0; i < n; i++)
	{
		size_t		c = NextRandom() % 20;

		for (j = 0; j < dim; j++)
			x[i * dim + j] = centres[c * dim + j] + (float) (2.0 * UnitGaussian());
	}
	free(centres);
	return x;
}

/* A trained quantizer for x (the caller frees pq->centroids). */
static void
Train(VsPq *pq, const float *x, size_t n, size_t dim, size_t m, int iterations, uint64_t seed)
{
	void	   *ws;

	UNIT_CHECK(vs_pq_shape(pq, dim, m, 8) == 0, "shape %zu / %zu", dim, m);
	pq->centroids = UnitAlloc(sizeof(float) * vs_pq_centroid_floats(pq));
	ws = UnitAlloc(vs_pq_train_workspace_size(pq, n));
	vs_pq_train(pq, x, n, iterations, seed, NULL, NULL, ws);
	free(ws);
}

static uint8_t *
Encode(const VsPq *pq, const float *x, size_t n)
{
	uint8_t    *codes = UnitAlloc(n * pq->m);
	void	   *ws = UnitAlloc(vs_pq_encode_workspace_size(pq));

	vs_pq_encode(pq, x, n, codes, ws);
	free(ws);
	return codes;
}

/* Mean squared error of x against its decoded codes. */
static double
ReconstructionError(const VsPq *pq, const float *x, size_t n)
{
	uint8_t    *codes = Encode(pq, x, n);
	float	   *y = UnitAlloc(sizeof(float) * n * pq->dim);
	double		err = 0;
	size_t		i;

	vs_pq_decode(pq, codes, n, y);
	for (i = 0; i < n * pq->dim; i++)
		err += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
	free(codes);
	free(y);
	return err / (double) n;
}

static void
test_shapes(void)
{
	VsPq		pq;

	UNIT_CHECK(vs_pq_shape(&pq, 128, 16, 8) == 0 && pq.dsub == 8 && pq.ksub == 256, "128 / 16");
	UNIT_CHECK(vs_pq_centroid_floats(&pq) == 16 * 256 * 8, "codebook size");
	UNIT_CHECK(vs_pq_shape(&pq, 100, 3, 8) == -1, "m must divide the dimension");
	UNIT_CHECK(vs_pq_shape(&pq, 100, 0, 8) == -1, "m = 0");
	UNIT_CHECK(vs_pq_shape(&pq, 0, 1, 8) == -1, "dim = 0");
	UNIT_CHECK(vs_pq_shape(&pq, 128, 16, 4) == -1, "only 8 bits");
	UNIT_CHECK(vs_pq_shape(&pq, 7, 7, 8) == 0 && pq.dsub == 1, "one dimension per subspace");
}

/* Every code is its subspace's nearest centroid, by a brute-force search with the kernels. */
static void
test_encode_nearest(void)
{
	size_t		n = 3000,
				dim = 24;
	float	   *x = Clustered(n, dim);
	VsPq		pq;
	uint8_t    *codes;
	size_t		i,
				j,
				k,
				wrong = 0;

	Train(&pq, x, n, dim, 6, 5, 1);
	codes = Encode(&pq, x, n);
	for (i = 0; i < n; i++)
		for (j = 0; j < pq.m; j++)
		{
			const float *sub = x + i * dim + j * pq.dsub;
			const float *cj = pq.centroids + j * pq.ksub * pq.dsub;
			float		got = vs_kernels_scalar.l2sq(sub, cj + codes[i * pq.m + j] * pq.dsub, pq.dsub);
			float		best = INFINITY;

			for (k = 0; k < pq.ksub; k++)
			{
				float		d = vs_kernels_scalar.l2sq(sub, cj + k * pq.dsub, pq.dsub);

				if (d < best)
					best = d;
			}
			/* the sgemm expansion may pick a rounding error's worth farther */
			if (got > best * (1 + 1e-4f) + 1e-6f)
				wrong++;
		}
	UNIT_CHECK(wrong == 0, "%zu of %zu subvectors not at their nearest centroid", wrong, n * pq.m);
	free(codes);
	free(pq.centroids);
	free(x);
}

/* ADC sums are the distances to the decoded vectors, for L2 and inner product, with a bias. */
static void
test_adc_matches_decoded(void)
{
	size_t		n = 1001,
				dim = 32;
	float	   *x = Clustered(n, dim);
	float	   *q = Clustered(1, dim);
	float	   *y = UnitAlloc(sizeof(float) * n * dim);
	float	   *out = UnitAlloc(sizeof(float) * n);
	float	   *table;
	VsPq		pq;
	uint8_t    *codes;
	size_t		i;
	int			metric;

	Train(&pq, x, n, dim, 8, 4, 2);
	codes = Encode(&pq, x, n);
	vs_pq_decode(&pq, codes, n, y);
	table = UnitAlloc(sizeof(float) * pq.m * pq.ksub);
	for (metric = VS_PQ_L2; metric <= VS_PQ_IP; metric++)
	{
		size_t		bad = 0;

		vs_pq_table(&pq, (VsPqMetric) metric, q, table);
		vs_pq_scan(&pq, table, codes, n, 0.5f, out);
		for (i = 0; i < n; i++)
		{
			double		want = 0.5 + (metric == VS_PQ_L2 ?
									  vs_kernels_scalar.l2sq(q, y + i * dim, dim) :
									  -vs_kernels_scalar.dot(q, y + i * dim, dim));

			if (fabs(out[i] - want) > 1e-3 * (1 + fabs(want)))
				bad++;
		}
		UNIT_CHECK(bad == 0, "metric %d: %zu of %zu ADC sums differ from the decoded distance",
				   metric, bad, n);
		/* the pointer form, codes in reverse order, gives the same sums */
		{
			const uint8_t **ptrs = UnitAlloc(sizeof(uint8_t *) * n);
			float	   *out2 = UnitAlloc(sizeof(float) * n);
			size_t		differ = 0;

			for (i = 0; i < n; i++)
				ptrs[i] = codes + (n - 1 - i) * pq.m;
			vs_pq_scan_ptr(&pq, table, ptrs, n, 0.5f, out2);
			for (i = 0; i < n; i++)
				if (out2[i] != out[n - 1 - i])
					differ++;
			UNIT_CHECK(differ == 0, "metric %d: %zu pointer-form sums differ", metric, differ);
			free(ptrs);
			free(out2);
		}
	}
	free(table);
	free(codes);
	free(pq.centroids);
	free(out);
	free(y);
	free(q);
	free(x);
}

/* Training pays: the trained codebooks reconstruct much better than seeds alone, and far
 * better than codebooks of random rows of another data set. */
static void
test_training_reduces_error(void)
{
	size_t		n = 4000,
				dim = 32;
	float	   *x = Clustered(n, dim);
	float	   *other = Clustered(n, dim);
	VsPq		trained,
				seeds_only,
				foreign;
	double		e_trained,
				e_seeds,
				e_foreign;

	Train(&trained, x, n, dim, 8, 10, 3);
	Train(&seeds_only, x, n, dim, 8, 0, 3);
	Train(&foreign, other, n, dim, 8, 10, 3);
	e_trained = ReconstructionError(&trained, x, n);
	e_seeds = ReconstructionError(&seeds_only, x, n);
	e_foreign = ReconstructionError(&foreign, x, n);
	UNIT_CHECK(e_trained <= e_seeds, "Lloyd iterations do not raise the error: %.4f vs %.4f",
			   e_trained, e_seeds);
	UNIT_CHECK(e_trained < 0.8 * e_foreign, "trained on the data: %.4f, on other data: %.4f",
			   e_trained, e_foreign);
	/* 8 subspaces of 4 dimensions, 256 centroids each, on spread 2 noise: well below the
	 * per-row variance of the noise alone (4 per dimension, 128 per row) */
	UNIT_CHECK(e_trained < 0.5 * 4.0 * dim, "mean squared error %.3f per row", e_trained);
	free(trained.centroids);
	free(seeds_only.centroids);
	free(foreign.centroids);
	free(other);
	free(x);
}

/* Same data, same seed: the same codebooks; fewer rows than centroids still works. */
static void
test_determinism_and_few_rows(void)
{
	size_t		n = 2000,
				dim = 16;
	float	   *x = Clustered(n, dim);
	VsPq		a,
				b,
				few;
	uint8_t    *codes;
	size_t		i,
				bad = 0;

	Train(&a, x, n, dim, 4, 5, 7);
	Train(&b, x, n, dim, 4, 5, 7);
	UNIT_CHECK(memcmp(a.centroids, b.centroids, sizeof(float) * vs_pq_centroid_floats(&a)) == 0,
			   "same seed, same codebooks");
	/* 100 rows, 256 centroids per subspace: every row is its own centroid */
	Train(&few, x, 100, dim, 4, 5, 7);
	codes = Encode(&few, x, 100);
	{
		float	   *y = UnitAlloc(sizeof(float) * 100 * dim);

		vs_pq_decode(&few, codes, 100, y);
		for (i = 0; i < 100 * dim; i++)
			if (y[i] != x[i])
				bad++;
		free(y);
	}
	UNIT_CHECK(bad == 0, "fewer rows than centroids: %zu values not reconstructed exactly", bad);
	free(codes);
	free(a.centroids);
	free(b.centroids);
	free(few.centroids);
	free(x);
}

int
main(void)
{
	vs_kernels_init();
	vs_blas_set_threads(1);
	UNIT_RUN(test_shapes);
	UNIT_RUN(test_encode_nearest);
	UNIT_RUN(test_adc_matches_decoded);
	UNIT_RUN(test_training_reduces_error);
	UNIT_RUN(test_determinism_and_few_rows);
	return unit_finish("test_pq");
}
