/*
 * pq.c — product quantization: codebook training, encoding, decoding and ADC distances.
 * See pq.h.
 *
 * Training and encoding work subspace by subspace on a contiguous copy of the subvectors,
 * so that k-means and the nearest-centroid search run on the sgemm kernels (batch.c) as
 * they do for the coarse quantizer.
 */
#include "pq.h"

#include <string.h>

#include "batch.h"
#include "distance.h"

/* Rows encoded per block: the subvector copy and the nearest indexes fit in L2. */
#define PQ_ENCODE_BLOCK 1024
#define PQ_ALIGN		64

static void *
Aligned(void *p)
{
	return (void *) (((uintptr_t) p + PQ_ALIGN - 1) & ~(uintptr_t) (PQ_ALIGN - 1));
}

int
vs_pq_shape(VsPq *pq, size_t dim, size_t m, size_t nbits)
{
	if (dim == 0 || m == 0 || dim % m != 0 || nbits != 8)
		return -1;
	pq->dim = dim;
	pq->m = m;
	pq->nbits = nbits;
	pq->ksub = (size_t) 1 << nbits;
	pq->dsub = dim / m;
	pq->centroids = NULL;
	return 0;
}

size_t
vs_pq_centroid_floats(const VsPq *pq)
{
	return pq->m * pq->ksub * pq->dsub;
}

static VsKmeansParams
SubspaceParams(const VsPq *pq, int iterations, uint64_t seed)
{
	VsKmeansParams params;

	memset(&params, 0, sizeof(params));
	params.k = pq->ksub;
	params.dim = pq->dsub;
	params.kind = VS_KMEANS_L2;
	params.max_iterations = iterations;
	params.tolerance = 1e-4;
	params.seed = seed;
	return params;
}

/* Copies subvector j of rows [0, n) of x into out (n x dsub). */
static void
CopySubvectors(const VsPq *pq, const float *x, size_t n, size_t j, float *out)
{
	size_t		i;

	for (i = 0; i < n; i++)
		memcpy(out + i * pq->dsub, x + i * pq->dim + j * pq->dsub, sizeof(float) * pq->dsub);
}

size_t
vs_pq_train_workspace_size(const VsPq *pq, size_t n)
{
	VsKmeansParams params = SubspaceParams(pq, 0, 0);

	return PQ_ALIGN + sizeof(float) * n * pq->dsub + PQ_ALIGN +
		vs_kmeans_workspace_size(n, &params);
}

void
vs_pq_train(VsPq *pq, const float *x, size_t n, int iterations, uint64_t seed,
			VsKmeansProgress progress, void *progress_arg, void *workspace)
{
	float	   *sub = (float *) Aligned(workspace);
	void	   *kmeans_space = Aligned(sub + n * pq->dsub);
	size_t		j;

	for (j = 0; j < pq->m; j++)
	{
		VsKmeansParams params = SubspaceParams(pq, iterations, seed + j);

		params.progress = progress;
		params.progress_arg = progress_arg;
		CopySubvectors(pq, x, n, j, sub);
		vs_kmeans(sub, n, &params, kmeans_space, pq->centroids + j * pq->ksub * pq->dsub, NULL);
	}
}

size_t
vs_pq_encode_workspace_size(const VsPq *pq)
{
	return PQ_ALIGN + sizeof(float) * PQ_ENCODE_BLOCK * pq->dsub + PQ_ALIGN +
		sizeof(int) * PQ_ENCODE_BLOCK;
}

void
vs_pq_encode(const VsPq *pq, const float *x, size_t n, uint8_t *codes, void *workspace)
{
	float	   *sub = (float *) Aligned(workspace);
	int		   *nearest = (int *) Aligned(sub + PQ_ENCODE_BLOCK * pq->dsub);
	size_t		start;

	for (start = 0; start < n; start += PQ_ENCODE_BLOCK)
	{
		size_t		rows = n - start < PQ_ENCODE_BLOCK ? n - start : PQ_ENCODE_BLOCK;
		size_t		j,
					i;

		for (j = 0; j < pq->m; j++)
		{
			CopySubvectors(pq, x + start * pq->dim, rows, j, sub);
			vs_nearest_l2(sub, rows, pq->centroids + j * pq->ksub * pq->dsub, pq->ksub, pq->dsub,
						  NULL, nearest, NULL);
			for (i = 0; i < rows; i++)
				codes[(start + i) * pq->m + j] = (uint8_t) nearest[i];
		}
	}
}

void
vs_pq_decode(const VsPq *pq, const uint8_t *codes, size_t n, float *x)
{
	size_t		i,
				j;

	for (i = 0; i < n; i++)
		for (j = 0; j < pq->m; j++)
			memcpy(x + i * pq->dim + j * pq->dsub,
				   pq->centroids + (j * pq->ksub + codes[i * pq->m + j]) * pq->dsub,
				   sizeof(float) * pq->dsub);
}

void
vs_pq_table(const VsPq *pq, VsPqMetric metric, const float *q, float *table)
{
	size_t		j,
				k;

	for (j = 0; j < pq->m; j++)
	{
		const float *qj = q + j * pq->dsub;
		const float *cj = pq->centroids + j * pq->ksub * pq->dsub;
		float	   *tj = table + j * pq->ksub;

		if (metric == VS_PQ_L2)
			vs_l2sq_1xN(qj, cj, pq->ksub, pq->dsub, tj);
		else
		{
			vs_dot_1xN(qj, cj, pq->ksub, pq->dsub, tj);
			for (k = 0; k < pq->ksub; k++)
				tj[k] = -tj[k];
		}
	}
}

void
vs_pq_scan(const VsPq *pq, const float *table, const uint8_t *codes, size_t n, float bias,
		   float *out)
{
	const uint8_t *ptrs[256];
	size_t		start;

	/* the pointer form, 256 codes at a time */
	for (start = 0; start < n; start += 256)
	{
		size_t		count = n - start < 256 ? n - start : 256;
		size_t		i;

		for (i = 0; i < count; i++)
			ptrs[i] = codes + (start + i) * pq->m;
		vs_pq_scan_ptr(pq, table, ptrs, count, bias, out + start);
	}
}

void
vs_pq_scan_ptr(const VsPq *pq, const float *table, const uint8_t *const *codes, size_t n,
			   float bias, float *out)
{
	size_t		m = pq->m;
	size_t		ksub = pq->ksub;
	size_t		i,
				j;

	/* four codes at a time: four independent sums hide the lookups' latency */
	for (i = 0; i + 4 <= n; i += 4)
	{
		const uint8_t *c0 = codes[i],
				   *c1 = codes[i + 1],
				   *c2 = codes[i + 2],
				   *c3 = codes[i + 3];
		float		s0 = bias,
					s1 = bias,
					s2 = bias,
					s3 = bias;

		for (j = 0; j < m; j++)
		{
			const float *t = table + j * ksub;

			s0 += t[c0[j]];
			s1 += t[c1[j]];
			s2 += t[c2[j]];
			s3 += t[c3[j]];
		}
		out[i] = s0;
		out[i + 1] = s1;
		out[i + 2] = s2;
		out[i + 3] = s3;
	}
	for (; i < n; i++)
	{
		float		s = bias;

		for (j = 0; j < m; j++)
			s += table[j * ksub + codes[i][j]];
		out[i] = s;
	}
}
