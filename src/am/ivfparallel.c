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

#include "access/tableam.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"

#include "batch.h"
#include "ivfbuild.h"
#include "parallel.h"

#define IVF_KEY_SHARED		UINT64CONST(0xA000000000000001)
#define IVF_KEY_SORT		UINT64CONST(0xA000000000000002)
#define IVF_KEY_CENTROIDS	UINT64CONST(0xA000000000000003)

/* What the workers need beyond parallel.c's header, and the sums they report. */
typedef struct IvfShared
{
	int			dim;
	int			lists;
	int			metric;
	/* added up under the VsParallelShared mutex as participants finish */
	double		rows_indexed;
	double		sum_sqdist;
	double		zero_vectors;
} IvfShared;

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
Participate(VsParallelShared *common, IvfShared *shared, Sharedsort *sharedsort, Relation heap,
			Relation index, IndexInfo *index_info, const float *centroids, bool progress)
{
	IvfBuildState st;
	SortCoordinate coordinate = palloc0(sizeof(SortCoordinateData));
	double		heap_tuples;
	int			participants;

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

	SpinLockAcquire(&common->mutex);
	participants = common->participants;
	SpinLockRelease(&common->mutex);
	coordinate->isWorker = true;
	coordinate->nParticipants = -1;
	coordinate->sharedsort = sharedsort;
	IvfAssignBegin(&st, coordinate, Max(maintenance_work_mem / participants, 64));
	heap_tuples = VsScanRows(heap, index, index_info, progress, VsParallelTableScan(common, heap),
							 st.tmp_ctx, IvfAssignRow, &st);
	IvfAssignEnd(&st);

	SpinLockAcquire(&common->mutex);
	shared->rows_indexed += st.rows_indexed;
	shared->sum_sqdist += st.sum_sqdist;
	shared->zero_vectors += st.zero_vectors;
	SpinLockRelease(&common->mutex);
	VsParallelParticipantDone(common, heap_tuples);

	tuplesort_end(st.sort);
	MemoryContextDelete(st.tmp_ctx);
}

void
IvfParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	VsParallelWorker worker;
	IvfShared  *shared = shm_toc_lookup(toc, IVF_KEY_SHARED, false);
	Sharedsort *sharedsort = shm_toc_lookup(toc, IVF_KEY_SORT, false);
	float	   *centroids = shm_toc_lookup(toc, IVF_KEY_CENTROIDS, false);

	VsParallelWorkerOpen(toc, &worker);
	tuplesort_attach_shared(sharedsort, seg);
	Participate(worker.shared, shared, sharedsort, worker.heap, worker.index, worker.index_info,
				centroids, false);
	VsParallelWorkerClose(&worker);
}

/* The build serially after all, when no shared memory segment could be had. */
static void
AssignSerially(IvfBuildState *state)
{
	IvfAssignBegin(state, NULL, maintenance_work_mem);
	state->heap_tuples = VsScanRows(state->heap, state->index, state->index_info, true, NULL,
									state->tmp_ctx, IvfAssignRow, state);
	IvfAssignEnd(state);
}

void
IvfAssignParallel(IvfBuildState *state, int workers)
{
	VsParallel *par = VsParallelBegin("IvfParallelBuildMain", state->heap, state->index_info, workers);
	shm_toc_estimator *estimator = &par->pcxt->estimator;
	Size		sort_size = tuplesort_estimate_shared(workers + 1);
	Size		centroid_size = sizeof(float) * (Size) state->lists * state->dim;
	IvfShared  *shared;
	Sharedsort *sharedsort;
	float	   *centroids;
	SortCoordinate coordinate;
	int			participants;

	shm_toc_estimate_chunk(estimator, sizeof(IvfShared));
	shm_toc_estimate_chunk(estimator, sort_size);
	shm_toc_estimate_chunk(estimator, centroid_size);
	shm_toc_estimate_keys(estimator, 3);
	if (!VsParallelInitialize(par, state->heap, state->index))
	{
		AssignSerially(state);
		return;
	}

	shared = shm_toc_allocate(par->pcxt->toc, sizeof(IvfShared));
	memset(shared, 0, sizeof(IvfShared));
	shared->dim = state->dim;
	shared->lists = state->lists;
	shared->metric = state->metric;
	sharedsort = shm_toc_allocate(par->pcxt->toc, sort_size);
	tuplesort_initialize_shared(sharedsort, workers + 1, par->pcxt->seg);
	centroids = shm_toc_allocate(par->pcxt->toc, centroid_size);
	memcpy(centroids, state->centroids, centroid_size);
	shm_toc_insert(par->pcxt->toc, IVF_KEY_SHARED, shared);
	shm_toc_insert(par->pcxt->toc, IVF_KEY_SORT, sharedsort);
	shm_toc_insert(par->pcxt->toc, IVF_KEY_CENTROIDS, centroids);

	participants = VsParallelLaunch(par);
	ereport(DEBUG1,
			(errmsg_internal("ivf build of \"%s\": using %d parallel workers and the leader to assign rows",
							 RelationGetRelationName(state->index), participants - 1)));

	/* the leader scans its share too; its sort description is the one the merge uses */
	Participate(par->shared, shared, sharedsort, state->heap, state->index, state->index_info,
				state->centroids, true);
	VsParallelWaitForParticipants(par);

	state->heap_tuples = par->shared->heap_tuples;
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
	if (state->parallel == NULL)
		return;
	VsParallelEnd((VsParallel *) state->parallel);
	state->parallel = NULL;
}
