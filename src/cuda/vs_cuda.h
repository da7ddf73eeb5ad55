/*
 * vs_cuda.h — the GPU side of index builds, as the extension sees it. Plain C.
 *
 * The kernels live in a shared object of their own, vecsearch_cuda.so, built by nvcc when
 * it is found and loaded on demand (src/cuda/gpu.c): the extension itself never links CUDA, so
 * it loads and works on machines without a GPU or CUDA libraries. The shared object
 * exports one symbol, VS_CUDA_ENTRY, which returns this table.
 *
 * Every function returns 0, or -1 with a message in err (never longjmps, never aborts):
 * the caller falls back to the CPU kernels or raises a clean error.
 */
#ifndef VS_CUDA_H
#define VS_CUDA_H

#include <stddef.h>

#define VS_CUDA_ABI		1
#define VS_CUDA_ENTRY	"vs_cuda_api"

typedef struct VsCudaApi
{
	int			abi;			/* VS_CUDA_ABI */

	/* A usable device: 0 and its description in info, or -1 and why not. */
	int			(*probe) (char *info, size_t len);

	/*
	 * For each of the m rows of x, the nearest of the n rows of y by L2 and the squared
	 * distance (k-means assignment, bulk list assignment, PQ encoding): distances as an
	 * sgemm (cuBLAS) fused with a per-row argmin, tiled so that any m and n fit in device
	 * memory. Ties go to the lower index, as on the CPU. dist may be NULL.
	 */
	int			(*nearest_l2) (const float *x, size_t m, const float *y, size_t n, size_t dim,
							   int *nearest, float *dist, char *err, size_t errlen);
} VsCudaApi;

typedef const VsCudaApi *(*VsCudaEntryFn) (void);

#endif							/* VS_CUDA_H */
