/*
 * pgvector_settings.c — pgvector's settings under their own names (pgvector_settings.h).
 *
 * Same types, ranges and meanings as pgvector 0.8.6; the defaults are pgvector's except where
 * vecsearch's own behaviour is better and the README says so: hnsw.iterative_scan and
 * ivfflat.iterative_scan go on past the first pass in distance order by default (pgvector:
 * off; its ivfflat has no strict_order, ours has), hnsw.max_scan_tuples has no limit by
 * default (pgvector: 20,000) and hnsw.scan_mem_multiplier is 1000 (pgvector: 1). Both prefixes are
 * reserved: a misspelt hnsw.* or ivfflat.* name is an ERROR, as in pgvector.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "hnsw.h"
#include "ivf.h"
#include "pgvector_settings.h"

/* vecsearch.* boot values: a knob at this value defers to its pgvector name */
#define VS_DEFAULT_EF_SEARCH	40
#define VS_DEFAULT_NPROBE		1
#define VS_DEFAULT_MAX_PROBES	(-1)
#define VS_DEFAULT_MAX_SCAN_TUPLES (-1)
/* pgvector: 1; here the most its range allows, so that a filtered scan seldom stops short */
#define VS_DEFAULT_SCAN_MEM_MULTIPLIER 1000

static int	hnsw_ef_search = VS_DEFAULT_EF_SEARCH;
static int	hnsw_iterative_scan = VS_SCAN_STRICT;
static int	hnsw_max_scan_tuples = INT_MAX;
static double hnsw_scan_mem_multiplier = VS_DEFAULT_SCAN_MEM_MULTIPLIER;
static int	ivfflat_probes = VS_DEFAULT_NPROBE;
static int	ivfflat_iterative_scan = VS_SCAN_STRICT;
static int	ivfflat_max_probes = IVF_MAX_LISTS;

static const struct config_enum_entry hnsw_iterative_scan_options[] = {
	{"off", VS_SCAN_ONE_PASS, false},
	{"relaxed_order", VS_SCAN_RELAXED, false},
	{"strict_order", VS_SCAN_STRICT, false},
	{NULL, 0, false}
};

/* pgvector's ivfflat has no strict_order; vecsearch's has, and it is the default */
static const struct config_enum_entry ivfflat_iterative_scan_options[] = {
	{"off", VS_SCAN_ONE_PASS, false},
	{"relaxed_order", VS_SCAN_RELAXED, false},
	{"strict_order", VS_SCAN_STRICT, false},
	{NULL, 0, false}
};

