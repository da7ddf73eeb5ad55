/*
 * hnswbuild.c — CREATE INDEX for hnsw: build the graph in memory, write it in one pass.
 *
 * Rows are inserted into an in-memory graph (hnswgraph.c) as the heap scan delivers them.
 * If the graph outgrows maintenance_work_mem, a NOTICE says so, the graph built so far is
 * written out, and the remaining rows are inserted into the index on disk, as INSERT would
 * (slower, same result). Writing lays elements out in insertion order, so the early, well-
 * connected elements near the entry point share pages; vectors too large to share a page
 * with their element go to overflow pages after the element pages. Pages are written
 * without WAL and logged once.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "hnsw.h"
#include "hnswgraph.h"
#include "vector.h"

#define HNSW_PHASE_GRAPH	2
#define HNSW_PHASE_WRITE	3
#define HNSW_PHASE_ONDISK	4

typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	IndexInfo  *index_info;
	HnswShape	shape;
	int			ef_construction;
	HnswGraph  *graph;
	MemoryContext graph_ctx;
	MemoryContext tmp_ctx;
	Size		memory_limit;
	bool		on_disk;		/* the graph was written; rows now go through HnswInsertOnDisk */
	double		indexed;
	double		zero_vectors;
	pg_prng_state levels;		/* fixed seed: the same table builds the same graph */
} HnswBuildState;

static Size
ElementRoom(void)
{
	return BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData));
}

/* Metapage contents for a graph whose entry point is `entry` (invalid: empty). */
static void
WriteMeta(HnswBuildState *state, ForkNumber fork, ItemPointer entry, int entry_level, Buffer buffer)
{
	Page		page = BufferGetPage(buffer);
	HnswMetaPage meta;

	HnswInitPage(page, HNSW_PAGE_META);
	meta = HnswPageGetMeta(page);
	memset(meta, 0, sizeof(HnswMetaPageData));
	meta->header.magic = HNSW_MAGIC;
	meta->header.version = HNSW_VERSION;
	meta->dim = state->shape.dim;
	meta->m = state->shape.m;
	meta->ef_construction = state->ef_construction;
	meta->metric = state->shape.metric;
	meta->entry = *entry;
	meta->entry_level = (uint16) Max(entry_level, 0);
	meta->element_size = HnswElementSize(&state->shape, 0);
	meta->build_rows = state->indexed;
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + sizeof(HnswMetaPageData);
	MarkBufferDirty(buffer);
	(void) fork;
}

