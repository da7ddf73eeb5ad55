/*
 * hnswgraph.c — inserting into the in-memory graph of a build (Malkov & Yashunin,
 * arXiv:1603.09320): greedy descent through the upper levels, a best-first search of
 * ef_construction candidates on each level the new element lives on, neighbours chosen by
 * the paper's heuristic (a candidate is kept only if it is nearer to the new element than
 * to every neighbour kept before it), and links back from each neighbour, pruned with the
 * same heuristic when a list is full.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "hnswgraph.h"
#include "topk.h"

static inline float *
Vec(HnswGraph *g, int i)
{
	return g->vectors + (Size) i * g->shape.dim;
}

static inline float
Dist(HnswGraph *g, const float *q, int i)
{
	return VsDistance(g->shape.metric, q, Vec(g, i), g->shape.dim);
}

static inline int32 *
Links(HnswGraph *g, int i, int level)
{
	int32	   *p = g->links[i];

	if (level > 0)
		p += 2 * g->shape.m + (level - 1) * g->shape.m;
	return p;
}

Size
HnswGraphElementBytes(const HnswShape *shape, int level)
{
	return sizeof(float) * shape->dim + sizeof(int32) * (2 * shape->m + level * shape->m) +
		sizeof(uint16) * (level + 1) + sizeof(ItemPointerData) * HNSW_HEAPTIDS +
		2 * sizeof(void *) + 8;
}

HnswGraph *
HnswGraphCreate(const HnswShape *shape, int ef_construction, MemoryContext cxt)
{
	HnswGraph  *g = MemoryContextAllocZero(cxt, sizeof(HnswGraph));

	g->shape = *shape;
	g->ef_construction = ef_construction;
	g->entry = -1;
	g->max_level = -1;
	g->cxt = cxt;
	g->capacity = 1024;
	g->vectors = MemoryContextAllocHuge(cxt, sizeof(float) * shape->dim * g->capacity);
	g->heaptids = MemoryContextAlloc(cxt, sizeof(ItemPointerData) * HNSW_HEAPTIDS * g->capacity);
	g->nheaptids = MemoryContextAlloc(cxt, g->capacity);
	g->levels = MemoryContextAlloc(cxt, g->capacity);
	g->links = MemoryContextAlloc(cxt, sizeof(int32 *) * g->capacity);
	g->counts = MemoryContextAlloc(cxt, sizeof(uint16 *) * g->capacity);
	g->visited = MemoryContextAllocZero(cxt, sizeof(uint32) * g->capacity);
	return g;
}

static void
Grow(HnswGraph *g)
{
	int			cap = g->capacity * 2;

	g->vectors = repalloc_huge(g->vectors, sizeof(float) * g->shape.dim * (Size) cap);
	g->heaptids = repalloc_huge(g->heaptids, sizeof(ItemPointerData) * HNSW_HEAPTIDS * (Size) cap);
	g->nheaptids = repalloc_huge(g->nheaptids, cap);
	g->levels = repalloc_huge(g->levels, cap);
	g->links = repalloc_huge(g->links, sizeof(int32 *) * (Size) cap);
	g->counts = repalloc_huge(g->counts, sizeof(uint16 *) * (Size) cap);
	g->visited = repalloc_huge(g->visited, sizeof(uint32) * (Size) cap);
	memset(g->visited + g->capacity, 0, sizeof(uint32) * (cap - g->capacity));
	g->capacity = cap;
}

static uint32
NewEpoch(HnswGraph *g)
{
	if (++g->epoch == 0)
	{
		memset(g->visited, 0, sizeof(uint32) * g->capacity);
		g->epoch = 1;
	}
	return g->epoch;
}

/* Greedy walk on one level: the nearest element reachable by always improving. */
static int
Greedy(HnswGraph *g, const float *q, int ep, float *ep_dist, int level)
{
	bool		moved = true;

	while (moved)
	{
		int32	   *links = Links(g, ep, level);
		int			n = g->counts[ep][level];
		int			j;

		moved = false;
		for (j = 0; j < n; j++)
		{
			float		d = Dist(g, q, links[j]);

			if (d < *ep_dist)
			{
				*ep_dist = d;
				ep = links[j];
				moved = true;
			}
		}
	}
	return ep;
}

