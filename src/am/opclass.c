/*
 * opclass.c — what an operator class means to the AMs: its metric, and amvalidate.
 *
 * The opclasses name their distance function as support function 1. The AMs never call it
 * per row (they use the SIMD kernels); they read which function it is, by its C symbol,
 * so that a relocated extension or a renamed SQL function still maps to the right metric.
 */
#include "postgres.h"

#include <math.h>

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "access/genam.h"

#include "batch.h"
#include "common.h"
#include "distance.h"

char *
VsProcSymbol(Oid procid)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(procid));
	char	   *symbol = NULL;
	bool		isnull;
	Datum		d;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", procid);
	d = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull);
	if (!isnull)
		symbol = TextDatumGetCString(d);
	ReleaseSysCache(tuple);
	return symbol;
}

VsMetric
VsIndexMetric(Relation index)
{
	Oid			procid = index_getprocid(index, 1, 1);
	char	   *symbol = OidIsValid(procid) ? VsProcSymbol(procid) : NULL;

	if (symbol != NULL)
	{
		/* vector's and halfvec's; bit's Hamming distance is squared L2 over 0/1 floats */
		if (strcmp(symbol, "vector_l2_squared_distance") == 0 ||
			strcmp(symbol, "l2_distance") == 0 ||
			strcmp(symbol, "halfvec_l2_squared_distance") == 0 ||
			strcmp(symbol, "halfvec_l2_distance") == 0 ||
			strcmp(symbol, "sparsevec_l2_squared_distance") == 0 ||
			strcmp(symbol, "sparsevec_l2_distance") == 0 ||
			strcmp(symbol, "hamming_distance") == 0)
			return VS_METRIC_L2;
		if (strcmp(symbol, "vector_negative_inner_product") == 0 ||
			strcmp(symbol, "halfvec_negative_inner_product") == 0 ||
			strcmp(symbol, "sparsevec_negative_inner_product") == 0)
			return VS_METRIC_IP;
		if (strcmp(symbol, "cosine_distance") == 0 ||
			strcmp(symbol, "halfvec_cosine_distance") == 0 ||
			strcmp(symbol, "sparsevec_cosine_distance") == 0)
			return VS_METRIC_COSINE;
		if (strcmp(symbol, "jaccard_distance") == 0)
			return VS_METRIC_JACCARD;
		if (strcmp(symbol, "l1_distance") == 0 ||
			strcmp(symbol, "halfvec_l1_distance") == 0 ||
			strcmp(symbol, "sparsevec_l1_distance") == 0)
			return VS_METRIC_L1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("operator class of index \"%s\" has no distance vecsearch can index",
					RelationGetRelationName(index)),
			 errhint("Use vector_l2_ops, vector_ip_ops or vector_cosine_ops (or vector_l1_ops with hnsw), "
					 "their halfvec_* and sparsevec_* twins, bit_hamming_ops or bit_jaccard_ops.")));
	return VS_METRIC_L2;		/* not reached */
}

/*
 * Cosine indexes store unit vectors, so that one dot product ranks them; a zero vector (all
 * elements zero: vs_norm is exact enough that nothing else has norm 0) has no direction
 * (its cosine distance is NaN) and is not indexed. Returns false for it.
 */
bool
VsPrepareVector(VsMetric metric, float *x, int dim)
{
	double		norm;
	int			i;

	if (metric != VS_METRIC_COSINE)
		return true;
	norm = vs_norm(x, dim);
	if (norm == 0)
		return false;
	for (i = 0; i < dim; i++)
		x[i] = (float) (x[i] / norm);
	return true;
}

/*
 * Bits as 0.0 and 1.0: a.b counts the bits set in both, |a - b|^2 those set in one, so
 * |a OR b| = |a - b|^2 + a.b (every count exact in float). 1 when none is set in both, as
 * jaccard_distance(). Not a sum over elements: an index scores it on whole vectors only.
 */
static float
JaccardDistance(const float *a, const float *b, size_t dim)
{
	float		both = vs_kernels->dot(a, b, dim);

	if (!(both > 0))
		return 1.0f;
	return 1.0f - both / (vs_kernels->l2sq(a, b, dim) + both);
}

