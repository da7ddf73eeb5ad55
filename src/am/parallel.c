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

#include <sys/statvfs.h>

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/defrem.h"
#include "pgstat.h"
#include "storage/dsm_impl.h"
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
 * Room PostgreSQL's parallel context adds to what the access method asked for: its fixed
 * state, the GUC, snapshot and transaction states (tens of kB), and an error queue of 16 kB
 * per worker; rounded up generously, since the check below only has to tell a segment
 * that fits from one that cannot.
 */
#define VS_PARALLEL_CONTEXT_SLACK (1024 * 1024)
#define VS_PARALLEL_WORKER_SLACK (64 * 1024)

/*
 * Whether the dynamic shared memory segment of this parallel build can be had. With POSIX
 * shared memory (on Linux, a file in /dev/shm) or mmap'd files, creating a segment larger
 * than the free space there ERRORs ("could not resize shared memory segment ... No space
 * left on device"), and a container's /dev/shm is 64 MB unless told otherwise (pgvector#453):
 * rather than fail the CREATE INDEX, the build then goes on serially, which needs the
 * same memory in the backend, and says so. A segment that fits the server's preallocated
 * min_dynamic_shared_memory needs no file. Another backend can still take the space between
 * this check and the segment's creation; that ERROR stays PostgreSQL's.
 */
static bool
SegmentFits(ParallelContext *pcxt, Relation index)
{
	const char *dir;
	struct statvfs fs;
	Size		need;
	uint64		avail;

	if (pcxt->nworkers == 0)
		return true;			/* no segment: PostgreSQL keeps the state in backend memory */
	switch (dynamic_shared_memory_type)
	{
		case DSM_IMPL_POSIX:
			dir = "/dev/shm";
			break;
		case DSM_IMPL_MMAP:
			dir = PG_DYNSHMEM_DIR;	/* relative to the data directory, the cwd */
			break;
		default:
			return true;		/* System V: limited by shmmax, not by free space */
	}
	need = add_size(shm_toc_estimate(&pcxt->estimator),
					add_size(VS_PARALLEL_CONTEXT_SLACK,
							 mul_size(VS_PARALLEL_WORKER_SLACK, pcxt->nworkers)));
	if ((Size) min_dynamic_shared_memory * 1024 * 1024 >= need)
		return true;
	if (statvfs(dir, &fs) != 0)
		return true;			/* cannot tell: let PostgreSQL try */
	avail = (uint64) fs.f_bavail * fs.f_frsize;
	if (avail >= need)
		return true;
	ereport(NOTICE,
			(errmsg("%s build of \"%s\": a parallel build needs a shared memory segment of about %zu MB, and only " UINT64_FORMAT " MB are free in %s; building serially",
					get_am_name(index->rd_rel->relam), RelationGetRelationName(index),
					(need + 1024 * 1024 - 1) / (1024 * 1024), avail / (1024 * 1024), dir),
			 errhint("Give %s more room (a container's /dev/shm is 64 MB unless, for example, docker run --shm-size says otherwise) for a parallel build; the serial build uses as much memory in the backend.",
					 dir)));
	return false;
}

/*
 * Creates the segment and fills the shared header. False when no segment could be had, or
 * it would not fit (SegmentFits): the parallel context is gone then and the caller builds
 * serially.
 */
bool
VsParallelInitialize(VsParallel *par, Relation heap, Relation index)
{
	ParallelContext *pcxt = par->pcxt;
	VsParallelShared *shared;

	if (!SegmentFits(pcxt, index))
	{
		VsParallelEnd(par);
		return false;
	}
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
