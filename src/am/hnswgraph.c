/*
 * hnswgraph.c — inserting into the in-memory graph of a build (Malkov & Yashunin,
 * arXiv:1603.09320): greedy descent through the upper levels, a best-first search of
 * ef_construction candidates on each level the new element lives on, neighbours chosen by
 * the paper's heuristic (a candidate is kept only if it is nearer to the new element than
 * to every neighbour kept before it), and links back from each neighbour, pruned with the
 * same heuristic when a list is full; once inserts are done, links that keep level 0
 * connected (HnswGraphConnect). The region layout and the locking are described in
 * hnswgraph.h.
 */
#include "postgres.h"

#include <sys/mman.h>

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/float.h"

#include "hnswgraph.h"

/*
 * An element's level-0 record: this header (the level-0 link count in it), the vector, the
 * level-0 neighbour list (2m slots) referring to elements by number, each slot's neighbour
 * distance and whether the heuristic keeps it (LinkBack), then the offset of its upper-level
 * record (0 on level 0 alone), padded to whole cache lines so that a vector starts on a
 * line. An upper-level record holds, for levels 1..L, the link counts, then the lists (m
 * slots each), their distances and verdicts. A list is kept nearest first.
 */
typedef struct HnswNode
{
	uint8		level;
	uint8		nheaptids;
	uint16		count0;
	ItemPointerData heaptids[HNSW_HEAPTIDS];
} HnswNode;

#define NODE_HEADER		MAXALIGN(sizeof(HnswNode))
#define RECORD_ALIGN	64		/* a cache line */

/* Bytes of one slot: the neighbour's number, its distance, its verdict. */
#define SLOT_BYTES		(sizeof(int32) + sizeof(float) + sizeof(bool))

/* Where, in a level-0 record, the offset of the upper-level record is kept. */
static inline Size
UpperOffsetAt(const HnswShape *shape)
{
	return MAXALIGN(NODE_HEADER + sizeof(float) * shape->dim + SLOT_BYTES * 2 * (Size) shape->m);
}

static inline Size
LevelZeroBytes(const HnswShape *shape)
{
	return TYPEALIGN(RECORD_ALIGN, UpperOffsetAt(shape) + sizeof(Size));
}

/* The link counts of levels 1..level, padded so that the lists after them are aligned. */
static inline Size
UpperCountBytes(int level)
{
	return sizeof(uint16) * ((level + 1) & ~1);
}

/* An upper-level record for levels 1..level; none for an element of level 0. */
static inline Size
UpperBytes(const HnswShape *shape, int level)
{
	return level == 0 ? 0 : MAXALIGN(UpperCountBytes(level) + SLOT_BYTES * shape->m * (Size) level);
}

static inline HnswNode *
NodeOf(HnswGraph *g, int32 i)
{
	return (HnswNode *) ((char *) g + g->base + (Size) i * g->record_bytes);
}

static inline float *
NodeVector(HnswNode *node)
{
	return (float *) ((char *) node + NODE_HEADER);
}

static inline char *
NodeUpper(HnswGraph *g, HnswNode *node)
{
	return (char *) g + *(Size *) ((char *) node + UpperOffsetAt(&g->shape));
}

/* The link count of a level. */
static inline uint16 *
NodeCount(HnswGraph *g, HnswNode *node, int level)
{
	if (level == 0)
		return &node->count0;
	return (uint16 *) NodeUpper(g, node) + (level - 1);
}

static inline int32 *
NodeLinks(HnswGraph *g, HnswNode *node, int level)
{
	if (level == 0)
		return (int32 *) (NodeVector(node) + g->shape.dim);
	return (int32 *) (NodeUpper(g, node) + UpperCountBytes(node->level)) + (level - 1) * g->shape.m;
}

static inline float *
NodeLinkDists(HnswGraph *g, HnswNode *node, int level)
{
	if (level == 0)
		return (float *) NodeLinks(g, node, 0) + 2 * g->shape.m;
	return (float *) NodeLinks(g, node, 1) + node->level * g->shape.m + (level - 1) * g->shape.m;
}

static inline bool *
NodeLinkKept(HnswGraph *g, HnswNode *node, int level)
{
	if (level == 0)
		return (bool *) (NodeLinkDists(g, node, 0) + 2 * g->shape.m);
	return (bool *) (NodeLinkDists(g, node, 1) + node->level * g->shape.m) + (level - 1) * g->shape.m;
}

Size
HnswGraphElementBytes(const HnswShape *shape, int level)
{
	return LevelZeroBytes(shape) + UpperBytes(shape, level);
}

/*
 * Bytes a row takes in the region on average: its level-0 record, plus the upper levels'
 * lists (level l >= 1 with probability m^-l, so they cost 1/(m-1) of one level's list).
 */
