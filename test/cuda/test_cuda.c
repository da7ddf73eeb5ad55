/*
 * test_cuda.c — the GPU kernels (vecsearch_cuda.so) against the CPU kernels, without a
 * server. Usage: test_cuda path/to/vecsearch_cuda.so
 *
 * Where no GPU is usable the run says "skipped" and why, and counts nothing as passed.
 * Otherwise each case compares the GPU's nearest centroids with vs_nearest_l2 on the same
 * random data: every row's GPU choice must be as near as the CPU's (ties and rounding
 * aside: within a relative 1e-4), for shapes that exercise the tiling (more rows than a
 * tile, centroids split into tiles) and the edges (one row, one centroid, no centroids).
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "distance.h"
#include "unit.h"
#include "vs_cuda.h"

#define UNIT_RANDOM_SEED 0x637564610aULL
#include "random.h"

static const VsCudaApi *gpu;

static void
check_shape(size_t m, size_t n, size_t dim)
{
	float	   *x = UnitAlloc(sizeof(float) * m * dim);
	float	   *y = UnitAlloc(sizeof(float) * (n ? n : 1) * dim);
	int		   *got = UnitAlloc(sizeof(int) * m);
	int		   *want = UnitAlloc(sizeof(int) * m);
	char		err[512];
	size_t		i,
				worse = 0,
				same = 0;

	for (i = 0; i < m * dim; i++)
		x[i] = (float) UnitGaussian();
	for (i = 0; i < n * dim; i++)
		y[i] = (float) UnitGaussian();
	UNIT_CHECK(gpu->nearest_l2(x, m, y, n, dim, got, NULL, err, sizeof(err)) == 0,
			   "%zu x %zu x %zu: %s", m, n, dim, err);
	vs_nearest_l2(x, m, y, n, dim, NULL, want, NULL);
	for (i = 0; i < m; i++)
	{
		float		dg,
					dw;

		if (n == 0)
		{
			worse += got[i] != -1;
			continue;
		}
		if (got[i] < 0 || (size_t) got[i] >= n)
		{
			worse++;
			continue;
		}
		same += got[i] == want[i];
		dg = vs_kernels->l2sq(x + i * dim, y + (size_t) got[i] * dim, dim);
		dw = vs_kernels->l2sq(x + i * dim, y + (size_t) want[i] * dim, dim);
		if (dg > dw * (1 + 1e-4f) + 1e-5f)
			worse++;
	}
	UNIT_CHECK(worse == 0, "%zu x %zu x %zu: %zu rows got a farther centroid than the CPU's",
			   m, n, dim, worse);
	printf("# %zu x %zu x %zu: %zu of %zu choices identical to the CPU's\n", m, n, dim, same, m);
	free(x);
	free(y);
	free(got);
	free(want);
}

static void
test_assignment_shapes(void)
{
	check_shape(5000, 1024, 128);
	check_shape(3000, 300, 7);
	check_shape(200000, 64, 16);
	check_shape(1, 1, 1);
	check_shape(10, 5000, 3);
	check_shape(100, 0, 8);
}

int
main(int argc, char **argv)
{
	void	   *handle;
	VsCudaEntryFn entry;
	char		info[512];

	vs_kernels_init();
	vs_blas_set_threads(1);
	if (argc < 2 || (handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL)
	{
		printf("test_cuda: skipped: cannot load %s: %s\n", argc > 1 ? argv[1] : "(no path)", dlerror());
		return 0;
	}
	entry = (VsCudaEntryFn) dlsym(handle, VS_CUDA_ENTRY);
	gpu = entry ? entry() : NULL;
	if (gpu == NULL || gpu->abi != VS_CUDA_ABI)
	{
		printf("test_cuda: 0 passed, 1 failed (%s has no usable %s)\n", argv[1], VS_CUDA_ENTRY);
		return 1;
	}
	if (gpu->probe(info, sizeof(info)) != 0)
	{
		printf("test_cuda: skipped: %s\n", info);
		return 0;
	}
	printf("# device: %s\n", info);
	UNIT_RUN(test_assignment_shapes);
	return unit_finish("test_cuda");
}
