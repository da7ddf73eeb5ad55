/*
 * hnswparallel.c — an hnsw build on parallel workers sharing one graph.
 *
 * The graph's region is a chunk of the dynamic shared memory segment; the leader and up to
 * max_parallel_maintenance_workers workers each scan part of the heap (a parallel table
 * scan) and insert their rows into the graph concurrently, under the locking that
 * hnswgraph.h describes. When all have finished, the leader writes the pages as a serial
 * build does. Unlike ivf, whose workers only pay off for very large assignments, every
 * hnsw insert is a graph search, so workers pay off whenever the planner grants them.
 *
 * The segment is sized for the rows the table's statistics promise (twice over, as they
 * may be stale), capped by maintenance_work_mem: a segment is real memory from the start,
 * unlike the lazily touched block of a serial build.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tableam.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"

#include "hnswbuild.h"
#include "parallel.h"

#define HNSW_KEY_BUILD		UINT64CONST(0xA000000000000011)
#define HNSW_KEY_GRAPH		UINT64CONST(0xA000000000000012)

PGDLLEXPORT void HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc);

/*
 * The planner's choice (max_parallel_maintenance_workers, the table's size or its
 * parallel_workers option, parallel safety), without its cap of one worker per 32 MB of
 * maintenance_work_mem: that cap keeps each participant's share of a divided sort budget
 * useful, while hnsw participants share one graph and need no budget of their own.
 */
int
HnswParallelWorkers(Relation heap, Relation index)
{
	int			saved = maintenance_work_mem;
	int			workers;

	if (!IsNormalProcessingMode())
		return 0;
	maintenance_work_mem = Max(saved, 32 * 1024 * (max_parallel_maintenance_workers + 1));
	PG_TRY();
	{
		workers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	}
	PG_FINALLY();
	{
		maintenance_work_mem = saved;
	}
	PG_END_TRY();
	return workers;
}

/* Bytes for the graph: twice the rows expected, at the expected bytes per element. */
static Size
GraphRegionSize(Relation heap, const HnswShape *shape, double *planned_rows, bool *is_limit)
{
	Size		limit = (Size) maintenance_work_mem * 1024;
	double		rows = heap->rd_rel->reltuples;
	double		per_row = HnswGraphRowBytes(shape);
	double		bytes;

	if (rows < 0)				/* never analysed: as many as the heap's pages can hold */
		rows = (double) RelationGetNumberOfBlocks(heap) * MaxHeapTuplesPerPage;
	bytes = MAXALIGN(sizeof(HnswGraph)) + 2.0 * Max(rows, 1000.0) * per_row;
	*planned_rows = Max(rows, 1000.0) * 2.0;
	*is_limit = bytes >= (double) limit;
	return *is_limit ? limit : (Size) bytes;
}

/* One participant's share: scan its blocks, insert into the graph, add up its counts. */
static void
Participate(HnswBuildState *state, VsParallelShared *common, HnswBuildShared *shared,
			HnswGraph *graph, Relation heap, Relation index, IndexInfo *index_info, bool leader)
{
	double		heap_tuples;

	HnswBuildParticipant(state, heap, index, index_info, shared, graph);
	state->reports_progress = leader;
	heap_tuples = VsScanRows(heap, index, index_info, leader, VsParallelTableScan(common, heap),
							 state->tmp_ctx, HnswBuildRow, state);
	SpinLockAcquire(&common->mutex);
	shared->indexed += state->indexed;
	shared->zero_vectors += state->zero_vectors;
	SpinLockRelease(&common->mutex);
	VsParallelParticipantDone(common, heap_tuples);
	MemoryContextDelete(state->tmp_ctx);
}

void
HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	VsParallelWorker worker;
	HnswBuildShared *shared = shm_toc_lookup(toc, HNSW_KEY_BUILD, false);
	HnswGraph  *graph = shm_toc_lookup(toc, HNSW_KEY_GRAPH, false);
	HnswBuildState state;

	(void) seg;
	VsParallelWorkerOpen(toc, &worker);
	Participate(&state, worker.shared, shared, graph, worker.heap, worker.index, worker.index_info,
				false);
	VsXlogEndBuild();
	VsParallelWorkerClose(&worker);
}

bool
HnswBuildParallel(Relation heap, Relation index, IndexInfo *index_info, const HnswShape *shape,
				  int ef_construction, int workers, double *heap_tuples, double *indexed,
				  double *zero_vectors)
{
	VsParallel *par = VsParallelBegin("HnswParallelBuildMain", heap, index_info, workers);
	shm_toc   *toc;
	double		planned_rows;
	bool		is_limit;
	Size		graph_size = GraphRegionSize(heap, shape, &planned_rows, &is_limit);
	HnswBuildShared *shared;
	HnswGraph  *graph;
	HnswBuildState state;
	int			tranche;
	int			participants;

	shm_toc_estimate_chunk(&par->pcxt->estimator, sizeof(HnswBuildShared));
	shm_toc_estimate_chunk(&par->pcxt->estimator, graph_size);
	shm_toc_estimate_keys(&par->pcxt->estimator, 2);
	if (!VsParallelInitialize(par, heap, index))
		return false;
	toc = par->pcxt->toc;

	tranche = LWLockNewTrancheId();
	shared = shm_toc_allocate(toc, sizeof(HnswBuildShared));
	HnswBuildSharedInit(shared, shape, ef_construction, true, tranche);
	shared->graph_size = graph_size;
	shared->graph_is_limit = is_limit;
	shared->planned_rows = planned_rows;
	graph = HnswGraphInit(shm_toc_allocate(toc, graph_size), graph_size, shape, ef_construction,
						  true, tranche);
	shm_toc_insert(toc, HNSW_KEY_BUILD, shared);
	shm_toc_insert(toc, HNSW_KEY_GRAPH, graph);

	participants = VsParallelLaunch(par);
	ereport(DEBUG1,
			(errmsg_internal("hnsw build of \"%s\": using %d parallel workers and the leader to insert rows into a graph of %zu MB",
							 RelationGetRelationName(index), participants - 1,
							 graph_size / (1024 * 1024))));
	Participate(&state, par->shared, shared, graph, heap, index, index_info, true);
	VsParallelWaitForParticipants(par);

	/* every participant is done with the graph; the segment lives until VsParallelEnd */
	HnswBuildFinish(&state, shared->indexed);
	*heap_tuples = par->shared->heap_tuples;
	*indexed = shared->indexed;
	*zero_vectors = shared->zero_vectors;
	VsParallelEnd(par);
	return true;
}

