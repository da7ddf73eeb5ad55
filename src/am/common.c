/*
 * common.c — pages, metapage checks, relation extension and GenericXLog for all the AMs.
 */
#include "postgres.h"

#include "access/amapi.h"
#include "access/xact.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/vacuum.h"
#include "storage/buf_internals.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varbit.h"

#include "common.h"
#include "halfvec.h"
#include "sparsevec.h"
#include "vector.h"

/* The page id sits in the last two bytes of the special space. */
static uint16 *
PageIdPtr(Page page)
{
	return (uint16 *) (PageGetSpecialPointer(page) + PageGetSpecialSize(page) - sizeof(uint16));
}

uint16
VsPageId(Page page)
{
	return *PageIdPtr(page);
}

void
VsInitPage(Page page, Size special_size, uint16 page_id)
{
	PageInit(page, BLCKSZ, MAXALIGN(special_size));
	*PageIdPtr(page) = page_id;
}

void
VsCheckPage(Relation index, Page page, BlockNumber blkno, Size special_size, uint16 page_id)
{
	if (PageIsNew(page) ||
		PageGetSpecialSize(page) != MAXALIGN(special_size) ||
		*PageIdPtr(page) != page_id)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" contains an unexpected page at block %u",
						RelationGetRelationName(index), blkno),
				 errhint("Please REINDEX it.")));
}

void
VsCheckMeta(Relation index, const VsMetaHeader *meta, uint32 magic, uint32 version)
{
	if (meta->magic != magic)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a vecsearch index of this kind",
						RelationGetRelationName(index)),
				 errhint("Please REINDEX it.")));
	if (meta->version != version)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("index \"%s\" has on-disk version %u, this vecsearch reads version %u",
						RelationGetRelationName(index), meta->version, version),
				 errhint("REINDEX it to rebuild it in the current format.")));
}

Buffer
VsExtend(Relation index, ForkNumber fork)
{
	Buffer		buffer;
	/*
	 * An index built in this transaction is local to it, except that the workers of a
	 * parallel build extend it too: they and the leader must take turns.
	 */
	bool		need_lock = !RELATION_IS_LOCAL(index) || IsInParallelMode();

	if (need_lock)
		LockRelationForExtension(index, ExclusiveLock);
	buffer = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	if (need_lock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buffer;
}

typedef struct VsReadContext
{
	Relation	index;
	BlockNumber blkno;
} VsReadContext;

static void
ReadErrorContext(void *arg)
{
	VsReadContext *rc = (VsReadContext *) arg;

	errcontext("reading block %u of index \"%s\"", rc->blkno, RelationGetRelationName(rc->index));
}

/*
 * PostgreSQL's own ERROR for a page it cannot read ("invalid page in block 5 of relation
 * base/16384/16390") names only the file; the context line names the index.
 */
Buffer
VsReadBlock(Relation index, ForkNumber fork, BlockNumber blkno)
{
	VsReadContext rc = {index, blkno};
	ErrorContextCallback callback;
	Buffer		buffer;

	callback.callback = ReadErrorContext;
	callback.arg = &rc;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	buffer = ReadBufferExtended(index, fork, blkno, RBM_NORMAL, NULL);
	error_context_stack = callback.previous;
	return buffer;
}

Buffer
VsReadLocked(Relation index, ForkNumber fork, BlockNumber blkno, int mode)
{
	Buffer		buffer = VsReadBlock(index, fork, blkno);

	LockBuffer(buffer, mode);
	return buffer;
}

/* Indexes larger than this (8 GB of 8 KB pages) get no hints: 4 bytes a block adds up. */
#define VS_MAX_HINTED_BLOCKS (1024 * 1024)

void
VsInitBufferHints(VsBufferHints *hints, Relation index, MemoryContext cxt)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	hints->nblocks = nblocks <= VS_MAX_HINTED_BLOCKS ? nblocks : 0;
	hints->known_size = nblocks;
	hints->buffers = MemoryContextAllocZero(cxt, sizeof(Buffer) * Max(hints->nblocks, 1));
}

