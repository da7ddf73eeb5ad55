/*
 * hnswpartition.c — CREATE INDEX for hnsw when the table's graph will not fit into
 * maintenance_work_mem: the graph is built in parts that each fit, then merged (after
 * DiskANN's merged build: Subramanya et al., NeurIPS 2019).
 *
 * 1. The heap scan writes every row's prepared vector to a temporary file and keeps a
 *    sample of them. Rows with equal vectors, found by hash and compared, share an
 *    element (up to HNSW_HEAPTIDS rows), as in the in-memory graph.
 * 2. k-means on the sample cuts the space into parts; each element joins the two nearest
 *    parts that have room, so that an element near a border is linked on both sides.
 * 3. The upper levels first: one graph in memory of the elements above level 0 (1/(m-1)
 *    of them); its lists on levels 1 and up are kept.
 * 4. Each part's graph is built in memory (hnswgraph.c), one part after another, by the
 *    leader and the parallel workers (hnswparallel.c), and its members' level-0 lists go
 *    to a run file in element order.
 * 5. The pages are written in one pass: an element's level-0 list is the union of its two
 *    parts' lists, nearest first; when that is longer than 2m, the neighbours the
 *    heuristic did not pick go first. HnswConnect then links in any element that no
 *    level-0 path reaches, and every page is logged once.
 *
 * Why: past memory, the build used to insert the remaining rows into the index on disk,
 * where a row costs about five times what it costs in memory (perf: buffer lookups and a
 * cache miss for every page an insert scores). Here every row is inserted twice, in memory.
 * Not for inner product: parts are cut by L2, and the nearest by inner product are the
 * longest vectors, wherever they lie.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/buffile.h"
#include "utils/memutils.h"

#include "hnswbuild.h"
#include "kmeans.h"
#include "vector.h"

/* Parts are planned for this share of their room: k-means parts are not of equal size. */
#define PART_FILL			0.8
/* Bytes a row costs beside the graph's region: its TID, hash, element, parts, chains. */
#define PART_ROW_BYTES		40
#define PART_KMEANS_ITERATIONS 8
#define PART_KMEANS_SEED	20261208
#define NO_PART				0xFFFF
#define MAX_PARTS			4096
/* A graph region's bytes besides its elements: the header, and a cache line to align to. */
#define GRAPH_OVERHEAD		(MAXALIGN(sizeof(HnswGraph)) + 128)

/* An element's level-0 list as a part's graph left it, in that part's run file. */
typedef struct RunRecord
{
	int32		element;		/* -1: the run is used up */
	int32		count;
	int32	   *ids;			/* element numbers */
	float	   *dists;
	bool	   *kept;
} RunRecord;

typedef struct PartBuild
{
	Relation	heap;
	Relation	index;
	IndexInfo  *index_info;
	int			workers;		/* parallel workers for each graph; 0 once a segment failed */
	int64		inserted;		/* into the graphs, for progress */
	HnswBuildShared shared;		/* the shape, for the writer */
	HnswShape	shape;
	MemoryContext cxt;
	Size		budget;

	/* 1. the rows */
	BufFile    *spill;
	Size		rec_bytes;		/* a TID, padding, the vector */
	char	   *rec;
	int32		nrows;
	int32		rows_cap;
	ItemPointerData *tids;		/* by row */
	uint64	   *hashes;			/* by row, until duplicates are found */
	int32	   *element_of;		/* by row */
	int32	   *next_row;		/* by row: the next row of the same element, or -1 */
	float	   *sample;
	int32		nsample;
	int32		sample_cap;
	pg_prng_state prng;
	double		zero_vectors;

	/* the elements */
	int32		nelements;
	int32	   *first_row;		/* by element */
	uint8	   *levels;			/* by element */

	/* 2. the parts */
	int			nparts;
	float	   *centroids;
	uint16	   *parts;			/* two by element, NO_PART for none */
	Size	   *part_bytes;
	Size		room;			/* of maintenance_work_mem, for one graph's members */
	int			part;			/* the part being built */
	BufFile   **runs;
	Size		run_bytes;
	char	   *run_buf;
	RunRecord  *heads;

	/* 3. the upper levels: per element an offset into `upper` or -1 */
	int32	   *upper_at;
	int32	   *upper;
	Size		nupper;
	Size		upper_cap;
	int32		entry;
	int			entry_level;

	/* 5. reading the rows back in order */
	int32		cursor;
	float	   *vector;
} PartBuild;

static void *
AllocIn(PartBuild *pb, Size size)
{
	return MemoryContextAllocExtended(pb->cxt, Max(size, 1), MCXT_ALLOC_HUGE);
}