double
HnswGraphRowBytes(const HnswShape *shape)
{
	double		upper = (double) UpperBytes(shape, 1);

	return (double) LevelZeroBytes(shape) + upper / (shape->m - 1.0);
}

static inline float
Dist(HnswGraph *g, const float *q, int32 i)
{
	return VsDistance(g->shape.metric, q, NodeVector(NodeOf(g, i)), g->shape.dim);
}

static inline LWLock *
LinksLock(HnswGraph *g, int32 i)
{
	return &g->locks[i % HNSW_GRAPH_LOCKS];
}

HnswGraph *
HnswGraphInit(void *region, Size size, const HnswShape *shape, int ef_construction, bool concurrent,
			  int lock_tranche)
{
	HnswGraph  *g = (HnswGraph *) region;
	int			i;

	if (size < MAXALIGN(sizeof(HnswGraph)))
		elog(ERROR, "hnsw build: a graph region of %zu bytes is too small", size);
	memset(g, 0, sizeof(HnswGraph));
	g->shape = *shape;
	g->ef_construction = ef_construction;
	g->concurrent = concurrent;
	g->size = size - size % sizeof(Size);
	SpinLockInit(&g->mutex);
	/* the region is mapped at page boundaries in every process: lines fall alike */
	g->base = TYPEALIGN(RECORD_ALIGN, (uintptr_t) g + sizeof(HnswGraph)) - (uintptr_t) g;
	g->record_bytes = LevelZeroBytes(shape);
	g->bottom = g->size;
	if (g->base > g->size)
		elog(ERROR, "hnsw build: a graph region of %zu bytes is too small", size);
	g->entry = -1;
	g->max_level = -1;
	if (concurrent)
	{
		g->lock_tranche = lock_tranche;
		LWLockInitialize(&g->entry_lock, g->lock_tranche);
		for (i = 0; i < HNSW_GRAPH_LOCKS; i++)
			LWLockInitialize(&g->locks[i], g->lock_tranche);
	}
	return g;
}

HnswGraphBuilder *
HnswGraphAttach(HnswGraph *g)
{
	HnswGraphBuilder *b = palloc0(sizeof(HnswGraphBuilder));
	int			l;

	if (g->concurrent)
		LWLockRegisterTranche(g->lock_tranche, "vecsearch_hnsw_build");
	b->g = g;
	b->visited_cap = 1024;
	b->visited = palloc0(sizeof(uint32) * b->visited_cap);
	b->ef = Max(g->ef_construction, 2 * g->shape.m);
	b->cand_cap = (Size) b->ef * 2 * g->shape.m + 16;
	b->cand = palloc(sizeof(VsScored) * b->cand_cap);
	b->links = palloc(sizeof(int32) * 2 * g->shape.m);
	b->list_ids = palloc(sizeof(int32) * (2 * g->shape.m + 1));
	b->list_dists = palloc(sizeof(float) * (2 * g->shape.m + 1));
	b->list_kept = palloc(sizeof(bool) * (2 * g->shape.m + 1));
	for (l = 0; l <= HNSW_MAX_LEVEL; l++)
		b->found[l] = palloc(sizeof(VsScored) * (b->ef + 1));
	return b;
}

static void
ReadEntry(HnswGraph *g, int32 *entry, int *max_level)
{
	SpinLockAcquire(&g->mutex);
	*entry = g->entry;
	*max_level = g->max_level;
	SpinLockRelease(&g->mutex);
}

static uint32
NewEpoch(HnswGraphBuilder *b)
{
	if (++b->epoch == 0)
	{
		memset(b->visited, 0, sizeof(uint32) * b->visited_cap);
		b->epoch = 1;
	}
	return b->epoch;
}

/*
 * Asks for transparent huge pages over the whole 2 MB pages of [p, p + bytes), which the
 * kernel gives when its transparent_hugepage setting is "madvise" (as on our machines) or
 * "always"; with "never" this changes nothing. The visited marks of a 10M-row build are
 * 40 MB that every score looks up at random: in 4 kB pages nearly every look-up is a TLB
 * miss, in 2 MB pages none is.
 */
static void
AdviseHugePages(void *p, Size bytes)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2 * 1024 * 1024;
	uintptr_t	start = TYPEALIGN(huge, (uintptr_t) p);
	uintptr_t	end = TYPEALIGN_DOWN(huge, (uintptr_t) p + bytes);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/* Marks element i visited in this epoch; false if it already was. */
static inline bool
Visit(HnswGraphBuilder *b, int32 i)
{
	if (unlikely(i >= b->visited_cap))
	{
		int32		cap = Max(b->visited_cap * 2, i + 1);

		b->visited = repalloc_huge(b->visited, sizeof(uint32) * (Size) cap);
		AdviseHugePages(b->visited, sizeof(uint32) * (Size) cap);
		memset(b->visited + b->visited_cap, 0, sizeof(uint32) * (cap - b->visited_cap));
		b->visited_cap = cap;
	}
	if (b->visited[i] == b->epoch)
		return false;
	b->visited[i] = b->epoch;
	return true;
}

