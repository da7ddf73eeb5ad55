/*
 * ivfbuild.c — CREATE INDEX for ivf: sample, train k-means, assign every row, write lists.
 *
 * 1. Sample 50 to 256 rows per list (ivf.h) from randomly chosen heap blocks
 *    (reservoir sampling over rows, as ANALYZE does), bounded by maintenance_work_mem.
 * 2. k-means (src/kernels/kmeans.c): k-means++ seeds, Lloyd iterations on sgemm;
 *    spherical for cosine.
 * 3. Scan the whole heap; assign rows to their nearest centroid in batches (one sgemm per
 *    batch) and feed (list, tid, vector) to a tuplesort ordered by list, which spills to
 *    disk beyond maintenance_work_mem.
 * 4. Write the metapage, centroid and directory pages, then each list as one run of pages.
 *
 * Pages are written without WAL and logged once at the end (VsLogBuiltPages). The init
 * fork of an unlogged index gets the same structure with every list empty.
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "commands/progress.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/sampling.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"

#include "batch.h"
#include "ivf.h"
#include "gpu.h"
#include "ivfbuild.h"
#include "kmeans.h"
#include "vector.h"

/* Checks a row's vector against the index's dimension, learning it from the first row. */
void
IvfCheckRowDims(IvfBuildState *state, const Vector *v)
{
	if (state->dim < 0)
		state->dim = v->dim;
	else
		CheckExpectedDim(state->dim, v->dim);
}

/* ---------------------------------------------------------------- 1. sampling */

/* What k-means over `lists` needs besides its training rows, and what each row adds. */
#define IVF_CENTROID_BYTES(state) (3.0 * (state)->lists * (state)->dim * sizeof(float))
#define IVF_SAMPLE_BYTES(state) ((state)->dim * sizeof(float) + 64.0)

/* How many training rows fit in maintenance_work_mem next to k-means' own needs. */
static int
SampleBudget(IvfBuildState *state)
{
	double		budget = (double) maintenance_work_mem * 1024.0;

	return (int) Max(0.0, Min((budget - IVF_CENTROID_BYTES(state)) / IVF_SAMPLE_BYTES(state),
							  (double) INT_MAX / 2));
}

/* maintenance_work_mem, in whole MB, that would train on `rows` rows. */
static int
MemoryForSamples(IvfBuildState *state, int rows)
{
	return (int) ((IVF_CENTROID_BYTES(state) + rows * IVF_SAMPLE_BYTES(state)) / (1024 * 1024)) + 1;
}

/*
 * maintenance_work_mem cannot hold k-means' centroids and one training row. Only an error
 * for a table with rows: an empty one is built untrained, as with any maintenance_work_mem.
 * With room for fewer rows than it wants, a build trains on what fits and says so.
 */
static void
TooSmallToTrain(IvfBuildState *state)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("maintenance_work_mem is too small to train %d lists of %d dimensions",
					state->lists, state->dim),
			 errhint("Raise maintenance_work_mem to at least %d MB, or use fewer lists.",
					 MemoryForSamples(state, state->lists))));
}

static void
SampleRow(void *arg, ItemPointer tid, Datum value)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	/* a copy: the datum may point into a shared buffer, and cosine normalises in place */
	Vector	   *v = VsCopyRowVector(state->index, value, -1);
	int			slot = -1;

	(void) tid;
	IvfCheckRowDims(state, v);
	/* a zero vector under cosine is not indexed, so it does not train either */
	if (!VsPrepareVector(state->metric, v->x, v->dim))
		return;
	if (state->untrainable)
		TooSmallToTrain(state);

	if (state->samples == NULL)
		state->samples = MemoryContextAllocHuge(state->build_ctx,
												(Size) state->target_samples * state->dim * sizeof(float));
	if (state->nsamples < state->target_samples)
		slot = state->nsamples++;
	else
	{
		/* Vitter's algorithm Z, as ANALYZE: skip rows, then replace a random sample */
		if (state->rows_to_skip < 0)
			state->rows_to_skip = reservoir_get_next_S(&state->reservoir, state->rows_seen,
													   state->target_samples);
		if (state->rows_to_skip <= 0)
			slot = (int) (state->target_samples *
						  sampler_random_fract(&state->reservoir.randstate));
		state->rows_to_skip -= 1;
	}
	if (slot >= 0)
		memcpy(state->samples + (Size) slot * state->dim, v->x, sizeof(float) * state->dim);
	state->rows_seen += 1;
}

