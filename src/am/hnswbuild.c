/*
 * hnswbuild.c — CREATE INDEX for hnsw: build the graph in memory, write it in one pass.
 *
 * Rows are inserted into an in-memory graph (hnswgraph.c) as the heap scan delivers them,
 * by the leader alone or by the leader and parallel workers sharing one graph
 * (hnswparallel.c). A graph that the table's statistics say will not fit into
 * maintenance_work_mem is built in parts instead (hnswpartition.c). If the graph outgrows
 * it all the same, a NOTICE says so, the graph built so far is written out, and the
 * remaining rows are inserted into the index on disk, as INSERT would (slower). Writing
 * lays elements out in insertion order, so the early, well-connected elements near the
 * entry point share pages; vectors too large to share a page with their element go to
 * overflow pages after the element pages. Pages are written without WAL and logged once.
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "hnswbuild.h"
#include "vector.h"


static Size
ElementRoom(void)
{
	return BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData));
}

/* Metapage contents for a graph whose entry point is `entry` (invalid: empty). */
static void
WriteMeta(const HnswBuildShared *shared, ItemPointer entry, int entry_level, double build_rows,
		  Buffer buffer)
{
	Page		page = BufferGetPage(buffer);
	HnswMetaPage meta;

	HnswInitPage(page, HNSW_PAGE_META);
	meta = HnswPageGetMeta(page);
	memset(meta, 0, sizeof(HnswMetaPageData));
	meta->header.magic = HNSW_MAGIC;
	meta->header.version = HNSW_VERSION;
	meta->dim = shared->shape.dim;
	meta->m = shared->shape.m;
	meta->ef_construction = shared->ef_construction;
	meta->metric = shared->shape.metric;
	meta->entry = *entry;
	meta->entry_level = (uint16) Max(entry_level, 0);
	meta->element_size = HnswElementSize(&shared->shape, 0);
	meta->build_rows = build_rows;
	meta->storage = shared->shape.storage;
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + sizeof(HnswMetaPageData);
	MarkBufferDirty(buffer);
}

/* Where each element goes: element i at tids[i], element pages from block 1. */
static BlockNumber
PlanPages(const HnswShape *shape, const HnswElementSource *src, ItemPointerData *tids)
{
	Size		room = ElementRoom();
	Size		free_space = 0;
	BlockNumber blkno = 0;
	OffsetNumber off = 0;
	int32		i;

	for (i = 0; i < src->n; i++)
	{
		Size		need = MAXALIGN(HnswElementSize(shape, src->level(src->arg, i))) + sizeof(ItemIdData);

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
	return blkno;
}

/* Element i as an index tuple, its neighbours translated to their planned TIDs. */
static HnswElement
FormGraphElement(void *arg, int32 i, const ItemPointerData *tids, BlockNumber overflow, Size *size)
{
	HnswGraph  *g = (HnswGraph *) arg;
	const HnswShape *shape = &g->shape;
	int			level = HnswGraphLevel(g, i);
	uint16		counts[HNSW_MAX_LEVEL + 1];
	ItemPointerData *nbrs[HNSW_MAX_LEVEL + 1];
	const ItemPointerData *heaptids;
	int			nheaptids;
	HnswElement e;
	int			l;

	for (l = 0; l <= level; l++)
	{
		int			count;
		const int32 *links = HnswGraphLinks(g, i, l, &count);
		int			k;

		counts[l] = (uint16) count;
		nbrs[l] = palloc(sizeof(ItemPointerData) * Max(count, 1));
		for (k = 0; k < count; k++)
			nbrs[l][k] = tids[links[k]];
	}
	heaptids = HnswGraphHeapTids(g, i, &nheaptids);
	e = HnswFormElement(shape, level, heaptids, nheaptids, counts, nbrs, HnswGraphVector(g, i),
						overflow, size);
	for (l = 0; l <= level; l++)
		pfree(nbrs[l]);
	return e;
}

static int
GraphLevel(void *arg, int32 i)
{
	return HnswGraphLevel((HnswGraph *) arg, i);
}

static const float *
GraphVector(void *arg, int32 i)
{
	return HnswGraphVector((HnswGraph *) arg, i);
}

void
HnswWriteElements(Relation index, ForkNumber fork, const HnswBuildShared *shared,
				  const HnswElementSource *src, double build_rows, bool log_pages)
{
	const HnswShape *shape = &shared->shape;
	int32		n = src->n;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * Max(n, 1));
	int			per_page = HnswOverflowPerPage(shape->storage);
	int			overflow_pages = shape->inline_vector ? 0 : (shape->dim + per_page - 1) / per_page;
	BlockNumber element_pages;
	Buffer		meta_buffer;
	Buffer		buffer = InvalidBuffer;
	ItemPointerData entry;
	int			i;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
	element_pages = PlanPages(shape, src, tids);
	meta_buffer = VsExtend(index, fork);
	Assert(BufferGetBlockNumber(meta_buffer) == HNSW_METAPAGE_BLKNO);

	for (i = 0; i < n; i++)
	{
		BlockNumber overflow = InvalidBlockNumber;
		HnswElement e;
		Size		size;
		OffsetNumber got;

		if (!BufferIsValid(buffer) || BufferGetBlockNumber(buffer) != ItemPointerGetBlockNumber(&tids[i]))
		{
			if (BufferIsValid(buffer))
			{
				MarkBufferDirty(buffer);
				UnlockReleaseBuffer(buffer);
			}
			buffer = VsExtend(index, fork);
			if (BufferGetBlockNumber(buffer) != ItemPointerGetBlockNumber(&tids[i]))
				elog(ERROR, "hnsw build: page %u came out as block %u",
					 ItemPointerGetBlockNumber(&tids[i]), BufferGetBlockNumber(buffer));
			HnswInitPage(BufferGetPage(buffer), HNSW_PAGE_ELEMENT);
		}
		if (!shape->inline_vector)
			overflow = 1 + element_pages + (BlockNumber) i * overflow_pages;
		e = src->form(src->arg, i, tids, overflow, &size);
		got = PageAddItem(BufferGetPage(buffer), (Item) e, size, InvalidOffsetNumber, false, false);
		if (got != ItemPointerGetOffsetNumber(&tids[i]))
			elog(ERROR, "hnsw build: element %d landed at offset %u, not %u",
				 i, got, ItemPointerGetOffsetNumber(&tids[i]));
		pfree(e);
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

		HnswWriteOverflow(index, fork, shape, src->vector(src->arg, i), &first, false);
		if (first != 1 + element_pages + (BlockNumber) i * overflow_pages)
			elog(ERROR, "hnsw build: overflow of element %d came out at block %u", i, first);
	}

	ItemPointerSetInvalid(&entry);
	if (n > 0)
		entry = tids[src->entry];
	WriteMeta(shared, &entry, n > 0 ? src->entry_level : 0, build_rows, meta_buffer);
	UnlockReleaseBuffer(meta_buffer);
	if (log_pages)
		VsLogBuiltPages(index, fork);
	pfree(tids);
}

