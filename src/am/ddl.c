/*
 * ddl.c — refuses ALTER TABLE and ALTER INDEX commands that would leave a vecsearch index
 * its own build refuses: one that still answers queries, but that REINDEX, VACUUM FULL,
 * CLUSTER and pg_restore can never build again (an ivfpq index whose subvectors no longer
 * divide the dimension, an hnsw index on a column that lost its dimension).
 *
 * amoptions sees the reloptions alone, not the index they are for, so the checks that need
 * the column run after the command, in the same transaction: an ERROR rolls it back whole.
 * Each access method says what its build needs (HnswCheckDefinition, IvfpqCheckDefinition).
 *
 * Two hooks, because this library is loaded on first use: a session's first ALTER of a
 * vecsearch index may be what loads it, halfway through the command, too late for the
 * ProcessUtility hook to see it. The object access hook, called as the command changes
 * the catalogs, notes every relation created or altered; the transaction checks them
 * before it commits or prepares. The ProcessUtility hook gives the ERROR at the command
 * itself whenever the library was loaded before it.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ddl.h"
#include "hnsw.h"
#include "ivf.h"

static ProcessUtility_hook_type prev_process_utility = NULL;
static object_access_hook_type prev_object_access = NULL;
/* relations this transaction created or altered, checked before it commits */
static List *altered = NIL;

/* Whether a subcommand can change what an index's build needs. */
static bool
ChangesIndexDefinition(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_SetRelOptions:
		case AT_ResetRelOptions:
		case AT_ReplaceRelOptions:
		case AT_AlterColumnType:
			return true;
		default:
			return false;
	}
}

static bool
NeedsCheck(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
		if (ChangesIndexDefinition(lfirst_node(AlterTableCmd, lc)))
			return true;
	return false;
}

static void
CheckIndexContext(void *arg)
{
	errcontext("index \"%s\" must stay one that REINDEX can build", (const char *) arg);
}

static void
CheckIndex(Oid indexoid)
{
	Relation	index = relation_open(indexoid, AccessShareLock);
	int			m;
	int			ef_construction;
	ErrorContextCallback context;

	context.callback = CheckIndexContext;
	context.arg = RelationGetRelationName(index);
	context.previous = error_context_stack;
	error_context_stack = &context;
	if (index->rd_rel->relkind == RELKIND_INDEX && index->rd_indam != NULL)
	{
		if (index->rd_indam->ambuild == hnswbuild)
			(void) HnswCheckDefinition(index, &m, &ef_construction);
		else if (index->rd_indam->ambuild == ivfbuild && IvfIsPq(index))
			IvfpqCheckDefinition(index);
	}
	error_context_stack = context.previous;
	relation_close(index, AccessShareLock);
}

/* The relation an ALTER named (an index, or a table and its partitions' indexes). */
static void
CheckRelation(Oid relid)
{
	List	   *rels = find_all_inheritors(relid, NoLock, NULL);
	ListCell   *lc;

	foreach(lc, rels)
	{
		Oid			oid = lfirst_oid(lc);
		Relation	rel = relation_open(oid, AccessShareLock);
		List	   *indexes = NIL;
		ListCell   *ic;

		if (rel->rd_rel->relkind == RELKIND_INDEX)
			indexes = list_make1_oid(oid);
		else if (rel->rd_rel->relhasindex)
			indexes = RelationGetIndexList(rel);
		relation_close(rel, AccessShareLock);
		foreach(ic, indexes)
			CheckIndex(lfirst_oid(ic));
	}
}

static void
VsProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				 ProcessUtilityContext context, ParamListInfo params,
				 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	RangeVar   *target = NULL;
	Oid			relid;

	/* a copy: without readOnlyTree, the command may scribble on its parse tree */
	if (IsA(parsetree, AlterTableStmt) && NeedsCheck((AlterTableStmt *) parsetree))
		target = copyObject(((AlterTableStmt *) parsetree)->relation);

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);

	if (target == NULL)
		return;
	/* the command locked it; NoLock finds what it altered (missing: ALTER ... IF EXISTS) */
	relid = RangeVarGetRelid(target, NoLock, true);
	if (OidIsValid(relid))
		CheckRelation(relid);
}

static void
VsObjectAccess(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	MemoryContext oldcxt;

	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (classId != RelationRelationId || (access != OAT_POST_CREATE && access != OAT_POST_ALTER))
		return;
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	altered = list_append_unique_oid(altered, objectId);
	MemoryContextSwitchTo(oldcxt);
}

static void
CheckAltered(XactEvent event, void *arg)
{
	List	   *relids = altered;
	ListCell   *lc;

	(void) arg;
	altered = NIL;				/* in TopTransactionContext, which goes with the transaction */
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		return;
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		/* dropped since, or created and dropped in a rolled-back subtransaction */
		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			CheckRelation(relid);
	}
}

void
VsInstallDdlChecks(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = VsProcessUtility;
	prev_object_access = object_access_hook;
	object_access_hook = VsObjectAccess;
	RegisterXactCallback(CheckAltered, NULL);
}
