/*
 * storage.h — how an index keeps a vector on its pages: 32-bit floats, IEEE halves
 * (halfvec opclasses: half the bytes) or one bit per dimension (bit opclasses: a 32nd).
 *
 * An AM computes on floats: a row is stored with VsStoreVector (after VsRoundToStorage, so
 * that what the AM compares in memory is what it will read back) and scored where it lies
 * with VsDistanceStored / VsDistancesStored, which widen it to floats a part at a time.
 * The query stays a float vector; halfvec and bit queries widen to it exactly.
 */
#ifndef VS_AM_STORAGE_H
#define VS_AM_STORAGE_H

#include "common.h"

/* Rows widened at a time by VsDistancesStored: its scratch holds this many vectors. */
#define VS_STORED_BATCH		8

/*
 * Bytes of a stored vector of dim components, rounded up to 4 so that whatever follows it
 * on a page stays aligned as it is after a float vector.
 */
static inline Size
VsStoredBytes(VsStorage storage, int dim)
{
	Size		bytes;

	switch (storage)
	{
		case VS_STORAGE_HALF:
			bytes = sizeof(uint16) * (Size) dim;
			break;
		case VS_STORAGE_BIT:
			bytes = ((Size) dim + 7) / 8;
			break;
		default:
			bytes = sizeof(float) * (Size) dim;
			break;
	}
	return TYPEALIGN(4, bytes);
}

/*
 * Components that fit in `bytes` (a multiple of 8): a page of a vector split over pages
 * holds this many, so every part but the last is whole bytes in each storage.
 */
static inline int
VsStoredPerBytes(VsStorage storage, Size bytes)
{
	switch (storage)
	{
		case VS_STORAGE_HALF:
			return (int) (bytes / sizeof(uint16));
		case VS_STORAGE_BIT:
			return (int) (bytes * 8);
		default:
			return (int) (bytes / sizeof(float));
	}
}

/* Whether a metapage's storage field names a storage this build knows. */
static inline bool
VsStorageKnown(uint32 storage)
{
	return storage <= VS_STORAGE_BIT;
}

/* ERROR (index corrupted) unless VsStorageKnown: for the AMs' metapage readers. */
extern void VsCheckStorage(Relation index, uint32 storage);

/*
 * Rounds x in place to what the storage keeps (halves: to nearest, ties to even; bits:
 * nonzero is 1), so that a stored vector reads back equal to x.
 */
extern void VsRoundToStorage(VsStorage storage, float *x, int dim);
extern void VsStoreVector(VsStorage storage, const float *x, int dim, void *dst);
extern void VsLoadVector(VsStorage storage, const void *src, int dim, float *dst);

/* VsDistance against a stored row (whole or a part of one; Jaccard only whole). */
extern float VsDistanceStored(VsMetric metric, VsStorage storage, const float *q, const void *row,
							  int dim);

/*
 * VsDistances against n stored rows given by pointer. scratch holds VS_STORED_BATCH * dim
 * floats (unused, and may be NULL, for float storage).
 */
extern void VsDistancesStored(VsMetric metric, VsStorage storage, const float *q,
							  const void *const *rows, int n, int dim, float *out, float *scratch);

#endif							/* VS_AM_STORAGE_H */