/* Writes the in-memory graph (possibly empty) as the whole index. */
static void
WriteGraph(HnswBuildState *state, ForkNumber fork)
{
	HnswGraph  *g = state->graph;
	int			n = g ? g->n : 0;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * Max(n, 1));
	Size		room = ElementRoom();
	Size		free_space = 0;
	BlockNumber blkno = 0;
	OffsetNumber off = 0;
	int			per_page = (int) (HNSW_OVERFLOW_CONTENT / sizeof(float));
	int			overflow_pages = state->shape.inline_vector ? 0 :
		(state->shape.dim + per_page - 1) / per_page;
	BlockNumber element_pages;
	Buffer		meta_buffer;
	Buffer		buffer = InvalidBuffer;
	ItemPointerData entry;
	int			i;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);

	/* plan: element i at tids[i], element pages from block 1 */
	for (i = 0; i < n; i++)
	{
		Size		need = MAXALIGN(HnswElementSize(&state->shape, g->levels[i])) + sizeof(ItemIdData);

		if (blkno == 0 || need > free_space)
		{
			blkno++;
			free_space = room;
			off = 0;
		}
		free_space -= need;
		off++;
		ItemPointerSet(&tids[i], blkno, off);
	}
	element_pages = blkno;

	meta_buffer = VsExtend(state->index, fork);
	Assert(BufferGetBlockNumber(meta_buffer) == HNSW_METAPAGE_BLKNO);

	for (i = 0; i < n; i++)
	{
		int			level = g->levels[i];
		uint16	   *counts = g->counts[i];
		ItemPointerData *nbrs[HNSW_MAX_LEVEL + 1];
		BlockNumber overflow = InvalidBlockNumber;
		HnswElement e;
		Size		size;
		int			l;
		OffsetNumber got;

		if (!BufferIsValid(buffer) || BufferGetBlockNumber(buffer) != ItemPointerGetBlockNumber(&tids[i]))
		{
			if (BufferIsValid(buffer))
			{
				MarkBufferDirty(buffer);
				UnlockReleaseBuffer(buffer);
			}
			buffer = VsExtend(state->index, fork);
			if (BufferGetBlockNumber(buffer) != ItemPointerGetBlockNumber(&tids[i]))
				elog(ERROR, "hnsw build: page %u came out as block %u",
					 ItemPointerGetBlockNumber(&tids[i]), BufferGetBlockNumber(buffer));
			HnswInitPage(BufferGetPage(buffer), HNSW_PAGE_ELEMENT);
		}
		for (l = 0; l <= level; l++)
		{
			int32	   *links = g->links[i] + (l == 0 ? 0 : 2 * g->shape.m + (l - 1) * g->shape.m);
			int			k;

			nbrs[l] = palloc(sizeof(ItemPointerData) * Max(counts[l], 1));
			for (k = 0; k < counts[l]; k++)
				nbrs[l][k] = tids[links[k]];
		}
		if (!state->shape.inline_vector)
			overflow = 1 + element_pages + (BlockNumber) i * overflow_pages;
		e = HnswFormElement(&state->shape, level, &g->heaptids[(Size) i * HNSW_HEAPTIDS],
							g->nheaptids[i], counts, nbrs,
							g->vectors + (Size) i * g->shape.dim, overflow, &size);
		got = PageAddItem(BufferGetPage(buffer), (Item) e, size, InvalidOffsetNumber, false, false);
		if (got != ItemPointerGetOffsetNumber(&tids[i]))
			elog(ERROR, "hnsw build: element %d landed at offset %u, not %u",
				 i, got, ItemPointerGetOffsetNumber(&tids[i]));
		pfree(e);
		for (l = 0; l <= level; l++)
			pfree(nbrs[l]);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (BufferIsValid(buffer))
	{
		MarkBufferDirty(buffer);
		UnlockReleaseBuffer(buffer);
	}

	for (i = 0; i < n && overflow_pages > 0; i++)
	{
		BlockNumber first;

		HnswWriteOverflow(state->index, fork, g->vectors + (Size) i * g->shape.dim,
						  g->shape.dim, &first, false);
		if (first != 1 + element_pages + (BlockNumber) i * overflow_pages)
			elog(ERROR, "hnsw build: overflow of element %d came out at block %u", i, first);
	}

	ItemPointerSetInvalid(&entry);
	if (n > 0)
		entry = tids[g->entry];
	WriteMeta(state, fork, &entry, n > 0 ? g->max_level : 0, meta_buffer);
	UnlockReleaseBuffer(meta_buffer);
	VsLogBuiltPages(state->index, fork);
	pfree(tids);
}

