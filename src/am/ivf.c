/*
 * ivf.c — the IVF access method's handler, reloptions, cost estimate and metadata cache,
 * which ivfpq (ivfpq.c) shares.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/progress.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"

#include "batch.h"
#include "ivf.h"
#include "pgvector_settings.h"
#include "ivfbuild.h"

int			vs_ivf_nprobe = 1;
int			vs_ivf_max_probes = -1;
int			vs_ivf_scan_order = VS_SCAN_ORDER_STRICT;

static relopt_kind ivf_relopt_kind;

void
IvfInitReloptions(void)
{
	ivf_relopt_kind = add_reloption_kind();
	add_int_reloption(ivf_relopt_kind, "lists",
					  "Number of inverted lists (k-means clusters)",
					  IVF_DEFAULT_LISTS, IVF_MIN_LISTS, IVF_MAX_LISTS,
					  AccessExclusiveLock);
}

static bytea *
ivfoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(IvfOptions, lists)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ivf_relopt_kind,
									  sizeof(IvfOptions), tab, lengthof(tab));
}

int
IvfOptionLists(Relation index)
{
	IvfOptions *opts = (IvfOptions *) index->rd_options;

	return opts != NULL ? opts->lists : IVF_DEFAULT_LISTS;
}

/*
 * Loads the metapage, centroids and list directory into the relcache entry. They never
 * change until the index is rebuilt, and a rebuild gives the index a new relfilenode,
 * which invalidates the relcache entry and with it this cache. ivfpq's codebooks join it
 * on first use (IvfpqCodebooks).
 */
IvfCache *
IvfGetCache(Relation index)
{
	IvfCache   *cache;
	MemoryContext oldcxt;
	Buffer		buffer;
	Page		page;
	Size		centroid_bytes;
	uint32		i;

	if (index->rd_amcache != NULL)
		return (IvfCache *) index->rd_amcache;

	oldcxt = MemoryContextSwitchTo(index->rd_indexcxt);
	cache = palloc0(sizeof(IvfCache));

	buffer = VsReadLocked(index, MAIN_FORKNUM, IVF_METAPAGE_BLKNO, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	VsCheckPage(index, page, IVF_METAPAGE_BLKNO, sizeof(IvfPageOpaqueData), VS_PAGE_ID_IVF);
	cache->meta = *IvfPageGetMeta(page);
	UnlockReleaseBuffer(buffer);
	VsCheckMeta(index, &cache->meta.header, IVF_MAGIC, IVF_VERSION);
	VsCheckStorage(index, cache->meta.storage);
	cache->metric = (VsMetric) cache->meta.metric;

	centroid_bytes = (Size) cache->meta.lists * cache->meta.dim * sizeof(float);
	cache->centroids = palloc_extended(centroid_bytes, MCXT_ALLOC_HUGE);
	VsReadStream(index, MAIN_FORKNUM, cache->meta.centroid_start, IVF_CONTENT, 0,
				 centroid_bytes, cache->centroids);
	cache->heads = palloc(sizeof(BlockNumber) * cache->meta.lists);
	VsReadStream(index, MAIN_FORKNUM, cache->meta.directory_start, IVF_CONTENT, 0,
				 sizeof(BlockNumber) * cache->meta.lists, cache->heads);
	cache->centroid_sqnorms = palloc(sizeof(float) * cache->meta.lists);
	vs_sqnorms(cache->centroids, cache->meta.lists, cache->meta.dim, cache->centroid_sqnorms);
	for (i = 0; i < cache->meta.lists; i++)
		if (cache->heads[i] == InvalidBlockNumber || cache->heads[i] == 0)
			elog(ERROR, "index \"%s\" has no head page for list %u",
				 RelationGetRelationName(index), i);

	VsInitBufferHints(&cache->hints, index, index->rd_indexcxt);

	MemoryContextSwitchTo(oldcxt);
	index->rd_amcache = cache;
	return cache;
}

/*
 * Cost: everything happens before the first tuple (rank the centroids, read the nprobe
 * nearest lists, sort their rows), so that is the startup cost; the total cost covers the
 * lists a scan may go on to when the executor keeps fetching (filters), by default all.
 *
 * Pages are charged against what the planner believes a sequential scan reads: it counts
 * the heap's pages but not the TOAST pages where vectors of a few hundred dimensions live,
 * so reading a fraction of the index is charged that fraction of the smaller of the two.
 * Per candidate the index pays one operator cost (a SIMD kernel, no executor round trip).
 */
static void
EstimateCosts(IndexOptInfo *info, Relation index, VsCosts *costs)
{
	int			lists = IvfOptionLists(index);
	double		probe_ratio;
	double		reach_ratio;
	double		pages;
	double		tuples = Max(info->tuples, 1.0);
	double		spc_random_page_cost;
	double		spc_seq_page_cost;
	Cost		ranking;
	Cost		per_list_jump;

	get_tablespace_page_costs(info->reltablespace, &spc_random_page_cost, &spc_seq_page_cost);
	probe_ratio = (double) Min(Max(VsIvfProbes(), 1), lists) / lists;
	reach_ratio = VsIvfMaxProbes() < 0 ? 1.0 :
		(double) Min(Max(VsIvfMaxProbes(), VsIvfProbes()), lists) / lists;

	pages = info->pages;
	if (info->rel->pages > 0)
		pages = Min(pages, (double) info->rel->pages);

	ranking = lists * cpu_operator_cost;
	per_list_jump = spc_random_page_cost;
	costs->startup = ranking +
		probe_ratio * (pages * spc_seq_page_cost + tuples * cpu_operator_cost) +
		Min(VsIvfProbes(), lists) * per_list_jump;
	/* each row returned also costs a pop off a heap of the candidates */
	costs->total = ranking +
		reach_ratio * (pages * spc_seq_page_cost + tuples * cpu_operator_cost) +
		reach_ratio * lists * per_list_jump +
		reach_ratio * tuples * (cpu_index_tuple_cost +
								cpu_operator_cost * log2(Max(2.0, tuples * probe_ratio)));
	costs->selectivity = reach_ratio;
	costs->pages = probe_ratio * info->pages;
}

VS_DEFINE_AMCOSTESTIMATE(ivfcostestimate, EstimateCosts)

static bool
ivfvalidate(Oid opclassoid)
{
	return VsValidateOpclass(opclassoid, "ivf");
}

/* pg_stat_progress_create_index's phase names, by number (ivfbuild.h numbers them). */
static const char *const PhaseNames[] = {
	[PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE] = "initializing",
	[IVF_PHASE_SAMPLE] = "sampling rows",
	[IVF_PHASE_KMEANS] = "performing k-means",
	[IVF_PHASE_ASSIGN] = "assigning rows to lists",
	[IVF_PHASE_WRITE] = "writing lists",
	[IVF_PHASE_PQ] = "training product quantizer",
	[IVF_PHASE_KMEANS_GPU] = "performing k-means on the GPU",
	[IVF_PHASE_PQ_GPU] = "training product quantizer on the GPU",
};

static char *
ivfbuildphasename(int64 phasenum)
{
	return VsPhaseName(PhaseNames, lengthof(PhaseNames), phasenum);
}

/* ivf's callbacks; ivfpq's handler (ivfpq.c) replaces those where it differs. */
IndexAmRoutine *
IvfAmRoutine(void)
{
	IndexAmRoutine *amroutine = VsNewIndexAmRoutine();

	VS_SET_AM_CALLBACKS(amroutine, ivf);
	return amroutine;
}

PG_FUNCTION_INFO_V1(ivfhandler);
Datum
ivfhandler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(IvfAmRoutine());
}
