/*
 * ddl.h — checks on ALTER commands that would leave an index its build refuses (ddl.c).
 */
#ifndef VS_AM_DDL_H
#define VS_AM_DDL_H

/* Installs the ProcessUtility hook; from _PG_init. */
extern void VsInstallDdlChecks(void);

#endif							/* VS_AM_DDL_H */