/*
 * Writes the in-memory graph (NULL: an empty one) as the whole index; with `log_pages`, logs
 * the pages (a build past memory logs them once it has inserted the rest on disk).
 */
static void
WriteGraph(Relation index, ForkNumber fork, const HnswBuildShared *shared, HnswGraph *g,
		   double build_rows, bool log_pages)
{
	HnswElementSource src = {.n = g ? g->n : 0, .entry = g ? g->entry : 0,
		.entry_level = g ? g->max_level : 0, .level = GraphLevel, .form = FormGraphElement,
	.vector = GraphVector, .arg = g};

	HnswWriteElements(index, fork, shared, &src, build_rows, log_pages);
}

/* Before the graph is written: no element left that the entry point cannot reach. */
static void
ConnectGraph(HnswBuildState *state)
{
	int			left;
	int			linked = HnswGraphConnect(state->builder, &left);

	ereport(DEBUG1,
			(errmsg_internal("hnsw build of \"%s\": %d elements no path reached were linked in, %d left",
							 RelationGetRelationName(state->index), linked, left)));
}

/* The megabytes a graph of `rows` rows needs, rounded up, with a little to spare. */
double
HnswGraphMegabytes(const HnswShape *shape, double rows)
{
	return ceil(rows * HnswGraphRowBytes(shape) * 1.02 / (1024.0 * 1024.0));
}

/*
 * The graph outgrew maintenance_work_mem: say so, and how much the whole graph would take,
 * from the table's row estimate when it has more rows than the graph took (pgvector#745,
 * #769: nobody can size maintenance_work_mem without it).
 */
static void
GraphFullNotice(HnswBuildState *state)
{
	double		rows = state->heap->rd_rel->reltuples;
	int			n = state->graph->n;
	double		per_row = HnswGraphRowBytes(&state->shared->shape);
	double		need_mb = HnswGraphMegabytes(&state->shared->shape, rows);

	if (rows > n)
		ereport(NOTICE,
				(errmsg("hnsw graph no longer fits into maintenance_work_mem after %d elements", n),
				 errdetail("Building will take significantly more time: the remaining rows are inserted into the index on disk. The graph of the table's %.0f rows needs about %.0f MB.",
						   rows, need_mb),
				 errhint("Set maintenance_work_mem to %.0f MB or more to build the graph in memory.",
						 need_mb + 1)));
	else
		ereport(NOTICE,
				(errmsg("hnsw graph no longer fits into maintenance_work_mem after %d elements", n),
				 errdetail("Building will take significantly more time: the remaining rows are inserted into the index on disk. The graph takes about %.0f bytes a row.",
						   per_row),
				 errhint("ANALYZE the table to have the memory the whole graph needs estimated, or increase maintenance_work_mem.")));
}

