/*
 * ivfpq.c — the ivfpq access method: ivf's lists holding product-quantization codes of
 * residuals (see ivf.h). Its handler and validator, reloptions, the codebooks' training and
 * encoding for builds and inserts, and their per-backend cache. Scans score codes in
 * ivfpqscan.c; everything else is ivf's.
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "batch.h"
#include "ivf.h"
#include "ivfbuild.h"
#include "ivfscan.h"
#include "vector.h"

int			vs_ivfpq_rerank = IVFPQ_DEFAULT_RERANK;

static relopt_kind ivfpq_relopt_kind;

void
IvfpqInitReloptions(void)
{
	ivfpq_relopt_kind = add_reloption_kind();
	add_int_reloption(ivfpq_relopt_kind, "lists",
					  "Number of inverted lists (k-means clusters)",
					  IVF_DEFAULT_LISTS, IVF_MIN_LISTS, IVF_MAX_LISTS, AccessExclusiveLock);
	add_int_reloption(ivfpq_relopt_kind, "subvectors",
					  "Number of PQ subvectors, dividing the dimension (0: a quarter of it)",
					  0, 0, VECTOR_MAX_DIM, AccessExclusiveLock);
	add_int_reloption(ivfpq_relopt_kind, "bits",
					  "Bits per PQ subvector code",
					  IVFPQ_BITS, IVFPQ_BITS, IVFPQ_BITS, AccessExclusiveLock);
}

bytea *
ivfpqoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(IvfOptions, lists)},
		{"subvectors", RELOPT_TYPE_INT, offsetof(IvfOptions, subvectors)},
		{"bits", RELOPT_TYPE_INT, offsetof(IvfOptions, bits)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ivfpq_relopt_kind,
									  sizeof(IvfOptions), tab, lengthof(tab));
}

bool
IvfIsPq(Relation index)
{
	return index->rd_indam->amoptions == ivfpqoptions;
}

/*
 * The subvectors of an index of `dim` dimensions, checked: the option, or by default the
 * largest divisor of dim up to dim / 4 (4 dimensions a byte: 16x smaller than floats).
 */
int
IvfpqSubvectors(Relation index, int dim)
{
	IvfOptions *opts = (IvfOptions *) index->rd_options;
	int			m = opts != NULL ? opts->subvectors : 0;

	if (m == 0)
	{
		for (m = Max(dim / 4, 1); dim % m != 0; m--)
			;
		return m;
	}
	if (dim % m != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("subvectors (%d) must divide the dimension of the column (%d)", m, dim),
				 errhint("Pick a divisor of %d, or leave subvectors out for a default.", dim)));
	return m;
}

/*
 * What a build needs of the index's definition (ddl.c: after an ALTER that can change it):
 * subvectors dividing the dimension, the column's or, for a column without one, the
 * dimension the index was built with.
 */
void
IvfpqCheckDefinition(Relation index)
{
	int			dim = VsIndexColumnDims(index);

	if (dim < 1 && RelationGetNumberOfBlocks(index) > 0)
		dim = IvfGetCache(index)->meta.dim;
	if (dim >= 1)
		(void) IvfpqSubvectors(index, dim);
}

/*
 * Replaces n rows by their residuals against the nearest of `lists` centroids. In place:
 * the sample was sized to maintenance_work_mem, and k-means is done with it.
 */
static void
ToResiduals(float *x, int n, const float *centroids, int lists, int dim)
{
	int		   *nearest = palloc(sizeof(int) * Max(n, 1));
	int			i,
				j;

	vs_nearest_l2(x, n, centroids, lists, dim, NULL, nearest, NULL);
	for (i = 0; i < n; i++)
		for (j = 0; j < dim; j++)
			x[(Size) i * dim + j] -= centroids[(Size) nearest[i] * dim + j];
	pfree(nearest);
}

/*
 * Trains pq's codebooks (already shaped and allocated) on the samples' residuals; the
 * samples become those residuals.
 */
