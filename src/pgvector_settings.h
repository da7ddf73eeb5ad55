/*
 * pgvector_settings.h — pgvector's setting names (hnsw.*, ivfflat.*), honoured, and what a
 * scan uses: the effective value of each knob that has two names.
 *
 * Each knob is one setting under two names: vecsearch.* and pgvector's. A vecsearch.* setting
 * at its default defers to the pgvector name, so a pgvector application that sets
 * hnsw.ef_search gets it, and a vecsearch.* setting away from its default wins.
 */
#ifndef VS_PGVECTOR_SETTINGS_H
#define VS_PGVECTOR_SETTINGS_H

/* How an hnsw scan goes on past its first ef_search candidates (hnsw.iterative_scan). */
typedef enum VsScanMode
{
	VS_SCAN_ONE_PASS,			/* off: the first pass only; a LIMIT may come up short */
	VS_SCAN_RELAXED,			/* relaxed_order: rows as found */
	VS_SCAN_STRICT				/* strict_order: never a row nearer than one returned */
} VsScanMode;

/*
 * vecsearch.hnsw_scan_order and vecsearch.ivf_scan_order: what a scan that goes on past its
 * first pass does with a row it finds nearer than one it returned already.
 */
#define VS_SCAN_ORDER_STRICT	0	/* leaves it out: rows in distance order */
#define VS_SCAN_ORDER_RELAXED	1	/* returns it when found */

extern void VsDefinePgvectorSettings(void);

extern int	VsHnswEfSearch(void);
extern VsScanMode VsHnswScanMode(void);
extern int	VsHnswMaxScanTuples(void);	/* -1: no limit */
extern Size VsHnswScanMemLimit(void);
extern int	VsIvfProbes(void);
extern VsScanMode VsIvfScanMode(void);
extern int	VsIvfMaxProbes(void);	/* lists a scan may read in all; -1: all */

/* Whether the element cap in force is hnsw.max_scan_tuples (else vecsearch's), for messages. */
extern bool VsHnswMaxScanTuplesIsPgvectors(void);

#endif							/* VS_PGVECTOR_SETTINGS_H */