/* Element i's neighbours on a level, copied out under its lock when others insert. */
static int
CopyLinks(HnswGraphBuilder *b, int32 i, int level)
{
	HnswGraph  *g = b->g;
	HnswNode   *node = NodeOf(g, i);
	int			n;

	if (g->concurrent)
		LWLockAcquire(LinksLock(g, i), LW_SHARED);
	n = *NodeCount(g, node, level);
	memcpy(b->links, NodeLinks(g, node, level), sizeof(int32) * n);
	if (g->concurrent)
		LWLockRelease(LinksLock(g, i));
	return n;
}

/* Greedy walk on one level: the nearest element reachable by always improving. */
static int32
Greedy(HnswGraphBuilder *b, const float *q, int32 ep, float *ep_dist, int level)
{
	bool		moved = true;

	while (moved)
	{
		int			n = CopyLinks(b, ep, level);
		int			j;

		moved = false;
		for (j = 0; j < n; j++)
		{
			float		d = Dist(b->g, q, b->links[j]);

			if (d < *ep_dist)
			{
				*ep_dist = d;
				ep = b->links[j];
				moved = true;
			}
		}
	}
	return ep;
}

/*
 * Best-first search of one level from the entry points in `w` (n of them, distances set),
 * keeping the ef nearest in `w` (capacity ef + 1), nearest first on return. Returns how
 * many `w` holds. The vectors of a candidate's unvisited neighbours are prefetched before
 * any is scored, so their cache misses overlap.
 */
static int
SearchLayer(HnswGraphBuilder *b, const float *q, VsScored *w, int n, int level)
{
	HnswGraph  *g = b->g;
	int			ef = b->ef;
	Size		vbytes = sizeof(float) * g->shape.dim;
	size_t		nw = 0;
	size_t		nc = 0;
	int			i;

	NewEpoch(b);
	for (i = 0; i < n; i++)
	{
		VsScored	s = w[i];

		(void) Visit(b, (int32) s.id);
		vs_minheap_push(b->cand, &nc, s);
	}
	for (i = 0; i < (int) nc; i++)
		vs_maxheap_push_bounded(w, &nw, ef, b->cand[i]);

	while (nc > 0)
	{
		VsScored	c = vs_minheap_pop(b->cand, &nc);
		int			nl;
		int			fresh = 0;
		int			j;

		if (nw >= (size_t) ef && c.dist > w[0].dist)
			break;
		nl = CopyLinks(b, (int32) c.id, level);
		/*
		 * At scale each neighbour costs two cache misses, its visited mark and its
		 * vector, each on a page of its own (a TLB miss too). Start both for all of them
		 * (the vector's first line, which walks its page) before taking any, then the
		 * rest of the vectors of the unvisited ones before scoring any.
		 */
		for (j = 0; j < nl; j++)
		{
			int32		e = b->links[j];

			if (e < b->visited_cap)
				__builtin_prefetch(&b->visited[e]);
			__builtin_prefetch(NodeVector(NodeOf(g, e)));
		}
		for (j = 0; j < nl; j++)
		{
			int32		e = b->links[j];

			if (!Visit(b, e))
				continue;
			b->links[fresh++] = e;
			if (vbytes > RECORD_ALIGN)
				VsPrefetchLines((char *) NodeVector(NodeOf(g, e)) + RECORD_ALIGN,
								vbytes - RECORD_ALIGN);
		}
		for (j = 0; j < fresh; j++)
		{
			VsScored	s;

			s.dist = Dist(g, q, b->links[j]);
			s.id = (uint64) b->links[j];
			if (nw < (size_t) ef || s.dist < w[0].dist)
			{
				vs_maxheap_push_bounded(w, &nw, ef, s);
				if (nc < b->cand_cap)
					vs_minheap_push(b->cand, &nc, s);
			}
		}
	}
	vs_maxheap_sort(w, nw);
	return (int) nw;
}

/*
 * The paper's neighbour heuristic (its Algorithm 4), over candidates sorted nearest first
 * by their distance to the element whose list it is: a candidate is kept if it is nearer
 * to that element than to every candidate kept before it, which keeps links pointing in
 * different directions rather than all into the nearest clump. As in pgvector, a list
 * holds the kept candidates and then, while it has room, the pruned ones nearest first
 * (the paper's keepPrunedConnections): full lists, so a search meets more neighbours per
 * step. Measured at m 16, ef_construction 64: recall@10 at ef_search 10 from 0.924 to 0.970
 * on Fashion-MNIST and 0.670 to 0.721 on GloVe-100 (pgvector 0.969, 0.730); hnswlib, which
 * keeps the heuristic's picks only, measures 0.926 and 0.657.
 */