Buffer
VsReadHinted(Relation index, VsBufferHints *hints, BlockNumber blkno, int mode)
{
	Buffer		buffer;

	if (blkno >= hints->known_size)
	{
		/*
		 * Past the size last asked for: a page added since, or a link a damaged page made
		 * up. Asking costs a system call, paid again only when the index has grown past
		 * the answer.
		 */
		hints->known_size = RelationGetNumberOfBlocks(index);
		/* an index that inserts grow: hint its new pages too */
		if (hints->known_size > hints->nblocks && hints->buffers != NULL &&
			hints->known_size <= VS_MAX_HINTED_BLOCKS)
		{
			BlockNumber grown = Min(hints->known_size + hints->known_size / 8 + 64,
									VS_MAX_HINTED_BLOCKS);

			hints->buffers = repalloc(hints->buffers, sizeof(Buffer) * grown);
			memset(hints->buffers + hints->nblocks, 0, sizeof(Buffer) * (grown - hints->nblocks));
			hints->nblocks = grown;
		}
		if (blkno >= hints->known_size)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" links to block %u, beyond its end",
							RelationGetRelationName(index), blkno),
					 errhint("Check it with vecsearch_verify() and REINDEX it.")));
	}
	if (blkno >= hints->nblocks)
		return VsReadLocked(index, MAIN_FORKNUM, blkno, mode);
	buffer = hints->buffers[blkno];
	if (!BufferIsValid(buffer) ||
		!ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, buffer))
	{
		buffer = VsReadBlock(index, MAIN_FORKNUM, blkno);
		hints->buffers[blkno] = buffer;
	}
	LockBuffer(buffer, mode);
	return buffer;
}

void
VsPrefetchHinted(const VsBufferHints *hints, BlockNumber blkno, Size nbytes)
{
	if (blkno >= hints->nblocks || !BufferIsValid(hints->buffers[blkno]) ||
		BufferIsLocal(hints->buffers[blkno]))
		return;
	/*
	 * The memory only: harmless if the buffer now holds another page. The buffer's
	 * descriptor too, which pinning and locking will write: on a large index most of them
	 * are cache misses, and a batch of neighbours then waits for all of them at once.
	 */
	__builtin_prefetch(GetBufferDescriptor(hints->buffers[blkno] - 1), 1, 3);
	VsPrefetchLines(BufferGetBlock(hints->buffers[blkno]), nbytes);
}

void
VsLogBuiltPages(Relation index, ForkNumber fork)
{
	/* The init fork of an unlogged index is always logged: recovery copies it over main. */
	if (fork == INIT_FORKNUM || RelationNeedsWAL(index))
		log_newpage_range(index, fork, 0, RelationGetNumberOfBlocksInFork(index, fork), true);
}

/* The index this process is building without WAL (VsXlogBeginBuild), else InvalidOid. */
static Oid	vs_build_without_wal = InvalidOid;

void
VsXlogBeginBuild(Relation index)
{
	vs_build_without_wal = RelationGetRelid(index);
}

void
VsXlogEndBuild(void)
{
	vs_build_without_wal = InvalidOid;
}

void
VsXlogStart(VsXlog *xlog, Relation index)
{
	xlog->logged = RelationGetRelid(index) != vs_build_without_wal;
	xlog->state = xlog->logged ? GenericXLogStart(index) : NULL;
	xlog->nbuffers = 0;
}