static int
TrainingRowsWanted(IvfBuildState *state)
{
	double		affordable = IVF_KMEANS_MAX_WORK /
		((double) state->lists * (state->dim > 0 ? state->dim : VECTOR_MAX_DIM));
	double		per_list = Min((double) IVF_SAMPLES_PER_LIST, affordable / state->lists);

	return (int) (Max(per_list, (double) IVF_MIN_SAMPLES_PER_LIST) * state->lists);
}

static void
SampleRows(IvfBuildState *state)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(state->heap);
	BlockNumber blocks_read = 0;
	BlockSamplerData sampler;
	int			wanted = TrainingRowsWanted(state);
	VsRowScan	rs = {state->tmp_ctx, SampleRow, state};
	int			table_rows;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_SAMPLE);
	state->target_samples = wanted;
	if (state->dim > 0)
	{
		int			budget = SampleBudget(state);

		if (budget < 1)
			state->untrainable = true;	/* an ERROR at the first row: TooSmallToTrain */
		else if (budget < wanted)
			state->target_samples = budget;
	}
	reservoir_init_selection_state(&state->reservoir, state->target_samples);
	state->rows_to_skip = -1;
	/* an untrainable build reads every block: any row there is an ERROR */
	BlockSampler_Init(&sampler, nblocks, state->untrainable ? (int) nblocks : state->target_samples,
					  IVF_SAMPLE_SEED);
	sampler_random_init_state(IVF_SAMPLE_SEED, &state->reservoir.randstate);
	while (BlockSampler_HasMore(&sampler))
	{
		BlockNumber block = BlockSampler_Next(&sampler);

		CHECK_FOR_INTERRUPTS();
		table_index_build_range_scan(state->heap, state->index, state->index_info,
									 false, true, false, block, 1,
									 VsRowScanCallback, &rs, NULL);
		blocks_read++;
	}

	/*
	 * Said only when rows were left out for it: a small table trains on all it has. The
	 * sampler reads as many blocks as it wants rows, so the table's rows are estimated from
	 * the blocks read (with one row a block, the rows seen are exactly the rows wanted).
	 */
	table_rows = blocks_read == 0 ? 0 :
		(int) Min(state->rows_seen * ((double) nblocks / blocks_read), (double) INT_MAX);
	state->memory_cut = state->target_samples < wanted && table_rows > state->target_samples;
	if (state->memory_cut)
		ereport(NOTICE,
				(errmsg("ivf index \"%s\" trains on %d rows, not %d: that is what maintenance_work_mem allows",
						RelationGetRelationName(state->index), state->target_samples,
						Min(wanted, table_rows)),
				 state->target_samples < state->lists ?
				 errdetail("With fewer training rows than its %d lists, the extra lists stay empty.",
						   state->lists) : 0,
				 errhint("Raise maintenance_work_mem to %d MB for better lists.",
						 MemoryForSamples(state, Min(wanted, table_rows)))));
}

/* ---------------------------------------------------------------- 2. k-means */

/* k-means' progress callback (ivf's lists and ivfpq's codebooks): a chance to cancel. */
void
IvfKmeansProgress(void *arg, VsKmeansPhase phase, int step, double inertia)
{
	(void) arg;
	(void) phase;
	(void) step;
	(void) inertia;
	CHECK_FOR_INTERRUPTS();
}