/* ---------------------------------------------------------------- a build in parts */

#define HNSW_KEY_MEMBERS	UINT64CONST(0xA000000000000013)
/* Members a participant claims at a time. */
#define HNSW_MEMBERS_CHUNK	32

PGDLLEXPORT void HnswMembersParallelMain(dsm_segment *seg, shm_toc *toc);

/* In the segment: the members (vectors, numbers, levels follow it), and who takes which. */
typedef struct MembersShared
{
	int32		n;
	int			dim;
	pg_atomic_uint32 next;		/* the first member nobody has claimed */
} MembersShared;

static float *
SharedVectors(MembersShared *ms)
{
	return (float *) ((char *) ms + MAXALIGN(sizeof(MembersShared)));
}

static int32 *
SharedIds(MembersShared *ms)
{
	return (int32 *) (SharedVectors(ms) + (Size) ms->n * ms->dim);
}

static uint8 *
SharedLevels(MembersShared *ms)
{
	return (uint8 *) (SharedIds(ms) + ms->n);
}

static Size
MembersSharedSize(const HnswMembers *mb, int dim)
{
	return MAXALIGN(sizeof(MembersShared)) + sizeof(float) * dim * (Size) mb->n +
		sizeof(int32) * (Size) mb->n + (Size) mb->n;
}

/* Claims members in chunks and links them in; the leader reports progress as it goes. */
static void
InsertClaimed(MembersShared *ms, HnswGraph *graph, int64 *inserted)
{
	HnswGraphBuilder *b = HnswGraphAttach(graph);
	HnswMembers mb;
	int64		base = inserted ? *inserted : 0;

	mb.n = ms->n;
	mb.x = SharedVectors(ms);
	mb.ids = SharedIds(ms);
	mb.levels = SharedLevels(ms);
	for (;;)
	{
		uint32		first = pg_atomic_fetch_add_u32(&ms->next, HNSW_MEMBERS_CHUNK);
		int32		i;

		if (first >= (uint32) ms->n)
			break;
		for (i = (int32) first; i < ms->n && i < (int32) first + HNSW_MEMBERS_CHUNK; i++)
			HnswMembersInsert(b, &mb, i);
		CHECK_FOR_INTERRUPTS();
		if (inserted)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
										 base + Min((int64) first + HNSW_MEMBERS_CHUNK, ms->n));
	}
	if (inserted)
		*inserted = base + ms->n;
}

void
HnswMembersParallelMain(dsm_segment *seg, shm_toc *toc)
{
	VsParallelWorker worker;
	MembersShared *ms = shm_toc_lookup(toc, HNSW_KEY_MEMBERS, false);
	HnswGraph  *graph = shm_toc_lookup(toc, HNSW_KEY_GRAPH, false);

	(void) seg;
	VsParallelWorkerOpen(toc, &worker);
	InsertClaimed(ms, graph, NULL);
	VsParallelParticipantDone(worker.shared, 0);
	VsParallelWorkerClose(&worker);
}

bool
HnswInsertMembersParallel(Relation heap, Relation index, IndexInfo *index_info,
						  const HnswShape *shape, int ef_construction, int workers,
						  HnswMembers *mb, HnswMembersFill fill, int64 *inserted,
						  HnswMembersDone done, void *arg)
{
	VsParallel *par = VsParallelBegin("HnswMembersParallelMain", heap, index_info, workers);
	Size		members_size = MembersSharedSize(mb, shape->dim);
	MembersShared *ms;
	HnswGraph  *graph;
	int			tranche;

	shm_toc_estimate_chunk(&par->pcxt->estimator, members_size);
	shm_toc_estimate_chunk(&par->pcxt->estimator, mb->region_size);
	shm_toc_estimate_keys(&par->pcxt->estimator, 2);
	if (!VsParallelInitialize(par, heap, index))
		return false;

	ms = shm_toc_allocate(par->pcxt->toc, members_size);
	ms->n = mb->n;
	ms->dim = shape->dim;
	pg_atomic_init_u32(&ms->next, 0);
	mb->x = SharedVectors(ms);
	mb->ids = SharedIds(ms);
	mb->levels = SharedLevels(ms);
	fill(mb, arg);
	tranche = LWLockNewTrancheId();
	graph = HnswGraphInit(shm_toc_allocate(par->pcxt->toc, mb->region_size), mb->region_size, shape,
						  ef_construction, true, tranche);
	graph->distinct = true;
	shm_toc_insert(par->pcxt->toc, HNSW_KEY_MEMBERS, ms);
	shm_toc_insert(par->pcxt->toc, HNSW_KEY_GRAPH, graph);

	(void) VsParallelLaunch(par);
	InsertClaimed(ms, graph, inserted);
	VsParallelParticipantDone(par->shared, 0);
	VsParallelWaitForParticipants(par);
	done(graph, arg);
	VsParallelEnd(par);
	return true;
}
