/*
 * hnswgraph.h — the HNSW graph in memory, as CREATE INDEX builds it before writing pages.
 * Internal to the hnsw access method.
 */
#ifndef VS_AM_HNSWGRAPH_H
#define VS_AM_HNSWGRAPH_H

#include "postgres.h"

#include "storage/itemptr.h"

#include "hnsw.h"

typedef struct HnswGraph
{
	HnswShape	shape;
	int			ef_construction;
	int			n;
	int			capacity;
	float	   *vectors;		/* n x dim */
	ItemPointerData *heaptids;	/* n x HNSW_HEAPTIDS */
	uint8	   *nheaptids;
	uint8	   *levels;
	int32	  **links;			/* per element: counts-free slot arrays, level 0 first */
	uint16	  **counts;			/* per element: links in use on each level */
	int			entry;			/* -1 while empty */
	int			max_level;
	uint32	   *visited;		/* epoch marks, one per element */
	uint32		epoch;
	Size		memory;			/* bytes held, against maintenance_work_mem */
	MemoryContext cxt;
} HnswGraph;

extern HnswGraph *HnswGraphCreate(const HnswShape *shape, int ef_construction, MemoryContext cxt);
extern Size HnswGraphElementBytes(const HnswShape *shape, int level);
/* Adds a (prepared) vector; it is linked into the graph at once. */
extern void HnswGraphInsert(HnswGraph *g, const float *x, ItemPointer heaptid, int level);

#endif							/* VS_AM_HNSWGRAPH_H */
