/*
 * storage.c — vectors as an index stores them (storage.h): rounding, packing, widening,
 * and distances to a stored row that widen it a part at a time.
 */
#include "postgres.h"

#include "distance.h"
#include "half.h"
#include "storage.h"

/* Components widened at a time on the stack by VsDistanceStored: a multiple of 8. */
#define WIDEN_PART	256

void
VsCheckStorage(Relation index, uint32 storage)
{
	if (!VsStorageKnown(storage))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a damaged metapage: unknown vector storage %u",
						RelationGetRelationName(index), storage),
				 errhint("REINDEX the index.")));
}

void
VsRoundToStorage(VsStorage storage, float *x, int dim)
{
	int			i;

	if (storage == VS_STORAGE_HALF)
		for (i = 0; i < dim; i++)
			x[i] = vs_half_to_float(vs_float_to_half(x[i]));
	else if (storage == VS_STORAGE_BIT)
		for (i = 0; i < dim; i++)
			x[i] = x[i] != 0 ? 1.0f : 0.0f;
}

void
VsStoreVector(VsStorage storage, const float *x, int dim, void *dst)
{
	int			i;

	switch (storage)
	{
		case VS_STORAGE_HALF:
			for (i = 0; i < dim; i++)
				((uint16 *) dst)[i] = vs_float_to_half(x[i]);
			break;
		case VS_STORAGE_BIT:
			/* as bit's payload: the first dimension in the top bit of the first byte */
			memset(dst, 0, ((Size) dim + 7) / 8);
			for (i = 0; i < dim; i++)
				if (x[i] != 0)
					((uint8 *) dst)[i / 8] |= (uint8) (0x80 >> (i % 8));
			break;
		case VS_STORAGE_FLOAT:
			memcpy(dst, x, sizeof(float) * dim);
			break;
	}
}

void
VsLoadVector(VsStorage storage, const void *src, int dim, float *dst)
{
	int			i;

	switch (storage)
	{
		case VS_STORAGE_HALF:
			vs_kernels->halves_to_floats((const uint16 *) src, dst, dim);
			break;
		case VS_STORAGE_BIT:
			for (i = 0; i < dim; i++)
				dst[i] = (((const uint8 *) src)[i / 8] >> (7 - i % 8)) & 1;
			break;
		case VS_STORAGE_FLOAT:
			memcpy(dst, src, sizeof(float) * dim);
			break;
	}
}

/* Where component `from` of a stored row starts (from is a multiple of 8). */
static inline const void *
StoredAt(VsStorage storage, const void *row, int from)
{
	switch (storage)
	{
		case VS_STORAGE_HALF:
			return (const uint16 *) row + from;
		case VS_STORAGE_BIT:
			return (const uint8 *) row + from / 8;
		case VS_STORAGE_FLOAT:
			break;
	}
	return (const float *) row + from;
}

/*
 * Every metric is a sum over components, but Jaccard's two: widened part by part, the
 * parts' sums add up (dot products and squared differences for Jaccard).
 */
float
VsDistanceStored(VsMetric metric, VsStorage storage, const float *q, const void *row, int dim)
{
	float		part[WIDEN_PART];
	double		sum = 0;
	double		both = 0;
	int			done;

	if (storage == VS_STORAGE_FLOAT)
		return VsDistance(metric, q, (const float *) row, dim);
	for (done = 0; done < dim; done += WIDEN_PART)
	{
		int			n = Min(WIDEN_PART, dim - done);

		VsLoadVector(storage, StoredAt(storage, row, done), n, part);
		if (metric == VS_METRIC_JACCARD)
		{
			both += vs_kernels->dot(q + done, part, n);
			sum += vs_kernels->l2sq(q + done, part, n);
		}
		else
			sum += VsDistance(metric, q + done, part, n);
	}
	if (metric != VS_METRIC_JACCARD)
		return (float) sum;
	if (!(both > 0))
		return 1.0f;
	return (float) (1.0 - both / (sum + both));
}

void
VsDistancesStored(VsMetric metric, VsStorage storage, const float *q, const void *const *rows,
				  int n, int dim, float *out, float *scratch)
{
	const float *widened[VS_STORED_BATCH];
	int			done;

	if (storage == VS_STORAGE_FLOAT)
	{
		VsDistances(metric, q, (const float *const *) rows, n, dim, out);
		return;
	}
	for (done = 0; done < n; done += VS_STORED_BATCH)
	{
		int			k = Min(VS_STORED_BATCH, n - done);

		for (int i = 0; i < k; i++)
		{
			float	   *w = scratch + (Size) i * dim;

			VsLoadVector(storage, rows[done + i], dim, w);
			widened[i] = w;
		}
		VsDistances(metric, q, widened, k, dim, out + done);
	}
}
