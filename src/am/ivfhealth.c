/*
 * ivfhealth.c — vecsearch_ivf_health(index): is this ivf index still a good fit for its
 * data, or is it time to REINDEX?
 *
 * It reads the metapage and each list's head page only (counters kept by build, insert
 * and VACUUM), so it is cheap on any size of index. Drift compares inserts' mean squared
 * distance to the centroid of the list they joined with the same figure at build time:
 * inserts from a new distribution land far from every centroid, lists grow lopsided, and
 * the nprobe that gave good recall no longer does.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/index.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "ivf.h"

#define HEALTH_COLUMNS 14

static int
CompareUint32(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return (x > y) - (x < y);
}

static Relation
OpenIvfIndex(Oid indexoid)
{
	Relation	index = relation_open(indexoid, AccessShareLock);
	Oid			heapoid;

	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == NULL ||
		index->rd_indam->ambuild != ivfbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ivf or ivfpq index", RelationGetRelationName(index))));
	heapoid = IndexGetRelation(indexoid, false);
	if (pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(heapoid))));
	return index;
}

static const char *
Advice(const IvfMetaPageData *meta, double live, double inserted, double drift, uint32 empty)
{
	if (meta->trained_rows == 0)
		return "untrained: built on an empty table; REINDEX once the table has data";
	if (inserted > Max(meta->build_rows, 1.0))
		return "more rows inserted since the build than it saw; REINDEX to retrain the lists";
	if (drift > 1.5 && inserted > 0.1 * meta->build_rows)
		return "inserts lie far from the trained centroids; REINDEX to retrain the lists";
	if (live >= 10.0 * meta->lists && empty > meta->lists / 4)
		return "many empty lists; REINDEX (or use fewer lists) to balance them";
	return "ok";
}

PG_FUNCTION_INFO_V1(vecsearch_ivf_health);
Datum
vecsearch_ivf_health(PG_FUNCTION_ARGS)
{
	Relation	index = OpenIvfIndex(PG_GETARG_OID(0));
	IvfCache   *cache = IvfGetCache(index);
	IvfMetaPageData meta = cache->meta;
	uint32		lists = meta.lists;
	uint32	   *rows = palloc(sizeof(uint32) * lists);
	double		live = 0,
				dead = 0,
				inserted = 0,
				insert_sqdist = 0,
				drift;
	uint32		empty = 0;
	uint32		i;
	TupleDesc	desc;
	Datum		values[HEALTH_COLUMNS];
	bool		nulls[HEALTH_COLUMNS] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	for (i = 0; i < lists; i++)
	{
		Buffer		buffer = VsReadLocked(index, MAIN_FORKNUM, cache->heads[i], BUFFER_LOCK_SHARE);
		IvfPageOpaque ho = IvfPageGetOpaque(BufferGetPage(buffer));

		rows[i] = ho->nslots - ho->ndead;
		live += rows[i];
		dead += ho->ndead;
		inserted += ho->ninserted;
		insert_sqdist += ho->insert_sqdist;
		if (rows[i] == 0)
			empty++;
		UnlockReleaseBuffer(buffer);
		CHECK_FOR_INTERRUPTS();
	}
	qsort(rows, lists, sizeof(uint32), CompareUint32);

	drift = (inserted > 0 && meta.build_sqdist > 0) ?
		(insert_sqdist / inserted) / meta.build_sqdist : 0;
	values[0] = Int32GetDatum(lists);
	values[1] = Int32GetDatum(meta.dim);
	values[2] = CStringGetTextDatum(VsMetricName((VsMetric) meta.metric));
	values[3] = Int64GetDatum((int64) live);
	values[4] = Int64GetDatum((int64) dead);
	values[5] = Int64GetDatum(rows[0]);
	values[6] = Float8GetDatum(lists % 2 ? rows[lists / 2] :
							   (rows[lists / 2 - 1] + (double) rows[lists / 2]) / 2.0);
	values[7] = Int64GetDatum(rows[lists - 1]);
	values[8] = Int32GetDatum(empty);
	values[9] = Int64GetDatum((int64) meta.build_rows);
	values[10] = Int64GetDatum((int64) inserted);
	values[11] = Float8GetDatum(meta.build_sqdist);
	if (inserted > 0)
		values[12] = Float8GetDatum(drift);
	else
		nulls[12] = true;
	values[13] = CStringGetTextDatum(Advice(&meta, live, inserted, drift, empty));

	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
