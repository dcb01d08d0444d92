/*
 * run_cuda.c - `nngc run`, `train` and `eval` with --target=cuda: the
 * model's .cu built into the shared object that run.c loads (docs/CUDA.md).
 *
 *   NNGC_CUDA_EMULATE=1   the host emulation: the .cu and the CUDA
 *                         runtime's sources (runtime/cuda/) compiled as C++
 *                         against cuda_emu.h by c++ (NNGC_CXX to choose):
 *                         no GPU, no nvcc; every launch runs on the CPU
 *   otherwise             a GPU: without an NVIDIA driver (/dev/nvidiactl)
 *                         "no CUDA device", without nvcc (NVCC, or nvcc on
 *                         PATH) "nvcc not found", both errors exit 1; else
 *                         nvcc for this machine's GPU (-arch=native), with
 *                         cuBLAS and the CUDA runtime
 *
 * -c and --shared with --target=cuda need nvcc but no GPU: they build for
 * NNGC_CUDA_ARCHS (default "80 90"); --shared links the CPU runtime and
 * BLAS in, as for C.
 *
 * Either way the CPU runtime's nnrt_* functions come from nngc itself, as
 * for the C target (run.c); the object holds the CUDA runtime.
 */
#include "driver.h"
#include "cuda/nnrt_cuda.h"

#include <dirent.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool driver_cuda_emulated(void)
{
    const char *e = getenv("NNGC_CUDA_EMULATE");
    return e && *e && strcmp(e, "0") != 0;
}

/* the emulation's C++ compiler (NNGC_CXX, else c++) and nvcc's name (NVCC, else nvcc) */
static const char *emu_cxx(void) { return driver_env("NNGC_CXX", "c++"); }
static const char *nvcc_name(void) { return driver_env("NVCC", "nvcc"); }
/* the GPU architectures nvcc builds for without a GPU here (NNGC_CUDA_ARCHS) */
static const char *cuda_archs(void) { return driver_env("NNGC_CUDA_ARCHS", "80 90"); }

/* -gencode for each of NNGC_CUDA_ARCHS (default "80 90"), into argv from *n */
static void gencodes(const char **argv, int *n)
{
    const char *archs = cuda_archs();
    for (const char *p = archs; *p && *n < 40;) {
        size_t k = strcspn(p, " ,");
        if (k) {
            argv[(*n)++] = "-gencode";
            argv[(*n)++] = xsprintf("arch=compute_%.*s,code=sm_%.*s", (int)k, p, (int)k, p);
        }
        p += k + (p[k] != 0);
    }
}

static bool have_driver(void) { return access("/dev/nvidiactl", F_OK) == 0; }

/* Does the generated .cu call runtime/cuda/approx.cu (cu_approx.c says so
 * in it)? A file that cannot be read: assume it does. */
static bool uses_approx(const char *cu_path)
{
    size_t len;
    const char *text = read_file(cu_path, &len);
    return !text || strstr(text, "\n#define NNGC_APPROX_CU 1") != NULL;
}

/* ---------------------------------------------------------------- the emulation's runtime, compiled once
 *
 * NNGC_CUDA_EMULATE=1 compiles the CUDA runtime's sources (nnrt_cuda.cu,
 * kernels.cu, approx.cu, emu.cpp: seconds) the same way for every model,
 * so their objects are kept in the build cache (cache.c), keyed by the
 * compiler, the flags and the runtime's headers and sources. Without a
 * cache the sources are compiled with the model. */

/* The object of the runtime's source src (compiled as C++ by argv[0..n),
 * the compiler and its flags, with "-c") in the cache directory dir,
 * compiled now if it is not there yet. NULL without one (a failed
 * compile: *failed). */
