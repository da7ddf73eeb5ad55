/*
 * hnswgraph.h — the HNSW graph in memory, as CREATE INDEX builds it before writing pages.
 * Internal to the hnsw access method.
 *
 * The graph lives in one region of memory that it never outgrows: a palloc'd block for a
 * serial build, a chunk of the dynamic shared memory segment for a parallel one. Elements
 * refer to each other by number. Each has a level-0 record of one fixed size, in an array
 * that grows from the start of the region, so element i's record is found by arithmetic
 * rather than through a table (at 10M rows a table is one more cache and TLB miss for
 * every neighbour a search scores); an element on upper levels also has a record for those
 * levels' lists, taken from the end of the region downwards. Records are placed by offset,
 * so the region means the same in every process that maps it, wherever it is mapped. The
 * graph is full when the two meet.
 *
 * Concurrency (a parallel build; the locks are skipped when one process builds):
 * - `mutex` (a spinlock) guards the counters: elements claimed, where upper-level records
 *   end, the entry point and the top level.
 * - Element i's neighbour lists are guarded by locks[i % HNSW_GRAPH_LOCKS], taken shared
 *   to copy a list and exclusive to change one; a process holds at most one at a time,
 *   so they cannot deadlock. Vectors and levels never change once an element is linked.
 * - A new element's own lists are complete before any link to it is made, so whoever
 *   reaches it through a neighbour sees a finished element.
 * - An insert whose level is above the graph's top level holds `entry_lock` throughout,
 *   so two such inserts cannot both miss each other on the new levels.
 */
#ifndef VS_AM_HNSWGRAPH_H
#define VS_AM_HNSWGRAPH_H

#include "postgres.h"

#include "storage/itemptr.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "hnsw.h"
#include "hnswelement.h"
#include "topk.h"

#define HNSW_GRAPH_LOCKS	1024

typedef struct HnswGraph
{
	HnswShape	shape;
	int			ef_construction;
	bool		concurrent;		/* several processes insert: take the locks */
	bool		distinct;		/* equal vectors get elements of their own (hnswpartition.c) */
	int			lock_tranche;
	Size		size;			/* of the region, this header included */
	slock_t		mutex;
	Size		base;			/* where element 0's level-0 record starts */
	Size		record_bytes;	/* of a level-0 record, whole cache lines */
	Size		bottom;			/* start of the lowest upper-level record */
	int32		n;				/* elements */
	int32		entry;			/* -1 while empty */
	int32		max_level;
	LWLock		entry_lock;
	LWLock		locks[HNSW_GRAPH_LOCKS];
} HnswGraph;

/* One process's handle on a graph: its visited marks and search scratch space. */
typedef struct HnswGraphBuilder
{
	HnswGraph  *g;
	uint32	   *visited;		/* epoch marks, one per element */
	int32		visited_cap;
	uint32		epoch;
	int			ef;
	VsScored   *found[HNSW_MAX_LEVEL + 1];	/* ef + 1 per level */
	VsScored   *cand;
	Size		cand_cap;
	int32	   *links;			/* a neighbour list copied out under its lock */
	/* a list and one more, when linking back: ids, distances, verdicts */
	int32	   *list_ids;
	float	   *list_dists;
	bool	   *list_kept;
} HnswGraphBuilder;

/* Bytes one element of this level takes in the region: its level-0 record and upper-level one. */
extern Size HnswGraphElementBytes(const HnswShape *shape, int level);
/* Bytes one row takes on average, upper levels included: for sizing maintenance_work_mem. */
extern double HnswGraphRowBytes(const HnswShape *shape);
extern HnswGraph *HnswGraphInit(void *region, Size size, const HnswShape *shape,
								int ef_construction, bool concurrent, int lock_tranche);
extern HnswGraphBuilder *HnswGraphAttach(HnswGraph *g);

/*
 * Adds a (prepared) vector and links it into the graph at once; a vector equal to an
 * element's shares that element while it has room. False if the graph is full.
 */
extern bool HnswGraphInsert(HnswGraphBuilder *b, const float *x, ItemPointer heaptid, int level);

/*
 * Links in the elements that no path from the entry point reaches (see hnswgraph.c); by
 * one process, once inserts are done. Returns how many it linked, and in *left how many
 * it could not.
 */
extern int	HnswGraphConnect(HnswGraphBuilder *b, int *left);

/* Reading a finished graph (no process inserts any more). */
extern int	HnswGraphLevel(HnswGraph *g, int32 i);
extern const float *HnswGraphVector(HnswGraph *g, int32 i);
extern const int32 *HnswGraphLinks(HnswGraph *g, int32 i, int level, int *count);
/* A list's distances and the heuristic's verdicts, beside HnswGraphLinks' numbers. */
extern void HnswGraphLinkDetails(HnswGraph *g, int32 i, int level, const float **dists,
								 const bool **kept);
extern const ItemPointerData *HnswGraphHeapTids(HnswGraph *g, int32 i, int *count);

#endif							/* VS_AM_HNSWGRAPH_H */
