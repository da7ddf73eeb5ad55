/*
 * ivfparallel.c — the assignment phase of an ivf build on parallel workers.
 *
 * After k-means (in the leader), the leader and up to max_parallel_maintenance_workers
 * workers each scan part of the heap (a parallel table scan), assign their rows to lists
 * (sgemm batches) and sort them by list into their share of a parallel tuplesort; the
 * leader then merges the sorted runs and writes the lists as a serial build does. The
 * centroids travel to the workers in the dynamic shared memory segment.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "batch.h"
#include "ivfbuild.h"

#define IVF_KEY_SHARED		UINT64CONST(0xA000000000000001)
#define IVF_KEY_SORT		UINT64CONST(0xA000000000000002)
#define IVF_KEY_CENTROIDS	UINT64CONST(0xA000000000000003)

typedef struct IvfShared
{
	/* set by the leader before launch */
	Oid			heap_relid;
	Oid			index_relid;
	bool		concurrent;
	int			participants;
	int			dim;
	int			lists;
	int			metric;

	ConditionVariable done_cv;
	slock_t		mutex;
	/* summed by the participants as they finish */
	int			done;
	double		heap_tuples;
	double		rows_indexed;
	double		sum_sqdist;
	double		zero_vectors;
	/* ParallelTableScanDescData follows */
} IvfShared;

#define ParallelTableScanFromShared(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(IvfShared))))

typedef struct IvfParallel
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
} IvfParallel;

PGDLLEXPORT void IvfParallelBuildMain(dsm_segment *seg, shm_toc *toc);

/*
 * Workers hand their rows to the leader through a shared sort spilled to temporary files,
 * a pass over the data a serial build does not make, so they pay off only when assignment
 * (rows x lists x dimensions multiply-adds in sgemm) is the bulk of the build. Measured on
 * a 2-vCPU VM: at 1M x 128 with 1,000 lists (1.3e11) a worker saved 0.4 s of assignment
 * and cost 0.4-1.4 s of merging, so below this much work the build stays serial.
 */
#define IVF_PARALLEL_MIN_WORK 2.0e11

bool		vs_ivf_force_parallel_build = false;

int
IvfParallelWorkers(IvfBuildState *state)
{
	double		rows;
	int			workers;

	if (state->heap == NULL || !IsNormalProcessingMode())
		return 0;
	workers = plan_create_index_workers(RelationGetRelid(state->heap), RelationGetRelid(state->index));
	if (workers == 0 || vs_ivf_force_parallel_build)
		return workers;
	rows = state->heap->rd_rel->reltuples;
	if (rows < 0)				/* never analysed: guess from the size */
		rows = (double) RelationGetNumberOfBlocks(state->heap) * BLCKSZ /
			(sizeof(float) * state->dim + 32.0);
	return rows * state->lists * state->dim >= IVF_PARALLEL_MIN_WORK ? workers : 0;
}

/* One participant's share: scan its blocks, assign, sort, and add up its counts. */
static void
Participate(IvfShared *shared, Sharedsort *sharedsort, Relation heap, Relation index,
			IndexInfo *index_info, const float *centroids, bool progress)
{
	IvfBuildState st;
	SortCoordinate coordinate = palloc0(sizeof(SortCoordinateData));
	TableScanDesc scan;
	double		heap_tuples;

	memset(&st, 0, sizeof(st));
	st.heap = heap;
	st.index = index;
	st.index_info = index_info;
	st.metric = (VsMetric) shared->metric;
	st.dim = shared->dim;
	st.lists = shared->lists;
	st.centroids = (float *) centroids;
	st.centroid_sqnorms = palloc(sizeof(float) * st.lists);
	vs_sqnorms(centroids, st.lists, st.dim, st.centroid_sqnorms);
	st.build_ctx = CurrentMemoryContext;
	st.tmp_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivf build row", ALLOCSET_DEFAULT_SIZES);

	coordinate->isWorker = true;
	coordinate->nParticipants = -1;
	coordinate->sharedsort = sharedsort;
	IvfAssignBegin(&st, coordinate, Max(maintenance_work_mem / shared->participants, 64));
	scan = table_beginscan_parallel(heap, ParallelTableScanFromShared(shared));
	heap_tuples = table_index_build_scan(heap, index, index_info, true, progress,
										 IvfAssignCallback, &st, scan);
	IvfAssignEnd(&st);

	SpinLockAcquire(&shared->mutex);
	shared->done++;
	shared->heap_tuples += heap_tuples;
	shared->rows_indexed += st.rows_indexed;
	shared->sum_sqdist += st.sum_sqdist;
	shared->zero_vectors += st.zero_vectors;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->done_cv);

	tuplesort_end(st.sort);
	MemoryContextDelete(st.tmp_ctx);
}

void
IvfParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	IvfShared  *shared = shm_toc_lookup(toc, IVF_KEY_SHARED, false);
	Sharedsort *sharedsort = shm_toc_lookup(toc, IVF_KEY_SORT, false);
	float	   *centroids = shm_toc_lookup(toc, IVF_KEY_CENTROIDS, false);
	LOCKMODE	heap_lock = shared->concurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	index_lock = shared->concurrent ? RowExclusiveLock : AccessExclusiveLock;
	Relation	heap = table_open(shared->heap_relid, heap_lock);
	Relation	index = index_open(shared->index_relid, index_lock);
	IndexInfo  *index_info = BuildIndexInfo(index);

	index_info->ii_Concurrent = shared->concurrent;
	tuplesort_attach_shared(sharedsort, seg);
	Participate(shared, sharedsort, heap, index, index_info, centroids, false);
	index_close(index, index_lock);
	table_close(heap, heap_lock);
}

