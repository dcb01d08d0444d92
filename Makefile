# nngc - build, test, install.
#
#   make              build/nngc, build/libnngrt.a
#   make test         unit tests (cmocka), golden IR dumps, error catalogue, end-to-end
#   make golden-update  rewrite tests/golden/**/*.expected from the current compiler
#   make demo         compile an example model and run it
#   make install PREFIX=/usr/local
#   make cuda-emu     the CUDA runtime compiled as C++ on the host emulation (no GPU, no nvcc)
#   make cuda         the CUDA runtime with nvcc: build/cuda/libnngrt_cuda.a (sm_80 and sm_90)
#   make cuda-test    sh tests/cuda/run.sh (emulation always; nvcc checks when nvcc is there)
#   make SANITIZE=address,undefined test   every suite under ASan+UBSan, in build-asan/
#   make SANITIZE=thread tsan-test          the concurrency tests under TSan, in build-tsan/
#   make fuzz FUZZ_SECONDS=600              each libFuzzer target for that long (clang)
#
# Flex/bison output is generated into build/gen at build time, never committed.
# The runtime is built with -O3 -fno-trapping-math -fno-math-errno so that
# its row loops (softmax, logsumexp) and optimizer updates (sqrtf)
# vectorize; nothing in it relies on FP exceptions or errno from libm.
# -falign-functions=64 -falign-loops=64: the GEMM micro-kernels' inner
# loops start on a 64-byte line wherever the linker puts them. Without it
# their speed depended on the binary they were linked into: the same
# kernel6 ran 5-8% slower in one nngc build than in another whose code
# happened to put its loop on a line boundary (docs/PERFORMANCE.md, "The
# restructuring of 2026-11-30").

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    := build
GEN      := $(BUILD)/gen

OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

WARN     := -Wall -Wextra -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN)

# Sanitizer builds: everything (compiler, runtime, tools, unit tests) built
# with -fsanitize=$(SANITIZE) into a build tree of its own; `make SANITIZE=...
# test` runs the same suites with those binaries, and nngc run compiles the
# generated code with the same flags ($(BUILD)/cc, given as NNGC_CC). TSan
# cannot load the target_clones ifunc resolvers: NNRT_NO_CLONES turns the
# runtime's AVX2 copies off there.
SANITIZE ?=
ifneq ($(SANITIZE),)
BUILD    := $(if $(findstring thread,$(SANITIZE)),build-tsan,build-asan)
GEN      := $(BUILD)/gen
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS   += $(SAN_FLAGS) $(if $(findstring thread,$(SANITIZE)),-DNNRT_NO_CLONES)
endif
CPPFLAGS += -Icompiler -Iruntime -I$(GEN)

RT_SRCS  := $(wildcard runtime/*.c)
RT_OBJS  := $(RT_SRCS:%.c=$(BUILD)/%.o)

CC_SRCS  := $(filter-out compiler/driver/main.c,$(wildcard compiler/*.c compiler/*/*.c))
CC_OBJS  := $(CC_SRCS:%.c=$(BUILD)/%.o) $(GEN)/parser.o $(GEN)/lexer.o
MAIN_OBJ := $(BUILD)/compiler/driver/main.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# test_rt_*.c test the runtime alone and link only libnngrt
RT_UNIT_BINS := $(filter $(BUILD)/tests/test_rt_%,$(UNIT_BINS))
UNIT_BINS += $(BUILD)/tests/test_rt_blas_noblas

LIBS     := $(OPENBLAS_LIBS) -lm -ldl -lpthread

# MPI for `mpirun -np P nngc train` (docs/TRAIN.md): nngc is built with it
# when Open MPI's mpicc (or pkg-config ompi-c) is there; NNGC_MPI=0 builds
# without. `nngc --version` says which.
NNGC_MPI ?= 1
ifeq ($(NNGC_MPI),1)
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null || pkg-config --libs ompi-c 2>/dev/null)
endif
ifneq ($(strip $(MPI_LIBS)),)
LIBS     += $(MPI_LIBS)
$(BUILD)/compiler/driver/train_mpi.o: CFLAGS += $(MPI_CFLAGS) -DNNGC_HAVE_MPI
endif