/*
 * Which lists are kept full: level 0 always, where a search spends nearly all its steps;
 * upper levels only under inner product, where the heuristic keeps one or two links (the
 * same few long vectors beat every other candidate) and recall@20 after a build of 10,000
 * 3-d rows varied from 0.86 to 0.99 over seeds (pgvector's floor 0.97; filled, 0.9975-1.0).
 */
static inline bool
FillsLevel(const HnswShape *shape, int level)
{
	return level == 0 || shape->metric == VS_METRIC_IP;
}

/* Whether candidate c (at distance d from the list's owner) is kept against ids[0..n). */
static bool
KeptAgainst(HnswGraph *g, int32 c, float d, const int32 *ids, const bool *kept, int n)
{
	const float *cv = NodeVector(NodeOf(g, c));
	int			k;

	for (k = 0; k < n; k++)
		if (kept[k] && Dist(g, cv, ids[k]) < d)
			return false;
	return true;
}

/*
 * A new element's list on one level from the search's candidates (sorted nearest first):
 * every candidate's verdict, then the kept ones and the nearest pruned ones, at most max,
 * in distance order. Returns the count.
 */
static int
SelectNeighbors(HnswGraph *g, const VsScored *sorted, int n, int max, int32 *out, float *out_dist,
				bool *out_kept, bool fill)
{
	bool	   *kept = palloc(sizeof(bool) * Max(n, 1));
	int32	   *ids = palloc(sizeof(int32) * Max(n, 1));
	int			nkept = 0;
	int			room;
	int			count = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		ids[i] = (int32) sorted[i].id;
		/* once max are kept, the rest can only be pruned or left out */
		kept[i] = nkept < max && KeptAgainst(g, ids[i], sorted[i].dist, ids, kept, i);
		nkept += kept[i];
	}
	room = fill ? max - Min(nkept, max) : 0;
	for (i = 0; i < n && count < max; i++)
	{
		if (!kept[i])
		{
			if (room == 0)
				continue;
			room--;
		}
		out[count] = ids[i];
		out_dist[count] = sorted[i].dist;
		out_kept[count] = kept[i];
		count++;
	}
	pfree(ids);
	pfree(kept);
	return count;
}

/*
 * After a candidate was put at position p of a list whose verdicts were up to date: its
 * verdict, and the verdicts after it that it changes, as pgvector updates them. A kept
 * candidate after p can only lose its place to a candidate newly kept before it (the new
 * one, or one that a loss let in); a pruned one can only be let in when a kept one before
 * it was lost, and then it is judged again against all that is kept before it.
 */
static void
UpdateVerdicts(HnswGraph *g, const int32 *ids, const float *dists, bool *kept, int n, int p)
{
	int			added[2 * HNSW_MAX_M + 1];
	int			nadded = 0;
	bool		lost_any = false;
	int			i;

	kept[p] = KeptAgainst(g, ids[p], dists[p], ids, kept, p);
	if (kept[p])
		added[nadded++] = p;
	for (i = p + 1; i < n; i++)
	{
		if (kept[i])
		{
			const float *cv = NodeVector(NodeOf(g, ids[i]));

			for (int k = 0; k < nadded; k++)
				if (Dist(g, cv, ids[added[k]]) < dists[i])
				{
					kept[i] = false;
					lost_any = true;
					break;
				}
		}
		else if (lost_any && KeptAgainst(g, ids[i], dists[i], ids, kept, i))
		{
			kept[i] = true;
			added[nadded++] = i;
		}
	}
}

/* Puts (id, dist) into a list sorted nearest first, making room at its place; returns it. */
static int
InsertSorted(int32 *ids, float *dists, bool *kept, int n, int32 id, float dist)
{
	int			p = n;

	while (p > 0 && (dists[p - 1] > dist || (dists[p - 1] == dist && ids[p - 1] > id)))
	{
		ids[p] = ids[p - 1];
		dists[p] = dists[p - 1];
		kept[p] = kept[p - 1];
		p--;
	}
	ids[p] = id;
	dists[p] = dist;
	kept[p] = false;
	return p;
}

/* Removes position p of a list of n. */
static void
RemoveAt(int32 *ids, float *dists, bool *kept, int n, int p)
{
	memmove(ids + p, ids + p + 1, sizeof(int32) * (n - p - 1));
	memmove(dists + p, dists + p + 1, sizeof(float) * (n - p - 1));
	memmove(kept + p, kept + p + 1, sizeof(bool) * (n - p - 1));
}

/*
 * Links e -> neighbour n on a level. A full list gives up one member, the one the
 * heuristic over the list and e would leave out: the farthest pruned candidate, or the
 * farthest of all when every one is kept. The cached distances and verdicts make this a
 * few distance computations, not a new heuristic over the whole list.
 */