static const char *cached_object(const char **argv, int n, const char *dir, uint64_t key, const char *src,
                                 bool *failed)
{
    const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
    const char *obj = cache_path(dir, key, xsprintf("emu-%s.o", base));
    if (cache_has(obj))
        return obj;
    const char *tmp = cache_tmp(obj);
    const char *cc[64];
    int k = 0;
    for (int i = 0; i < n; i++)
        cc[k++] = argv[i];
    cc[k++] = "-c";
    cc[k++] = "-x";
    cc[k++] = "c++";
    cc[k++] = src;
    cc[k++] = "-o";
    cc[k++] = tmp;
    cc[k] = NULL;
    if (!driver_spawn((char *const *)cc)) {
        unlink(tmp);
        *failed = true;
        return NULL;
    }
    return cache_commit(tmp, obj) ? obj : NULL;
}

/* Appends the emulation's runtime to argv (from *n; argv[0..flags) the
 * compiler and the flags every file is compiled with): the cached
 * objects, else the sources. False when a runtime source failed to
 * compile (the compiler's messages printed). */
static bool emu_runtime(const char **argv, int *n, int flags, const char *rt, bool approx, const Paths *paths)
{
    const char *srcs[4];
    int ns = 0;
    srcs[ns++] = xsprintf("%s/nnrt_cuda.cu", rt);
    srcs[ns++] = xsprintf("%s/kernels.cu", rt);
    if (approx)
        srcs[ns++] = xsprintf("%s/approx.cu", rt);
    srcs[ns++] = xsprintf("%s/emu.cpp", rt);
    const char *dir = cache_dir(), *objs[4];
    if (dir) {
        uint64_t key = cache_hash_program(cache_key_begin(paths), argv[0]);
        for (int i = 1; i < flags; i++)
            key = cache_hash_str(key, argv[i]);
        key = cache_hash_sources(key, rt);
        bool failed = false;
        for (int i = 0; i < ns && dir; i++)
            if (!(objs[i] = cached_object(argv, flags, dir, key, srcs[i], &failed)))
                dir = NULL;
        if (failed)
            return false;
    }
    argv[(*n)++] = "-x";
    if (dir) {
        argv[(*n)++] = "none";
        for (int i = 0; i < ns; i++)
            argv[(*n)++] = objs[i];
        return true;
    }
    argv[(*n)++] = "c++";
    for (int i = 0; i < ns; i++) {
        if (i == ns - 1) { /* emu.cpp */
            argv[(*n)++] = "-x";
            argv[(*n)++] = "none";
        }
        argv[(*n)++] = srcs[i];
    }
    return true;
}

bool driver_cuda_binary(const char *cu_path, const char *bin, CudaBinary kind, const Paths *paths)
{
    bool object = kind == CUDA_OBJECT;
    const char *inc = paths->include_dir, *rt = xsprintf("%s/cuda", inc);
    const char *argv[64];
    int n = 0;
    bool emu = driver_cuda_emulated();
    const char *nvcc = emu ? NULL : driver_find_program(nvcc_name());
    if (!emu && !nvcc) {
        driver_error("--target=cuda: nvcc not found (set NVCC or put the CUDA toolkit's bin on PATH); "
                     "NNGC_CUDA_EMULATE=1 builds for this CPU's emulation of CUDA instead (docs/CUDA.md)");
        return false;
    }
    if (emu) {
        argv[n++] = emu_cxx();
        argv[n++] = "-ffp-contract=off";
        argv[n++] = "-fPIC";
    } else {
        argv[n++] = nvcc;
        if (kind == CUDA_LOADED && have_driver()) /* for this machine's GPU */
            argv[n++] = "-arch=native";
        else
            gencodes(argv, &n);
        argv[n++] = "-Xcompiler";
        argv[n++] = "-fPIC";
    }
    argv[n++] = "-std=c++17";
    argv[n++] = "-O2";
    argv[n++] = xsprintf("-I%s", inc);
    argv[n++] = xsprintf("-I%s", rt);
    int flags = n; /* the compiler and the flags of every file */
    argv[n++] = object ? "-c" : "-shared";
    if (emu) { /* (nvcc: -x would hold for every file; the names end in .cu) */
        argv[n++] = "-x";
        argv[n++] = "c++";
    }
    argv[n++] = cu_path;
    if (!object) { /* the model, the CUDA runtime, then (--shared) the CPU runtime (-fPIC) and BLAS */
        if (emu) {
            if (!emu_runtime(argv, &n, flags, rt, uses_approx(cu_path), paths))
                return false;
        } else {
            argv[n++] = xsprintf("%s/nnrt_cuda.cu", rt);
            argv[n++] = xsprintf("%s/kernels.cu", rt);
            if (uses_approx(cu_path)) /* the softmax approximations' kernels */
                argv[n++] = xsprintf("%s/approx.cu", rt);
        }
        if (kind == CUDA_SHARED) { /* loaded by nngc: nngc's own runtime (run.c) */
            argv[n++] = paths->libnngrt;
            argv[n++] = "-lopenblas";
            argv[n++] = "-lm";
        }
        if (!emu) {
            argv[n++] = "-lcublas";
            argv[n++] = "-lcudart";
        }
    }
    argv[n++] = "-o";
    argv[n++] = bin;
    argv[n] = NULL;
    return driver_spawn((char *const *)argv);
}

