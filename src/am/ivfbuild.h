/*
 * ivfbuild.h — the build state shared by the serial build (ivfbuild.c) and its parallel
 * assignment phase (ivfparallel.c), and the build's progress reporting, which ivfpq's
 * codebook training (ivfpq.c) shares. Internal to the ivf access methods.
 */
#ifndef VS_AM_IVFBUILD_H
#define VS_AM_IVFBUILD_H

#include "postgres.h"

#include "access/genam.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/sampling.h"
#include "utils/tuplesort.h"

#include "ivf.h"
#include "vector.h"

/* Build phases in pg_stat_progress_create_index (names in ivf.c). */
#define IVF_PHASE_SAMPLE	2
#define IVF_PHASE_KMEANS	3
#define IVF_PHASE_ASSIGN	4
#define IVF_PHASE_WRITE		5
#define IVF_PHASE_PQ		6
#define IVF_PHASE_KMEANS_GPU 7
#define IVF_PHASE_PQ_GPU	8

/* Rows assigned per sgemm call. */
#define IVF_ASSIGN_BATCH	1024
/* Fixed seeds: the same table gives the same index. */
#define IVF_SAMPLE_SEED		0x5eed1f
#define IVF_KMEANS_SEED		0xc0ffee

typedef struct IvfBuildState
{
	Relation	heap;
	Relation	index;
	IndexInfo  *index_info;
	VsMetric	metric;
	VsStorage	storage;		/* of the vectors in ivf's slots */
	int			dim;			/* -1 until known */
	int			lists;

	/* sampling */
	float	   *samples;
	int			nsamples;
	int			target_samples;
	bool		untrainable;	/* maintenance_work_mem cannot train: only an empty table builds */
	double		rows_seen;
	bool		memory_cut;		/* maintenance_work_mem left rows out of training */
	double		rows_to_skip;
	ReservoirStateData reservoir;

	/* k-means output */
	float	   *centroids;
	float	   *centroid_sqnorms;

	/* ivfpq: the product quantizer (pq.m == 0 for ivf) */
	VsPq		pq;

	/* assignment */
	float	   *batch;
	ItemPointerData *batch_tids;
	int			batch_n;
	int		   *batch_nearest;
	float	   *batch_sqdist;
	Tuplesortstate *sort;
	TupleDesc	sort_desc;
	TupleTableSlot *sort_slot;
	double		rows_indexed;
	double		zero_vectors;
	double		sum_sqdist;
	double		heap_tuples;
	int			parallel_workers;	/* planned for the assignment */
	void	   *parallel;		/* ivfparallel.c's context, alive until the merge is read */

	MemoryContext build_ctx;
	MemoryContext tmp_ctx;
} IvfBuildState;

extern void IvfCheckRowDims(IvfBuildState *state, const Vector *v);
extern void IvfKmeansProgress(void *arg, VsKmeansPhase phase, int step, double inertia);
extern void IvfBeginSort(IvfBuildState *state, SortCoordinate coordinate, int sort_mem);
extern void IvfAssignBegin(IvfBuildState *state, SortCoordinate coordinate, int sort_mem);
extern void IvfAssignRow(void *arg, ItemPointer tid, Datum value);
extern void IvfAssignFlush(IvfBuildState *state);
extern void IvfAssignEnd(IvfBuildState *state);

/* ivfparallel.c */
extern int	IvfParallelWorkers(IvfBuildState *state);
extern void IvfAssignParallel(IvfBuildState *state, int workers);
extern void IvfParallelEnd(IvfBuildState *state);

#endif							/* VS_AM_IVFBUILD_H */