static void
LinkBack(HnswGraphBuilder *b, int32 n, int32 e, int level)
{
	HnswGraph  *g = b->g;
	int			cap = HnswCapacity(&g->shape, level);
	HnswNode   *node = NodeOf(g, n);
	float		d = Dist(g, NodeVector(node), e);
	uint16	   *count_at = NodeCount(g, node, level);
	int32	   *ids = b->list_ids;
	float	   *dists = b->list_dists;
	bool	   *kept = b->list_kept;
	int			count;
	int			p;

	if (g->concurrent)
		LWLockAcquire(LinksLock(g, n), LW_EXCLUSIVE);
	count = *count_at;
	memcpy(ids, NodeLinks(g, node, level), sizeof(int32) * count);
	memcpy(dists, NodeLinkDists(g, node, level), sizeof(float) * count);
	memcpy(kept, NodeLinkKept(g, node, level), sizeof(bool) * count);
	p = InsertSorted(ids, dists, kept, count, e, d);
	UpdateVerdicts(g, ids, dists, kept, count + 1, p);
	if (count + 1 > cap && !FillsLevel(&g->shape, level))
	{
		/* a list of the heuristic's picks only; the room fills again with later links */
		int			nkept = 0;

		for (int i = 0; i <= count; i++)
			if (kept[i] && nkept < cap)
			{
				ids[nkept] = ids[i];
				dists[nkept] = dists[i];
				kept[nkept] = true;
				nkept++;
			}
		count = nkept;
	}
	else if (count + 1 > cap)
	{
		int			drop = count;

		for (int i = count; i >= 0; i--)
			if (!kept[i])
			{
				drop = i;
				break;
			}
		RemoveAt(ids, dists, kept, count + 1, drop);
	}
	else
		count++;
	memcpy(NodeLinks(g, node, level), ids, sizeof(int32) * count);
	memcpy(NodeLinkDists(g, node, level), dists, sizeof(float) * count);
	memcpy(NodeLinkKept(g, node, level), kept, sizeof(bool) * count);
	*count_at = (uint16) count;
	if (g->concurrent)
		LWLockRelease(LinksLock(g, n));
}

/*
 * Sorts a list that was changed without its order (HnswGraphConnect's links) and judges
 * every member again.
 */
static void
RejudgeList(HnswGraph *g, int32 n, int level)
{
	HnswNode   *node = NodeOf(g, n);
	int			count = *NodeCount(g, node, level);
	int32	   *links = NodeLinks(g, node, level);
	float	   *dists = NodeLinkDists(g, node, level);
	bool	   *kept = NodeLinkKept(g, node, level);
	int32		ids[2 * HNSW_MAX_M];
	float		ds[2 * HNSW_MAX_M];
	int			k;

	for (k = 0; k < count; k++)
	{
		ids[k] = links[k];
		ds[k] = Dist(g, NodeVector(node), links[k]);
	}
	for (k = 0; k < count; k++)
		(void) InsertSorted(links, dists, kept, k, ids[k], ds[k]);
	for (k = 0; k < count; k++)
		kept[k] = KeptAgainst(g, links[k], dists[k], links, kept, k);
}

/* Adds a heap row to element i if it holds exactly this vector and has room. */
static bool
AddDuplicate(HnswGraph *g, int32 i, const float *x, ItemPointer heaptid)
{
	HnswNode   *node = NodeOf(g, i);
	bool		added = false;

	if (memcmp(NodeVector(node), x, sizeof(float) * g->shape.dim) != 0)
		return false;
	if (g->concurrent)
		LWLockAcquire(LinksLock(g, i), LW_EXCLUSIVE);
	if (node->nheaptids < HNSW_HEAPTIDS)
	{
		node->heaptids[node->nheaptids++] = *heaptid;
		added = true;
	}
	if (g->concurrent)
		LWLockRelease(LinksLock(g, i));
	return added;
}

/*
 * Reserves and fills the records of a new, unlinked element: the next level-0 record, and
 * one from the end for its upper levels; -1 if the region is full.
 */
static int32
Claim(HnswGraph *g, const float *x, ItemPointer heaptid, int level)
{
	Size		upper_bytes = UpperBytes(&g->shape, level);
	Size		upper = 0;
	int32		e = -1;
	HnswNode   *node;

	SpinLockAcquire(&g->mutex);
	if (g->n < PG_INT32_MAX &&
		g->base + ((Size) g->n + 1) * g->record_bytes + upper_bytes <= g->bottom)
	{
		e = g->n++;
		g->bottom -= upper_bytes;
		upper = upper_bytes > 0 ? g->bottom : 0;
	}
	SpinLockRelease(&g->mutex);
	if (e < 0)
		return -1;

	node = NodeOf(g, e);
	node->level = (uint8) level;
	node->nheaptids = 1;
	node->count0 = 0;
	node->heaptids[0] = *heaptid;
	memcpy(NodeVector(node), x, sizeof(float) * g->shape.dim);
	*(Size *) ((char *) node + UpperOffsetAt(&g->shape)) = upper;
	if (level > 0)
		memset(NodeCount(g, node, 1), 0, sizeof(uint16) * level);
	return e;
}

