# vecsearch — PGXS build. `make && make install`, then `make installcheck` against a running server.
# Tests that need no server: `make unittest`. Fuzzing: `make fuzz` (clang + libFuzzer).

EXTENSION    = vecsearch
EXTVERSION   = 0.1.0
MODULE_big   = vecsearch
DATA         = sql/vecsearch--$(EXTVERSION).sql
PGFILEDESC   = "vecsearch - vector type, distance kernels and ANN index methods"

KERNEL_SRCS  = src/kernels/dispatch.c src/kernels/distance_scalar.c \
               src/kernels/distance_avx2.c src/kernels/distance_avx512.c \
               src/kernels/half.c src/kernels/batch.c src/kernels/kmeans.c src/kernels/pq.c src/kernels/topk.c
SQL_SRCS     = src/vecsearch.c src/pgvector_settings.c src/cuda/gpu.c src/vector.c src/vector_text.c src/vector_binary.c src/vector_ops.c src/vector_compare.c \
               src/vector_cast.c src/vector_agg.c src/halfvec.c src/halfvec_ops.c src/bit_ops.c \
               src/sparsevec.c src/sparsevec_ops.c
AM_SRCS      = src/am/common.c src/am/opclass.c src/am/storage.c \
               src/am/ivf.c src/am/ivflist.c src/am/ivfbuild.c src/am/ivfinsert.c src/am/ivfscan.c \
               src/am/parallel.c src/am/ivfparallel.c src/am/ivfvacuum.c src/am/ivfhealth.c src/am/ivfpq.c src/am/ivfpqscan.c src/am/rerank.c src/am/verify.c src/am/ivfverify.c src/am/hnswverify.c src/am/ddl.c \
               src/am/hnsw.c src/am/hnswelement.c src/am/hnswneighbors.c src/am/hnswgraph.c src/am/hnswbuild.c src/am/hnswpartition.c src/am/hnswparallel.c \
               src/am/hnswsearch.c src/am/hnswinsert.c src/am/hnswscan.c src/am/hnswvacuum.c src/am/hnswconnect.c
OBJS         = $(SQL_SRCS:.c=.o) $(AM_SRCS:.c=.o) $(KERNEL_SRCS:.c=.o)

REGRESS      = hnsw_insert_recall vector_io vector_typmod vector_ops vector_functions vector_cast \
               vector_compare vector_agg vector_errors vector_simd norms exact_search ivf ivfpq hnsw hnsw_edges \
               hnsw_recall build_device scale_out verify ddl pgvector_settings ivfflat scan_order halfvec bit halfvec_index sparsevec
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

# The server's headers as system headers: their own macros trip -Wextra, ours must not.
PG_CPPFLAGS  = -I$(srcdir)/src -I$(srcdir)/src/kernels -I$(srcdir)/src/am -I$(srcdir)/src/cuda -isystem $(includedir_server)
PG_CFLAGS    = -Wextra
SHLIB_LINK   = -lopenblas -lm