Page
VsXlogPage(VsXlog *xlog, Buffer buffer, bool new_page)
{
	int			i;

	for (i = 0; i < xlog->nbuffers; i++)
		if (xlog->buffers[i] == buffer)
			return xlog->pages[i];
	if (xlog->nbuffers >= MAX_GENERIC_XLOG_PAGES)
		elog(ERROR, "too many pages in one vecsearch WAL record");
	xlog->buffers[i] = buffer;
	if (!xlog->logged)
		xlog->pages[i] = BufferGetPage(buffer); /* changed in place, under the caller's lock */
	else
		xlog->pages[i] = GenericXLogRegisterBuffer(xlog->state, buffer,
												   new_page ? GENERIC_XLOG_FULL_IMAGE : 0);
	xlog->nbuffers++;
	return xlog->pages[i];
}

void
VsXlogFinish(VsXlog *xlog)
{
	int			i;

	if (xlog->logged)
		GenericXLogFinish(xlog->state);
	else
		for (i = 0; i < xlog->nbuffers; i++)
			MarkBufferDirty(xlog->buffers[i]);
	xlog->state = NULL;
}

void
VsReadStream(Relation index, ForkNumber fork, BlockNumber start, Size per_page,
			 Size offset, Size nbytes, void *out)
{
	char	   *dst = (char *) out;

	while (nbytes > 0)
	{
		BlockNumber blkno = start + (BlockNumber) (offset / per_page);
		Size		in_page = offset % per_page;
		Size		n = Min(nbytes, per_page - in_page);
		Buffer		buffer = VsReadLocked(index, fork, blkno, BUFFER_LOCK_SHARE);

		memcpy(dst, PageGetContents(BufferGetPage(buffer)) + in_page, n);
		UnlockReleaseBuffer(buffer);
		dst += n;
		offset += n;
		nbytes -= n;
	}
}

static void
WriterNewPage(VsPageWriter *w)
{
	Buffer		next = VsExtend(w->index, w->fork);

	w->init_page(BufferGetPage(next), w->npages == 0, w->arg);
	if (BufferIsValid(w->buffer))
	{
		if (w->link != NULL)
			w->link(BufferGetPage(w->buffer), BufferGetBlockNumber(next));
		MarkBufferDirty(w->buffer);
		UnlockReleaseBuffer(w->buffer);
	}
	else
		w->first = BufferGetBlockNumber(next);
	w->buffer = next;
	w->used = 0;
	w->npages++;
}

void
VsWriterStart(VsPageWriter *w, Relation index, ForkNumber fork, Size per_page,
			  void (*init_page) (Page page, bool first, void *arg),
			  void (*link) (Page page, BlockNumber next), void *arg)
{
	w->index = index;
	w->fork = fork;
	w->per_page = per_page;
	w->init_page = init_page;
	w->link = link;
	w->arg = arg;
	w->buffer = InvalidBuffer;
	w->npages = 0;
	WriterNewPage(w);
}

void
VsWriterPut(VsPageWriter *w, const void *data, Size n)
{
	const char *src = (const char *) data;

	while (n > 0)
	{
		Size		chunk;
		Page		page;

		if (w->used == w->per_page)
			WriterNewPage(w);
		chunk = Min(n, w->per_page - w->used);
		page = BufferGetPage(w->buffer);
		memcpy(PageGetContents(page) + w->used, src, chunk);
		w->used += chunk;
		((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + w->used;
		src += chunk;
		n -= chunk;
	}
}

/* Finishes the run; returns its last block. */
BlockNumber
VsWriterEnd(VsPageWriter *w)
{
	BlockNumber last = BufferGetBlockNumber(w->buffer);

	MarkBufferDirty(w->buffer);
	UnlockReleaseBuffer(w->buffer);
	w->buffer = InvalidBuffer;
	return last;
}

void
VsRowScanCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool tupleIsAlive,
				  void *arg)
{
	VsRowScan  *rs = (VsRowScan *) arg;
	MemoryContext oldcxt;

	(void) index;
	(void) tupleIsAlive;
	if (isnull[0])
		return;
	oldcxt = MemoryContextSwitchTo(rs->tmp);
	rs->row(rs->arg, tid, values[0]);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(rs->tmp);
}

double
VsScanRows(Relation heap, Relation index, IndexInfo *info, bool progress,
		   struct TableScanDescData *scan, MemoryContext tmp, VsRowVisitor row, void *arg)
{
	VsRowScan	rs = {tmp, row, arg};

	return table_index_build_scan(heap, index, info, true, progress, VsRowScanCallback, &rs, scan);
}

bool
VsInsertRow(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, VsRowInserter insert)
{
	MemoryContext insert_ctx;
	MemoryContext oldcxt;

	if (isnull[0])
		return false;
	insert_ctx = AllocSetContextCreate(CurrentMemoryContext, "vecsearch insert", ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(insert_ctx);
	insert(index, values[0], heap_tid);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(insert_ctx);
	return false;				/* no unique checks: nothing to report */
}

int
VsIndexColumnDims(Relation index)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(index), 0);

	/*
	 * varbit(n) is binary-coercible to bit, but its rows may be shorter than n: as pgvector,
	 * an index takes bit(n) only, which a cast gives.
	 */
	if (att->atttypid == VARBITOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type varbit is not supported for %s indexes", get_am_name(index->rd_rel->relam)),
				 errhint("Index a cast to bit(n): CREATE INDEX ... ((column::bit(n)) bit_hamming_ops).")));
	return att->atttypmod;
}