/*
 * Best-first search of one level from the entry points in `w` (n of them, distances set),
 * keeping the ef nearest in `w` (capacity ef), nearest first on return. `cand` is scratch
 * room for the candidate heap. Returns how many `w` holds.
 */
static int
SearchLayer(HnswGraph *g, const float *q, VsScored *w, int n, int ef, int level, VsScored *cand,
			Size cand_cap)
{
	uint32		epoch = NewEpoch(g);
	size_t		nw = 0;
	size_t		nc = 0;
	int			i;
	VsScored   *entries = palloc(sizeof(VsScored) * n);

	memcpy(entries, w, sizeof(VsScored) * n);
	for (i = 0; i < n; i++)
	{
		g->visited[entries[i].id] = epoch;
		vs_maxheap_push_bounded(w, &nw, ef, entries[i]);
		vs_minheap_push(cand, &nc, entries[i]);
	}
	pfree(entries);

	while (nc > 0)
	{
		VsScored	c = vs_minheap_pop(cand, &nc);
		int32	   *links;
		int			nl;
		int			j;

		if (nw >= (size_t) ef && c.dist > w[0].dist)
			break;
		links = Links(g, (int) c.id, level);
		nl = g->counts[c.id][level];
		for (j = 0; j < nl; j++)
		{
			int			e = links[j];
			VsScored	s;

			if (g->visited[e] == epoch)
				continue;
			g->visited[e] = epoch;
			s.dist = Dist(g, q, e);
			s.id = (uint64) e;
			if (nw < (size_t) ef || s.dist < w[0].dist)
			{
				vs_maxheap_push_bounded(w, &nw, ef, s);
				if (nc < cand_cap)
					vs_minheap_push(cand, &nc, s);
			}
		}
	}
	vs_maxheap_sort(w, nw);
	return (int) nw;
}

/*
 * The paper's neighbour heuristic over candidates sorted nearest first (distances to the
 * element whose list is built): keeps a candidate only if it is nearer to that element
 * than to every neighbour kept so far. Returns the number kept, at most `max`, in `out`.
 */
static int
SelectNeighbors(HnswGraph *g, const VsScored *sorted, int n, int max, int32 *out)
{
	int			kept = 0;
	int			i;

	for (i = 0; i < n && kept < max; i++)
	{
		int			c = (int) sorted[i].id;
		const float *cv = Vec(g, c);
		bool		good = true;
		int			k;

		for (k = 0; k < kept; k++)
			if (Dist(g, cv, out[k]) < sorted[i].dist)
			{
				good = false;
				break;
			}
		if (good)
			out[kept++] = c;
	}
	return kept;
}

/* Links e -> neighbour n on a level, pruning n's list with the heuristic when full. */
static void
LinkBack(HnswGraph *g, int n, int e, int level)
{
	int			cap = HnswCapacity(&g->shape, level);
	int32	   *links = Links(g, n, level);
	uint16		count = g->counts[n][level];
	VsScored   *cands;
	int			i;

	if (count < cap)
	{
		links[count] = e;
		g->counts[n][level] = count + 1;
		return;
	}
	cands = palloc(sizeof(VsScored) * (cap + 1));
	for (i = 0; i < count; i++)
	{
		cands[i].id = (uint64) links[i];
		cands[i].dist = VsDistance(g->shape.metric, Vec(g, n), Vec(g, links[i]), g->shape.dim);
	}
	cands[count].id = (uint64) e;
	cands[count].dist = VsDistance(g->shape.metric, Vec(g, n), Vec(g, e), g->shape.dim);
	/* sort nearest first (a small insertion sort: cap + 1 items) */
	for (i = 1; i <= count; i++)
	{
		VsScored	x = cands[i];
		int			k = i - 1;

		while (k >= 0 && vs_scored_cmp(&x, &cands[k]) < 0)
		{
			cands[k + 1] = cands[k];
			k--;
		}
		cands[k + 1] = x;
	}
	g->counts[n][level] = (uint16) SelectNeighbors(g, cands, count + 1, cap, links);
	pfree(cands);
}