uint64_t driver_cuda_key(uint64_t key, const Paths *paths)
{
    bool emu = driver_cuda_emulated();
    key = cache_hash_str(key, emu ? "cuda-emulated" : have_driver() ? "cuda-native" : "cuda");
    key = cache_hash_program(key, emu ? emu_cxx() : nvcc_name());
    key = cache_hash_str(key, cuda_archs());
    if (!emu && have_driver()) { /* -arch=native: the GPUs there */
        DIR *d = opendir("/proc/driver/nvidia/gpus");
        for (struct dirent *e; d && (e = readdir(d));)
            if (e->d_name[0] != '.')
                key = cache_hash_file(key, xsprintf("/proc/driver/nvidia/gpus/%s/information", e->d_name));
        if (d)
            closedir(d);
    }
    return cache_hash_sources(key, xsprintf("%s/cuda", paths->include_dir));
}

bool driver_build_cuda(const char *cu_path, const char *so_path, const Paths *paths)
{
    if (access(xsprintf("%s/cuda/nnrt_cuda.cu", paths->include_dir), R_OK) != 0) {
        driver_error("--target=cuda: the CUDA runtime's sources are not in %s/cuda (docs/CUDA.md)", paths->include_dir);
        return false;
    }
    /* NNGC_CUDA_NO_DEV_CHECK=1 (tests/cuda/run.sh): build anyway, and let
     * the runtime's own probe say there is no device */
    if (!driver_cuda_emulated() && !have_driver() && !getenv("NNGC_CUDA_NO_DEV_CHECK")) {
        driver_error("--target=cuda: no CUDA device (no NVIDIA driver: /dev/nvidiactl is missing); "
                     "NNGC_CUDA_EMULATE=1 runs the generated CUDA on this CPU's emulation instead (docs/CUDA.md)");
        return false;
    }
    return driver_cuda_binary(cu_path, so_path, CUDA_LOADED, paths);
}

/* --stats: what the model's last call did on the device, counted by the
 * runtime as it ran (NAME_cuda_stats; docs/CUDA.md): copies each way with
 * their bytes (the download of the error word included), device copies and
 * zero fills, kernel launches, GEMMs. */
void driver_cuda_stats(void *handle, const char *model, const void *m, const char *what)
{
    nnrt_cuda_stats (*get)(const void *) = (nnrt_cuda_stats(*)(const void *))dlsym(handle, xsprintf("%s_cuda_stats", model));
    if (!get)
        return;
    nnrt_cuda_stats s = get(m);
    fprintf(stderr,
            "executed (%s, one call): %" PRId64 " copies to device (%" PRId64 " bytes), %" PRId64
            " to host (%" PRId64 " bytes, the error word included), %" PRId64 " device copies (%" PRId64
            " bytes), %" PRId64 " zero fills (%" PRId64 " bytes), %" PRId64 " kernel launches, %" PRId64 " GEMMs\n",
            what, s.h2d_copies, s.h2d_bytes, s.d2h_copies, s.d2h_bytes, s.d2d_copies, s.d2d_bytes, s.memsets,
            s.zero_bytes, s.launches, s.gemms);
}