/*
 * The graph is full: the first participant to find so writes it out, once every insert
 * into it has finished; from then on every participant inserts on disk.
 */
static void
FlushGraph(HnswBuildState *state)
{
	HnswBuildShared *shared = state->shared;

	if (shared->concurrent)
		LWLockAcquire(&shared->flush_lock, LW_EXCLUSIVE);
	if (!shared->flushed)
	{
		if (shared->graph_is_limit)
			GraphFullNotice(state);
		else
			ereport(NOTICE,
					(errmsg("hnsw graph no longer fits into the shared memory planned for %.0f rows after %d elements",
							shared->planned_rows, state->graph->n),
					 errdetail("Building will take significantly more time: the remaining rows are inserted into the index on disk."),
					 errhint("The table has more rows than its statistics say: ANALYZE it before building.")));
		ConnectGraph(state);
		WriteGraph(state->index, MAIN_FORKNUM, shared, state->graph, 0, false);
		shared->flushed = true;
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_ONDISK);
	}
	if (shared->concurrent)
		LWLockRelease(&shared->flush_lock);
}

/* Into the graph while it has room, else (once it was written out) into the index on disk. */
static void
InsertRow(HnswBuildState *state, const float *x, ItemPointer tid)
{
	HnswBuildShared *shared = state->shared;
	bool		added = false;
	bool		full = false;

	if (shared->concurrent)
		LWLockAcquire(&shared->flush_lock, LW_SHARED);
	if (!shared->flushed)
	{
		added = HnswGraphInsert(state->builder, x, tid, HnswLevelForRow(shared->shape.m, tid));
		full = !added;
	}
	if (shared->concurrent)
		LWLockRelease(&shared->flush_lock);
	if (added)
		return;
	if (full)
		FlushGraph(state);
	HnswInsertOnDisk(state->index, &shared->shape, x, tid);
}

void
HnswBuildRow(void *arg, ItemPointer tid, Datum value)
{
	HnswBuildState *state = (HnswBuildState *) arg;
	Vector	   *v = VsCopyRowVector(state->index, value, state->shared->shape.dim);
	uint64		done;

	if (!VsPrepareVector(state->shared->shape.metric, v->x, v->dim))
		state->zero_vectors += 1;
	else
	{
		/* the graph compares what the pages will hold */
		VsRoundToStorage(state->shared->shape.storage, v->x, v->dim);
		InsertRow(state, v->x, tid);
		state->indexed += 1;
		done = pg_atomic_add_fetch_u64(&state->shared->rows_done, 1);
		if (state->reports_progress && (int64) state->indexed % 1000 == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
	}
}

void
HnswBuildSharedInit(HnswBuildShared *shared, const HnswShape *shape, int ef_construction,
					bool concurrent, int lock_tranche)
{
	memset(shared, 0, sizeof(HnswBuildShared));
	shared->shape = *shape;
	shared->ef_construction = ef_construction;
	shared->concurrent = concurrent;
	if (concurrent)
		LWLockInitialize(&shared->flush_lock, lock_tranche);
	pg_atomic_init_u64(&shared->rows_done, 0);
}

/* One participant's state over the shared graph; the caller runs the heap scan. */
void
HnswBuildParticipant(HnswBuildState *state, Relation heap, Relation index, IndexInfo *index_info,
					 HnswBuildShared *shared, HnswGraph *graph)
{
	memset(state, 0, sizeof(*state));
	state->heap = heap;
	state->index = index;
	state->index_info = index_info;
	state->shared = shared;
	state->graph = graph;
	state->builder = HnswGraphAttach(graph);
	state->tmp_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build row",
										   ALLOCSET_DEFAULT_SIZES);
	/*
	 * Rows inserted on disk once the graph is full change pages without WAL, like the
	 * graph's own writing: GenericXLog copied and diffed a page per link, the largest cost
	 * of an insert. HnswBuildFinish logs every page once all participants are done; the
	 * leader's hnswbuild and the workers' entry point turn it off again.
	 */
	VsXlogBeginBuild(index);
}

