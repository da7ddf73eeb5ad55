/*
 * ddl.c — refuses ALTER TABLE and ALTER INDEX commands that would leave a vecsearch index
 * its own build refuses: one that still answers queries, but that REINDEX, VACUUM FULL,
 * CLUSTER and pg_restore can never build again (an ivfpq index whose subvectors no longer
 * divide the dimension, an hnsw index on a column that lost its dimension).
 *
 * amoptions sees the reloptions alone, not the index they are for, so the checks that need
 * the column run after the command, in the same transaction: an ERROR rolls it back whole.
 * Each access method says what its build needs (HnswCheckDefinition, IvfpqCheckDefinition).
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_inherits.h"
#include "catalog/namespace.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/rel.h"

#include "ddl.h"
#include "hnsw.h"
#include "ivf.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

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

void
VsInstallDdlChecks(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = VsProcessUtility;
}
