/*
 * verify.c — vecsearch_verify(index): walks an index and reports structural problems as
 * rows (block, problem), in the spirit of amcheck; no rows means none were found.
 *
 * Every page is copied out under a share lock and checked before anything on it is
 * believed: its special space and page id, its kind, then every count, offset and block
 * number against the bounds they must lie in. So a corrupt page gives rows, never a
 * crash. A page whose header PostgreSQL itself rejects is reported with PostgreSQL's
 * "invalid page" message, and the walk goes on.
 *
 * This file holds that page reader, the problem rows and the SQL entry point; each access
 * method checks its own layout (ivfverify.c, hnswverify.c) while collecting the heap rows
 * its live entries name. Then the heap, here: every live entry names a row that is there,
 * none twice, and every row the index must hold has an entry (amcheck's heapallindexed,
 * exactly rather than with a Bloom filter). All-zero pages, which a crash leaves of pages
 * added just before it, are unused rather than damaged, unless a chain or stream needs them.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"

#include "hnsw.h"
#include "ivf.h"
#include "vector.h"
#include "verify.h"


void
VerifyReport(Verifier *v, BlockNumber blkno, const char *fmt,...)
{
	char		buf[512];
	va_list		ap;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (blkno == InvalidBlockNumber)
		nulls[0] = true;
	else
		values[0] = Int64GetDatum((int64) blkno);
	values[1] = CStringGetTextDatum(buf);
	tuplestore_putvalues(v->rsinfo->setResult, v->rsinfo->setDesc, values, nulls);
	v->problems++;
}

/* A heap TID that can lie in the table: a block it has, an offset a heap page can hold. */
bool
VerifyTidInTable(const Verifier *v, const ItemPointerData *tid)
{
	return ItemPointerGetBlockNumberNoCheck(tid) < v->heap_blocks &&
		ItemPointerGetOffsetNumberNoCheck(tid) >= FirstOffsetNumber &&
		ItemPointerGetOffsetNumberNoCheck(tid) <= MaxHeapTuplesPerPage;
}

/* A live entry of the index, for the heap checks at the end. */
void
VerifyAddTid(Verifier *v, ItemPointer tid, BlockNumber blkno)
{
	if (v->ntids == v->tids_cap)
	{
		v->tids_cap = Max(1024, v->tids_cap * 2);
		v->tids = v->tids == NULL ? palloc_extended(sizeof(IndexedTid) * v->tids_cap, MCXT_ALLOC_HUGE) :
			repalloc_huge(v->tids, sizeof(IndexedTid) * v->tids_cap);
	}
	v->tids[v->ntids].tid = *tid;
	v->tids[v->ntids].blkno = blkno;
	v->ntids++;
}

/*
 * Copies block blkno into v->page. A page PostgreSQL refuses to read (its header fails
 * the buffer manager's check: "invalid page in block ...", or the file ends early) gives
 * a row and false, and the walk goes on: the read runs in a subtransaction, as a PL/pgSQL
 * EXCEPTION block would, so that the ERROR can be caught cleanly. Other ERRORs (a cancel,
 * an I/O failure) end the call.
 */
