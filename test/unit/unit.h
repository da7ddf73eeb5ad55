/*
 * unit.h — the smallest test harness that does the job: named cases made of checks.
 *
 * A case passes when all its checks hold. Each case prints "ok - name" or "not ok - name"
 * (with the failing checks on stderr), and unit_finish() prints "<suite>: N passed, N failed"
 * over cases and returns the exit status. scripts/test.sh adds these lines up.
 */
#ifndef VS_UNIT_H
#define VS_UNIT_H

#include <stdio.h>
#include <stdlib.h>

/* malloc that ends the test run when memory runs out. */
static inline void *
UnitAlloc(size_t bytes)
{
	void	   *p = malloc(bytes > 0 ? bytes : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static int	unit_cases_passed;
static int	unit_cases_failed;
static int	unit_case_failures;		/* failed checks in the running case */

#define UNIT_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			if (unit_case_failures++ < 10) \
			{ \
				fprintf(stderr, "  check failed at %s:%d: ", __FILE__, __LINE__); \
				fprintf(stderr, __VA_ARGS__); \
				fputc('\n', stderr); \
			} \
		} \
	} while (0)

static inline void
unit_run(const char *name, void (*fn) (void))
{
	unit_case_failures = 0;
	fn();
	if (unit_case_failures == 0)
	{
		unit_cases_passed++;
		printf("ok - %s\n", name);
	}
	else
	{
		unit_cases_failed++;
		printf("not ok - %s (%d failed checks)\n", name, unit_case_failures);
	}
	fflush(stdout);
}

#define UNIT_RUN(fn) unit_run(#fn, fn)

static inline int
unit_finish(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, unit_cases_passed, unit_cases_failed);
	return unit_cases_failed == 0 ? 0 : 1;
}

#endif							/* VS_UNIT_H */