static void
TrainCentroids(IvfBuildState *state)
{
	VsKmeansParams params;
	void	   *workspace;
	Size		centroid_bytes = (Size) state->lists * state->dim * sizeof(float);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
								 VsGpuActive() ? IVF_PHASE_KMEANS_GPU : IVF_PHASE_KMEANS);
	state->centroids = palloc_extended(centroid_bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	state->centroid_sqnorms = palloc0(sizeof(float) * state->lists);
	if (state->nsamples == 0)
		return;					/* placeholder centroids; see IvfMetaPageData.trained_rows */

	memset(&params, 0, sizeof(params));
	params.k = state->lists;
	params.dim = state->dim;
	params.kind = state->metric == VS_METRIC_COSINE ? VS_KMEANS_SPHERICAL : VS_KMEANS_L2;
	params.max_iterations = IVF_KMEANS_ITERATIONS;
	params.tolerance = IVF_KMEANS_TOLERANCE;
	params.seed = IVF_KMEANS_SEED;
	params.progress = IvfKmeansProgress;
	params.progress_arg = state;
	workspace = palloc_extended(vs_kmeans_workspace_size(state->nsamples, &params), MCXT_ALLOC_HUGE);
	vs_kmeans(state->samples, state->nsamples, &params, workspace, state->centroids, NULL);
	pfree(workspace);
	vs_sqnorms(state->centroids, state->lists, state->dim, state->centroid_sqnorms);

	/* a cut that maintenance_work_mem made was said when sampling */
	if (state->nsamples < state->lists && !state->memory_cut)
		ereport(NOTICE,
				(errmsg("ivf index \"%s\" has %d lists but the table has only %d rows; the extra lists stay empty",
						RelationGetRelationName(state->index), state->lists, state->nsamples),
				 errhint("Create ivf indexes after loading the data, or use fewer lists.")));
}

/* ivfpq: shapes the quantizer and trains its codebooks on the samples' residuals. */
static void
TrainQuantizer(IvfBuildState *state)
{
	int			m;

	if (!IvfIsPq(state->index))
		return;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
								 VsGpuActive() ? IVF_PHASE_PQ_GPU : IVF_PHASE_PQ);
	m = IvfpqSubvectors(state->index, state->dim);
	if (vs_pq_shape(&state->pq, state->dim, m, IVFPQ_BITS) != 0)
		elog(ERROR, "ivfpq: no quantizer of %d subvectors for %d dimensions", m, state->dim);
	state->pq.centroids = palloc_extended(sizeof(float) * vs_pq_centroid_floats(&state->pq),
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	IvfpqTrain(&state->pq, state->samples, state->nsamples, state->centroids, state->lists,
			   state->dim);
}

/* ---------------------------------------------------------------- 3. assignment */

void
IvfAssignFlush(IvfBuildState *state)
{
	int			i;

	if (state->batch_n == 0)
		return;
	vs_nearest_l2(state->batch, state->batch_n, state->centroids, state->lists, state->dim,
				  state->centroid_sqnorms, state->batch_nearest, state->batch_sqdist);
	for (i = 0; i < state->batch_n; i++)
	{
		TupleTableSlot *slot = state->sort_slot;
		Vector	   *v = InitVector(state->dim);

		memcpy(v->x, state->batch + (Size) i * state->dim, sizeof(float) * state->dim);
		ExecClearTuple(slot);
		slot->tts_values[0] = Int32GetDatum(state->batch_nearest[i]);
		slot->tts_values[1] = PointerGetDatum(&state->batch_tids[i]);
		slot->tts_values[2] = PointerGetDatum(v);
		slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
		ExecStoreVirtualTuple(slot);
		tuplesort_puttupleslot(state->sort, slot);
		pfree(v);
		state->sum_sqdist += state->batch_sqdist[i];
	}
	state->rows_indexed += state->batch_n;
	state->batch_n = 0;
}

