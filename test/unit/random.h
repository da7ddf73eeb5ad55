/*
 * random.h — the unit tests' pseudo-random numbers: splitmix64 from a fixed seed, so every
 * run tests the same data. A test file defines UNIT_RANDOM_SEED before including this.
 */
#ifndef VS_TEST_RANDOM_H
#define VS_TEST_RANDOM_H

#include <math.h>
#include <stdint.h>

#ifndef UNIT_RANDOM_SEED
#error "define UNIT_RANDOM_SEED before including random.h"
#endif

static uint64_t rng_state = UNIT_RANDOM_SEED;

static inline uint64_t
NextRandom(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double
UnitUniform(void)
{
	return (double) (NextRandom() >> 11) / (double) (1ULL << 53);
}

/* Standard normal (Box-Muller). */
static inline double
UnitGaussian(void)
{
	double		u = UnitUniform() + 1e-300;

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * UnitUniform());
}

#endif							/* VS_TEST_RANDOM_H */