void
VsReturnRow(struct IndexScanDescData *scan, const ItemPointerData *heaptid)
{
	scan->xs_heaptid = *heaptid;
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	if (scan->xs_want_itup && scan->xs_itup == NULL)
	{
		Datum		value = (Datum) 0;
		bool		isnull = true;

		scan->xs_itupdesc = RelationGetDescr(scan->indexRelation);
		scan->xs_itup = index_form_tuple(scan->xs_itupdesc, &value, &isnull);
	}
}

/* What an index column holds: the AMs index each as floats (VsCopyRowVector). */
typedef enum VsInputKind
{
	VS_INPUT_VECTOR,
	VS_INPUT_HALFVEC,
	VS_INPUT_SPARSEVEC,
	VS_INPUT_BIT
} VsInputKind;

/* The type's input function's C symbol, or NULL. */
static char *
TypeInputSymbol(Oid typid)
{
	HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			input;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for type %u", typid);
	input = ((Form_pg_type) GETSTRUCT(tuple))->typinput;
	ReleaseSysCache(tuple);
	return VsProcSymbol(input);
}

/*
 * By the column's type; the OIDs of vecsearch's own types are found once per backend, by
 * their input functions.
 */
static VsInputKind
InputKind(Relation index)
{
	static Oid	vector_oid = InvalidOid;
	static Oid	halfvec_oid = InvalidOid;
	static Oid	sparsevec_oid = InvalidOid;
	Oid			typid = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
	char	   *symbol;

	/* per row of a build or an insert: the catalogs only for a type not seen yet */
	if (typid == vector_oid)
		return VS_INPUT_VECTOR;
	if (typid == BITOID || typid == VARBITOID)
		return VS_INPUT_BIT;
	if (typid == halfvec_oid)
		return VS_INPUT_HALFVEC;
	if (typid == sparsevec_oid)
		return VS_INPUT_SPARSEVEC;
	symbol = TypeInputSymbol(typid);
	if (symbol != NULL && strcmp(symbol, "halfvec_in") == 0)
	{
		halfvec_oid = typid;
		return VS_INPUT_HALFVEC;
	}
	if (symbol != NULL && strcmp(symbol, "sparsevec_in") == 0)
	{
		sparsevec_oid = typid;
		return VS_INPUT_SPARSEVEC;
	}
	if (symbol != NULL && strcmp(symbol, "vector_in") == 0)
		vector_oid = typid;
	return VS_INPUT_VECTOR;
}