void
IvfAssignRow(void *arg, ItemPointer tid, Datum value)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	Vector	   *v = VsCopyRowVector(state->index, value, -1);
	float	   *dst;

	IvfCheckRowDims(state, v);
	dst = state->batch + (Size) state->batch_n * state->dim;
	memcpy(dst, v->x, sizeof(float) * state->dim);
	if (VsPrepareVector(state->metric, dst, state->dim))
	{
		state->batch_tids[state->batch_n++] = *tid;
		if (state->batch_n == IVF_ASSIGN_BATCH)
			IvfAssignFlush(state);
	}
	else
		state->zero_vectors += 1;
	pfree(v);
}

/*
 * The tuplesort of (list, tid, vector) ordered by list; `coordinate` is NULL for a serial
 * build, else this participant's part of a parallel sort or its merge (ivfparallel.c).
 */
void
IvfBeginSort(IvfBuildState *state, SortCoordinate coordinate, int sort_mem)
{
	AttrNumber	sort_col = 1;
	Oid			sort_op = Int4LessOperator;
	Oid			sort_coll = InvalidOid;
	bool		nulls_first = false;

	if (state->sort_desc == NULL)
	{
		state->sort_desc = CreateTemplateTupleDesc(3);
		TupleDescInitEntry(state->sort_desc, 1, "list", INT4OID, -1, 0);
		TupleDescInitEntry(state->sort_desc, 2, "tid", TIDOID, -1, 0);
		TupleDescInitEntry(state->sort_desc, 3, "vector",
						   TupleDescAttr(RelationGetDescr(state->index), 0)->atttypid, -1, 0);
		/* keep vectors in plain 4-byte-header form, so that they read back as Vector */
		TupleDescAttr(state->sort_desc, 2)->attstorage = TYPSTORAGE_PLAIN;
	}
	state->sort = tuplesort_begin_heap(state->sort_desc, 1, &sort_col, &sort_op, &sort_coll,
									   &nulls_first, sort_mem, coordinate, TUPLESORT_NONE);
}

void
IvfAssignBegin(IvfBuildState *state, SortCoordinate coordinate, int sort_mem)
{
	IvfBeginSort(state, coordinate, sort_mem);
	state->sort_slot = MakeSingleTupleTableSlot(state->sort_desc, &TTSOpsVirtual);
	state->batch = palloc_extended(sizeof(float) * IVF_ASSIGN_BATCH * state->dim, MCXT_ALLOC_HUGE);
	state->batch_tids = palloc(sizeof(ItemPointerData) * IVF_ASSIGN_BATCH);
	state->batch_nearest = palloc(sizeof(int) * IVF_ASSIGN_BATCH);
	state->batch_sqdist = palloc(sizeof(float) * IVF_ASSIGN_BATCH);
}

/* Ends a participant's input: sorts its part. */
void
IvfAssignEnd(IvfBuildState *state)
{
	IvfAssignFlush(state);
	tuplesort_performsort(state->sort);
	ExecDropSingleTupleTableSlot(state->sort_slot);
	state->sort_slot = NULL;
}

static void
AssignRows(IvfBuildState *state)
{
	int			workers;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_ASSIGN);
	workers = IvfParallelWorkers(state);
	state->parallel_workers = workers;
	if (workers > 0)
		IvfAssignParallel(state, workers);
	else
	{
		IvfAssignBegin(state, NULL, maintenance_work_mem);
		state->heap_tuples = VsScanRows(state->heap, state->index, state->index_info, true, NULL,
										state->tmp_ctx, IvfAssignRow, state);
		IvfAssignEnd(state);
	}
	state->sort_slot = MakeSingleTupleTableSlot(state->sort_desc, &TTSOpsMinimalTuple);

	if (state->zero_vectors > 0)
		ereport(NOTICE,
				(errmsg("ivf index \"%s\" does not index %.0f zero vectors: their cosine distance is undefined",
						RelationGetRelationName(state->index), state->zero_vectors)));
}

