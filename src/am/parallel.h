/*
 * parallel.h — what the parallel builds of ivf and hnsw share: a parallel context whose
 * workers open the heap and the index, scan their share of the heap (a parallel table
 * scan), and report back when done, while the leader takes part and then waits for them.
 * Each access method adds its own chunks to the segment between VsParallelBegin and
 * VsParallelInitialize. Internal to the access methods.
 */
#ifndef VS_AM_PARALLEL_H
#define VS_AM_PARALLEL_H

#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "nodes/execnodes.h"
#include "storage/condition_variable.h"
#include "storage/lockdefs.h"
#include "storage/spin.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

/* In the segment under VS_PARALLEL_KEY_SHARED; a ParallelTableScanDescData follows it. */
typedef struct VsParallelShared
{
	Oid			heap_relid;
	Oid			index_relid;
	bool		concurrent;		/* CREATE INDEX CONCURRENTLY */
	int			participants;	/* the leader and the workers that were launched */
	ConditionVariable done_cv;
	slock_t		mutex;			/* protects what follows, and what callers add up under it */
	int			done;
	double		heap_tuples;
} VsParallelShared;

#define VS_PARALLEL_KEY_SHARED	UINT64CONST(0xA0000000000000FF)

typedef struct VsParallel
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	VsParallelShared *shared;
	int			participants;
} VsParallel;

/* A worker's view: the relations it opened, the index's IndexInfo. */
typedef struct VsParallelWorker
{
	VsParallelShared *shared;
	Relation	heap;
	Relation	index;
	IndexInfo  *index_info;
	LOCKMODE	heap_lock;
	LOCKMODE	index_lock;
} VsParallelWorker;

/* leader */
extern VsParallel *VsParallelBegin(const char *function, Relation heap, IndexInfo *index_info,
								   int workers);
extern bool VsParallelInitialize(VsParallel *par, Relation heap, Relation index);
extern int	VsParallelLaunch(VsParallel *par);
extern void VsParallelWaitForParticipants(VsParallel *par);
extern void VsParallelEnd(VsParallel *par);

/* every participant */
extern TableScanDesc VsParallelTableScan(VsParallelShared *shared, Relation heap);
extern void VsParallelParticipantDone(VsParallelShared *shared, double heap_tuples);

/* worker */
extern void VsParallelWorkerOpen(shm_toc *toc, VsParallelWorker *worker);
extern void VsParallelWorkerClose(VsParallelWorker *worker);

#endif							/* VS_AM_PARALLEL_H */
