/*
 * verify.h — what vecsearch_verify's access-method checks share: the walk's state, a page
 * reader that believes nothing it has not checked, the problem rows, and the live entries
 * collected for the heap checks.
 *
 * verify.c holds these, the heap cross-check and the SQL entry point; each access method's
 * layout checks live with the access method (ivfverify.c, hnswverify.c) and are reached
 * through its VerifyLayout.
 */
#ifndef VECSEARCH_VERIFY_H
#define VECSEARCH_VERIFY_H

#include "postgres.h"

#include "funcapi.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/rel.h"

#include "common.h"

/* A live index entry: the heap row it names and the index block that holds it. */
typedef struct IndexedTid
{
	ItemPointerData tid;
	BlockNumber blkno;
} IndexedTid;

struct VerifyLayout;

typedef struct Verifier
{
	Relation	index;
	const struct VerifyLayout *layout;
	BlockNumber nblocks;
	BlockNumber heap_blocks;
	ReturnSetInfo *rsinfo;
	int64		problems;
	bool		quiet_pages;	/* a later pass: page problems were reported by the first */
	bool		zero_page;		/* the last VerifyReadPage found an all-zero page */
	uint8	   *owner;			/* per block: 0 unclaimed; each AM's checks number their claims */
	/* the heap rows the index's live entries name, for the heap checks at the end */
	IndexedTid *tids;
	int64		ntids;
	int64		tids_cap;
	/* set by the layout checks once the metapage is read: the heap checks can run */
	bool		walked;
	VsMetric	metric;
	int			dim;
	char		page[BLCKSZ];	/* last: the fields before it start zeroed */
} Verifier;

/* What vecsearch_verify needs to know of an access method's pages. */
typedef struct VerifyLayout
{
	Size		special;		/* its special space, MAXALIGNed */
	uint16		page_id;		/* VS_PAGE_ID_* */
	uint16		(*page_kind) (Page page);	/* the kind a page's special space names */
	void		(*check) (Verifier *v);	/* every layout check, problems as rows */
} VerifyLayout;

extern const VerifyLayout IvfVerifyLayout;	/* ivfverify.c: ivf and ivfpq */
extern const VerifyLayout HnswVerifyLayout;	/* hnswverify.c */

extern void VerifyReport(Verifier *v, BlockNumber blkno, const char *fmt,...) pg_attribute_printf(3, 4);
extern bool VerifyReadPage(Verifier *v, BlockNumber blkno, uint16 kind);
extern bool VerifyNeedPage(Verifier *v, BlockNumber blkno, uint16 kind);
extern bool VerifyTidInTable(const Verifier *v, const ItemPointerData *tid);
extern void VerifyAddTid(Verifier *v, ItemPointer tid, BlockNumber blkno);

#endif