VsStorage
VsIndexStorage(Relation index)
{
	switch (InputKind(index))
	{
		case VS_INPUT_HALFVEC:
			return VS_STORAGE_HALF;
		case VS_INPUT_BIT:
			return VS_STORAGE_BIT;
		case VS_INPUT_SPARSEVEC:
		case VS_INPUT_VECTOR:
			break;
	}
	return VS_STORAGE_FLOAT;
}

static Vector *
BitsToVector(const VarBit *b)
{
	Vector	   *v;
	const bits8 *p = VARBITS(b);

	CheckDimCount(VARBITLEN(b));
	v = InitVector(VARBITLEN(b));
	for (int i = 0; i < v->dim; i++)
		v->x[i] = (p[i / BITS_PER_BYTE] >> (BITS_PER_BYTE - 1 - i % BITS_PER_BYTE)) & 1;
	return v;
}

/* A palloc'd float copy of an index column's value, whatever its kind. */
static Vector *
ValueToVector(Relation index, Datum value)
{
	switch (InputKind(index))
	{
		case VS_INPUT_HALFVEC:
			return HalfvecWiden(DatumGetHalfVector(value));
		case VS_INPUT_SPARSEVEC:
			return SparsevecToDense(DatumGetSparseVector(value));
		case VS_INPUT_BIT:
			return BitsToVector(DatumGetVarBitP(value));
		case VS_INPUT_VECTOR:
			break;
	}
	return (Vector *) PG_DETOAST_DATUM_COPY(value);
}

Vector *
VsCopyRowVector(Relation index, Datum value, int dim)
{
	Vector	   *v = ValueToVector(index, value);

	CheckExpectedDim(dim, v->dim);
	return v;
}

bool
VsScanQuery(struct IndexScanDescData *scan, VsMetric metric, int dim, float *out)
{
	ScanKey		key = &scan->orderByData[0];
	Vector	   *q;

	if (scan->numberOfOrderBys == 0 || (key->sk_flags & SK_ISNULL))
		return false;
	q = ValueToVector(scan->indexRelation, key->sk_argument);
	CheckSameDimCount(dim, q->dim);
	memcpy(out, q->x, sizeof(float) * dim);
	pfree(q);
	return VsPrepareVector(metric, out, dim);
}

void
VsReportLeftOut(Relation index, uint64 left_out, const char *more, const char *setting)
{
	ereport(NOTICE,
			(errmsg("scan of index \"%s\" left out " UINT64_FORMAT " rows it found after "
					"returning rows farther from the query",
					RelationGetRelationName(index), left_out),
			 errdetail("Rows come back in distance order; the query may have fewer rows "
					   "than its LIMIT."),
			 errhint("A larger %s makes this rarer; SET %s = relaxed_order returns such rows "
					 "out of order.", more, setting)));
}

char *
VsPhaseName(const char *const *names, int n, int64 phase)
{
	if (phase < 0 || phase >= n)
		return NULL;
	return unconstify(char *, names[phase]);
}

IndexAmRoutine *
VsNewIndexAmRoutine(void)
{
	/* makeNode zeroes the rest: no other abilities, no other callbacks */
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amsupport = 1;
	amroutine->amcanorderbyop = true;
	amroutine->amoptionalkey = true;
	amroutine->amusemaintenanceworkmem = true;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;
	return amroutine;
}

void
VsEstimateCosts(IndexPath *path, VsCostEstimator estimate, Cost *indexStartupCost,
				Cost *indexTotalCost, Selectivity *indexSelectivity, double *indexCorrelation,
				double *indexPages)
{
	IndexOptInfo *info = path->indexinfo;
	VsCosts		costs = {1.0e10, 1.0e10, 1.0, info->pages};

	if (path->indexorderbys != NIL)
	{
		Relation	index = index_open(info->indexoid, NoLock);

		estimate(info, index, &costs);
		index_close(index, NoLock);
	}
	*indexStartupCost = costs.startup;
	*indexTotalCost = costs.total;
	*indexSelectivity = costs.selectivity;
	*indexCorrelation = 0;
	*indexPages = costs.pages;
}