/*
 * Searches every level the element will live on (down to 0) from the entry point, then
 * claims its record unless an equal vector takes the row, then fills its own lists, then
 * links back. `*e` is the element when it was claimed before (the first one raced for
 * the entry point and lost). False if the graph is full.
 */
static bool
Link(HnswGraphBuilder *b, const float *x, ItemPointer heaptid, int level, int32 ep, int max_level,
	 int32 *e)
{
	HnswGraph  *g = b->g;
	int			nw[HNSW_MAX_LEVEL + 1];
	float		ep_dist = Dist(g, x, ep);
	int			top = Min(level, max_level);
	int			l;

	for (l = max_level; l > level; l--)
		ep = Greedy(b, x, ep, &ep_dist, l);
	for (l = top; l >= 0; l--)
	{
		if (l == top)
		{
			b->found[l][0].dist = ep_dist;
			b->found[l][0].id = (uint64) ep;
			nw[l] = 1;
		}
		else
		{
			memcpy(b->found[l], b->found[l + 1], sizeof(VsScored) * nw[l + 1]);
			nw[l] = nw[l + 1];
		}
		nw[l] = SearchLayer(b, x, b->found[l], nw[l], l);
	}

	if (*e < 0)
	{
		if (!g->distinct && nw[0] > 0 && b->found[0][0].dist <= 0 &&
			AddDuplicate(g, (int32) b->found[0][0].id, x, heaptid))
			return true;
		*e = Claim(g, x, heaptid, level);
		if (*e < 0)
			return false;
	}

	/* 2m on level 0, as the lists there hold 2m: a denser bottom level, better recall */
	for (l = top; l >= 0; l--)
	{
		HnswNode   *node = NodeOf(g, *e);

		*NodeCount(g, node, l) = (uint16) SelectNeighbors(g, b->found[l], nw[l],
														  HnswCapacity(&g->shape, l),
														  NodeLinks(g, node, l),
														  NodeLinkDists(g, node, l),
														  NodeLinkKept(g, node, l),
														  FillsLevel(&g->shape, l));
	}
	for (l = top; l >= 0; l--)
	{
		HnswNode   *node = NodeOf(g, *e);
		int32	   *mine = NodeLinks(g, node, l);
		int			count = *NodeCount(g, node, l);
		int			k;

		for (k = 0; k < count; k++)
			LinkBack(b, mine[k], *e, l);
	}
	return true;
}

bool
HnswGraphInsert(HnswGraphBuilder *b, const float *x, ItemPointer heaptid, int level)
{
	HnswGraph  *g = b->g;
	int32		e = -1;
	int32		ep;
	int			max_level;
	bool		raises;
	bool		added;

	ReadEntry(g, &ep, &max_level);
	if (ep < 0)
	{
		e = Claim(g, x, heaptid, level);
		if (e < 0)
			return false;
		SpinLockAcquire(&g->mutex);
		if (g->entry < 0)
		{
			g->entry = e;
			g->max_level = level;
		}
		ep = g->entry;
		max_level = g->max_level;
		SpinLockRelease(&g->mutex);
		if (ep == e)
			return true;
	}

	raises = level > max_level;
	if (raises && g->concurrent)
	{
		LWLockAcquire(&g->entry_lock, LW_EXCLUSIVE);
		ReadEntry(g, &ep, &max_level);	/* another raise may have finished meanwhile */
	}
	added = Link(b, x, heaptid, level, ep, max_level, &e);
	if (added && e >= 0 && level > max_level)
	{
		SpinLockAcquire(&g->mutex);
		if (level > g->max_level)
		{
			g->entry = e;
			g->max_level = level;
		}
		SpinLockRelease(&g->mutex);
	}
	if (raises && g->concurrent)
		LWLockRelease(&g->entry_lock);
	return added;
}

/*
 * The ef_construction elements nearest to x that a search from the entry point finds
 * (down the levels as an insert searches, or on level 0 alone), nearest first, in
 * b->found[0]; returns how many.
 */
static int
SearchFromEntry(HnswGraphBuilder *b, const float *x, bool level0_only)
{
	HnswGraph  *g = b->g;
	int32		ep;
	int			max_level;
	float		ep_dist;
	int			l;

	ReadEntry(g, &ep, &max_level);
	ep_dist = Dist(g, x, ep);
	for (l = level0_only ? 0 : max_level; l > 0; l--)
		ep = Greedy(b, x, ep, &ep_dist, l);
	b->found[0][0].dist = ep_dist;
	b->found[0][0].id = (uint64) ep;
	return SearchLayer(b, x, b->found[0], 1, 0);
}

