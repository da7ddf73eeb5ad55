/*
 * hnsw.c — the hnsw access method's handler, reloptions, cost estimate and metapage reads.
 */
#include "postgres.h"

#include <math.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/progress.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "hnsw.h"
#include "vector.h"
#include "hnswbuild.h"
#include "pgvector_settings.h"
#include "hnswelement.h"

int			vs_hnsw_ef_search = 40;
int			vs_hnsw_max_scan_tuples = -1;
int			vs_hnsw_scan_order = VS_SCAN_ORDER_STRICT;

static relopt_kind hnsw_relopt_kind;

void
HnswInitReloptions(void)
{
	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m", "Maximum number of links per element per level",
					  HNSW_DEFAULT_M, HNSW_MIN_M, HNSW_MAX_M, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Size of the candidate list while building the graph",
					  HNSW_DEFAULT_EF_CONSTRUCTION, HNSW_MIN_EF_CONSTRUCTION,
					  HNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);
}

static bytea *
hnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, ef_construction)},
	};
	HnswOptions *opts = (HnswOptions *) build_reloptions(reloptions, validate, hnsw_relopt_kind,
														 sizeof(HnswOptions), tab, lengthof(tab));

	if (validate && opts != NULL && opts->ef_construction < 2 * opts->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m"),
				 errdetail("m is %d and ef_construction is %d.", opts->m, opts->ef_construction)));
	return (bytea *) opts;
}

static void
Options(Relation index, int *m, int *ef_construction)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	*m = opts ? opts->m : HNSW_DEFAULT_M;
	*ef_construction = opts ? opts->ef_construction : HNSW_DEFAULT_EF_CONSTRUCTION;
}

void
HnswReadMeta(Relation index, HnswMetaPageData *meta)
{
	Buffer		buffer = VsReadLocked(index, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, BUFFER_LOCK_SHARE);
	Page		page = BufferGetPage(buffer);

	VsCheckPage(index, page, HNSW_METAPAGE_BLKNO, sizeof(HnswPageOpaqueData), VS_PAGE_ID_HNSW);
	*meta = *HnswPageGetMeta(page);
	UnlockReleaseBuffer(buffer);
	VsCheckMeta(index, &meta->header, HNSW_MAGIC, HNSW_VERSION);
	VsCheckStorage(index, meta->storage);
}

/*
 * What never changes after the build (the shape), and the backend's buffer hints, cached
 * in the relcache entry. A rebuild gives the index a new relfilenode and so a fresh cache.
 */
typedef struct HnswCache
{
	HnswShape	shape;
	VsBufferHints hints;
} HnswCache;

static HnswCache *
GetCache(Relation index)
{
	if (index->rd_amcache == NULL)
	{
		HnswMetaPageData meta;
		HnswCache  *cache = MemoryContextAllocZero(index->rd_indexcxt, sizeof(HnswCache));

		HnswReadMeta(index, &meta);
		cache->shape.m = meta.m;
		cache->shape.dim = meta.dim;
		cache->shape.metric = (VsMetric) meta.metric;
		cache->shape.storage = (VsStorage) meta.storage;
		cache->shape.inline_vector = HnswVectorFitsInline(meta.m, meta.dim, cache->shape.storage);
		VsInitBufferHints(&cache->hints, index, index->rd_indexcxt);
		index->rd_amcache = cache;
	}
	return (HnswCache *) index->rd_amcache;
}

void
HnswGetShape(Relation index, HnswShape *shape)
{
	*shape = GetCache(index)->shape;
}

/* Valid until the next relcache invalidation: fetch it again at each fetch. */
VsBufferHints *
HnswGetHints(Relation index)
{
	return &GetCache(index)->hints;
}

/*
 * Cost: a search scores about ef_search x 2m elements (fewer in a small table) before the
 * first row, each a distance and a visit to a page of a small, hot graph (measured: a
 * tenth of what the planner charges for reading a page); going on to every row costs a
 * full pass. Without ORDER BY the index is useless.
 */
static void
EstimateCosts(IndexOptInfo *info, Relation index, VsCosts *costs)
{
	int			m;
	int			ef_construction;
	double		tuples = Max(info->tuples, 1.0);
	double		visited;
	double		spc_random_page_cost;
	double		spc_seq_page_cost;

	Options(index, &m, &ef_construction);
	get_tablespace_page_costs(info->reltablespace, &spc_random_page_cost, &spc_seq_page_cost);

	/* elements scored: about ef_search x 2m (a hot graph: a tenth of a page read each) */
	visited = Min(tuples, (double) Max(VsHnswEfSearch(), 1) * 2 * m);
	costs->startup = visited * (8 * cpu_operator_cost + 0.1 * spc_seq_page_cost);
	costs->total = costs->startup +
		tuples * (8 * cpu_operator_cost + cpu_index_tuple_cost) +
		info->pages * spc_seq_page_cost;
	costs->selectivity = 1.0;
	costs->pages = Min((double) info->pages, visited);
}

VS_DEFINE_AMCOSTESTIMATE(hnswcostestimate, EstimateCosts)

static bool
hnswvalidate(Oid opclassoid)
{
	return VsValidateOpclass(opclassoid, "hnsw");
}

/* pg_stat_progress_create_index's phase names, by number (hnswbuild.h numbers them). */
static const char *const PhaseNames[] = {
	[PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE] = "initializing", [HNSW_PHASE_GRAPH] = "building graph",
	[HNSW_PHASE_WRITE] = "writing pages", [HNSW_PHASE_ONDISK] = "inserting on disk",
	[HNSW_PHASE_LOAD] = "loading rows", [HNSW_PHASE_PARTS] = "building graphs of parts",
};

static char *
hnswbuildphasename(int64 phasenum)
{
	return VsPhaseName(PhaseNames, lengthof(PhaseNames), phasenum);
}

PG_FUNCTION_INFO_V1(hnswhandler);
Datum
hnswhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = VsNewIndexAmRoutine();

	VS_SET_AM_CALLBACKS(amroutine, hnsw);

	PG_RETURN_POINTER(amroutine);
}

/*
 * What a build needs of the index's definition, with its errors: a column with dimensions,
 * and ef_construction at least 2m. CREATE INDEX checks it, and so does an ALTER that can
 * change it (ddl.c), so that REINDEX can always build the index again. Returns the dimension.
 */
int
HnswCheckDefinition(Relation index, int *m, int *ef_construction)
{
	int			dim = VsIndexColumnDims(index);

	Options(index, m, ef_construction);
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions"),
				 errhint("Declare the column as vector(n) to index it with hnsw.")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for an hnsw index", VECTOR_MAX_DIM),
				 errdetail("It has %d.", dim)));
	if (*ef_construction < 2 * *m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m")));
	/* Jaccard is scored on whole vectors: they must lie in the element, not on overflow pages */
	if (VsIndexMetric(index) == VS_METRIC_JACCARD &&
		!HnswVectorFitsInline(*m, dim, VsIndexStorage(index)))
	{
		VsStorage	storage = VsIndexStorage(index);
		int			limit = dim;

		while (limit > 1 && !HnswVectorFitsInline(*m, limit, storage))
			limit--;
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bit_jaccard_ops indexes bit strings of up to %d bits with m = %d",
						limit, *m),
				 errdetail("The column has %d.", dim),
				 errhint("Use a smaller m.")));
	}
	return dim;
}