/* ---------------------------------------------------------------- 4. writing pages */

/* VsPageWriter's page formats: ivf pages of one kind, list pages chained by opaque->next. */
static void
InitWrittenPage(Page page, bool first, void *arg)
{
	IvfInitListPage(page, first);
	IvfPageGetOpaque(page)->flags = *(const uint16 *) arg;
}

static void
LinkListPage(Page page, BlockNumber next)
{
	IvfPageGetOpaque(page)->next = next;
}

static void
StartPages(VsPageWriter *w, IvfBuildState *state, ForkNumber fork, const uint16 *kind)
{
	VsWriterStart(w, state->index, fork, IVF_CONTENT, InitWrittenPage,
				  *kind == IVF_PAGE_LIST ? LinkListPage : NULL, (void *) kind);
}

/* A stream of bytes on consecutive pages of one kind; its first block and page count. */
static void
WriteStream(IvfBuildState *state, ForkNumber fork, uint16 kind, const void *bytes, Size n,
			BlockNumber *start, uint32 *pages)
{
	VsPageWriter w;

	StartPages(&w, state, fork, &kind);
	*start = w.first;
	VsWriterPut(&w, bytes, n);
	VsWriterEnd(&w);
	*pages = w.npages;
}

static void
SetListHead(Relation index, ForkNumber fork, BlockNumber head, BlockNumber tail,
			uint32 npages, uint32 nslots)
{
	Buffer		buffer = VsReadLocked(index, fork, head, BUFFER_LOCK_EXCLUSIVE);
	IvfPageOpaque opaque = IvfPageGetOpaque(BufferGetPage(buffer));

	opaque->tail = tail;
	opaque->npages = npages;
	opaque->nslots = nslots;
	MarkBufferDirty(buffer);
	UnlockReleaseBuffer(buffer);
}

/* The (list, tid, vector) rows out of the tuplesort, one looked at ahead. */
typedef struct SortedRows
{
	Tuplesortstate *sort;		/* NULL: no rows (init fork, empty table) */
	TupleTableSlot *slot;
	bool		have;			/* slot holds a row not written yet */
	int			list;			/* its list */
} SortedRows;

/* The list of the next row to write; INT_MAX when none is left. */
static int
SortedList(SortedRows *rows)
{
	bool		isnull;

	if (rows->have)
		return rows->list;
	if (rows->sort == NULL)
		return INT_MAX;
	if (!tuplesort_gettupleslot(rows->sort, true, false, rows->slot, NULL))
	{
		rows->sort = NULL;		/* read to the end: ask no more */
		return INT_MAX;
	}
	rows->list = DatumGetInt32(slot_getattr(rows->slot, 1, &isnull));
	rows->have = true;
	return rows->list;
}

/* Rows encoded and written by ivfpq's WriteIndex at once. */
#define IVFPQ_WRITE_BATCH 256

/* ivfpq: encodes the batched rows of `list` and appends their slots. */
static void
WritePqBatch(IvfBuildState *state, VsPageWriter *w, int list, const float *rows,
			 const ItemPointerData *tids, int *n, char *slots, Size slot_size)
{
	int			i;

	IvfpqFormSlots(&state->pq, state->centroids + (Size) list * state->dim, state->dim, rows,
				   tids, *n, slots, slot_size);
	for (i = 0; i < *n; i++)
		VsWriterPut(w, slots + (Size) i * slot_size, slot_size);
	*n = 0;
}

/*
 * The streams after the metapage: centroids, the list directory (reserved as "no list"
 * now, filled by FillDirectory once the heads are known) and, for ivfpq, the codebooks.
 */