static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *arg)
{
	HnswBuildState *state = (HnswBuildState *) arg;
	MemoryContext oldcxt;
	Vector	   *v;
	int			level;

	(void) index;
	(void) tupleIsAlive;
	if (isnull[0])
		return;
	oldcxt = MemoryContextSwitchTo(state->tmp_ctx);
	v = VsCopyRowVector(values[0], state->shape.dim);
	if (!VsPrepareVector(state->shape.metric, v->x, v->dim))
		state->zero_vectors += 1;
	else if (state->on_disk)
	{
		HnswInsertOnDisk(state->index, &state->shape, v->x, tid);
		state->indexed += 1;
	}
	else
	{
		level = HnswRandomLevel(state->shape.m, &state->levels);
		if (state->graph->memory + HnswGraphElementBytes(&state->shape, level) > state->memory_limit)
		{
			ereport(NOTICE,
					(errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f rows",
							state->indexed),
					 errdetail("Building will take significantly more time: the remaining rows are inserted into the index on disk."),
					 errhint("Increase maintenance_work_mem to speed up builds.")));
			WriteGraph(state, MAIN_FORKNUM);
			MemoryContextDelete(state->graph_ctx);
			state->graph = NULL;
			state->on_disk = true;
			pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_ONDISK);
			HnswInsertOnDisk(state->index, &state->shape, v->x, tid);
		}
		else
			HnswGraphInsert(state->graph, v->x, tid, level);
		state->indexed += 1;
	}
	if ((int64) state->indexed % 1000 == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) state->indexed);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(state->tmp_ctx);
}

static void
InitBuildState(HnswBuildState *state, Relation heap, Relation index, IndexInfo *index_info)
{
	int			m;
	int			dim = VsIndexColumnDims(index);

	memset(state, 0, sizeof(*state));
	state->heap = heap;
	state->index = index;
	state->index_info = index_info;
	HnswBuildOptions(index, &m, &state->ef_construction);
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions"),
				 errhint("Declare the column as vector(n) to index it with hnsw.")));
	if (state->ef_construction < 2 * m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m")));
	state->shape.m = m;
	state->shape.dim = dim;
	state->shape.metric = VsIndexMetric(index);
	state->shape.inline_vector = HnswVectorFitsInline(m, dim);
	state->memory_limit = (Size) maintenance_work_mem * 1024;
	pg_prng_seed(&state->levels, UINT64CONST(0x484E5731));
	state->tmp_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build row",
										   ALLOCSET_DEFAULT_SIZES);
	state->graph_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build graph",
											 ALLOCSET_DEFAULT_SIZES);
}

IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *index_info)
{
	HnswBuildState state;
	IndexBuildResult *result;
	double		heap_tuples;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	InitBuildState(&state, heap, index, index_info);
	state.graph = HnswGraphCreate(&state.shape, state.ef_construction, state.graph_ctx);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_GRAPH);
	if (heap->rd_rel->reltuples > 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) heap->rd_rel->reltuples);
	heap_tuples = table_index_build_scan(heap, index, index_info, true, true, BuildCallback,
										 &state, NULL);
	if (!state.on_disk)
		WriteGraph(&state, MAIN_FORKNUM);
	else
	{
		/* the entry count in the metapage: rows the build indexed in all */
		Buffer		buffer = VsReadLocked(index, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, BUFFER_LOCK_EXCLUSIVE);
		VsXlog		xlog;

		VsXlogStart(&xlog, index);
		HnswPageGetMeta(VsXlogPage(&xlog, buffer, false))->build_rows = state.indexed;
		VsXlogFinish(&xlog);
		UnlockReleaseBuffer(buffer);
	}
	if (state.zero_vectors > 0)
		ereport(NOTICE,
				(errmsg("hnsw index \"%s\" does not index %.0f zero vectors: their cosine distance is undefined",
						RelationGetRelationName(index), state.zero_vectors)));

	MemoryContextDelete(state.tmp_ctx);
	if (state.graph_ctx && !state.on_disk)
		MemoryContextDelete(state.graph_ctx);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = heap_tuples;
	result->index_tuples = state.indexed;
	return result;
}

/* The init fork of an unlogged index: an empty graph. */
void
hnswbuildempty(Relation index)
{
	HnswBuildState state;

	InitBuildState(&state, NULL, index, NULL);
	state.graph = NULL;
	WriteGraph(&state, INIT_FORKNUM);
	MemoryContextDelete(state.tmp_ctx);
	MemoryContextDelete(state.graph_ctx);
}