static bool
CopyBlock(Verifier *v, BlockNumber blkno)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		Buffer		buffer = VsReadBlock(v->index, MAIN_FORKNUM, blkno);

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		memcpy(v->page, BufferGetPage(buffer), BLCKSZ);
		UnlockReleaseBuffer(buffer);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_DATA_CORRUPTED)
			ReThrowError(edata);
		ok = false;
		if (!v->quiet_pages)
			VerifyReport(v, blkno, "unreadable: %s", edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/*
 * Copies block blkno into v->page and checks what every vecsearch page has; false (with
 * a row) when the page cannot be read as one of kind `kind` (0: any).
 */
bool
VerifyReadPage(Verifier *v, BlockNumber blkno, uint16 kind)
{
	Page		page = (Page) v->page;

	CHECK_FOR_INTERRUPTS();
	if (blkno == InvalidBlockNumber || blkno >= v->nblocks)
	{
		VerifyReport(v, blkno == InvalidBlockNumber ? InvalidBlockNumber : blkno,
			   "block %u is beyond the end of the index (%u blocks)", blkno, v->nblocks);
		return false;
	}
	if (!CopyBlock(v, blkno))
	{
		v->zero_page = false;
		return false;
	}

	/*
	 * An all-zero page is what a crash leaves of a page added just before it (the
	 * extension is not WAL-logged, the first write to the page is): unused, not damaged.
	 * The callers that need a page here report it.
	 */
	v->zero_page = PageIsNew(page);
	if (v->zero_page)
		return false;
	if (PageGetSpecialSize(page) != v->layout->special)
	{
		if (!v->quiet_pages)
			VerifyReport(v, blkno, "special space is %u bytes, not %u",
				   (unsigned) PageGetSpecialSize(page), (unsigned) v->layout->special);
		return false;
	}
	if (VsPageId(page) != v->layout->page_id)
	{
		if (!v->quiet_pages)
			VerifyReport(v, blkno, "page id is 0x%04x, not 0x%04x", VsPageId(page), v->layout->page_id);
		return false;
	}
	if (kind != 0 && v->layout->page_kind(page) != kind)
	{
		if (!v->quiet_pages)
			VerifyReport(v, blkno, "page kind is %u, expected %u", v->layout->page_kind(page), kind);
		return false;
	}
	return true;
}

/* ReadPage for a page that must be there: an all-zero one is a problem too. */
bool
VerifyNeedPage(Verifier *v, BlockNumber blkno, uint16 kind)
{
	if (VerifyReadPage(v, blkno, kind))
		return true;
	if (v->zero_page)
		VerifyReport(v, blkno, "page is all zeros");
	return false;
}

/* ---------------------------------------------------------------- the heap */

/* Rows reported per heap check before the rest are only counted. */
#define MAX_HEAP_PROBLEMS 100

static int
CompareIndexedTids(const void *a, const void *b)
{
	ItemPointerData ta = ((const IndexedTid *) a)->tid;
	ItemPointerData tb = ((const IndexedTid *) b)->tid;

	return ItemPointerCompare(&ta, &tb);
}

/*
 * Every live entry names a heap row that is there: a line pointer in use (a normal tuple,
 * a HOT chain's redirect, or a dead one VACUUM has yet to reach), and no row twice. The
 * entries are sorted, so each heap page is read once.
 */
static void
CheckEntriesReachHeap(Verifier *v, Relation heap)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	int64		problems = 0;
	int64		i = 0;

	while (i < v->ntids)
	{
		BlockNumber hblk = ItemPointerGetBlockNumber(&v->tids[i].tid);
		Buffer		buffer;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		buffer = ReadBufferExtended(heap, MAIN_FORKNUM, hblk, RBM_NORMAL, strategy);
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		maxoff = PageIsNew(page) ? 0 : PageGetMaxOffsetNumber(page);
		for (; i < v->ntids && ItemPointerGetBlockNumber(&v->tids[i].tid) == hblk; i++)
		{
			OffsetNumber off = ItemPointerGetOffsetNumber(&v->tids[i].tid);
			const char *problem = NULL;

			if (i > 0 && ItemPointerEquals(&v->tids[i].tid, &v->tids[i - 1].tid))
				problem = "is indexed twice";
			else if (off > maxoff || !ItemIdIsUsed(PageGetItemId(page, off)))
				problem = "is not in the table (its line pointer is unused)";
			if (problem != NULL && problems++ < MAX_HEAP_PROBLEMS)
				VerifyReport(v, v->tids[i].blkno, "heap tuple (%u,%u) %s", hblk, off, problem);
		}
		UnlockReleaseBuffer(buffer);
	}
	if (problems > MAX_HEAP_PROBLEMS)
		VerifyReport(v, InvalidBlockNumber, "%lld more index entries name missing or repeated heap tuples",
			   (long long) (problems - MAX_HEAP_PROBLEMS));
	FreeAccessStrategy(strategy);
}

typedef struct HeapCheck
{
	Verifier   *v;
	int64		missing;
	MemoryContext tmp;
} HeapCheck;