/*
 * Marks reached what `from` leads to by level-0 links, breadth first. A scan descends the
 * upper levels to an element there and explores level 0 from it: what level-0
 * links lead to from an element on an upper level is what a scan can find.
 */
static void
MarkReached(HnswGraph *g, int32 from, bool *reached, int32 *queue)
{
	int32		head = 0;
	int32		tail = 0;

	if (reached[from])
		return;
	reached[from] = true;
	queue[tail++] = from;
	while (head < tail)
	{
		HnswNode   *node = NodeOf(g, queue[head++]);
		int32	   *links = NodeLinks(g, node, 0);
		int			count = node->count0;
		int			k;

		for (k = 0; k < count; k++)
			if (!reached[links[k]])
			{
				reached[links[k]] = true;
				queue[tail++] = links[k];
			}
	}
}

/* What level-0 links lead to from the entry point. */
static void
MarkAllReached(HnswGraph *g, bool *reached, int32 *queue)
{
	memset(reached, 0, sizeof(bool) * g->n);
	MarkReached(g, g->entry, reached, queue);
}

/*
 * A level-0 link n -> u: into free room, else in place of n's farthest neighbour that
 * other level-0 links also lead to (indegree counts them), so that no element loses its
 * last link; false if n has no such neighbour.
 */
static bool
AddLevel0Link(HnswGraph *g, int32 n, int32 u, int32 *indegree)
{
	HnswNode   *node = NodeOf(g, n);
	int32	   *links = NodeLinks(g, node, 0);
	uint16	   *count = &node->count0;
	int			worst = -1;
	float		worst_dist = -get_float4_infinity();
	int			k;

	if (*count < HnswCapacity(&g->shape, 0))
		links[(*count)++] = u;
	else
	{
		for (k = 0; k < *count; k++)
		{
			float		d = Dist(g, NodeVector(node), links[k]);

			if (indegree[links[k]] > 1 && d > worst_dist)
			{
				worst_dist = d;
				worst = k;
			}
		}
		if (worst < 0)
			return false;
		indegree[links[worst]]--;
		links[worst] = u;
	}
	indegree[u]++;
	RejudgeList(g, n, 0);
	return true;
}

static void
CountIndegree(HnswGraph *g, int32 *indegree)
{
	int32		i;

	memset(indegree, 0, sizeof(int32) * g->n);
	for (i = 0; i < g->n; i++)
	{
		HnswNode   *node = NodeOf(g, i);
		int32	   *links = NodeLinks(g, node, 0);
		int			k;

		for (k = 0; k < node->count0; k++)
			indegree[links[k]]++;
	}
}

/*
 * Links u from the nearest of the nw elements found that is reached already and can take
 * the link; then what u leads to is reached too. False if none could.
 */
static bool
LinkFromFound(HnswGraph *g, HnswGraphBuilder *b, int nw, int32 u, bool *reached, int32 *queue,
			  int32 *indegree)
{
	int			i;

	for (i = 0; i < nw; i++)
	{
		int32		from = (int32) b->found[0][i].id;

		if (from != u && reached[from] && AddLevel0Link(g, from, u, indegree))
		{
			MarkReached(g, u, reached, queue);
			return true;
		}
	}
	return false;
}

/* Whether v links to u on level 0. */
static bool
LinksTo(HnswGraph *g, int32 v, int32 u)
{
	HnswNode   *node = NodeOf(g, v);
	int32	   *links = NodeLinks(g, node, 0);
	int			k;

	for (k = 0; k < node->count0; k++)
		if (links[k] == u)
			return true;
	return false;
}

/*
 * Gives every element a level-0 link from its own neighbourhood: if none of the elements
 * it links to links back, the nearest of them (the heuristic's first pick) does from now
 * on. An element whose only links come from afar is missed by a search that explores its
 * neighbourhood, whatever ef_search: in a tight group of near-equal vectors the heuristic
 * prunes all the links to some of them. Returns the number of links added.
 */