# No LLVM bitcode: it needs clang at build time and buys nothing for these functions.
override with_llvm = no

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track header dependencies: rebuild everything when any header changes, so no
# object is ever compiled against a stale struct layout.
$(OBJS): $(wildcard src/*.h src/am/*.h src/kernels/*.h)

# ---------------------------------------------------------------- tests without a server
UNIT_CC      ?= $(CC)
UNIT_CFLAGS  = -O2 -g -std=gnu11 -Wall -Wextra -Isrc -Isrc/kernels
UNIT_TESTS   = test/unit/test_kernels test/unit/test_batch test/unit/test_vector_text \
               test/unit/test_vector_binary test/unit/test_kmeans test/unit/test_pq test/unit/test_topk \
               test/unit/test_half

test/unit/test_kernels: test/unit/test_kernels.c test/unit/unit.h test/unit/reference.h test/unit/random.h $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_kernels.c $(KERNEL_SRCS) -lopenblas -lm
test/unit/test_batch: test/unit/test_batch.c test/unit/unit.h test/unit/reference.h test/unit/random.h $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_batch.c $(KERNEL_SRCS) -lopenblas -lm
test/unit/test_kmeans: test/unit/test_kmeans.c test/unit/unit.h test/unit/random.h $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_kmeans.c $(KERNEL_SRCS) -lopenblas -lm
test/unit/test_pq: test/unit/test_pq.c test/unit/unit.h test/unit/random.h $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_pq.c $(KERNEL_SRCS) -lopenblas -lm
test/unit/test_topk: test/unit/test_topk.c test/unit/unit.h test/unit/random.h $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_topk.c $(KERNEL_SRCS) -lopenblas -lm
test/unit/test_half: test/unit/test_half.c test/unit/unit.h test/unit/random.h $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_half.c $(KERNEL_SRCS) -lopenblas -lm
test/unit/test_vector_text: test/unit/test_vector_text.c test/unit/unit.h src/vector_text.c src/vector_text.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_vector_text.c src/vector_text.c -lm
test/unit/test_vector_binary: test/unit/test_vector_binary.c test/unit/unit.h test/unit/random.h src/vector_binary.c src/vector_binary.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/unit/test_vector_binary.c src/vector_binary.c -lm

# ---------------------------------------------------------------- CUDA (only where nvcc is found)
# vecsearch_cuda.so is a shared object of its own, loaded on demand (src/cuda/gpu.c): the
# extension never links CUDA. test_cuda compares its kernels with the CPU's, or says
# "skipped" where no GPU is usable.
NVCC         ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
ifneq ($(NVCC),)
CUDA_SO      = vecsearch_cuda$(DLSUFFIX)
all: $(CUDA_SO)
$(CUDA_SO): src/cuda/nearest.cu src/cuda/vs_cuda.h
	$(NVCC) -O2 -Xcompiler -fPIC -shared -Isrc/cuda -o $@ src/cuda/nearest.cu -lcublas
install: install-cuda
.PHONY: install-cuda
install-cuda: $(CUDA_SO)
	$(INSTALL_SHLIB) $(CUDA_SO) '$(DESTDIR)$(pkglibdir)/'
test/cuda/test_cuda: test/cuda/test_cuda.c test/unit/unit.h test/unit/random.h src/cuda/vs_cuda.h $(KERNEL_SRCS) src/kernels/*.h $(CUDA_SO)
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/cuda -Itest/unit -o $@ test/cuda/test_cuda.c $(KERNEL_SRCS) -lopenblas -lm -ldl
.PHONY: cudatest
cudatest: test/cuda/test_cuda
	./test/cuda/test_cuda ./$(CUDA_SO)
unittest: cudatest
else
.PHONY: cudatest
cudatest:
	@echo "test_cuda: skipped: nvcc not found, the CUDA part is not built"
endif

.PHONY: unittest
unittest: $(UNIT_TESTS)
	@status=0; for t in $(UNIT_TESTS); do ./$$t || status=1; done; exit $$status

test/bench/bench_kernels: test/bench/bench_kernels.c $(KERNEL_SRCS) src/kernels/*.h
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ test/bench/bench_kernels.c $(KERNEL_SRCS) -lopenblas -lm

.PHONY: bench-kernels
bench-kernels: test/bench/bench_kernels
	./test/bench/bench_kernels

# ---------------------------------------------------------------- long test variants
# Every test as scripts/test.sh runs them, with the TAP suites' long variants (VS_LONG=1:
# ten crashes instead of two in 009, a 120 s concurrent load instead of 8 s in 012).
.PHONY: check-long
check-long:
	VS_LONG=1 bash scripts/test.sh

# ---------------------------------------------------------------- fuzzing (clang + libFuzzer)
# Three harnesses (test/fuzz/README.md): the text and binary input parsers, which need no
# server, and index reloptions, which drives a live server through libpq (PG* variables).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc
FUZZ_CORPUS  = test/fuzz/corpus/vector_text
FUZZ_BINARY_CORPUS = test/fuzz/corpus/vector_binary
FUZZ_RELOPT_CORPUS = test/fuzz/corpus/reloptions
FUZZ_PROGRAMS = test/fuzz/fuzz_vector_text test/fuzz/fuzz_vector_binary test/fuzz/fuzz_reloptions

test/fuzz/fuzz_vector_text: test/fuzz/fuzz_vector_text.c test/fuzz/fuzz.h src/vector_text.c src/vector_text.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ test/fuzz/fuzz_vector_text.c src/vector_text.c -lm
test/fuzz/fuzz_vector_binary: test/fuzz/fuzz_vector_binary.c test/fuzz/fuzz.h src/vector_binary.c src/vector_binary.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ test/fuzz/fuzz_vector_binary.c src/vector_binary.c -lm
test/fuzz/fuzz_reloptions: test/fuzz/fuzz_reloptions.c
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(includedir) -o $@ test/fuzz/fuzz_reloptions.c -lpq

.PHONY: fuzz fuzz-binary fuzz-reloptions fuzz-replay fuzz-replay-reloptions
# Explore for FUZZ_SECONDS; new interesting inputs land in a scratch folder, not the committed corpus.
fuzz: test/fuzz/fuzz_vector_text
	mkdir -p test/fuzz/new-corpus
	./test/fuzz/fuzz_vector_text -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		test/fuzz/new-corpus $(FUZZ_CORPUS)
fuzz-binary: test/fuzz/fuzz_vector_binary
	mkdir -p test/fuzz/new-corpus-binary
	./test/fuzz/fuzz_vector_binary -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		test/fuzz/new-corpus-binary $(FUZZ_BINARY_CORPUS)
# Needs a server with vecsearch installed, named by PGHOST/PGPORT/PGUSER/PGDATABASE; use a
# throwaway one: a crash the harness finds restarts every backend of that server.
fuzz-reloptions: test/fuzz/fuzz_reloptions
	mkdir -p test/fuzz/new-corpus-reloptions
	./test/fuzz/fuzz_reloptions -max_total_time=$(FUZZ_SECONDS) -max_len=256 -timeout=120 \
		test/fuzz/new-corpus-reloptions $(FUZZ_RELOPT_CORPUS)
# Run every committed corpus input once (the CI check); no server needed.
fuzz-replay: test/fuzz/fuzz_vector_text test/fuzz/fuzz_vector_binary
	./test/fuzz/fuzz_vector_text -runs=0 $(FUZZ_CORPUS)
	./test/fuzz/fuzz_vector_binary -runs=0 $(FUZZ_BINARY_CORPUS)
# The reloptions corpus once, against the server the PG* variables name (scripts/test.sh).
fuzz-replay-reloptions: test/fuzz/fuzz_reloptions
	./test/fuzz/fuzz_reloptions -runs=0 -timeout=120 $(FUZZ_RELOPT_CORPUS)

EXTRA_CLEAN  = $(UNIT_TESTS) test/bench/bench_kernels $(FUZZ_PROGRAMS) results regression.diffs regression.out

# ---------------------------------------------------------------- pgvector's extension name
# `make install-pgvector-compat` also installs vecsearch as extension `vector` (a control file
# and the install script under pgvector's name and version, the same library), so that
# CREATE EXTENSION [IF NOT EXISTS] vector in ORMs, client libraries, migrations and pg_dump
# output gets vecsearch. A vector.control that is pgvector's own is never replaced.
PGVECTOR_COMPAT_VERSION = 0.8.6
EXTENSION_DIR = $(DESTDIR)$(datadir)/extension
.PHONY: install-pgvector-compat
install-pgvector-compat: install
	@if [ -f '$(EXTENSION_DIR)/vector.control' ] && ! grep -q 'vecsearch' '$(EXTENSION_DIR)/vector.control'; then \
		echo "install-pgvector-compat: $(EXTENSION_DIR)/vector.control belongs to pgvector itself; not replacing it." >&2; \
		echo "Remove pgvector first, or use CREATE EXTENSION vecsearch." >&2; exit 1; fi
	sed -e "s/^default_version = .*/default_version = '$(PGVECTOR_COMPAT_VERSION)'/" \
		-e "s/^comment = '\(.*\)'/comment = 'vecsearch under pgvector''s name: \1'/" \
		vecsearch.control > '$(EXTENSION_DIR)/vector.control'
	sed -e 's/CREATE EXTENSION vecsearch/CREATE EXTENSION vector/' \
		sql/vecsearch--$(EXTVERSION).sql > '$(EXTENSION_DIR)/vector--$(PGVECTOR_COMPAT_VERSION).sql'
	chmod 644 '$(EXTENSION_DIR)/vector.control' '$(EXTENSION_DIR)/vector--$(PGVECTOR_COMPAT_VERSION).sql'