static void
ReadExactly(BufFile *file, void *ptr, size_t size)
{
	if (BufFileRead(file, ptr, size) != size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read from an hnsw build's temporary file")));
}

/* Element numbers travel through a part's graph as its rows' "heap TIDs". */
void
HnswMembersInsert(HnswGraphBuilder *b, const HnswMembers *mb, int32 i)
{
	int32		e = mb->ids[i];
	ItemPointerData id;

	ItemPointerSet(&id, (BlockNumber) (e / 0xFFFF), (OffsetNumber) (e % 0xFFFF + 1));
	if (!HnswGraphInsert(b, mb->x + (Size) i * b->g->shape.dim, &id, mb->levels[i]))
		elog(ERROR, "hnsw build: a graph of %d elements ran out of room at element %d", mb->n, e);
}

int32
HnswMembersElement(HnswGraph *g, int32 j)
{
	int			count;
	const ItemPointerData *id = HnswGraphHeapTids(g, j, &count);

	return (int32) (ItemPointerGetBlockNumber(id) * 0xFFFF + ItemPointerGetOffsetNumber(id) - 1);
}

/* What one member costs of maintenance_work_mem: its records in the graph, its copy. */
static Size
MemberBytes(const HnswShape *shape, int level)
{
	return HnswGraphElementBytes(shape, level) + sizeof(float) * shape->dim + sizeof(int32) + 1;
}

/* ---------------------------------------------------------------- 1. the rows */

static void
GrowRows(PartBuild *pb)
{
	int32		cap = pb->rows_cap == 0 ? 65536 : (int32) Min((int64) pb->rows_cap * 2, PG_INT32_MAX);

	if (pb->rows_cap == 0)
	{
		pb->tids = AllocIn(pb, sizeof(ItemPointerData) * cap);
		pb->hashes = AllocIn(pb, sizeof(uint64) * cap);
	}
	else
	{
		pb->tids = repalloc_huge(pb->tids, sizeof(ItemPointerData) * cap);
		pb->hashes = repalloc_huge(pb->hashes, sizeof(uint64) * cap);
	}
	pb->rows_cap = cap;
}

/* Reservoir sampling (Vitter's algorithm R): every row equally likely to be kept. */
static void
SampleRow(PartBuild *pb, const float *x)
{
	int64		slot;

	if (pb->nsample < pb->sample_cap)
		slot = pb->nsample++;
	else
	{
		slot = (int64) pg_prng_uint64_range(&pb->prng, 0, (uint64) pb->nrows);
		if (slot >= pb->sample_cap)
			return;
	}
	memcpy(pb->sample + (Size) slot * pb->shape.dim, x, sizeof(float) * pb->shape.dim);
}

static void
SpillRow(void *arg, ItemPointer tid, Datum value)
{
	PartBuild  *pb = (PartBuild *) arg;
	int			dim = pb->shape.dim;
	Vector	   *v = VsCopyRowVector(pb->index, value, dim);

	if (!VsPrepareVector(pb->shape.metric, v->x, v->dim))
	{
		pb->zero_vectors += 1;
		return;
	}
	/* the graph compares what the pages will hold */
	VsRoundToStorage(pb->shape.storage, v->x, v->dim);
	if (pb->nrows == PG_INT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an hnsw build in parts takes at most %d rows", PG_INT32_MAX - 1)));
	if (pb->nrows == pb->rows_cap)
		GrowRows(pb);
	pb->tids[pb->nrows] = *tid;
	pb->hashes[pb->nrows] = hash_bytes_extended((const unsigned char *) v->x, sizeof(float) * dim, 0);
	memcpy(pb->rec, tid, sizeof(ItemPointerData));
	memcpy(pb->rec + MAXALIGN(sizeof(ItemPointerData)), v->x, sizeof(float) * dim);
	BufFileWrite(pb->spill, pb->rec, pb->rec_bytes);
	SampleRow(pb, v->x);
	pb->nrows++;
}

/* Row `row`'s vector, read at its place in the spill file (duplicates only). */
static void
ReadRowAt(PartBuild *pb, int32 row, float *x)
{
	off_t		pos = (off_t) row * pb->rec_bytes;
	char		skip[BLCKSZ];

	if (BufFileSeekBlock(pb->spill, (long) (pos / BLCKSZ)) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in an hnsw build's temporary file")));
	ReadExactly(pb->spill, skip, pos % BLCKSZ);
	ReadExactly(pb->spill, pb->rec, pb->rec_bytes);
	memcpy(x, pb->rec + MAXALIGN(sizeof(ItemPointerData)), sizeof(float) * pb->shape.dim);
}

typedef struct HashedRow
{
	uint64		hash;
	int32		row;
} HashedRow;

static int
CompareHashedRows(const void *a, const void *b)
{
	const HashedRow *x = (const HashedRow *) a;
	const HashedRow *y = (const HashedRow *) b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->row < y->row ? -1 : (x->row > y->row ? 1 : 0);
}

/* The rows of one vector among a run of equal hashes: its first row, and who takes more. */
typedef struct EqualRows
{
	float	   *x;
	int32		leader;			/* the row whose element takes the next one */
	int			members;		/* rows in the leader's element */
} EqualRows;

/*
 * Rows whose vectors are equal share the element of the earliest of them while it has
 * room, then the next one's (the in-memory graph's rule); `joins[row]` is the row whose
 * element it joins, or -1. Rows are compared only when their hashes are equal, and each
 * is read once: a table of one vector a million times reads it a million times, not a
 * million squared.
 */
static void
FindDuplicates(PartBuild *pb, int32 *joins)
{
	HashedRow  *sorted = AllocIn(pb, sizeof(HashedRow) * pb->nrows);
	Size		vbytes = sizeof(float) * pb->shape.dim;
	float	   *x = AllocIn(pb, vbytes);
	EqualRows  *groups = NULL;
	int			groups_cap = 0;
	int32		i;
	int32		j;

	for (i = 0; i < pb->nrows; i++)
	{
		sorted[i].hash = pb->hashes[i];
		sorted[i].row = i;
		joins[i] = -1;
	}
	pfree(pb->hashes);
	pb->hashes = NULL;
	qsort(sorted, pb->nrows, sizeof(HashedRow), CompareHashedRows);
	for (i = 0; i < pb->nrows; i = j)
	{
		int			ngroups = 0;
		int32		k;

		for (j = i + 1; j < pb->nrows && sorted[j].hash == sorted[i].hash; j++)
			;
		if (j == i + 1)
			continue;
		/* a run of equal hashes, in row order: each vector in it is one group */
		for (k = i; k < j; k++)
		{
			int32		row = sorted[k].row;
			int			g;

			ReadRowAt(pb, row, x);
			for (g = 0; g < ngroups && memcmp(groups[g].x, x, vbytes) != 0; g++)
				;
			if (g == ngroups)
			{
				if (ngroups == groups_cap)
				{
					groups_cap = Max(4, 2 * groups_cap);
					groups = groups == NULL ? AllocIn(pb, sizeof(EqualRows) * groups_cap) :
						repalloc(groups, sizeof(EqualRows) * groups_cap);
				}
				groups[g].x = AllocIn(pb, vbytes);
				memcpy(groups[g].x, x, vbytes);
				groups[g].leader = row;
				groups[g].members = 1;
				ngroups++;
			}
			else if (groups[g].members < HNSW_HEAPTIDS)
			{
				joins[row] = groups[g].leader;
				groups[g].members++;
			}
			else
			{
				groups[g].leader = row;
				groups[g].members = 1;
			}
			if ((k & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		for (k = 0; k < ngroups; k++)
			pfree(groups[k].x);
	}
	pfree(sorted);
	pfree(x);
	if (groups != NULL)
		pfree(groups);
}

/* Elements numbered by their first row, in the order of the heap scan. */
static void
NumberElements(PartBuild *pb)
{
	int32	   *joins = AllocIn(pb, sizeof(int32) * pb->nrows);
	int32	   *last_row;
	int32		row;

	FindDuplicates(pb, joins);
	pb->element_of = AllocIn(pb, sizeof(int32) * pb->nrows);
	pb->next_row = AllocIn(pb, sizeof(int32) * pb->nrows);
	pb->first_row = AllocIn(pb, sizeof(int32) * pb->nrows);
	last_row = AllocIn(pb, sizeof(int32) * pb->nrows);
	pb->nelements = 0;
	for (row = 0; row < pb->nrows; row++)
	{
		pb->next_row[row] = -1;
		if (joins[row] < 0)
		{
			int32		e = pb->nelements++;

			pb->element_of[row] = e;
			pb->first_row[e] = row;
			last_row[e] = row;
		}
		else
		{
			int32		e = pb->element_of[joins[row]];

			pb->element_of[row] = e;
			pb->next_row[last_row[e]] = row;
			last_row[e] = row;
		}
	}
	pfree(joins);
	pfree(last_row);
	pb->levels = AllocIn(pb, pb->nelements);
	for (row = 0; row < pb->nrows; row++)
	{
		int32		e = pb->element_of[row];

		if (pb->first_row[e] == row)
			pb->levels[e] = (uint8) HnswLevelForRow(pb->shape.m, &pb->tids[row]);
	}
}

/* The spill file from its start, for reading the elements in order. */
static void
Rewind(PartBuild *pb)
{
	if (BufFileSeekBlock(pb->spill, 0) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in an hnsw build's temporary file")));
	pb->cursor = 0;
}

/* Element e's vector: the spill file read forwards, e = 0, 1, ... after Rewind. */
static const float *
NextElementVector(PartBuild *pb, int32 e)
{
	int32		want = pb->first_row[e];

	Assert(pb->cursor <= want);
	while (pb->cursor <= want)
	{
		ReadExactly(pb->spill, pb->rec, pb->rec_bytes);
		pb->cursor++;
	}
	memcpy(pb->vector, pb->rec + MAXALIGN(sizeof(ItemPointerData)), sizeof(float) * pb->shape.dim);
	return pb->vector;
}

/* ---------------------------------------------------------------- 2. the parts */

static void
TrainParts(PartBuild *pb)
{
	VsKmeansParams params;
	void	   *workspace;

	memset(&params, 0, sizeof(params));
	params.k = pb->nparts;
	params.dim = pb->shape.dim;
	params.kind = VS_KMEANS_L2;
	params.max_iterations = PART_KMEANS_ITERATIONS;
	params.tolerance = 1e-3;
	params.seed = PART_KMEANS_SEED;
	pb->centroids = AllocIn(pb, sizeof(float) * pb->nparts * pb->shape.dim);
	workspace = AllocIn(pb, vs_kmeans_workspace_size(pb->nsample, &params));
	vs_kmeans(pb->sample, pb->nsample, &params, workspace, pb->centroids, NULL);
	pfree(workspace);
	pfree(pb->sample);
	pb->sample = NULL;
}

/* The nearest part, not `not`, with room for `bytes` more; NO_PART if none. */
static uint16
NearestWithRoom(PartBuild *pb, const float *dists, Size bytes, uint16 not)
{
	uint16		best = NO_PART;
	int			c;

	for (c = 0; c < pb->nparts; c++)
		if (c != not && pb->part_bytes[c] + bytes <= pb->room &&
			(best == NO_PART || dists[c] < dists[best]))
			best = (uint16) c;
	return best;
}

/* Each element into its two nearest parts with room (one, when there is one part). */
static void
AssignParts(PartBuild *pb)
{
	float	   *dists = AllocIn(pb, sizeof(float) * pb->nparts);
	int32		e;

	pb->parts = AllocIn(pb, sizeof(uint16) * 2 * (Size) pb->nelements);
	pb->part_bytes = AllocIn(pb, sizeof(Size) * pb->nparts);
	memset(pb->part_bytes, 0, sizeof(Size) * pb->nparts);
	Rewind(pb);
	for (e = 0; e < pb->nelements; e++)
	{
		const float *x = NextElementVector(pb, e);
		Size		bytes = MemberBytes(&pb->shape, pb->levels[e]);
		uint16		first;
		uint16		second = NO_PART;

		VsDistancesContiguous(VS_METRIC_L2, x, pb->centroids, pb->nparts, pb->shape.dim, dists);
		first = NearestWithRoom(pb, dists, bytes, NO_PART);
		if (first == NO_PART)
			elog(ERROR, "hnsw build: no part has room for element %d", e);
		pb->part_bytes[first] += bytes;
		if (pb->nparts > 1)
		{
			second = NearestWithRoom(pb, dists, bytes, first);
			if (second != NO_PART)
				pb->part_bytes[second] += bytes;
		}
		pb->parts[2 * e] = first;
		pb->parts[2 * e + 1] = second;
		if ((e & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(dists);
}

static bool
InPart(PartBuild *pb, int32 e, int part)
{
	return pb->parts[2 * e] == part || pb->parts[2 * e + 1] == part;
}

static bool
IsMember(PartBuild *pb, int32 e, int part)
{
	return part < 0 ? pb->levels[e] > 0 : InPart(pb, e, part);
}

/* How many members a part (-1: the upper levels) has, and the bytes of their graph. */
static void
CountMembers(PartBuild *pb, int part, HnswMembers *mb)
{
	int32		e;

	memset(mb, 0, sizeof(*mb));
	mb->region_size = GRAPH_OVERHEAD;
	for (e = 0; e < pb->nelements; e++)
		if (IsMember(pb, e, part))
		{
			mb->n++;
			mb->region_size += HnswGraphElementBytes(&pb->shape, pb->levels[e]);
		}
}

/* Copies the members out of the spill file into mb's arrays (local or shared memory). */
static void
FillMembers(HnswMembers *mb, void *arg)
{
	PartBuild  *pb = (PartBuild *) arg;
	int			dim = pb->shape.dim;
	int32		i = 0;
	int32		e;

	Rewind(pb);
	for (e = 0; e < pb->nelements; e++)
	{
		if (!IsMember(pb, e, pb->part))
			continue;
		memcpy(mb->x + (Size) i * dim, NextElementVector(pb, e), sizeof(float) * dim);
		mb->ids[i] = e;
		mb->levels[i] = pb->levels[e];
		i++;
		if ((e & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	Assert(i == mb->n);
}

/*
 * The members of a part (-1: the upper levels) linked into a graph: by the workers and the
 * leader, or by the leader alone. Their vectors are copied once, to where the graph is.
 */
static void
InsertMembers(PartBuild *pb, int part, HnswMembersDone done)
{
	HnswMembers members;
	HnswMembers *mb = &members;
	MemoryContext cxt;
	MemoryContext old;
	void	   *region;
	HnswGraph  *g;
	HnswGraphBuilder *b;
	int32		i;

	pb->part = part;
	CountMembers(pb, part, mb);
	if (pb->workers > 0 &&
		HnswInsertMembersParallel(pb->heap, pb->index, pb->index_info, &pb->shape,
								  pb->shared.ef_construction, pb->workers, mb, FillMembers,
								  &pb->inserted, done, pb))
		return;
	/* no segment to be had: say so once (SegmentFits), build the rest serially */
	pb->workers = 0;
	cxt = AllocSetContextCreate(pb->cxt, "hnsw build graph", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	region = MemoryContextAllocExtended(cxt, mb->region_size, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (region == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for an hnsw graph of %zu bytes", mb->region_size),
				 errhint("Lower maintenance_work_mem.")));
	mb->x = MemoryContextAllocExtended(cxt, sizeof(float) * pb->shape.dim * (Size) Max(mb->n, 1),
									   MCXT_ALLOC_HUGE);
	mb->ids = palloc(sizeof(int32) * Max(mb->n, 1));
	mb->levels = palloc(Max(mb->n, 1));
	FillMembers(mb, pb);
	g = HnswGraphInit(region, mb->region_size, &pb->shape, pb->shared.ef_construction, false, 0);
	g->distinct = true;
	b = HnswGraphAttach(g);
	for (i = 0; i < mb->n; i++)
	{
		HnswMembersInsert(b, mb, i);
		if ((++pb->inserted & 1023) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, pb->inserted);
		}
	}
	MemoryContextSwitchTo(old);
	done(g, pb);
	MemoryContextDelete(cxt);
}

typedef struct NodeOrder
{
	int32		element;
	int32		node;
} NodeOrder;

static int
CompareNodeOrder(const void *a, const void *b)
{
	int32		x = ((const NodeOrder *) a)->element;
	int32		y = ((const NodeOrder *) b)->element;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* A part's graph, done: its level-0 lists to the part's run file, in element order. */
static void
WriteRun(HnswGraph *g, void *arg)
{
	PartBuild  *pb = (PartBuild *) arg;
	BufFile    *run = pb->runs[pb->part];
	int			cap = 2 * pb->shape.m;
	NodeOrder  *order = AllocIn(pb, sizeof(NodeOrder) * g->n);
	int32		j;

	for (j = 0; j < g->n; j++)
	{
		order[j].element = HnswMembersElement(g, j);
		order[j].node = j;
	}
	qsort(order, g->n, sizeof(NodeOrder), CompareNodeOrder);
	for (j = 0; j < g->n; j++)
	{
		int32		node = order[j].node;
		int			count;
		const int32 *links = HnswGraphLinks(g, node, 0, &count);
		const float *dists;
		const bool *kept;
		int32	   *ids = (int32 *) (pb->run_buf + 2 * sizeof(int32));
		int			k;

		HnswGraphLinkDetails(g, node, 0, &dists, &kept);
		((int32 *) pb->run_buf)[0] = order[j].element;
		((int32 *) pb->run_buf)[1] = count;
		for (k = 0; k < count; k++)
			ids[k] = HnswMembersElement(g, links[k]);
		memcpy(ids + cap, dists, sizeof(float) * count);
		memcpy((char *) (ids + cap) + sizeof(float) * cap, kept, sizeof(bool) * count);
		BufFileWrite(run, pb->run_buf, pb->run_bytes);
	}
	pfree(order);
}

/* Step 4: each part's graph, its level-0 lists to its run file. */
static void
BuildParts(PartBuild *pb)
{
	int			c;

	pb->runs = AllocIn(pb, sizeof(BufFile *) * pb->nparts);
	for (c = 0; c < pb->nparts; c++)
	{
		pb->runs[c] = BufFileCreateTemp(false);
		InsertMembers(pb, c, WriteRun);
		if (BufFileSeekBlock(pb->runs[c], 0) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not seek in an hnsw build's temporary file")));
	}
}

/* ---------------------------------------------------------------- 3. the upper levels */

/* The upper levels' graph, done: its lists on levels 1 and up, and its entry point. */
static void
KeepUpperLists(HnswGraph *g, void *arg)
{
	PartBuild  *pb = (PartBuild *) arg;
	int32		j;

	pb->upper_at = AllocIn(pb, sizeof(int32) * pb->nelements);
	for (j = 0; j < pb->nelements; j++)
		pb->upper_at[j] = -1;
	pb->upper_cap = 1024;
	pb->upper = AllocIn(pb, sizeof(int32) * pb->upper_cap);
	pb->nupper = 0;
	for (j = 0; j < g->n; j++)
	{
		int32		e = HnswMembersElement(g, j);
		int			level = HnswGraphLevel(g, j);
		int			l;

		if (pb->nupper + (Size) level * (pb->shape.m + 1) > pb->upper_cap)
		{
			pb->upper_cap = 2 * pb->upper_cap + (Size) level * (pb->shape.m + 1);
			pb->upper = repalloc_huge(pb->upper, sizeof(int32) * pb->upper_cap);
		}
		pb->upper_at[e] = (int32) pb->nupper;
		for (l = 1; l <= level; l++)
		{
			int			count;
			const int32 *links = HnswGraphLinks(g, j, l, &count);
			int			k;

			pb->upper[pb->nupper++] = count;
			for (k = 0; k < count; k++)
				pb->upper[pb->nupper++] = HnswMembersElement(g, links[k]);
		}
	}
	if (g->n > 0)
	{
		pb->entry = HnswMembersElement(g, g->entry);
		pb->entry_level = g->max_level;
	}
}

/*
 * Step 3: the elements above level 0 as one graph. Those past what fits into the memory
 * (a table far larger than its statistics said) stay on level 0: the upper levels only
 * guide the descent, and a sparser hierarchy is still one.
 */
static void
BuildUpperLevels(PartBuild *pb)
{
	Size		used = 0;
	int32		demoted = 0;
	int32		e;

	for (e = 0; e < pb->nelements; e++)
	{
		Size		bytes;

		if (pb->levels[e] == 0)
			continue;
		bytes = MemberBytes(&pb->shape, pb->levels[e]);
		if (used + bytes > pb->room)
		{
			pb->levels[e] = 0;
			demoted++;
		}
		else
			used += bytes;
	}
	if (demoted > 0)
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\": %d elements kept on level 0 for want of room",
								 RelationGetRelationName(pb->index), demoted)));
	pb->entry = 0;
	pb->entry_level = 0;
	InsertMembers(pb, -1, KeepUpperLists);
}

/* ---------------------------------------------------------------- 5. writing */

static void
ReadRunHead(PartBuild *pb, int part)
{
	RunRecord  *h = &pb->heads[part];
	int			cap = 2 * pb->shape.m;
	size_t		got = BufFileRead(pb->runs[part], pb->run_buf, pb->run_bytes);
	int32	   *ids = (int32 *) (pb->run_buf + 2 * sizeof(int32));

	if (got == 0)
	{
		h->element = -1;
		return;
	}
	if (got != pb->run_bytes)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read from an hnsw build's temporary file")));
	h->element = ((int32 *) pb->run_buf)[0];
	h->count = ((int32 *) pb->run_buf)[1];
	memcpy(h->ids, ids, sizeof(int32) * h->count);
	memcpy(h->dists, ids + cap, sizeof(float) * h->count);
	memcpy(h->kept, (char *) (ids + cap) + sizeof(float) * cap, sizeof(bool) * h->count);
}

typedef struct MergedLink
{
	int32		id;
	float		dist;
	bool		kept;
} MergedLink;

static int
CompareLinks(const void *a, const void *b)
{
	const MergedLink *x = (const MergedLink *) a;
	const MergedLink *y = (const MergedLink *) b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

/*
 * Element e's level-0 list: its parts' lists together, once each, nearest first; past
 * 2m, the farthest of those the heuristic did not pick are dropped first.
 */
static int
MergeLevel0(PartBuild *pb, int32 e, MergedLink *links)
{
	int			cap = 2 * pb->shape.m;
	int			n = 0;
	int			unpicked = 0;
	int			i;
	int			out;

	for (i = 0; i < 2; i++)
	{
		uint16		part = pb->parts[2 * e + i];
		RunRecord  *h;
		int			k;

		if (part == NO_PART)
			continue;
		h = &pb->heads[part];
		if (h->element != e)
			elog(ERROR, "hnsw build: part %u has element %d where %d was due", part, h->element, e);
		for (k = 0; k < h->count; k++)
		{
			int			j;

			for (j = 0; j < n && links[j].id != h->ids[k]; j++)
				;
			if (j == n)
			{
				links[n].id = h->ids[k];
				links[n].dist = h->dists[k];
				links[n].kept = h->kept[k];
				unpicked += !h->kept[k];
				n++;
			}
			else if (h->kept[k] && !links[j].kept)
			{
				links[j].kept = true;
				unpicked--;
			}
		}
		ReadRunHead(pb, part);
	}
	qsort(links, n, sizeof(MergedLink), CompareLinks);
	/* drop the farthest unpicked ones while too many */
	out = n;
	for (i = n - 1; i >= 0 && out > cap && unpicked > 0; i--)
		if (!links[i].kept)
		{
			links[i].id = -1;
			out--;
			unpicked--;
		}
	for (i = 0, out = 0; i < n && out < cap; i++)
		if (links[i].id >= 0)
			links[out++] = links[i];
	return out;
}

static int
PartLevel(void *arg, int32 i)
{
	return ((PartBuild *) arg)->levels[i];
}

static HnswElement
FormPartElement(void *arg, int32 e, const ItemPointerData *tids, BlockNumber overflow, Size *size)
{
	PartBuild  *pb = (PartBuild *) arg;
	int			level = pb->levels[e];
	uint16		counts[HNSW_MAX_LEVEL + 1];
	ItemPointerData *nbrs[HNSW_MAX_LEVEL + 1];
	ItemPointerData heaptids[HNSW_HEAPTIDS];
	MergedLink *links = palloc(sizeof(MergedLink) * 4 * pb->shape.m);
	int			nheaptids = 0;
	int32		row;
	int			l;
	int			k;
	HnswElement result;

	counts[0] = (uint16) MergeLevel0(pb, e, links);
	nbrs[0] = palloc(sizeof(ItemPointerData) * Max(counts[0], 1));
	for (k = 0; k < counts[0]; k++)
		nbrs[0][k] = tids[links[k].id];
	if (level > 0)
	{
		const int32 *upper = pb->upper + pb->upper_at[e];

		for (l = 1; l <= level; l++)
		{
			counts[l] = (uint16) *upper++;
			nbrs[l] = palloc(sizeof(ItemPointerData) * Max(counts[l], 1));
			for (k = 0; k < counts[l]; k++)
				nbrs[l][k] = tids[*upper++];
		}
	}
	for (row = pb->first_row[e]; row >= 0; row = pb->next_row[row])
		heaptids[nheaptids++] = pb->tids[row];
	result = HnswFormElement(&pb->shape, level, heaptids, nheaptids, counts, nbrs,
							 NextElementVector(pb, e), overflow, size);
	for (l = 0; l <= level; l++)
		pfree(nbrs[l]);
	pfree(links);
	return result;
}

static const float *
PartVector(void *arg, int32 e)
{
	PartBuild  *pb = (PartBuild *) arg;

	if (e == 0)
		Rewind(pb);
	return NextElementVector(pb, e);
}

static void
WriteParts(PartBuild *pb)
{
	HnswElementSource src = {.n = pb->nelements, .entry = pb->entry,
		.entry_level = pb->entry_level, .level = PartLevel, .form = FormPartElement,
	.vector = PartVector, .arg = pb};
	int			cap = 2 * pb->shape.m;
	int			c;

	pb->heads = AllocIn(pb, sizeof(RunRecord) * pb->nparts);
	for (c = 0; c < pb->nparts; c++)
	{
		pb->heads[c].ids = AllocIn(pb, sizeof(int32) * cap);
		pb->heads[c].dists = AllocIn(pb, sizeof(float) * cap);
		pb->heads[c].kept = AllocIn(pb, sizeof(bool) * cap);
		ReadRunHead(pb, c);
	}
	Rewind(pb);
	HnswWriteElements(pb->index, MAIN_FORKNUM, &pb->shared, &src, pb->nrows, false);
}

/* ---------------------------------------------------------------- planning */

/* Bytes of maintenance_work_mem the rows' bookkeeping and the sample take beside the graph. */
static Size
SideBytes(double rows, int dim, int32 sample_cap)
{
	return (Size) (rows * PART_ROW_BYTES) + (Size) sample_cap * dim * sizeof(float);
}

static int32
SampleCap(Size budget, int dim)
{
	return (int32) Max(256, Min(50000, budget / 16 / (sizeof(float) * dim)));
}

/*
 * Whether a build of `rows` rows should go in parts: its graph does not fit into `budget`,
 * and the graph of its upper levels' elements does, beside the bookkeeping, with a fifth to
 * spare for the levels' spread (else the build fills what fits and inserts the rest on
 * disk, as before).
 */
bool
HnswPartitionedBuildWanted(const HnswShape *shape, double rows, Size budget)
{
	double		need = rows * HnswGraphRowBytes(shape);
	Size		side = SideBytes(rows, shape->dim, SampleCap(budget, shape->dim));
	double		upper = rows / (shape->m - 1.0) * MemberBytes(shape, 1);

	if (shape->metric == VS_METRIC_IP || rows < 1000 || need <= budget || side >= budget)
		return false;
	return (double) (budget - side) >= 1.2 * upper;
}

static int64
CountUpper(PartBuild *pb)
{
	int64		n = 0;
	int32		e;

	for (e = 0; e < pb->nelements; e++)
		n += pb->levels[e] > 0;
	return n;
}

static void
PlanParts(PartBuild *pb)
{
	double		need = 0;
	int32		e;

	for (e = 0; e < pb->nelements; e++)
		need += MemberBytes(&pb->shape, pb->levels[e]);
	if (need <= pb->room)
		pb->nparts = 1;
	else
		pb->nparts = (int) ceil(2.0 * need / (PART_FILL * pb->room));
	pb->nparts = Min(pb->nparts, Min(MAX_PARTS, Max(pb->nsample, 1)));
}

double
HnswBuildInParts(Relation heap, Relation index, IndexInfo *index_info, const HnswShape *shape,
				 int ef_construction, int workers, double *indexed, double *zero_vectors)
{
	PartBuild	pb = {.heap = heap, .index = index, .index_info = index_info, .workers = workers,
	.shape = *shape};
	MemoryContext old;
	double		heap_tuples;
	double		rows = heap->rd_rel->reltuples;
	double		need_mb = HnswGraphMegabytes(shape, rows);
	Size		side;

	HnswBuildSharedInit(&pb.shared, shape, ef_construction, false, 0);
	pb.budget = (Size) maintenance_work_mem * 1024;
	pb.cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw build in parts", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(pb.cxt);

	ereport(NOTICE,
			(errmsg("hnsw graph of the table's %.0f rows needs about %.0f MB, more than maintenance_work_mem: building it in parts that fit",
					rows, need_mb),
			 errdetail("Each row is linked into the graphs of two parts, which are then merged: this takes about twice as long as one graph in memory."),
			 errhint("Set maintenance_work_mem to %.0f MB or more to build the graph in memory.",
					 need_mb + 1)));

	/* 1. */
	pb.rec_bytes = MAXALIGN(sizeof(ItemPointerData)) + sizeof(float) * shape->dim;
	pb.rec = AllocIn(&pb, pb.rec_bytes);
	pb.vector = AllocIn(&pb, sizeof(float) * shape->dim);
	pb.sample_cap = SampleCap(pb.budget, shape->dim);
	pb.sample = AllocIn(&pb, sizeof(float) * shape->dim * (Size) pb.sample_cap);
	pg_prng_seed(&pb.prng, PART_KMEANS_SEED);
	pb.spill = BufFileCreateTemp(false);
	VsXlogBeginBuild(index);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	heap_tuples = VsScanRows(heap, index, index_info, true, NULL,
							 AllocSetContextCreate(pb.cxt, "hnsw build row", ALLOCSET_DEFAULT_SIZES),
							 SpillRow, &pb);
	NumberElements(&pb);

	/* one graph and its members: what the rows' bookkeeping leaves of maintenance_work_mem */
	side = SideBytes(pb.nrows, shape->dim, pb.sample_cap);
	pb.room = (pb.budget > side + pb.budget / 4 ? pb.budget - side : pb.budget / 4) - GRAPH_OVERHEAD;

	if (pb.nelements > 0)
	{
		PlanParts(&pb);
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\": %d elements of %d rows in %d parts of at most %zu bytes, %d workers",
								 RelationGetRelationName(index), pb.nelements, pb.nrows, pb.nparts,
								 pb.room, pb.workers)));
		TrainParts(&pb);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_PARTS);
		/* every element once or twice into a part, the upper ones once more before */
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
									 (int64) pb.nelements * (pb.nparts > 1 ? 2 : 1) + CountUpper(&pb));
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);
		/* 3. before the parts: the levels it may lower decide their sizes */
		BuildUpperLevels(&pb);
		AssignParts(&pb);
		/* 4. */
		pb.run_bytes = MAXALIGN(2 * sizeof(int32) + (sizeof(int32) + sizeof(float) + sizeof(bool)) * 2 * shape->m);
		pb.run_buf = AllocIn(&pb, pb.run_bytes);
		BuildParts(&pb);
	}

	/* 5. */
	WriteParts(&pb);
	for (int c = 0; c < pb.nparts; c++)
		BufFileClose(pb.runs[c]);
	BufFileClose(pb.spill);
	(void) HnswConnect(index, shape, HnswGetHints(index));
	VsLogBuiltPages(index, MAIN_FORKNUM);

	*indexed = pb.nrows;
	*zero_vectors = pb.zero_vectors;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(pb.cxt);
	return heap_tuples;
}