/* Adds a heap row to element i if it holds exactly this vector and has room. */
static bool
AddDuplicate(HnswGraph *g, int i, const float *x, ItemPointer heaptid)
{
	if (g->nheaptids[i] >= HNSW_HEAPTIDS ||
		memcmp(Vec(g, i), x, sizeof(float) * g->shape.dim) != 0)
		return false;
	g->heaptids[(Size) i * HNSW_HEAPTIDS + g->nheaptids[i]++] = *heaptid;
	return true;
}

void
HnswGraphInsert(HnswGraph *g, const float *x, ItemPointer heaptid, int level)
{
	int			e = g->n;
	int			ef = Max(g->ef_construction, 2 * g->shape.m);
	int			l;
	Size		nlinks = 2 * g->shape.m + (Size) level * g->shape.m;
	VsScored   *w[HNSW_MAX_LEVEL + 1];
	int			nw[HNSW_MAX_LEVEL + 1];
	VsScored   *cand;
	Size		cand_cap;
	int			ep;
	float		ep_dist;
	int			top;

	if (g->n == g->capacity)
		Grow(g);
	memcpy(Vec(g, e), x, sizeof(float) * g->shape.dim);
	g->heaptids[(Size) e * HNSW_HEAPTIDS] = *heaptid;
	g->nheaptids[e] = 1;
	g->levels[e] = (uint8) level;

	if (g->entry < 0)
	{
		g->links[e] = MemoryContextAlloc(g->cxt, sizeof(int32) * nlinks);
		g->counts[e] = MemoryContextAllocZero(g->cxt, sizeof(uint16) * (level + 1));
		g->n++;
		g->memory += HnswGraphElementBytes(&g->shape, level);
		g->entry = e;
		g->max_level = level;
		return;
	}

	/* search every level the element will live on (down to 0) before linking anything */
	ep = g->entry;
	ep_dist = Dist(g, x, ep);
	for (l = g->max_level; l > level; l--)
		ep = Greedy(g, x, ep, &ep_dist, l);
	top = Min(level, g->max_level);
	cand_cap = (Size) ef * 2 * g->shape.m + 16;
	cand = palloc(sizeof(VsScored) * cand_cap);
	for (l = top; l >= 0; l--)
	{
		w[l] = palloc(sizeof(VsScored) * (ef + 1));
		if (l == top)
		{
			w[l][0].dist = ep_dist;
			w[l][0].id = (uint64) ep;
			nw[l] = 1;
		}
		else
		{
			memcpy(w[l], w[l + 1], sizeof(VsScored) * nw[l + 1]);
			nw[l] = nw[l + 1];
		}
		nw[l] = SearchLayer(g, x, w[l], nw[l], ef, l, cand, cand_cap);
	}
	pfree(cand);

	/* an identical vector already in the graph takes the row instead */
	if (nw[0] > 0 && w[0][0].dist <= 0 && AddDuplicate(g, (int) w[0][0].id, x, heaptid))
	{
		for (l = top; l >= 0; l--)
			pfree(w[l]);
		return;
	}

	g->links[e] = MemoryContextAlloc(g->cxt, sizeof(int32) * nlinks);
	g->counts[e] = MemoryContextAllocZero(g->cxt, sizeof(uint16) * (level + 1));
	g->n++;
	g->memory += HnswGraphElementBytes(&g->shape, level);
	for (l = top; l >= 0; l--)
	{
		int32	   *mine = Links(g, e, l);
		int			k;

		/* 2m on level 0, as the lists there hold 2m: a denser bottom level, better recall */
		g->counts[e][l] = (uint16) SelectNeighbors(g, w[l], nw[l], HnswCapacity(&g->shape, l), mine);
		for (k = 0; k < g->counts[e][l]; k++)
			LinkBack(g, mine[k], e, l);
		pfree(w[l]);
	}

	if (level > g->max_level)
	{
		g->entry = e;
		g->max_level = level;
	}
}