void
IvfpqTrain(VsPq *pq, float *samples, int nsamples, const float *centroids, int lists, int dim)
{
	void	   *workspace;

	if (nsamples == 0)
		return;					/* placeholder codebooks, as the centroids are */
	ToResiduals(samples, nsamples, centroids, lists, dim);
	/* a subspace's copy of the rows and its k-means state: dsub / dim of the sample */
	workspace = palloc_extended(vs_pq_train_workspace_size(pq, nsamples), MCXT_ALLOC_HUGE);
	vs_pq_train(pq, samples, nsamples, IVFPQ_ITERATIONS, IVFPQ_SEED, IvfKmeansProgress, NULL, workspace);
	pfree(workspace);
}

/*
 * n live slots (n x slot_size, zeroed padding) for rows of one list: each row's residual
 * against the list's centroid, encoded.
 */
void
IvfpqFormSlots(const VsPq *pq, const float *centroid, int dim, const float *x,
			   const ItemPointerData *tids, int n, char *slots, Size slot_size)
{
	float	   *r = palloc(sizeof(float) * (Size) n * dim);
	uint8	   *codes = palloc((Size) n * pq->m);
	void	   *workspace = palloc(vs_pq_encode_workspace_size(pq));
	int			i,
				j;

	for (i = 0; i < n; i++)
		for (j = 0; j < dim; j++)
			r[(Size) i * dim + j] = x[(Size) i * dim + j] - centroid[j];
	vs_pq_encode(pq, r, n, codes, workspace);
	for (i = 0; i < n; i++)
		IvfFormSlot(slots + (Size) i * slot_size, &tids[i], codes + (Size) i * pq->m, pq->m);
	pfree(workspace);
	pfree(codes);
	pfree(r);
}

/*
 * The quantizer with its codebooks, loaded into the index's cache on first use (in the
 * relcache entry's memory, as the rest of the cache): only ivfpq indexes pay for them.
 */
const VsPq *
IvfpqCodebooks(Relation index, IvfCache *cache)
{
	MemoryContext oldcxt;
	Size		bytes;

	if (cache->pq.centroids != NULL)
		return &cache->pq;
	if (cache->meta.pq_subvectors == 0 ||
		vs_pq_shape(&cache->pq, cache->meta.dim, cache->meta.pq_subvectors, cache->meta.pq_bits) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an invalid product quantizer (%u subvectors, %u bits, %u dimensions)",
						RelationGetRelationName(index), cache->meta.pq_subvectors,
						cache->meta.pq_bits, cache->meta.dim),
				 errhint("Please REINDEX it.")));
	bytes = sizeof(float) * vs_pq_centroid_floats(&cache->pq);
	oldcxt = MemoryContextSwitchTo(index->rd_indexcxt);
	cache->pq.centroids = palloc_extended(bytes, MCXT_ALLOC_HUGE);
	MemoryContextSwitchTo(oldcxt);
	VsReadStream(index, MAIN_FORKNUM, cache->meta.codebook_start, IVF_CONTENT, 0, bytes,
				 cache->pq.centroids);
	return &cache->pq;
}

static IndexScanDesc
ivfpqbeginscan(Relation index, int nkeys, int norderbys)
{
	return IvfBeginScan(index, nkeys, norderbys, &IvfpqScoring);
}

static bool
ivfpqvalidate(Oid opclassoid)
{
	return VsValidateOpclass(opclassoid, "ivfpq");
}

/* ivf's callbacks, with ivfpq's options, validator and scan. */
PG_FUNCTION_INFO_V1(ivfpqhandler);
Datum
ivfpqhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = IvfAmRoutine();

	amroutine->amoptions = ivfpqoptions;
	amroutine->amvalidate = ivfpqvalidate;
	amroutine->ambeginscan = ivfpqbeginscan;
	PG_RETURN_POINTER(amroutine);
}
