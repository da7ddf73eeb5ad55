/*
 * gpu.h — index builds on a GPU when one is usable (vecsearch.build_device).
 */
#ifndef VS_GPU_H
#define VS_GPU_H

#include "postgres.h"

#include "utils/rel.h"

#define VS_BUILD_DEVICE_AUTO	0
#define VS_BUILD_DEVICE_CPU		1
#define VS_BUILD_DEVICE_GPU		2

extern int	vs_build_device;
extern const struct config_enum_entry vs_build_device_options[];

/*
 * Around the training and assignment of a build: routes large nearest-centroid searches
 * to the GPU as vecsearch.build_device says (`gpu` names the device in a NOTICE, and is an
 * ERROR without a usable one), and back to the CPU at the end. End it in PG_FINALLY.
 */
extern void VsGpuBuildBegin(Relation index);
extern void VsGpuBuildEnd(void);
/* Whether large searches go to the GPU now (for the progress view's phase names). */
extern bool VsGpuActive(void);

#endif							/* VS_GPU_H */