.PHONY: all test unit-test e2e-test golden-test error-test golden-update demo bench install clean tools tsan-test fuzz fuzz-smoke fuzz-build fuzz-bins

all: $(BUILD)/nngc $(BUILD)/libnngrt.a $(BUILD)/include/nngrt.h $(BUILD)/include/nnrt_abi.h tools $(if $(SANITIZE),$(BUILD)/cc)

# the C compiler with the sanitizer flags, one program for NNGC_CC and CC.
# The suites run make with CC set to it: then it is not remade (no
# prerequisites), and it never wraps itself. Under ASan it compiles at -O0
# whatever -O it is given (the last -O wins): the sanitizers check memory
# and undefined behaviour, every access instrumented at -O0, while most of
# the suites' time at -O2 was the compiles of generated code (the train
# suite 165 s against 73); the plain make test runs the code at -O2.
$(BUILD)/cc:
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec %s %s "$$@"%s\n' '$(if $(findstring /$(BUILD)/cc,$(CC)),cc,$(CC))' '$(SAN_FLAGS)' \
	    '$(if $(findstring address,$(SANITIZE)), -O0)' >$@
	chmod +x $@

# ---------------------------------------------------------------- runtime
RT_FLAGS := -O3 -fno-trapping-math -fno-math-errno -falign-functions=64 -falign-loops=64 -fPIC
$(BUILD)/runtime/%.o: runtime/%.c runtime/nngrt.h runtime/nnrt_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(OPENBLAS_CFLAGS) -DNNRT_HAVE_CBLAS $(CFLAGS) $(RT_FLAGS) -c $< -o $@

# the runtime's private header (not installed)
$(RT_OBJS): $(wildcard runtime/*.h)

$(BUILD)/libnngrt.a: $(RT_OBJS)
	@rm -f $@
	ar rcs $@ $^

# the application API and the ABI of generated code (both installed)
$(BUILD)/include/%.h: runtime/%.h
	@mkdir -p $(dir $@)
	cp $< $@

# ---------------------------------------------------------------- parser
$(GEN)/parser.c $(GEN)/parser.h: compiler/parser/parser.y
	@mkdir -p $(GEN)
	bison -Wall -Werror -o $(GEN)/parser.c --defines=$(GEN)/parser.h $<

$(GEN)/lexer.c $(GEN)/lexer.h: compiler/parser/lexer.l $(GEN)/parser.h
	@mkdir -p $(GEN)
	flex --header-file=$(GEN)/lexer.h -o $(GEN)/lexer.c $<

# generated code: warnings of flex/bison skeletons are not ours
$(GEN)/%.o: $(GEN)/%.c $(GEN)/parser.h $(GEN)/lexer.h compiler/nngc.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-function -Wno-sign-compare -Wno-unused-but-set-variable -c $< -o $@

# ---------------------------------------------------------------- compiler
$(BUILD)/compiler/%.o: compiler/%.c compiler/nngc.h $(wildcard compiler/*.h compiler/*/*.h) $(GEN)/parser.h $(GEN)/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# only the runtime's symbols are exported to the loaded models (nngc.dynlist, a version script)
$(BUILD)/nngc: $(MAIN_OBJ) $(CC_OBJS) $(BUILD)/libnngrt.a compiler/driver/nngc.dynlist
	$(CC) $(CFLAGS) -rdynamic -Wl,--version-script=compiler/driver/nngc.dynlist -o $@ $(MAIN_OBJ) $(CC_OBJS) \
	    -Wl,--whole-archive $(BUILD)/libnngrt.a -Wl,--no-whole-archive $(LIBS)

# ---------------------------------------------------------------- tools (tests)
# the fuzz targets' replay programs: tests/fuzz/run.sh runs each target's
# corpus (seeds and every crash found) through them in the normal suite
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

