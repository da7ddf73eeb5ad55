/*
 * topk.h — scored items and the heaps that rank them.
 *
 * Plain C, no PostgreSQL headers. A scored item is a float distance (smaller is nearer)
 * and a 64-bit payload (a list number, a packed heap TID, a graph node). Ties on the
 * distance are broken by the payload, smaller first, so every order here is total and
 * results are deterministic.
 */
#ifndef VS_TOPK_H
#define VS_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct VsScored
{
	float		dist;
	uint64_t	id;
} VsScored;

/* a before b: smaller distance, then smaller id. NaN distances sort after every number. */
extern int	vs_scored_cmp(const VsScored *a, const VsScored *b);

/* Min-heap of n items (nearest on top), built in O(n). */
extern void vs_minheap_build(VsScored *items, size_t n);
/* Removes and returns the nearest item; *n must be > 0. */
extern VsScored vs_minheap_pop(VsScored *items, size_t *n);
extern void vs_minheap_push(VsScored *items, size_t *n, VsScored item);

/*
 * Bounded max-heap: keeps the `cap` nearest items seen (farthest on top, so it is the one
 * pushed out). Returns 1 when the item was kept. heap[0] is the current worst once full.
 */
extern int	vs_maxheap_push_bounded(VsScored *heap, size_t *n, size_t cap, VsScored item);
/* Sorts a heap built by vs_maxheap_push_bounded in place, nearest first. */
extern void vs_maxheap_sort(VsScored *heap, size_t n);

/*
 * The k smallest of dist[0..n) by (distance, index), nearest first: their indices go to
 * out_idx (k entries; k is clipped to n and the count written is returned).
 */
extern size_t vs_smallest_k(const float *dist, size_t n, size_t k, uint32_t *out_idx);

#endif							/* VS_TOPK_H */
