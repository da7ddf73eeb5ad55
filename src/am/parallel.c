/*
 * parallel.c — the scaffolding of a parallel index build that ivf and hnsw share.
 *
 * The leader creates the context (EnterParallelMode, a snapshot for CREATE INDEX
 * CONCURRENTLY), lets the access method size and fill its own chunks, launches the
 * workers, takes part itself, and waits on a condition variable until every participant
 * has said it is done: the participants' results are in shared memory then, while the
 * workers may still be shutting down. VsParallelEnd waits for them to exit.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "pgstat.h"
#include "utils/snapmgr.h"

#include "parallel.h"

#define ParallelTableScanFromShared(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(VsParallelShared))))

/* Enters parallel mode and plans the shared header; the caller then plans its own chunks. */
VsParallel *
VsParallelBegin(const char *function, Relation heap, IndexInfo *index_info, int workers)
{
	VsParallel *par = palloc0(sizeof(VsParallel));
	ParallelContext *pcxt;

	EnterParallelMode();
	pcxt = CreateParallelContext("vecsearch", function, workers);
	par->pcxt = pcxt;
	par->snapshot = index_info->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	shm_toc_estimate_chunk(&pcxt->estimator,
						   add_size(BUFFERALIGN(sizeof(VsParallelShared)),
									table_parallelscan_estimate(heap, par->snapshot)));
	shm_toc_estimate_keys(&pcxt->estimator, 1);
	return par;
}

/*
 * Creates the segment and fills the shared header. False when no segment could be had
 * (the parallel context is gone then and the caller builds serially).
 */
bool
VsParallelInitialize(VsParallel *par, Relation heap, Relation index)
{
	ParallelContext *pcxt = par->pcxt;
	VsParallelShared *shared;

	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		VsParallelEnd(par);
		return false;
	}
	shared = shm_toc_allocate(pcxt->toc,
							  add_size(BUFFERALIGN(sizeof(VsParallelShared)),
									   table_parallelscan_estimate(heap, par->snapshot)));
	memset(shared, 0, sizeof(VsParallelShared));
	shared->heap_relid = RelationGetRelid(heap);
	shared->index_relid = RelationGetRelid(index);
	shared->concurrent = par->snapshot != SnapshotAny;
	shared->participants = pcxt->nworkers + 1;
	ConditionVariableInit(&shared->done_cv);
	SpinLockInit(&shared->mutex);
	table_parallelscan_initialize(heap, ParallelTableScanFromShared(shared), par->snapshot);
	shm_toc_insert(pcxt->toc, VS_PARALLEL_KEY_SHARED, shared);
	par->shared = shared;
	return true;
}

/* Launches the workers; returns the participants, the leader included. */
int
VsParallelLaunch(VsParallel *par)
{
	LaunchParallelWorkers(par->pcxt);
	par->participants = par->pcxt->nworkers_launched + 1;
	/* fewer workers than planned: nobody may wait for the missing ones */
	SpinLockAcquire(&par->shared->mutex);
	par->shared->participants = par->participants;
	SpinLockRelease(&par->shared->mutex);
	return par->participants;
}

/* Sleeps until every participant has called VsParallelParticipantDone. */
void
VsParallelWaitForParticipants(VsParallel *par)
{
	for (;;)
	{
		int			done;

		SpinLockAcquire(&par->shared->mutex);
		done = par->shared->done;
		SpinLockRelease(&par->shared->mutex);
		if (done >= par->participants)
			break;
		ConditionVariableSleep(&par->shared->done_cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();
}

void
VsParallelEnd(VsParallel *par)
{
	if (par->pcxt->seg != NULL && par->participants > 1)
		WaitForParallelWorkersToFinish(par->pcxt);
	if (IsMVCCSnapshot(par->snapshot))
		UnregisterSnapshot(par->snapshot);
	DestroyParallelContext(par->pcxt);
	ExitParallelMode();
}

TableScanDesc
VsParallelTableScan(VsParallelShared *shared, Relation heap)
{
	return table_beginscan_parallel(heap, ParallelTableScanFromShared(shared));
}

void
VsParallelParticipantDone(VsParallelShared *shared, double heap_tuples)
{
	SpinLockAcquire(&shared->mutex);
	shared->done++;
	shared->heap_tuples += heap_tuples;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->done_cv);
}

/* Opens the relations with the locks the leader holds (CONCURRENTLY takes weaker ones). */
void
VsParallelWorkerOpen(shm_toc *toc, VsParallelWorker *worker)
{
	VsParallelShared *shared = shm_toc_lookup(toc, VS_PARALLEL_KEY_SHARED, false);

	worker->shared = shared;
	worker->heap_lock = shared->concurrent ? ShareUpdateExclusiveLock : ShareLock;
	worker->index_lock = shared->concurrent ? RowExclusiveLock : AccessExclusiveLock;
	worker->heap = table_open(shared->heap_relid, worker->heap_lock);
	worker->index = index_open(shared->index_relid, worker->index_lock);
	worker->index_info = BuildIndexInfo(worker->index);
	worker->index_info->ii_Concurrent = shared->concurrent;
}

void
VsParallelWorkerClose(VsParallelWorker *worker)
{
	index_close(worker->index, worker->index_lock);
	table_close(worker->heap, worker->heap_lock);
}