tools: $(BUILD)/npycmp $(REPLAY_BINS)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_file.h $(CC_OBJS) $(BUILD)/libnngrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(CC_OBJS) $(BUILD)/libnngrt.a $(LIBS)

$(BUILD)/npycmp: tests/tools/npycmp.c $(BUILD)/libnngrt.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnngrt.a $(LIBS)

# ---------------------------------------------------------------- tests
$(RT_UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libnngrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnngrt.a -lcmocka $(LIBS)

# the products of a runtime built without a BLAS (as scripts/gpu-check.sh
# builds it on a bare GPU image): blas.c and gemm.c again without
# NNRT_HAVE_CBLAS, linked ahead of the archive's
NOBLAS_OBJS := $(BUILD)/noblas/blas.o $(BUILD)/noblas/gemm.o
$(NOBLAS_OBJS): $(BUILD)/noblas/%.o: runtime/%.c $(wildcard runtime/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(RT_FLAGS) -c $< -o $@

$(BUILD)/tests/test_rt_blas_noblas: tests/unit/test_rt_blas.c $(NOBLAS_OBJS) $(BUILD)/libnngrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DTEST_NO_BLAS -o $@ $< $(NOBLAS_OBJS) $(BUILD)/libnngrt.a -lcmocka $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CC_OBJS) $(BUILD)/libnngrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CC_OBJS) $(BUILD)/libnngrt.a -lcmocka $(LIBS)

# every binary runs, even after a failure; the target fails if any did
unit-test: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || rc=1; done; exit $$rc

golden-test: all
	@sh tests/golden/run.sh

error-test: all
	@sh tests/errors/run.sh

e2e-test: all
	@sh tests/e2e/run.sh

# A sanitizer run also needs the plain runtime: test_emit_c links the
# programs it generates against build/libnngrt.a.
test: all
	$(if $(SANITIZE),@$(MAKE) -s SANITIZE= build/libnngrt.a)
	@SANITIZE='$(SANITIZE)' BUILD='$(BUILD)' sh tests/run_all.sh

