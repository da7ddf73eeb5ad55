/*
 * dispatch.c — which kernel table runs: the CPU is asked once, the best table it can run is
 * made active, and VECSEARCH_SIMD (or a caller, e.g. the server's GUC) can ask for another.
 *
 * A CPU feature bit alone is not enough: the OS must also save the wider registers on a
 * context switch, which it announces in XCR0 (read with xgetbv, allowed once OSXSAVE is
 * set). AVX2 needs the YMM state; AVX-512 needs YMM plus the opmask and both ZMM halves.
 * A hypervisor that hides AVX-512 state from a guest clears those XCR0 bits even when
 * cpuid still lists avx512f.
 */
#include "distance.h"

#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

const VsKernelTable *vs_kernels = &vs_kernels_scalar;

static VsIsa active_isa = VS_ISA_SCALAR;
static bool cpu_probed = false;
static bool isa_ok[VS_ISA_COUNT];
static bool kernels_initialized = false;

static const char *const isa_names[VS_ISA_COUNT] = {"scalar", "avx2", "avx512"};

#if defined(__x86_64__) || defined(__i386__)

/* XCR0 bits: SSE (1), AVX upper halves (2), opmask (5), ZMM0-15 upper halves (6), ZMM16-31 (7). */
#define XCR0_YMM_STATE		0x06u
#define XCR0_ZMM_STATE		0xe6u

static uint64_t
ReadXcr0(void)
{
	uint32_t	lo,
				hi;

	/* the xgetbv intrinsic would need -mxsave; the instruction itself is always there */
	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t) hi << 32) | lo;
}

static void
ProbeCpu(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;
	bool		avx,
				fma,
				osxsave;
	bool		avx2 = false,
				avx512f = false,
				f16c_popcnt;
	uint64_t	xcr0;

	if (__get_cpuid_max(0, NULL) < 7 || !__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return;
	avx = (ecx & bit_AVX) != 0;
	fma = (ecx & bit_FMA) != 0;
	f16c_popcnt = (ecx & bit_F16C) != 0 && (ecx & bit_POPCNT) != 0;
	osxsave = (ecx & bit_OSXSAVE) != 0;
	if (!osxsave || !avx)
		return;

	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	avx2 = (ebx & bit_AVX2) != 0;
	avx512f = (ebx & bit_AVX512F) != 0;

	xcr0 = ReadXcr0();
	if ((xcr0 & XCR0_YMM_STATE) != XCR0_YMM_STATE)
		return;
	/* every CPU with AVX2 has F16C and POPCNT; the tables' halfvec and bit kernels use them */
	isa_ok[VS_ISA_AVX2] = avx2 && fma && f16c_popcnt;
	isa_ok[VS_ISA_AVX512] = avx512f && f16c_popcnt && (xcr0 & XCR0_ZMM_STATE) == XCR0_ZMM_STATE;
}

#else

static void
ProbeCpu(void)
{
}

#endif

/*
 * Probing is cheap and gives the same answer every time, so a race between two threads
 * probing at once would only do the work twice; PostgreSQL backends are single-threaded.
 */
static void
EnsureProbed(void)
{
	if (cpu_probed)
		return;
	isa_ok[VS_ISA_SCALAR] = true;
	ProbeCpu();
	cpu_probed = true;
}

bool
vs_isa_supported(VsIsa isa)
{
	if ((int) isa < 0 || isa >= VS_ISA_COUNT)
		return false;
	EnsureProbed();
	return isa_ok[isa];
}

VsIsa
vs_isa_detect(void)
{
	if (vs_isa_supported(VS_ISA_AVX512))
		return VS_ISA_AVX512;
	if (vs_isa_supported(VS_ISA_AVX2))
		return VS_ISA_AVX2;
	return VS_ISA_SCALAR;
}

const char *
vs_isa_name(VsIsa isa)
{
	if ((int) isa < 0 || isa >= VS_ISA_COUNT)
		return "unknown";
	return isa_names[isa];
}

bool
vs_isa_from_name(const char *name, VsIsa *isa)
{
	int			i;

	if (name == NULL)
		return false;
	if (strcasecmp(name, "auto") == 0)
	{
		*isa = vs_isa_detect();
		return true;
	}
	for (i = 0; i < VS_ISA_COUNT; i++)
	{
		if (strcasecmp(name, isa_names[i]) == 0)
		{
			*isa = (VsIsa) i;
			return true;
		}
	}
	return false;
}

const VsKernelTable *
vs_kernel_table(VsIsa isa)
{
	static const VsKernelTable *const tables[VS_ISA_COUNT] = {
		&vs_kernels_scalar, &vs_kernels_avx2, &vs_kernels_avx512
	};

	if (!vs_isa_supported(isa))
		return NULL;
	return tables[isa];
}

bool
vs_kernels_select(VsIsa isa)
{
	const VsKernelTable *table = vs_kernel_table(isa);

	if (table == NULL)
		return false;
	vs_kernels = table;
	active_isa = isa;
	return true;
}

VsIsa
vs_kernels_active(void)
{
	return active_isa;
}

VsIsa
vs_isa_resolve(const char *request)
{
	VsIsa		isa;

	if (vs_isa_from_name(request, &isa) && vs_isa_supported(isa))
		return isa;
	return vs_isa_detect();
}

void
vs_kernels_init(void)
{
	if (kernels_initialized)
		return;
	/* silent on a bad value: the server reports it through its GUC, a test checks resolve */
	vs_kernels_select(vs_isa_resolve(getenv("VECSEARCH_SIMD")));
	kernels_initialized = true;
}