static void
WriteStreams(IvfBuildState *state, ForkNumber fork, IvfMetaPageData *meta)
{
	BlockNumber *none = palloc(sizeof(BlockNumber) * state->lists);
	int			list;

	WriteStream(state, fork, IVF_PAGE_CENTROIDS, state->centroids,
				(Size) state->lists * state->dim * sizeof(float),
				&meta->centroid_start, &meta->centroid_pages);
	for (list = 0; list < state->lists; list++)
		none[list] = InvalidBlockNumber;
	WriteStream(state, fork, IVF_PAGE_DIRECTORY, none, sizeof(BlockNumber) * state->lists,
				&meta->directory_start, &meta->directory_pages);
	pfree(none);
	meta->codebook_start = InvalidBlockNumber;
	if (state->pq.m > 0)
		WriteStream(state, fork, IVF_PAGE_CODEBOOK, state->pq.centroids,
					sizeof(float) * vs_pq_centroid_floats(&state->pq),
					&meta->codebook_start, &meta->codebook_pages);
}

/*
 * Every list's chain of pages, in list order, from the rows sorted by list (none with sort
 * == NULL); the heads go to `heads`. Returns the rows written.
 */
static double
WriteLists(IvfBuildState *state, ForkNumber fork, Tuplesortstate *sort, Size slot_size,
		   BlockNumber *heads)
{
	bool		pq = state->pq.m > 0;
	char	   *slot_bytes = palloc0(slot_size * (pq ? IVFPQ_WRITE_BATCH : 1));
	float	   *pq_rows = pq ? palloc(sizeof(float) * IVFPQ_WRITE_BATCH * state->dim) : NULL;
	ItemPointerData *pq_tids = pq ? palloc(sizeof(ItemPointerData) * IVFPQ_WRITE_BATCH) : NULL;
	int			pq_n = 0;
	uint16		kind = IVF_PAGE_LIST;
	SortedRows	rows = {sort, state->sort_slot, false, 0};
	double		written = 0;
	int			list;

	for (list = 0; list < state->lists; list++)
	{
		VsPageWriter w;
		uint32		nslots = 0;
		BlockNumber tail;

		StartPages(&w, state, fork, &kind);
		heads[list] = w.first;
		while (SortedList(&rows) == list)
		{
			bool		isnull;
			ItemPointer tid = (ItemPointer) DatumGetPointer(slot_getattr(rows.slot, 2, &isnull));
			Vector	   *v = (Vector *) DatumGetPointer(slot_getattr(rows.slot, 3, &isnull));

			if (pq)
			{
				/* encoded in batches: one sgemm per subspace for many rows */
				memcpy(pq_rows + (Size) pq_n * state->dim, v->x, sizeof(float) * state->dim);
				pq_tids[pq_n++] = *tid;
				if (pq_n == IVFPQ_WRITE_BATCH)
					WritePqBatch(state, &w, list, pq_rows, pq_tids, &pq_n, slot_bytes, slot_size);
			}
			else
			{
				IvfFormVectorSlot(slot_bytes, tid, state->storage, v->x, state->dim);
				VsWriterPut(&w, slot_bytes, slot_size);
			}
			rows.have = false;
			nslots++;
			written += 1;
			if ((int64) written % 1024 == 0)
			{
				CHECK_FOR_INTERRUPTS();
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) written);
			}
		}
		if (pq_n > 0)
			WritePqBatch(state, &w, list, pq_rows, pq_tids, &pq_n, slot_bytes, slot_size);
		tail = VsWriterEnd(&w);
		SetListHead(state->index, fork, heads[list], tail, w.npages, nslots);
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) written);
	pfree(slot_bytes);
	return written;
}