# the concurrency tests (tests/tsan/, and the threads of nngc train in
# tests/partrain/) with this build's binaries: under ThreadSanitizer with
# SANITIZE=thread
# (MPI left out); the last line sums both suites' "N passed, N failed"
tsan-test: all
	@p=0; f=0; rc=0; for s in tsan partrain; do \
	    NNGC=$(BUILD)/nngc CC='$(if $(SANITIZE),$(CURDIR)/$(BUILD)/cc,$(CC))' \
	        $(if $(SANITIZE),NNGC_CC=$(CURDIR)/$(BUILD)/cc) PARTRAIN_NO_MPI=1 \
	        sh tests/$$s/run.sh >$(BUILD)/tsan-test.$$s.out 2>&1 || rc=1; \
	    cat $(BUILD)/tsan-test.$$s.out; \
	    l=$$(grep -E '^[0-9]+ passed, [0-9]+ failed$$' $(BUILD)/tsan-test.$$s.out | tail -n 1); \
	    if [ -z "$$l" ]; then f=$$((f + 1)); rc=1; else \
	        n=$${l#*passed, }; p=$$((p + $${l%% passed*})); f=$$((f + $${n%% failed})); fi; \
	done; echo "$$p passed, $$f failed"; exit $$rc

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets tests/fuzz/fuzz_*.c, built by clang with ASan and UBSan
# into build-fuzz/ (compiler and runtime built the same way, with
# -fsanitize=fuzzer-no-link). `make fuzz` runs each for FUZZ_SECONDS,
# `make fuzz-smoke` (CI) a fixed seed for tests/fuzz/<target>/smoke_runs
# runs (about 10 s each); new inputs go to a scratch corpus, crashes to
# build-fuzz/crashes/ (tests/fuzz/fuzz.sh).
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all

fuzz-build:
	@$(MAKE) -s BUILD=build-fuzz SANITIZE= CC=clang \
	    CFLAGS='$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link' fuzz-bins

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_file.h $(CC_OBJS) $(BUILD)/libnngrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(CC_OBJS) $(BUILD)/libnngrt.a $(LIBS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/fuzz.sh build-fuzz

fuzz-smoke: fuzz-build
	@FUZZ_SMOKE=1 sh tests/fuzz/fuzz.sh build-fuzz

golden-update: all
	@UPDATE_GOLDEN=1 sh tests/golden/run.sh

demo: all
	@sh scripts/demo.sh

bench: all
	@sh bench/run.sh

# ---------------------------------------------------------------- CUDA (docs/CUDA.md)
# Never part of `all`: `make test` runs tests/cuda/run.sh, which builds the
# emulation with whichever C++ compiler it is given and skips the nvcc
# checks, visibly, where there is no nvcc.

CUDA_SRCS  := $(wildcard runtime/cuda/*.cu)
CUDA_HDRS  := $(wildcard runtime/cuda/*.h runtime/cuda/*.cuh) runtime/nngrt.h runtime/nnrt_approx.h runtime/nnrt_hd.h
EMU_CXX    ?= $(shell command -v g++ 2>/dev/null || command -v clang++ 2>/dev/null || echo c++)
EMU_BUILD  ?= $(BUILD)/cuda-emu
EMU_FLAGS  := -std=c++17 -O1 -g -ffp-contract=off -Wall -Wextra -Werror -Iruntime -Iruntime/cuda
EMU_OBJS   := $(CUDA_SRCS:runtime/cuda/%.cu=$(EMU_BUILD)/%.o) $(EMU_BUILD)/emu.o
EMU_TESTS  := $(EMU_BUILD)/test_kernels $(EMU_BUILD)/test_emu $(EMU_BUILD)/test_rnnlm $(EMU_BUILD)/nodevice \
              $(EMU_BUILD)/bench

NVCC       ?= nvcc
CUDA_ARCHS ?= 80 90
NVCC_FLAGS := -std=c++17 -O3 -Werror all-warnings -Xptxas -warn-spills,-Werror -Xcompiler -Wall,-Wextra \
              $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) -Iruntime -Iruntime/cuda
CUDA_LIBS  := -lcublas -lcudart

.PHONY: cuda cuda-emu cuda-test cuda-progs cuda-nvcc-flags

cuda-emu: $(EMU_BUILD)/libnngrt_cuda_emu.a $(EMU_TESTS)

$(EMU_BUILD)/%.o: runtime/cuda/%.cu $(CUDA_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) -x c++ -c $< -o $@

$(EMU_BUILD)/emu.o: runtime/cuda/emu.cpp $(CUDA_HDRS)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_FLAGS) -c $< -o $@

$(EMU_BUILD)/libnngrt_cuda_emu.a: $(EMU_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(filter-out %/test_rnnlm,$(EMU_BUILD)/test_kernels $(EMU_BUILD)/test_emu): $(EMU_BUILD)/test_%: tests/cuda/test_%.cpp tests/cuda/check.h $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a
	$(EMU_CXX) $(EMU_FLAGS) -o $@ $< $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a $(LIBS)

$(EMU_BUILD)/bench: tests/cuda/bench.cu $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a
	$(EMU_CXX) $(EMU_FLAGS) -x c++ $< -x none -o $@ $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a $(LIBS)

# examples/rnnlm.nn by hand in CUDA against nngc's C for it
$(EMU_BUILD)/rnnlm.c: examples/rnnlm.nn $(BUILD)/nngc
	@mkdir -p $(dir $@)
	$(BUILD)/nngc $< -o $@

$(EMU_BUILD)/test_rnnlm: tests/cuda/test_rnnlm.cpp tests/cuda/check.h $(EMU_BUILD)/rnnlm.c $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $(EMU_BUILD)/rnnlm.c -o $(EMU_BUILD)/rnnlm.o
	$(EMU_CXX) $(EMU_FLAGS) -I$(EMU_BUILD) -o $@ $< $(EMU_BUILD)/rnnlm.o $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a $(LIBS)

$(EMU_BUILD)/nodevice: tests/cuda/nodevice.c $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iruntime/cuda -c $< -o $@.o
	$(EMU_CXX) -o $@ $@.o $(EMU_BUILD)/libnngrt_cuda_emu.a $(BUILD)/libnngrt.a $(LIBS)

cuda: $(BUILD)/cuda/libnngrt_cuda.a

# the test programs linked against it (scripts/gpu-check.sh runs them on a GPU)
cuda-progs: $(BUILD)/cuda/test_kernels $(BUILD)/cuda/nodevice $(BUILD)/cuda/bench

$(BUILD)/cuda/test_kernels: tests/cuda/test_kernels.cpp tests/cuda/check.h $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a
	$(NVCC) $(NVCC_FLAGS) -x cu -c $< -o $@.o
	$(NVCC) $(NVCC_FLAGS) -o $@ $@.o $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a $(CUDA_LIBS) $(LIBS)

$(BUILD)/cuda/bench: tests/cuda/bench.cu $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a
	$(NVCC) $(NVCC_FLAGS) -o $@ $< $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a $(CUDA_LIBS) $(LIBS)

# needs nngc (flex, bison): not in cuda-progs
$(BUILD)/cuda/test_rnnlm: tests/cuda/test_rnnlm.cpp tests/cuda/check.h $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a $(BUILD)/nngc
	$(BUILD)/nngc examples/rnnlm.nn -o $(BUILD)/cuda/rnnlm.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $(BUILD)/cuda/rnnlm.c -o $(BUILD)/cuda/rnnlm.o
	$(NVCC) $(NVCC_FLAGS) -I$(BUILD)/cuda -x cu -c $< -o $@.o
	$(NVCC) $(NVCC_FLAGS) -o $@ $@.o $(BUILD)/cuda/rnnlm.o $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a $(CUDA_LIBS) $(LIBS)

$(BUILD)/cuda/nodevice: tests/cuda/nodevice.c $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iruntime/cuda -c $< -o $@.o
	$(NVCC) -o $@ $@.o $(BUILD)/cuda/libnngrt_cuda.a $(BUILD)/libnngrt.a $(CUDA_LIBS) $(LIBS)

# for tests/cuda/run.sh: the flags every .cu is compiled with
cuda-nvcc-flags:
	@echo $(NVCC_FLAGS)

$(BUILD)/cuda/%.o: runtime/cuda/%.cu $(CUDA_HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@

$(BUILD)/cuda/libnngrt_cuda.a: $(CUDA_SRCS:runtime/cuda/%.cu=$(BUILD)/cuda/%.o)
	@rm -f $@
	ar rcs $@ $^

cuda-test: all
	@sh tests/cuda/run.sh

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/nngc/stdlib $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/nngc $(DESTDIR)$(PREFIX)/bin/nngc
	install -m 644 $(BUILD)/libnngrt.a $(DESTDIR)$(PREFIX)/lib/libnngrt.a
	install -m 644 runtime/nngrt.h $(DESTDIR)$(PREFIX)/include/nngrt.h
	install -m 644 runtime/nnrt_data.h $(DESTDIR)$(PREFIX)/include/nnrt_data.h
	install -m 644 runtime/nnrt_abi.h $(DESTDIR)$(PREFIX)/include/nnrt_abi.h
	install -m 644 runtime/nnrt_approx.h $(DESTDIR)$(PREFIX)/include/nnrt_approx.h
	install -m 644 runtime/nnrt_hd.h $(DESTDIR)$(PREFIX)/include/nnrt_hd.h
	install -m 644 stdlib/*.nn $(DESTDIR)$(PREFIX)/share/nngc/stdlib/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|0.2.0|g' -e 's|@BLAS@|$(OPENBLAS_LIBS)|g' \
	    nngrt.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nngrt.pc

clean:
	rm -rf build build-asan build-tsan build-fuzz
