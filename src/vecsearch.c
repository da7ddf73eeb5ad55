/*
 * vecsearch.c — module load: kernel selection and the GUCs.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "batch.h"
#include "ddl.h"
#include "distance.h"
#include "gpu.h"
#include "hnsw.h"
#include "ivf.h"
#include "pgvector_settings.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* vecsearch.simd: which kernel table distance functions use; "auto" = what load chose. */
static int	simd_setting = VS_ISA_COUNT;
static VsIsa isa_at_load = VS_ISA_SCALAR;

/* VS_ISA_COUNT stands for "auto" in the enum. */
static const struct config_enum_entry simd_options[] = {
	{"auto", VS_ISA_COUNT, false},
	{"scalar", VS_ISA_SCALAR, false},
	{"avx2", VS_ISA_AVX2, false},
	{"avx512", VS_ISA_AVX512, false},
	{NULL, 0, false}
};

static const struct config_enum_entry scan_order_options[] = {
	{"strict", VS_SCAN_ORDER_STRICT, false},
	{"relaxed", VS_SCAN_ORDER_RELAXED, false},
	{NULL, 0, false}
};

static bool
CheckSimd(int *newval, void **extra pg_attribute_unused(), GucSource source pg_attribute_unused())
{
	if (*newval != VS_ISA_COUNT && !vs_isa_supported((VsIsa) *newval))
	{
		GUC_check_errdetail("This CPU does not support %s.", vs_isa_name((VsIsa) *newval));
		return false;
	}
	return true;
}

static bool
CheckMaxScanTuples(int *newval, void **extra pg_attribute_unused(), GucSource source pg_attribute_unused())
{
	if (*newval == 0)
	{
		GUC_check_errdetail("Use -1 for no limit, or a positive number of elements.");
		return false;
	}
	return true;
}

static void
AssignSimd(int newval, void *extra pg_attribute_unused())
{
	vs_kernels_select(newval == VS_ISA_COUNT ? isa_at_load : (VsIsa) newval);
}

void
_PG_init(void)
{
	/* CPU detection happens once here, honouring VECSEARCH_SIMD in the environment */
	vs_kernels_init();
	isa_at_load = vs_kernels_active();

	DefineCustomEnumVariable("vecsearch.simd",
							 "Selects the SIMD kernels used for distances.",
							 "auto picks the best the CPU supports at load (or what the "
							 "VECSEARCH_SIMD environment variable names); scalar, avx2 and "
							 "avx512 force one, for testing and comparison.",
							 &simd_setting,
							 VS_ISA_COUNT,
							 simd_options,
							 PGC_USERSET,
							 0,
							 CheckSimd, AssignSimd, NULL);

	DefineCustomIntVariable("vecsearch.nprobe",
							"Lists an ivf or ivfpq index scan reads (FAISS's nprobe).",
							"More lists: better recall, slower queries. Values above the "
							"index's lists read them all, which equals exact search.",
							&vs_ivf_nprobe,
							1, 1, IVF_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vecsearch.max_probes",
							"Lists an ivf scan may read in all when rows are filtered out.",
							"When a WHERE clause rejects rows and the executor keeps asking "
							"for more, the scan reads the next nprobe lists, up to this many "
							"in all. -1: no limit (all lists).",
							&vs_ivf_max_probes,
							-1, -1, IVF_MAX_LISTS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("vecsearch.build_device",
							 "Where index builds train and assign rows: auto, cpu or gpu.",
							 "auto uses a GPU when vecsearch was built with CUDA and a device is "
							 "usable, else the CPU; gpu without a usable GPU is an error.",
							 &vs_build_device,
							 VS_BUILD_DEVICE_AUTO,
							 vs_build_device_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vecsearch.rerank",
							"Candidates an ivfpq scan re-scores with exact distances.",
							"The nearest candidates by their PQ codes are re-ranked with the "
							"distances of the table's own vectors, this many at a time, and "
							"returned in exact distance order. 0: rows come back in PQ "
							"distance order.",
							&vs_ivfpq_rerank,
							IVFPQ_DEFAULT_RERANK, 0, 1000000,
							PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomBoolVariable("vecsearch.force_parallel_build",
							 "Builds ivf indexes with parallel workers even when it does not pay.",
							 "For testing. Normally a build uses workers "
							 "(max_parallel_maintenance_workers) only when assigning rows to "
							 "lists is most of its work.",
							 &vs_ivf_force_parallel_build,
							 false,
							 PGC_USERSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	DefineCustomIntVariable("vecsearch.ef_search",
							"Candidates an hnsw index scan keeps (FAISS's efSearch).",
							"More candidates: better recall, slower queries.",
							&vs_hnsw_ef_search,
							40, 1, 1000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vecsearch.hnsw_max_scan_tuples",
							"Elements an hnsw scan may score in all; -1: no limit.",
							"Every element a scan scores counts, deleted ones included. A scan "
							"that reaches the limit ends with a NOTICE, and its query may return "
							"fewer rows than its LIMIT: set it to bound the work of queries whose "
							"WHERE clause rejects most rows.",
							&vs_hnsw_max_scan_tuples,
							-1, -1, INT_MAX,
							PGC_USERSET, 0, CheckMaxScanTuples, NULL, NULL);
	DefineCustomEnumVariable("vecsearch.hnsw_scan_order",
							 "What an hnsw scan does with a row found after nearer rows were returned.",
							 "A scan that runs past its first ef_search candidates (a WHERE clause "
							 "rejects rows) can find a row nearer than one it already returned. "
							 "strict leaves such rows out, so rows come back in exact distance "
							 "order (a scan that comes up short because of it says so in a "
							 "NOTICE); relaxed returns them when found.",
							 &vs_hnsw_scan_order,
							 VS_SCAN_ORDER_STRICT,
							 scan_order_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("vecsearch.ivf_scan_order",
							 "What an ivf or ivfpq scan does with a row found after nearer rows were returned.",
							 "A scan that reads more lists than nprobe (a WHERE clause rejects "
							 "rows) can find a row nearer than one it already returned. strict "
							 "leaves such rows out, so rows come back in exact distance order (a "
							 "scan that comes up short because of it says so in a NOTICE); "
							 "relaxed returns them when found.",
							 &vs_ivf_scan_order,
							 VS_SCAN_ORDER_STRICT,
							 scan_order_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);

	IvfInitReloptions();
	IvfpqInitReloptions();
	HnswInitReloptions();
	VsInstallDdlChecks();
	/* one BLAS thread per backend: parallelism comes from PostgreSQL's workers */
	vs_blas_set_threads(1);

	MarkGUCPrefixReserved("vecsearch");
	VsDefinePgvectorSettings();
}

/* vecsearch_simd(): the name of the kernel table in use in this session. */
PG_FUNCTION_INFO_V1(vecsearch_simd);
Datum
vecsearch_simd(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(vs_isa_name(vs_kernels_active())));
}