/* The directory's pages, filled in place: the same geometry as the stream WriteStreams wrote. */
static void
FillDirectory(IvfBuildState *state, ForkNumber fork, BlockNumber directory_start,
			  const BlockNumber *heads)
{
	int			list;

	for (list = 0; list < state->lists;)
	{
		Size		offset = (Size) list * sizeof(BlockNumber);
		BlockNumber blkno = directory_start + (BlockNumber) (offset / IVF_CONTENT);
		Buffer		buffer = VsReadLocked(state->index, fork, blkno, BUFFER_LOCK_EXCLUSIVE);
		char	   *contents = PageGetContents(BufferGetPage(buffer));

		for (; list < state->lists && (Size) list * sizeof(BlockNumber) / IVF_CONTENT ==
			 offset / IVF_CONTENT; list++)
			memcpy(contents + ((Size) list * sizeof(BlockNumber)) % IVF_CONTENT,
				   &heads[list], sizeof(BlockNumber));
		MarkBufferDirty(buffer);
		UnlockReleaseBuffer(buffer);
	}
}

/* Block 0, the metapage, taken first so that it is block 0; written last. */
static Buffer
StartMetaPage(Relation index, ForkNumber fork)
{
	Buffer		buffer = VsExtend(index, fork);

	Assert(BufferGetBlockNumber(buffer) == IVF_METAPAGE_BLKNO);
	VsInitPage(BufferGetPage(buffer), sizeof(IvfPageOpaqueData), VS_PAGE_ID_IVF);
	IvfPageGetOpaque(BufferGetPage(buffer))->flags = IVF_PAGE_META;
	IvfPageGetOpaque(BufferGetPage(buffer))->next = InvalidBlockNumber;
	return buffer;
}

static void
FinishMetaPage(Buffer buffer, const IvfMetaPageData *meta)
{
	Page		page = BufferGetPage(buffer);

	memcpy(IvfPageGetMeta(page), meta, sizeof(IvfMetaPageData));
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + sizeof(IvfMetaPageData);
	MarkBufferDirty(buffer);
	UnlockReleaseBuffer(buffer);
}

/*
 * Writes the whole index into `fork`: metapage, streams, lists, directory. With sort ==
 * NULL every list is empty (init fork, or an empty table).
 */
static void
WriteIndex(IvfBuildState *state, ForkNumber fork, Tuplesortstate *sort)
{
	bool		pq = state->pq.m > 0;
	BlockNumber *heads = palloc(sizeof(BlockNumber) * state->lists);
	Buffer		meta_buffer;
	IvfMetaPageData meta;
	double		written;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_WRITE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) state->rows_indexed);

	memset(&meta, 0, sizeof(meta));
	meta.header.magic = IVF_MAGIC;
	meta.header.version = IVF_VERSION;
	meta.dim = state->dim;
	meta.lists = state->lists;
	meta.metric = state->metric;
	meta.storage = pq ? VS_STORAGE_FLOAT : state->storage;
	meta.slot_size = pq ? IVFPQ_SLOT_SIZE(state->pq.m) : IvfSlotSize(meta.storage, state->dim);
	meta.trained_rows = state->nsamples;
	meta.pq_subvectors = pq ? state->pq.m : 0;
	meta.pq_bits = pq ? state->pq.nbits : 0;

	meta_buffer = StartMetaPage(state->index, fork);
	WriteStreams(state, fork, &meta);
	written = WriteLists(state, fork, sort, meta.slot_size, heads);
	FillDirectory(state, fork, meta.directory_start, heads);
	meta.build_rows = written;
	meta.build_sqdist = written > 0 ? state->sum_sqdist / written : 0;
	FinishMetaPage(meta_buffer, &meta);

	VsLogBuiltPages(state->index, fork);
	pfree(heads);
}

/* ---------------------------------------------------------------- entry points */