float
VsDistance(VsMetric metric, const float *a, const float *b, size_t dim)
{
	if (dim == 0)
		return 0;
	if (metric == VS_METRIC_L2)
		return vs_kernels->l2sq(a, b, dim);
	if (metric == VS_METRIC_L1)
		return vs_kernels->l1(a, b, dim);
	if (metric == VS_METRIC_JACCARD)
		return JaccardDistance(a, b, dim);
	return -vs_kernels->dot(a, b, dim);
}

/*
 * n rows, given either as pointers (rows) or one after another (contiguous), against q;
 * smaller is nearer. L1 and Jaccard have no batch kernel: one row at a time (hnsw scores a
 * few dozen rows a step).
 */
static void
Distances(VsMetric metric, const float *q, const float *const *rows, const float *contiguous,
		  size_t n, size_t dim, float *out)
{
	size_t		i;

	if (metric == VS_METRIC_L2)
	{
		if (rows)
			vs_l2sq_1xN_ptr(q, rows, n, dim, out);
		else
			vs_l2sq_1xN(q, contiguous, n, dim, out);
	}
	else if (metric == VS_METRIC_L1 || metric == VS_METRIC_JACCARD)
	{
		for (i = 0; i < n; i++)
			out[i] = VsDistance(metric, q, rows ? rows[i] : contiguous + i * dim, dim);
	}
	else
	{
		if (rows)
			vs_dot_1xN_ptr(q, rows, n, dim, out);
		else
			vs_dot_1xN(q, contiguous, n, dim, out);
		for (i = 0; i < n; i++)
			out[i] = -out[i];
	}
}

void
VsDistances(VsMetric metric, const float *q, const float *const *rows, size_t n, size_t dim,
			float *out)
{
	Distances(metric, q, rows, NULL, n, dim, out);
}

void
VsDistancesContiguous(VsMetric metric, const float *q, const float *rows, size_t n, size_t dim,
					  float *out)
{
	Distances(metric, q, NULL, rows, n, dim, out);
}

const char *
VsMetricName(VsMetric metric)
{
	switch (metric)
	{
		case VS_METRIC_L2:
			return "l2";
		case VS_METRIC_IP:
			return "inner product";
		case VS_METRIC_COSINE:
			return "cosine";
		case VS_METRIC_L1:
			return "l1";
		case VS_METRIC_JACCARD:
			return "jaccard";
	}
	return "unknown";
}

static void
ReportInvalid(const char *amname, const char *opclassname, const char *what)
{
	ereport(INFO,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("%s operator class \"%s\" %s", amname, opclassname, what)));
}

bool
VsValidateOpclass(Oid opclassoid, const char *amname)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	CatCList   *proclist;
	CatCList   *oprlist;
	bool		have_distance = false;
	int			i;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = pstrdup(NameStr(classform->opcname));
	/* the name it was created under: ivf's handler also serves pgvector's name, ivfflat */
	if (get_am_name(classform->opcmethod) != NULL)
		amname = get_am_name(classform->opcmethod);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (procform->amprocnum != 1)
		{
			ReportInvalid(amname, opclassname, "has a support function other than number 1");
			result = false;
			continue;
		}
		if (!check_amproc_signature(procform->amproc, FLOAT8OID, true, 2, 2,
									opcintype, opcintype))
		{
			ReportInvalid(amname, opclassname,
						  "has a support function 1 whose signature is not (vector, vector) -> float8");
			result = false;
			continue;
		}
		have_distance = true;
	}
	if (!have_distance)
	{
		ReportInvalid(amname, opclassname, "lacks support function 1 (the distance)");
		result = false;
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != 1 || oprform->amoppurpose != AMOP_ORDER)
		{
			ReportInvalid(amname, opclassname,
						  "has an operator that is not the ordering operator of strategy 1");
			result = false;
			continue;
		}
		if (!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ReportInvalid(amname, opclassname,
						  "has an ordering operator whose signature is not (vector, vector) -> float8");
			result = false;
		}
	}

	ReleaseCatCacheList(oprlist);
	ReleaseCatCacheList(proclist);
	ReleaseSysCache(classtup);
	return result;
}
