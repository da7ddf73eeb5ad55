/*
 * reference.h — double-precision sums the kernel tests measure errors against
 * (the scale of a float sum's rounding error is the sum of its terms' magnitudes).
 */
#ifndef VS_TEST_REFERENCE_H
#define VS_TEST_REFERENCE_H

#include <math.h>
#include <stddef.h>

/* sum |a_i b_i| */
static inline double
AbsDotSum(const float *a, const float *b, size_t dim)
{
	double		s = 0.0;

	for (size_t i = 0; i < dim; i++)
		s += fabs((double) a[i] * b[i]);
	return s;
}

/* sum (a_i - b_i)^2 */
static inline double
SquaredDiffSum(const float *a, const float *b, size_t dim)
{
	double		s = 0.0;

	for (size_t i = 0; i < dim; i++)
		s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
	return s;
}

#endif							/* VS_TEST_REFERENCE_H */