/* A row the index must hold (the root TID of its HOT chain), as VsScanRows hands it over. */
static void
CheckRowIndexed(void *arg, ItemPointer tid, Datum value)
{
	HeapCheck  *hc = (HeapCheck *) arg;
	Verifier   *v = hc->v;
	IndexedTid	key;
	Vector	   *row = VsCopyRowVector(v->index, value, v->dim);

	/* a zero vector under cosine is not indexed (its distance is undefined) */
	if (!VsPrepareVector(v->metric, row->x, row->dim))
		return;
	key.tid = *tid;
	if (bsearch(&key, v->tids, v->ntids, sizeof(IndexedTid), CompareIndexedTids) != NULL)
		return;
	if (hc->missing++ < MAX_HEAP_PROBLEMS)
		VerifyReport(v, InvalidBlockNumber, "heap tuple (%u,%u) has no index entry",
			   ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
}

/*
 * Every row the index must hold has a live entry: the table is read as CREATE INDEX reads
 * it (live and recently dead rows, a HOT chain by its root), under the ShareLock that keeps
 * writers out meanwhile.
 */
static void
CheckHeapRowsIndexed(Verifier *v, Relation heap)
{
	HeapCheck	hc = {v, 0, NULL};
	IndexInfo  *info = BuildIndexInfo(v->index);

	hc.tmp = AllocSetContextCreate(CurrentMemoryContext, "vecsearch_verify rows", ALLOCSET_DEFAULT_SIZES);
	(void) VsScanRows(heap, v->index, info, false, NULL, hc.tmp, CheckRowIndexed, &hc);
	if (hc.missing > MAX_HEAP_PROBLEMS)
		VerifyReport(v, InvalidBlockNumber, "%lld more heap tuples have no index entry",
			   (long long) (hc.missing - MAX_HEAP_PROBLEMS));
	MemoryContextDelete(hc.tmp);
}

/*
 * The ShareLock held until the caller's transaction ends blocks every writer of the table,
 * so the caller needs what LOCK TABLE ... IN SHARE MODE needs (UPDATE, DELETE or TRUNCATE
 * on the table; its owner and superusers have them), MAINTAIN where the server has it, or
 * ownership; and SELECT, for what the rows reveal. Checked before the lock is taken, so a
 * refused caller never queues behind or ahead of writers. EXECUTE is also revoked from
 * PUBLIC (as amcheck's functions are).
 */
static void
CheckMayLockTable(Oid heapoid, Oid indexoid)
{
	AclMode		lock_rights = ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE;
	Oid			user = GetUserId();

#ifdef ACL_MAINTAIN
	lock_rights |= ACL_MAINTAIN;
#endif
	if (pg_class_aclmask(heapoid, user, lock_rights, ACLMASK_ANY) == 0 &&
#if PG_VERSION_NUM >= 160000
		!object_ownercheck(RelationRelationId, heapoid, user))
#else
		!pg_class_ownercheck(heapoid, user))
#endif
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to verify index \"%s\"", get_rel_name(indexoid)),
				 errdetail("vecsearch_verify holds a SHARE lock on table \"%s\" until the transaction ends, "
						   "which needs the UPDATE, DELETE or TRUNCATE privilege on it, or its ownership.",
						   get_rel_name(heapoid))));
	if (pg_class_aclcheck(heapoid, user, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(heapoid))));
}

/* The layout of a vecsearch index's pages; NULL for any other relation. */
static const VerifyLayout *
LayoutOf(Relation index)
{
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == NULL)
		return NULL;
	if (index->rd_indam->ambuild == ivfbuild)
		return &IvfVerifyLayout;
	if (index->rd_indam->ambuild == hnswbuild)
		return &HnswVerifyLayout;
	return NULL;
}

PG_FUNCTION_INFO_V1(vecsearch_verify);
Datum
vecsearch_verify(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Verifier	v;
	Relation	heap;
	Oid			heapoid;

	InitMaterializedSRF(fcinfo, 0);
	memset(&v, 0, offsetof(Verifier, page));
	v.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	/*
	 * ShareLock on the table first, as amcheck's parent check does: no insert, update or
	 * VACUUM changes the index while it is walked (a list grown halfway through the walk
	 * would look like a broken count). Scans go on.
	 */
	heapoid = IndexGetRelation(indexoid, true);
	if (OidIsValid(heapoid))
	{
		CheckMayLockTable(heapoid, indexoid);
		LockRelationOid(heapoid, ShareLock);
	}
	v.index = relation_open(indexoid, AccessShareLock);
	v.layout = LayoutOf(v.index);
	if (v.layout == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a vecsearch index", RelationGetRelationName(v.index))));
	/* a table created since IndexGetRelation above would not have been checked */
	if (v.index->rd_index->indrelid != heapoid)
		elog(ERROR, "index \"%s\" changed tables while it was opened", RelationGetRelationName(v.index));
	heap = relation_open(v.index->rd_index->indrelid, NoLock);
	v.heap_blocks = RelationGetNumberOfBlocks(heap);
	v.nblocks = RelationGetNumberOfBlocks(v.index);
	v.owner = palloc0(Max(v.nblocks, 1));
	if (v.nblocks == 0)
		VerifyReport(&v, InvalidBlockNumber, "the index has no pages");
	else
		v.layout->check(&v);
	/* the heap checks need the index's own parameters, and a valid index (not one a failed
	 * CREATE INDEX CONCURRENTLY left behind, which may miss rows by design) */
	if (v.walked && v.index->rd_index->indisvalid && v.index->rd_index->indisready)
	{
		qsort(v.tids, v.ntids, sizeof(IndexedTid), CompareIndexedTids);
		CheckEntriesReachHeap(&v, heap);
		CheckHeapRowsIndexed(&v, heap);
	}
	relation_close(heap, NoLock);
	relation_close(v.index, AccessShareLock);
	return (Datum) 0;
}