void
IvfAssignParallel(IvfBuildState *state, int workers)
{
	IvfParallel *par = palloc0(sizeof(IvfParallel));
	ParallelContext *pcxt;
	Size		shared_size;
	Size		sort_size;
	Size		centroid_size = sizeof(float) * (Size) state->lists * state->dim;
	IvfShared  *shared;
	Sharedsort *sharedsort;
	float	   *centroids;
	SortCoordinate coordinate;
	int			participants;

	EnterParallelMode();
	pcxt = CreateParallelContext("vecsearch", "IvfParallelBuildMain", workers);
	par->pcxt = pcxt;
	par->snapshot = state->index_info->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	shared_size = add_size(BUFFERALIGN(sizeof(IvfShared)),
						   table_parallelscan_estimate(state->heap, par->snapshot));
	sort_size = tuplesort_estimate_shared(workers + 1);
	shm_toc_estimate_chunk(&pcxt->estimator, shared_size);
	shm_toc_estimate_chunk(&pcxt->estimator, sort_size);
	shm_toc_estimate_chunk(&pcxt->estimator, centroid_size);
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no dynamic shared memory: build serially */
		if (IsMVCCSnapshot(par->snapshot))
			UnregisterSnapshot(par->snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		IvfAssignBegin(state, NULL, maintenance_work_mem);
		state->heap_tuples = table_index_build_scan(state->heap, state->index, state->index_info,
													true, true, IvfAssignCallback, state, NULL);
		IvfAssignEnd(state);
		return;
	}

	shared = shm_toc_allocate(pcxt->toc, shared_size);
	memset(shared, 0, sizeof(IvfShared));
	shared->heap_relid = RelationGetRelid(state->heap);
	shared->index_relid = RelationGetRelid(state->index);
	shared->concurrent = state->index_info->ii_Concurrent;
	shared->participants = workers + 1;
	shared->dim = state->dim;
	shared->lists = state->lists;
	shared->metric = state->metric;
	ConditionVariableInit(&shared->done_cv);
	SpinLockInit(&shared->mutex);
	table_parallelscan_initialize(state->heap, ParallelTableScanFromShared(shared), par->snapshot);
	sharedsort = shm_toc_allocate(pcxt->toc, sort_size);
	tuplesort_initialize_shared(sharedsort, workers + 1, pcxt->seg);
	centroids = shm_toc_allocate(pcxt->toc, centroid_size);
	memcpy(centroids, state->centroids, centroid_size);
	shm_toc_insert(pcxt->toc, IVF_KEY_SHARED, shared);
	shm_toc_insert(pcxt->toc, IVF_KEY_SORT, sharedsort);
	shm_toc_insert(pcxt->toc, IVF_KEY_CENTROIDS, centroids);

	LaunchParallelWorkers(pcxt);
	participants = pcxt->nworkers_launched + 1;
	ereport(DEBUG1,
			(errmsg_internal("ivf build of \"%s\": the leader and %d parallel workers assign rows",
							 RelationGetRelationName(state->index), pcxt->nworkers_launched)));
	if (pcxt->nworkers_launched < workers)
	{
		/* fewer workers than planned: the sort must not wait for the missing ones */
		SpinLockAcquire(&shared->mutex);
		shared->participants = participants;
		SpinLockRelease(&shared->mutex);
	}

	/* the leader scans its share too; its sort description is the one the merge uses */
	Participate(shared, sharedsort, state->heap, state->index, state->index_info,
				state->centroids, true);

	for (;;)
	{
		int			done;

		SpinLockAcquire(&shared->mutex);
		done = shared->done;
		SpinLockRelease(&shared->mutex);
		if (done >= participants)
			break;
		ConditionVariableSleep(&shared->done_cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();

	state->heap_tuples = shared->heap_tuples;
	state->rows_indexed = shared->rows_indexed;
	state->sum_sqdist = shared->sum_sqdist;
	state->zero_vectors = shared->zero_vectors;

	/* the merge of every participant's sorted run, read by WriteIndex */
	coordinate = palloc0(sizeof(SortCoordinateData));
	coordinate->isWorker = false;
	coordinate->nParticipants = participants;
	coordinate->sharedsort = sharedsort;
	IvfBeginSort(state, coordinate, maintenance_work_mem);
	tuplesort_performsort(state->sort);
	state->parallel = par;
}

void
IvfParallelEnd(IvfBuildState *state)
{
	IvfParallel *par = (IvfParallel *) state->parallel;

	if (par == NULL)
		return;
	WaitForParallelWorkersToFinish(par->pcxt);
	if (IsMVCCSnapshot(par->snapshot))
		UnregisterSnapshot(par->snapshot);
	DestroyParallelContext(par->pcxt);
	ExitParallelMode();
	state->parallel = NULL;
}