static void
InitBuildState(IvfBuildState *state, Relation heap, Relation index, IndexInfo *index_info)
{
	memset(state, 0, sizeof(*state));
	state->heap = heap;
	state->index = index;
	state->index_info = index_info;
	state->metric = VsIndexMetric(index);
	state->storage = VsIndexStorage(index);
	/* k-means means are L2 (or spherical) centres: they do not partition an L1 space */
	if (state->metric == VS_METRIC_L1 || state->metric == VS_METRIC_JACCARD)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ivf indexes do not support the %s distance",
						state->metric == VS_METRIC_L1 ? "L1" : "Jaccard"),
				 errhint("Use an hnsw index (vector_l1_ops, bit_jaccard_ops) for <+> and <%%>.")));
	state->lists = IvfOptionLists(index);
	state->dim = VsIndexColumnDims(index);
	if (state->dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for an ivf index", VECTOR_MAX_DIM),
				 errdetail("It has %d.", state->dim)));
	if (state->dim == 0)
		state->dim = -1;
	state->build_ctx = CurrentMemoryContext;
	state->tmp_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivf build row",
										   ALLOCSET_DEFAULT_SIZES);
}

static void
RequireDims(IvfBuildState *state)
{
	if (state->dim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions"),
				 errdetail("An ivf index on an empty table needs the dimension from the column type."),
				 errhint("Declare the column as vector(n), or create the index after loading rows.")));
}

static double
Seconds(TimestampTz from, TimestampTz to)
{
	return (double) (to - from) / 1e6;
}

IndexBuildResult *
ivfbuild(Relation heap, Relation index, IndexInfo *index_info)
{
	TimestampTz t[5];
	IndexBuildResult *result;
	IvfBuildState state;
	MemoryContext build_ctx;
	MemoryContext oldcxt;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	build_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivf build", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(build_ctx);
	InitBuildState(&state, heap, index, index_info);

	t[0] = GetCurrentTimestamp();
	SampleRows(&state);
	RequireDims(&state);
	t[1] = GetCurrentTimestamp();
	/* training and assignment: on the GPU if vecsearch.build_device says so */
	VsGpuBuildBegin(index);
	PG_TRY();
	{
		TrainCentroids(&state);
		TrainQuantizer(&state);
		t[2] = GetCurrentTimestamp();
		AssignRows(&state);
	}
	PG_FINALLY();
	{
		VsGpuBuildEnd();
	}
	PG_END_TRY();
	t[3] = GetCurrentTimestamp();
	WriteIndex(&state, MAIN_FORKNUM, state.sort);
	tuplesort_end(state.sort);
	IvfParallelEnd(&state);
	t[4] = GetCurrentTimestamp();
	/* where a build's time goes: SET client_min_messages = debug2 to see it */
	ereport(DEBUG2,
			(errmsg_internal("ivf build of \"%s\": %d training rows, sampling %.3f s, k-means %.3f s, "
							 "assigning %.3f s (%s), writing %.3f s",
							 RelationGetRelationName(index), state.nsamples,
							 Seconds(t[0], t[1]), Seconds(t[1], t[2]), Seconds(t[2], t[3]),
							 state.parallel_workers > 0 ? "parallel" : "serial",
							 Seconds(t[3], t[4]))));

	MemoryContextSwitchTo(oldcxt);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = state.heap_tuples;
	result->index_tuples = state.rows_indexed;
	MemoryContextDelete(build_ctx);
	return result;
}

/*
 * The init fork of an unlogged index: the main fork's centroids (so that the index stays
 * trained after a crash empties it) and empty lists.
 */
void
ivfbuildempty(Relation index)
{
	IvfBuildState state;
	IvfCache   *cache = NULL;

	InitBuildState(&state, NULL, index, NULL);
	if (RelationGetNumberOfBlocks(index) > 0)
		cache = IvfGetCache(index);
	if (cache != NULL)
	{
		state.dim = cache->meta.dim;
		state.lists = cache->meta.lists;
		state.centroids = cache->centroids;
		state.nsamples = cache->meta.trained_rows;
		if (cache->meta.pq_subvectors > 0)
			state.pq = *IvfpqCodebooks(index, cache);
	}
	else
	{
		RequireDims(&state);
		state.centroids = palloc0((Size) state.lists * state.dim * sizeof(float));
		TrainQuantizer(&state);
	}
	WriteIndex(&state, INIT_FORKNUM, NULL);
	MemoryContextDelete(state.tmp_ctx);
}
