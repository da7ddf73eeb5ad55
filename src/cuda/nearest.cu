/*
 * nearest.cu — nearest-centroid search on the GPU (see vs_cuda.h).
 *
 * |x - y|^2 = |x|^2 + |y|^2 - 2 x.y: one cuBLAS sgemm gives x.y for a tile of rows against
 * a tile of centroids, and a kernel folds the tile into each row's running best (one warp
 * per row). Tiles are sized from the free device memory, so any number of rows and
 * centroids fits. The winner's distance is recomputed exactly on the host side's terms by
 * the caller only if it asks; here it is the expansion's, clamped at 0.
 */
#include <cfloat>
#include <cstdio>
#include <cstring>

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "vs_cuda.h"
}

namespace
{

struct Failure
{
	char	   *err;
	size_t		len;
};

bool
Check(cudaError_t status, const char *what, Failure *f)
{
	if (status == cudaSuccess)
		return true;
	snprintf(f->err, f->len, "%s: %s", what, cudaGetErrorString(status));
	return false;
}

bool
CheckBlas(cublasStatus_t status, const char *what, Failure *f)
{
	if (status == CUBLAS_STATUS_SUCCESS)
		return true;
	snprintf(f->err, f->len, "%s: cuBLAS status %d", what, (int) status);
	return false;
}

/* out[i] = |rows[i]|^2, one thread per row. */
__global__ void
SquaredNorms(const float *rows, size_t n, size_t dim, float *out)
{
	size_t		i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
	{
		float		s = 0;

		for (size_t j = 0; j < dim; j++)
			s += rows[i * dim + j] * rows[i * dim + j];
		out[i] = s;
	}
}

/*
 * dots is the tile's x.y, column-major as cuBLAS leaves it: dots[c * mt + r] for row r of
 * the x tile and centroid c of the y tile. One warp per row: each lane scans a stride of
 * the centroids, then the warp reduces (lowest index on ties) and folds the result into
 * the row's running best.
 */
__global__ void
FoldArgmin(const float *dots, size_t mt, size_t nt, size_t y_offset, const float *x_norms,
		   const float *y_norms, int *best, float *best_dist)
{
	size_t		r = (size_t) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	unsigned	lane = threadIdx.x % 32;
	float		d_best = FLT_MAX;
	int			i_best = -1;

	if (r >= mt)
		return;
	for (size_t c = lane; c < nt; c += 32)
	{
		float		d = x_norms[r] + y_norms[c] - 2.0f * dots[c * mt + r];

		d = d < 0 ? 0 : d;
		if (d < d_best)
		{
			d_best = d;
			i_best = (int) (y_offset + c);
		}
	}
	for (int off = 16; off > 0; off /= 2)
	{
		float		d = __shfl_down_sync(0xffffffffu, d_best, off);
		int			i = __shfl_down_sync(0xffffffffu, i_best, off);

		if (i >= 0 && (d < d_best || (d == d_best && (i_best < 0 || i < i_best))))
		{
			d_best = d;
			i_best = i;
		}
	}
	if (lane == 0 && i_best >= 0 &&
		(best[r] < 0 || d_best < best_dist[r] || (d_best == best_dist[r] && i_best < best[r])))
	{
		best[r] = i_best;
		best_dist[r] = d_best;
	}
}

__global__ void
FillBest(int *best, float *best_dist, size_t m)
{
	size_t		i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

	if (i < m)
	{
		best[i] = -1;
		best_dist[i] = FLT_MAX;
	}
}

struct Device
{
	cublasHandle_t blas = nullptr;
	float	   *x = nullptr,
			   *y = nullptr,
			   *dots = nullptr,
			   *xn = nullptr,
			   *yn = nullptr,
			   *best_dist = nullptr;
	int		   *best = nullptr;