static int
LinkFromNeighborhood(HnswGraph *g, int32 *indegree)
{
	int			added = 0;
	int32		u;

	for (u = 0; u < g->n; u++)
	{
		HnswNode   *node = NodeOf(g, u);
		int32	   *links = NodeLinks(g, node, 0);
		int			count = node->count0;
		int			k;

		if ((u & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		for (k = 0; k < count && !LinksTo(g, links[k], u); k++)
			;
		if (count > 0 && k == count && AddLevel0Link(g, links[0], u, indegree))
			added++;
	}
	return added;
}

/*
 * The last resort for an element the rounds left out: a link from the nearest reached
 * element with a free level-0 slot, found by scoring every element, so no link is replaced
 * and nothing else can be cut off. Few elements ever get here (5 of 1,000 in one test set
 * of 256-d vectors with many near-equal ones); false if no reached element has room.
 */
static bool
LinkFromNearestWithRoom(HnswGraph *g, int32 u, bool *reached, int32 *queue, int32 *indegree)
{
	const float *x = NodeVector(NodeOf(g, u));
	int32		best = -1;
	float		best_dist = get_float4_infinity();
	int32		v;

	for (v = 0; v < g->n; v++)
	{
		float		d;

		if (!reached[v] || NodeOf(g, v)->count0 >= HnswCapacity(&g->shape, 0))
			continue;
		d = Dist(g, x, v);
		if (best < 0 || d < best_dist)
		{
			best = v;
			best_dist = d;
		}
	}
	if (best < 0)
		return false;
	(void) AddLevel0Link(g, best, u, indegree);
	MarkReached(g, u, reached, queue);
	return true;
}

/* Rounds of HnswGraphConnect: a link it replaces can cut off another element. */
#define HNSW_CONNECT_ROUNDS 8

/*
 * Makes level 0 connected: first gives every element a link from its own neighbourhood
 * (LinkFromNeighborhood), then links in the elements that no level-0 path from the entry
 * point reaches. Pruning leaves such islands, above all in tight groups of near-equal vectors:
 * the heuristic keeps one or two links into a group, a full list that shrinks may drop the
 * last link to an element, and well separated clusters may be joined on upper levels
 * only. A scan that descends into the wrong part of such a level 0 cannot find a neighbour
 * in another part, whatever ef_search; its sweep finds it, after everything else. Each
 * element left out gets a level-0 link from the nearest reached element a search finds
 * that has room or a link to spare (see AddLevel0Link), and what it leads to is reached
 * with it, so a few links join whole groups. Rounds repeat until none is left, within
 * HNSW_CONNECT_ROUNDS; what they leave (a replaced link can cut off another element) is
 * linked from the nearest reached element with room (LinkFromNearestWithRoom). Run by one
 * process once inserts are done. Returns the number of links added.
 */
int
HnswGraphConnect(HnswGraphBuilder *b, int *left)
{
	HnswGraph  *g = b->g;
	int32		n = g->n;
	bool	   *reached;
	int32	   *queue;
	int32	   *indegree;
	int			linked = 0;
	int			round;
	int32		u;

	*left = 0;
	/* inner product is no metric: its graphs keep no links to short vectors (verify.c) */
	if (g->entry < 0 || n < 2 || g->shape.metric == VS_METRIC_IP)
		return 0;
	reached = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE);
	queue = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	indegree = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	CountIndegree(g, indegree);
	linked = LinkFromNeighborhood(g, indegree);
	for (round = 0; round < HNSW_CONNECT_ROUNDS; round++)
	{
		int			before = linked;

		MarkAllReached(g, reached, queue);
		for (u = 0; u < n; u++)
		{
			int			nw;

			if (reached[u])
				continue;
			CHECK_FOR_INTERRUPTS();
			nw = SearchFromEntry(b, NodeVector(NodeOf(g, u)), false);
			if (!LinkFromFound(g, b, nw, u, reached, queue, indegree))
			{
				/* the search stayed in u's own island: search level 0 from the entry */
				nw = SearchFromEntry(b, NodeVector(NodeOf(g, u)), true);
				if (!LinkFromFound(g, b, nw, u, reached, queue, indegree))
					continue;
			}
			linked++;
		}
		if (linked == before)
			break;
	}
	MarkAllReached(g, reached, queue);
	for (u = 0; u < n; u++)
	{
		if (reached[u])
			continue;
		CHECK_FOR_INTERRUPTS();
		if (LinkFromNearestWithRoom(g, u, reached, queue, indegree))
			linked++;
		else
			*left += 1;
	}
	pfree(indegree);
	pfree(queue);
	pfree(reached);
	return linked;
}

int
HnswGraphLevel(HnswGraph *g, int32 i)
{
	return NodeOf(g, i)->level;
}

const float *
HnswGraphVector(HnswGraph *g, int32 i)
{
	return NodeVector(NodeOf(g, i));
}

const int32 *
HnswGraphLinks(HnswGraph *g, int32 i, int level, int *count)
{
	HnswNode   *node = NodeOf(g, i);

	*count = *NodeCount(g, node, level);
	return NodeLinks(g, node, level);
}

const ItemPointerData *
HnswGraphHeapTids(HnswGraph *g, int32 i, int *count)
{
	HnswNode   *node = NodeOf(g, i);

	*count = node->nheaptids;
	return node->heaptids;
}

void
HnswGraphLinkDetails(HnswGraph *g, int32 i, int level, const float **dists, const bool **kept)
{
	HnswNode   *node = NodeOf(g, i);

	*dists = NodeLinkDists(g, node, level);
	*kept = NodeLinkKept(g, node, level);
}