/* The geometry the reloptions and the column give, with their errors. */
static void
BuildShape(Relation index, HnswShape *shape, int *ef_construction)
{
	int			m;
	int			dim = HnswCheckDefinition(index, &m, ef_construction);

	shape->m = m;
	shape->dim = dim;
	shape->metric = VsIndexMetric(index);
	shape->storage = VsIndexStorage(index);
	shape->inline_vector = HnswVectorFitsInline(m, dim, shape->storage);
}

/* After the heap scan: the graph becomes the index, or (written already) the count is set. */
void
HnswBuildFinish(HnswBuildState *state, double indexed)
{
	HnswBuildShared *shared = state->shared;

	if (!shared->flushed)
	{
		ConnectGraph(state);
		WriteGraph(state->index, MAIN_FORKNUM, shared, state->graph, indexed, true);
	}
	else
	{
		Buffer		buffer = VsReadLocked(state->index, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO,
										  BUFFER_LOCK_EXCLUSIVE);
		VsXlog		xlog;

		VsXlogStart(&xlog, state->index);
		HnswPageGetMeta(VsXlogPage(&xlog, buffer, false))->build_rows = indexed;
		VsXlogFinish(&xlog);
		UnlockReleaseBuffer(buffer);
		/* every participant is done: the written graph and the rows inserted on disk since */
		VsLogBuiltPages(state->index, MAIN_FORKNUM);
	}
}

/* The leader alone: the graph in a block of local memory as large as maintenance_work_mem. */
static double
BuildSerially(Relation heap, Relation index, IndexInfo *index_info, const HnswShape *shape,
			  int ef_construction, double *indexed, double *zero_vectors)
{
	HnswBuildShared shared;
	HnswBuildState state;
	Size		size = (Size) maintenance_work_mem * 1024;
	void	   *region;
	double		heap_tuples;

	/* malloc'd lazily by the kernel: untouched memory costs nothing */
	region = MemoryContextAllocExtended(CurrentMemoryContext, size,
										MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (region == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for an hnsw graph of maintenance_work_mem (%d kB)",
						maintenance_work_mem),
				 errhint("Lower maintenance_work_mem.")));
	HnswBuildSharedInit(&shared, shape, ef_construction, false, 0);
	shared.graph_size = size;
	shared.graph_is_limit = true;
	HnswBuildParticipant(&state, heap, index, index_info, &shared,
						 HnswGraphInit(region, size, shape, ef_construction, false, 0));
	state.reports_progress = true;
	heap_tuples = VsScanRows(heap, index, index_info, true, NULL, state.tmp_ctx, HnswBuildRow, &state);
	HnswBuildFinish(&state, state.indexed);
	*indexed = state.indexed;
	*zero_vectors = state.zero_vectors;
	MemoryContextDelete(state.tmp_ctx);
	pfree(region);
	return heap_tuples;
}

IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *index_info)
{
	HnswShape	shape;
	int			ef_construction;
	IndexBuildResult *result;
	double		heap_tuples = 0;
	double		indexed = 0;
	double		zero_vectors = 0;
	int			workers;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	BuildShape(index, &shape, &ef_construction);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_GRAPH);
	if (heap->rd_rel->reltuples > 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) heap->rd_rel->reltuples);
	workers = HnswParallelWorkers(heap, index);
	PG_TRY();
	{
		if (HnswPartitionedBuildWanted(&shape, heap->rd_rel->reltuples,
									   (Size) maintenance_work_mem * 1024))
			heap_tuples = HnswBuildInParts(heap, index, index_info, &shape, ef_construction,
										   workers, &indexed, &zero_vectors);
		else if (workers == 0 ||
			!HnswBuildParallel(heap, index, index_info, &shape, ef_construction, workers,
							   &heap_tuples, &indexed, &zero_vectors))
			heap_tuples = BuildSerially(heap, index, index_info, &shape, ef_construction,
										&indexed, &zero_vectors);
	}
	PG_FINALLY();
	{
		VsXlogEndBuild();
	}
	PG_END_TRY();
	if (zero_vectors > 0)
		ereport(NOTICE,
				(errmsg("hnsw index \"%s\" does not index %.0f zero vectors: their cosine distance is undefined",
						RelationGetRelationName(index), zero_vectors)));

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = heap_tuples;
	result->index_tuples = indexed;
	return result;
}

/* The init fork of an unlogged index: an empty graph. */
void
hnswbuildempty(Relation index)
{
	HnswBuildShared shared;
	HnswShape	shape;
	int			ef_construction;

	BuildShape(index, &shape, &ef_construction);
	HnswBuildSharedInit(&shared, &shape, ef_construction, false, 0);
	WriteGraph(index, INIT_FORKNUM, &shared, NULL, 0, true);
}