	~Device()
	{
		cudaFree(x);
		cudaFree(y);
		cudaFree(dots);
		cudaFree(xn);
		cudaFree(yn);
		cudaFree(best_dist);
		cudaFree(best);
		if (blas)
			cublasDestroy(blas);
	}
};

/* Tile sizes: the centroids whole if a quarter of free memory holds them, rows to match. */
void
PlanTiles(size_t m, size_t n, size_t dim, size_t free_bytes, size_t *mt, size_t *nt)
{
	size_t		budget = free_bytes / 2;

	*nt = n;
	while (*nt > 1024 && sizeof(float) * (*nt) * (dim + 1) > budget / 2)
		*nt = (*nt + 1) / 2;
	/* rows: their vectors, norms, results, and the tile of dot products */
	*mt = budget / 2 / (sizeof(float) * (dim + *nt + 3));
	if (*mt > m)
		*mt = m;
	if (*mt < 1)
		*mt = 1;
}

int
NearestL2(const float *x, size_t m, const float *y, size_t n, size_t dim, int *nearest,
		  float *dist, char *err, size_t errlen)
{
	Failure		f = {err, errlen};
	Device		d;
	size_t		free_bytes = 0,
				total = 0,
				mt,
				nt;
	const float one = 1.0f,
				zero = 0.0f;

	if (m == 0)
		return 0;
	if (n == 0)
	{
		for (size_t i = 0; i < m; i++)
		{
			nearest[i] = -1;
			if (dist)
				dist[i] = INFINITY;
		}
		return 0;
	}
	if (!Check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo", &f))
		return -1;
	PlanTiles(m, n, dim, free_bytes, &mt, &nt);
	if (!CheckBlas(cublasCreate(&d.blas), "cublasCreate", &f) ||
		!Check(cudaMalloc(&d.x, sizeof(float) * mt * dim), "cudaMalloc rows", &f) ||
		!Check(cudaMalloc(&d.y, sizeof(float) * nt * dim), "cudaMalloc centroids", &f) ||
		!Check(cudaMalloc(&d.dots, sizeof(float) * mt * nt), "cudaMalloc dot products", &f) ||
		!Check(cudaMalloc(&d.xn, sizeof(float) * mt), "cudaMalloc row norms", &f) ||
		!Check(cudaMalloc(&d.yn, sizeof(float) * nt), "cudaMalloc centroid norms", &f) ||
		!Check(cudaMalloc(&d.best, sizeof(int) * mt), "cudaMalloc results", &f) ||
		!Check(cudaMalloc(&d.best_dist, sizeof(float) * mt), "cudaMalloc results", &f))
		return -1;

	for (size_t r0 = 0; r0 < m; r0 += mt)
	{
		size_t		rows = m - r0 < mt ? m - r0 : mt;

		if (!Check(cudaMemcpy(d.x, x + r0 * dim, sizeof(float) * rows * dim, cudaMemcpyHostToDevice),
				   "copying rows", &f))
			return -1;
		SquaredNorms<<<(rows + 255) / 256, 256>>>(d.x, rows, dim, d.xn);
		FillBest<<<(rows + 255) / 256, 256>>>(d.best, d.best_dist, rows);
		for (size_t c0 = 0; c0 < n; c0 += nt)
		{
			size_t		cols = n - c0 < nt ? n - c0 : nt;

			if (!Check(cudaMemcpy(d.y, y + c0 * dim, sizeof(float) * cols * dim, cudaMemcpyHostToDevice),
					   "copying centroids", &f))
				return -1;
			SquaredNorms<<<(cols + 255) / 256, 256>>>(d.y, cols, dim, d.yn);
			/* row-major x (rows x dim) is column-major dim x rows: dots = x . y^T, rows x cols */
			if (!CheckBlas(cublasSgemm(d.blas, CUBLAS_OP_T, CUBLAS_OP_N, (int) rows, (int) cols, (int) dim,
									   &one, d.x, (int) dim, d.y, (int) dim, &zero, d.dots, (int) rows),
						   "cublasSgemm", &f))
				return -1;
			FoldArgmin<<<(rows + 7) / 8, 256>>>(d.dots, rows, cols, c0, d.xn, d.yn, d.best, d.best_dist);
			if (!Check(cudaGetLastError(), "launching the argmin kernel", &f))
				return -1;
		}
		if (!Check(cudaMemcpy(nearest + r0, d.best, sizeof(int) * rows, cudaMemcpyDeviceToHost),
				   "copying results", &f))
			return -1;
		if (dist && !Check(cudaMemcpy(dist + r0, d.best_dist, sizeof(float) * rows, cudaMemcpyDeviceToHost),
						   "copying distances", &f))
			return -1;
	}
	return 0;
}

int
Probe(char *info, size_t len)
{
	int			count = 0;
	cudaDeviceProp prop;
	cudaError_t status = cudaGetDeviceCount(&count);

	if (status != cudaSuccess)
	{
		snprintf(info, len, "no CUDA device: %s", cudaGetErrorString(status));
		return -1;
	}
	if (count == 0)
	{
		snprintf(info, len, "no CUDA device");
		return -1;
	}
	status = cudaGetDeviceProperties(&prop, 0);
	if (status != cudaSuccess)
	{
		snprintf(info, len, "CUDA device 0: %s", cudaGetErrorString(status));
		return -1;
	}
	snprintf(info, len, "%s (%.0f GiB)", prop.name, prop.totalGlobalMem / 1073741824.0);
	return 0;
}

const VsCudaApi api = {VS_CUDA_ABI, Probe, NearestL2};

}								/* namespace */

extern "C" __attribute__((visibility("default"))) const VsCudaApi *
vs_cuda_api(void)
{
	return &api;
}