void
VsDefinePgvectorSettings(void)
{
	DefineCustomIntVariable("hnsw.ef_search",
							"pgvector's name for vecsearch.ef_search.",
							"Used while vecsearch.ef_search is at its default (40). Valid range is 1..1000.",
							&hnsw_ef_search, VS_DEFAULT_EF_SEARCH, 1, 1000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("hnsw.iterative_scan",
							 "How an hnsw scan goes on past its first ef_search candidates.",
							 "off: one pass, a query may return fewer rows than its LIMIT; "
							 "relaxed_order: rows as they are found; strict_order: in distance "
							 "order. vecsearch.hnsw_scan_order = relaxed overrides it.",
							 &hnsw_iterative_scan, VS_SCAN_STRICT, hnsw_iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.max_scan_tuples",
							"pgvector's name for vecsearch.hnsw_max_scan_tuples.",
							"Used while vecsearch.hnsw_max_scan_tuples is at its default (-1); "
							"the default here, 2147483647, means no limit.",
							&hnsw_max_scan_tuples, INT_MAX, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("hnsw.scan_mem_multiplier",
							 "Multiple of work_mem an hnsw scan may use for what it has found.",
							 "A scan that goes on past its first pass keeps every element it "
							 "scored; past this much memory it stops with a NOTICE. pgvector's "
							 "default is 1; vecsearch's, 1000, lets filtered scans finish.",
							 &hnsw_scan_mem_multiplier, VS_DEFAULT_SCAN_MEM_MULTIPLIER, 1, 1000,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ivfflat.probes",
							"pgvector's name for vecsearch.nprobe.",
							"Used while vecsearch.nprobe is at its default (1).",
							&ivfflat_probes, VS_DEFAULT_NPROBE, 1, IVF_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("ivfflat.iterative_scan",
							 "Whether an ivf scan reads more lists when rows are filtered out.",
							 "off: probes lists only, a query may return fewer rows than its "
							 "LIMIT; relaxed_order: the next lists too, up to max_probes, rows "
							 "as found; strict_order (vecsearch's own): in distance order. "
							 "vecsearch.ivf_scan_order = relaxed overrides strict_order.",
							 &ivfflat_iterative_scan, VS_SCAN_STRICT, ivfflat_iterative_scan_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ivfflat.max_probes",
							"pgvector's name for vecsearch.max_probes.",
							"Used while vecsearch.max_probes is at its default (-1); if it is less "
							"than the probes, the probes are used.",
							&ivfflat_max_probes, IVF_MAX_LISTS, 1, IVF_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("hnsw");
	MarkGUCPrefixReserved("ivfflat");
}

int
VsHnswEfSearch(void)
{
	return vs_hnsw_ef_search != VS_DEFAULT_EF_SEARCH ? vs_hnsw_ef_search : hnsw_ef_search;
}

VsScanMode
VsHnswScanMode(void)
{
	if (vs_hnsw_scan_order == VS_SCAN_ORDER_RELAXED)
		return VS_SCAN_RELAXED;
	return (VsScanMode) hnsw_iterative_scan;
}

int
VsHnswMaxScanTuples(void)
{
	if (vs_hnsw_max_scan_tuples != VS_DEFAULT_MAX_SCAN_TUPLES)
		return vs_hnsw_max_scan_tuples;
	return hnsw_max_scan_tuples == INT_MAX ? -1 : hnsw_max_scan_tuples;
}

/* Bytes an hnsw scan may hold: work_mem x hnsw.scan_mem_multiplier. */
Size
VsHnswScanMemLimit(void)
{
	double		bytes = (double) work_mem * 1024.0 * hnsw_scan_mem_multiplier;

	return (Size) Min(bytes, (double) (SIZE_MAX / 2));
}

bool
VsHnswMaxScanTuplesIsPgvectors(void)
{
	return vs_hnsw_max_scan_tuples == VS_DEFAULT_MAX_SCAN_TUPLES;
}

int
VsIvfProbes(void)
{
	return vs_ivf_nprobe != VS_DEFAULT_NPROBE ? vs_ivf_nprobe : ivfflat_probes;
}

/* Whether an ivf scan goes on past probes lists, and in which order (vecsearch.ivf_scan_order). */
VsScanMode
VsIvfScanMode(void)
{
	VsScanMode	mode = (VsScanMode) ivfflat_iterative_scan;

	/* vecsearch.max_probes away from its default goes on whatever ivfflat.iterative_scan says */
	if (mode == VS_SCAN_ONE_PASS && vs_ivf_max_probes == VS_DEFAULT_MAX_PROBES)
		return VS_SCAN_ONE_PASS;
	if (mode == VS_SCAN_RELAXED || vs_ivf_scan_order == VS_SCAN_ORDER_RELAXED)
		return VS_SCAN_RELAXED;
	return VS_SCAN_STRICT;
}

int
VsIvfMaxProbes(void)
{
	if (vs_ivf_max_probes != VS_DEFAULT_MAX_PROBES)
		return vs_ivf_max_probes;
	if (ivfflat_iterative_scan == VS_SCAN_ONE_PASS)
		return VsIvfProbes();
	return ivfflat_max_probes == IVF_MAX_LISTS ? -1 : ivfflat_max_probes;
}
