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
#define HNSW_PHASE_LOAD		5	/* a build in parts: the rows to a file, duplicates, k-means */
#define HNSW_PHASE_PARTS	6	/* a build in parts: the upper levels', then each part's graph */

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

/*
 * What HnswWriteElements writes as the whole index: n elements, numbered in the order they
 * are laid out on pages.
 */
typedef struct HnswElementSource
{
	int32		n;
	int32		entry;			/* the entry point's number (when n > 0) and level */
	int			entry_level;
	/* element i's level, for any i (pages are planned first) */
	int			(*level) (void *arg, int32 i);
	/* element i as an index tuple, its neighbours at their planned TIDs; i = 0, 1, ... */
	HnswElement (*form) (void *arg, int32 i, const ItemPointerData *tids, BlockNumber overflow,
						 Size *size);
	/* element i's vector, for overflow pages: i = 0, 1, ... again, once every form is done */
	const float *(*vector) (void *arg, int32 i);
	void	   *arg;
} HnswElementSource;

/*
 * Writes the elements as the whole index, without WAL; with `log_pages`, logs every page
 * once at the end (otherwise the caller does, after changing more).
 */
extern void HnswWriteElements(Relation index, ForkNumber fork, const HnswBuildShared *shared,
							  const HnswElementSource *src, double build_rows, bool log_pages);

/* The megabytes of maintenance_work_mem a graph of `rows` rows needs (for NOTICEs). */
extern double HnswGraphMegabytes(const HnswShape *shape, double rows);

extern void HnswBuildRow(void *arg, ItemPointer tid, Datum value);
extern void HnswBuildSharedInit(HnswBuildShared *shared, const HnswShape *shape, int ef_construction,
								bool concurrent, int lock_tranche);
extern void HnswBuildParticipant(HnswBuildState *state, Relation heap, Relation index,
								 IndexInfo *index_info, HnswBuildShared *shared, HnswGraph *graph);
extern void HnswBuildFinish(HnswBuildState *state, double indexed);

/*
 * hnswpartition.c: a graph larger than maintenance_work_mem, built in parts that fit.
 * A part's graph is built from its members, elements known by number: their vectors
 * (n x dim), numbers and levels, and the bytes their graph takes.
 */
typedef struct HnswMembers
{
	int32		n;
	float	   *x;
	int32	   *ids;
	uint8	   *levels;
	Size		region_size;
} HnswMembers;

/* Fills mb's arrays (sized for mb->n), wherever they are. */
typedef void (*HnswMembersFill) (HnswMembers *mb, void *arg);
/* Called in the leader with the finished graph of a set of members. */
typedef void (*HnswMembersDone) (HnswGraph *g, void *arg);

extern bool HnswPartitionedBuildWanted(const HnswShape *shape, double rows, Size budget);
extern double HnswBuildInParts(Relation heap, Relation index, IndexInfo *index_info,
							   const HnswShape *shape, int ef_construction, int workers,
							   double *indexed, double *zero_vectors);
/* Links member i into a graph (of distinct elements); its number rides as its heap TID. */
extern void HnswMembersInsert(HnswGraphBuilder *b, const HnswMembers *mb, int32 i);
/* The member number of a graph's node j. */
extern int32 HnswMembersElement(HnswGraph *g, int32 j);

/* hnswparallel.c */
/*
 * Builds the graph of mb->n members in shared memory with `workers` workers and the leader:
 * the leader's `fill` puts the members into the segment, and `done` sees the graph once
 * all are linked. False, having done nothing, when no segment could be had.
 */
extern bool HnswInsertMembersParallel(Relation heap, Relation index, IndexInfo *index_info,
									  const HnswShape *shape, int ef_construction, int workers,
									  HnswMembers *mb, HnswMembersFill fill, int64 *inserted,
									  HnswMembersDone done, void *arg);
extern int	HnswParallelWorkers(Relation heap, Relation index);
/* False when no shared memory segment could be had: build serially then. */
extern bool HnswBuildParallel(Relation heap, Relation index, IndexInfo *index_info,
							  const HnswShape *shape, int ef_construction, int workers,
							  double *heap_tuples, double *indexed, double *zero_vectors);

#endif							/* VS_AM_HNSWBUILD_H */
