/*
 * gpu.c — index builds on a GPU: vecsearch.build_device, and vecsearch_cuda.so (built from
 * nearest.cu beside this file) loaded on demand. The server side of src/cuda/: it is part of
 * vecsearch.so and built everywhere; only the CUDA object needs nvcc.
 *
 * The extension never links CUDA: the first build that may use a GPU dlopen()s the
 * shared object from the package library directory and asks it for a device. When that
 * fails (no file, because nvcc was not there at build time; no CUDA libraries; no device)
 * the reason is kept, `auto` builds on the CPU and `gpu` raises an ERROR that gives it.
 * During a build the GPU takes the large nearest-centroid searches (k-means assignment,
 * assigning rows to lists, PQ encoding and training) through batch.c's hook; a CUDA
 * failure midway (out of device memory, a lost device) sends the rest of the build to the
 * CPU with a NOTICE, never a crash.
 */
#include "postgres.h"

#include <dlfcn.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "batch.h"
#include "gpu.h"
#include "vs_cuda.h"

int			vs_build_device = VS_BUILD_DEVICE_AUTO;

const struct config_enum_entry vs_build_device_options[] = {
	{"auto", VS_BUILD_DEVICE_AUTO, false},
	{"cpu", VS_BUILD_DEVICE_CPU, false},
	{"gpu", VS_BUILD_DEVICE_GPU, false},
	{NULL, 0, false}
};

static const VsCudaApi *cuda;
static bool cuda_tried;
static char cuda_why[512];
static char cuda_device[256];
static const char *building;	/* the index being built, for messages */

/* The CUDA side, loaded and probed once per backend; NULL (and cuda_why) if unusable. */
static const VsCudaApi *
LoadCuda(void)
{
	char		path[MAXPGPATH];
	void	   *handle;
	VsCudaEntryFn entry;
	const VsCudaApi *api;

	if (cuda_tried)
		return cuda;
	cuda_tried = true;
	snprintf(path, sizeof(path), "%s/vecsearch_cuda%s", pkglib_path, DLSUFFIX);
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
	{
		const char *e = dlerror();

		if (access(path, F_OK) != 0)
			snprintf(cuda_why, sizeof(cuda_why),
					 "vecsearch was built without CUDA (nvcc was not found): %s is not installed", path);
		else
			snprintf(cuda_why, sizeof(cuda_why), "could not load %s: %s", path, e ? e : "unknown error");
		return NULL;
	}
	entry = (VsCudaEntryFn) dlsym(handle, VS_CUDA_ENTRY);
	api = entry ? entry() : NULL;
	if (api == NULL || api->abi != VS_CUDA_ABI)
	{
		snprintf(cuda_why, sizeof(cuda_why), "%s is from another vecsearch version", path);
		return NULL;
	}
	if (api->probe(cuda_device, sizeof(cuda_device)) != 0)
	{
		strlcpy(cuda_why, cuda_device, sizeof(cuda_why));
		return NULL;
	}
	cuda = api;
	return cuda;
}

/* batch.c's hook: the GPU, or (after a failure, for the rest of the build) the CPU. */
static int
GpuNearest(const float *x, size_t m, const float *y, size_t n, size_t dim, int *nearest)
{
	char		err[512];

	if (cuda->nearest_l2(x, m, y, n, dim, nearest, NULL, err, sizeof(err)) == 0)
		return 0;
	vs_nearest_l2_hook = NULL;
	ereport(NOTICE,
			(errmsg("GPU failed while building index \"%s\"; the build goes on on the CPU", building),
			 errdetail("%s", err)));
	return -1;
}

void
VsGpuBuildBegin(Relation index)
{
	vs_nearest_l2_hook = NULL;
	if (vs_build_device == VS_BUILD_DEVICE_CPU)
		return;
	if (LoadCuda() == NULL)
	{
		if (vs_build_device == VS_BUILD_DEVICE_GPU)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("vecsearch.build_device is \"gpu\" but no GPU is usable"),
					 errdetail("%s", cuda_why),
					 errhint("Set vecsearch.build_device to \"auto\" or \"cpu\" to build on the CPU.")));
		ereport(DEBUG2,
				(errmsg_internal("index \"%s\" builds on the CPU: %s",
								 RelationGetRelationName(index), cuda_why)));
		return;
	}
	building = RelationGetRelationName(index);
	vs_nearest_l2_hook = GpuNearest;
	/*
	 * Asked for, the GPU is named in a NOTICE; chosen by auto, in the progress view's phase
	 * names only (a NOTICE on every build would differ from machine to machine).
	 */
	ereport(vs_build_device == VS_BUILD_DEVICE_GPU ? NOTICE : DEBUG1,
			(errmsg("index \"%s\" trains on the GPU", RelationGetRelationName(index)),
			 errdetail("%s", cuda_device)));
}

bool
VsGpuActive(void)
{
	return vs_nearest_l2_hook == GpuNearest;
}

void
VsGpuBuildEnd(void)
{
	vs_nearest_l2_hook = NULL;
	building = NULL;
}
