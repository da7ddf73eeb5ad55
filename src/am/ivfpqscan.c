/*
 * ivfpqscan.c — how an ivfpq scan scores its slots (IvfScoring, ivfscan.h): a list's codes
 * from a table of the query's distances to the codebooks' centroids (for L2, of the query's
 * residual against the list's centroid), then the best vecsearch.rerank candidates again
 * with exact distances from their heap rows (rerank.h), returned in that order a batch at
 * a time. Everything else of the scan is ivf's (ivfscan.c).
 */
#include "postgres.h"

#include "ivfscan.h"
#include "rerank.h"

typedef struct IvfpqScanState
{
	VsPq		shape;			/* the cache's, without its codebooks (fetched per list) */
	float	   *table;			/* m x ksub: the list's table */
	float	   *query_table;	/* inner product: the query's table, the same for every list */
	float	   *residual;		/* L2: the query minus the list's centroid */
	float		bias;
	uint8	   *straddle;		/* a code split between pages, put back together */
	bool		reranks;
	size_t		rerank_batch;
	VsRerank	rerank;
} IvfpqScanState;

static inline IvfpqScanState *
StateOf(IvfScanOpaque so)
{
	return (IvfpqScanState *) so->scoring_state;
}

/*
 * The table a list's codes are scored with. L2 scores the query's residual against the
 * list's centroid; inner product (and cosine, on unit vectors) splits q.(c + r) into the
 * centroid's part, a bias, and the residual's, the query's own table.
 */
static void
StartList(IndexScanDesc scan, IvfCache *cache, uint32 list)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfpqScanState *st = StateOf(so);
	const float *c = cache->centroids + (Size) list * so->dim;
	uint32		i;

	if (so->unranked)
		return;
	if (so->metric == VS_METRIC_L2)
	{
		for (i = 0; i < so->dim; i++)
			st->residual[i] = so->query[i] - c[i];
		vs_pq_table(IvfpqCodebooks(scan->indexRelation, cache), VS_PQ_L2, st->residual, st->table);
		st->bias = 0;
	}
	else
	{
		st->table = st->query_table;
		st->bias = VsDistance(so->metric, so->query, c, so->dim);
	}
}

static void
ScoreCodes(IvfScanOpaque so, const void *const *codes, size_t n, float *out)
{
	IvfpqScanState *st = StateOf(so);

	vs_pq_scan_ptr(&st->shape, st->table, (const uint8 *const *) codes, n, st->bias, out);
}

/* A code that straddles pages is put back together, then scored; `done` counts its bytes. */
static void
StartStraddle(IvfScanOpaque so, IvfSplitSlot *part, const char *code, Size bytes)
{
	memcpy(StateOf(so)->straddle, code, bytes);
	part->done = (uint32) bytes;
}

static bool
ContinueStraddle(IvfScanOpaque so, IvfSplitSlot *part, const char *contents)
{
	IvfpqScanState *st = StateOf(so);
	Size		n = Min((Size) st->shape.m - part->done, IVF_CONTENT);
	const uint8 *code = st->straddle;

	memcpy(st->straddle + part->done, contents, n);
	part->done += (uint32) n;
	if (part->done < (uint32) st->shape.m)
		return false;
	part->dist = 0;
	if (!so->unranked)
		vs_pq_scan_ptr(&st->shape, st->table, &code, 1, st->bias, &part->dist);
	return true;
}

/* The tables, and the re-ranking's heap access where this scan re-ranks. */
static void
Begin(IndexScanDesc scan, IvfCache *cache)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	const VsPq *pq = IvfpqCodebooks(scan->indexRelation, cache);
	Size		table_bytes = sizeof(float) * pq->m * pq->ksub;
	IvfpqScanState *st = palloc0(sizeof(IvfpqScanState));

	so->scoring_state = st;
	so->payload = pq->m;
	st->shape = *pq;
	st->shape.centroids = NULL;
	st->table = palloc(table_bytes);
	st->residual = palloc(sizeof(float) * so->dim);
	st->straddle = palloc(pq->m);
	if (so->metric != VS_METRIC_L2 && !so->unranked)
	{
		st->query_table = palloc(table_bytes);
		vs_pq_table(pq, VS_PQ_IP, so->query, st->query_table);
	}
	/* a query, a heap row to read and rerank > 0 (read once: a SET mid-scan changes nothing) */
	st->reranks = !so->unranked && vs_ivfpq_rerank > 0 && VsRerankPossible(scan);
	st->rerank_batch = (size_t) Max(vs_ivfpq_rerank, 1);
	if (st->reranks)
		VsRerankInit(&st->rerank, scan, so->metric, (int) so->dim, so->query,
					 so->mode == VS_SCAN_STRICT);
	/* the first two re-ranking batches are handed out before the horizon gates candidates */
	if (st->reranks)
		so->ungated = Max(so->ungated, 2 * st->rerank_batch);
}

static bool
Next(IndexScanDesc scan, VsScored *best)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	IvfpqScanState *st = StateOf(so);

	if (!st->reranks)
		return IvfNextCandidate(scan, best);
	return VsRerankNext(&st->rerank, scan, st->rerank_batch, IvfNextCandidate, best);
}

static void
End(IvfScanOpaque so)
{
	IvfpqScanState *st = StateOf(so);

	if (st != NULL && st->reranks)
		VsRerankEnd(&st->rerank);
}

/* ivfpq's ambeginscan (ivfpq.c) starts ivf's scan with this scoring. */
const IvfScoring IvfpqScoring = {
	.begin = Begin,
	.start_list = StartList,
	.score = ScoreCodes,
	.split_start = StartStraddle,
	.split_continue = ContinueStraddle,
	.next = Next,
	.end = End,
};
