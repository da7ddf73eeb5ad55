/*
 * hnswbuild.h — the build state shared by the serial build (hnswbuild.c) and its parallel
 * workers (hnswparallel.c). Internal to the hnsw access method.
 */
#ifndef VS_AM_HNSWBUILD_H
#define VS_AM_HNSWBUILD_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/rel.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "hnswgraph.h"

/* Build phases in pg_stat_progress_create_index (names in hnsw.c). */
#define HNSW_PHASE_GRAPH	2
#define HNSW_PHASE_WRITE	3
#define HNSW_PHASE_ONDISK	4

/*
 * What every participant of a build sees: in the shared memory segment of a parallel
 * build, in local memory otherwise (and then `concurrent` is false and no lock is taken).
 * Inserts into the graph hold flush_lock shared; the participant that finds the graph
 * full takes it exclusive, writes the graph out once and sets `flushed`, after which all
 * participants insert on disk.
 */
typedef struct HnswBuildShared
{
	HnswShape	shape;
	int			ef_construction;
	bool		concurrent;
	LWLock		flush_lock;
	bool		flushed;
	Size		graph_size;		/* bytes of the graph's region */
	bool		graph_is_limit; /* the region is maintenance_work_mem (not an estimate) */
	double		planned_rows;	/* the estimate the region was sized for, when it was */
	pg_atomic_uint64 rows_done; /* rows inserted by all participants, for progress */
	/* added up as participants finish */
	double		indexed;
	double		zero_vectors;
} HnswBuildShared;

typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	IndexInfo  *index_info;
	HnswBuildShared *shared;
	HnswGraph  *graph;
	HnswGraphBuilder *builder;
	MemoryContext tmp_ctx;
	bool		reports_progress;
	double		indexed;		/* by this participant */
	double		zero_vectors;
} HnswBuildState;

extern void HnswBuildRow(void *arg, ItemPointer tid, Datum value);
extern void HnswBuildSharedInit(HnswBuildShared *shared, const HnswShape *shape, int ef_construction,
								bool concurrent, int lock_tranche);
extern void HnswBuildParticipant(HnswBuildState *state, Relation heap, Relation index,
								 IndexInfo *index_info, HnswBuildShared *shared, HnswGraph *graph);
extern void HnswBuildFinish(HnswBuildState *state, double indexed);

/* hnswparallel.c */
extern int	HnswParallelWorkers(Relation heap, Relation index);
/* False when no shared memory segment could be had: build serially then. */
extern bool HnswBuildParallel(Relation heap, Relation index, IndexInfo *index_info,
							  const HnswShape *shape, int ef_construction, int workers,
							  double *heap_tuples, double *indexed, double *zero_vectors);

#endif							/* VS_AM_HNSWBUILD_H */
