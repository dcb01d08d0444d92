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

/* path of prog: itself if it has a slash, else the first on PATH; NULL if none */
static const char *find_program(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? prog : NULL;
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t n = strcspn(path, ":");
        const char *p = xsprintf("%.*s/%s", (int)n, path, prog);
        if (n && access(p, X_OK) == 0)
            return p;
        path += n + (path[n] == ':');
    }
    return NULL;
}

/* -gencode for each of NNGC_CUDA_ARCHS (default "80 90"), into argv from *n */
static void gencodes(const char **argv, int *n)
{
    const char *archs = getenv("NNGC_CUDA_ARCHS") && *getenv("NNGC_CUDA_ARCHS") ? getenv("NNGC_CUDA_ARCHS") : "80 90";
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

bool driver_cuda_binary(const char *cu_path, const char *bin, CudaBinary kind, const Paths *paths)
{
    bool object = kind == CUDA_OBJECT;
    const char *inc = paths->include_dir, *rt = xsprintf("%s/cuda", inc);
    const char *argv[64];
    int n = 0;
    bool emu = driver_cuda_emulated();
    const char *nvcc = emu ? NULL : find_program(getenv("NVCC") && *getenv("NVCC") ? getenv("NVCC") : "nvcc");
    if (!emu && !nvcc) {
        driver_error("--target=cuda: nvcc not found (set NVCC or put the CUDA toolkit's bin on PATH); "
                     "NNGC_CUDA_EMULATE=1 builds for this CPU's emulation of CUDA instead (docs/CUDA.md)");
        return false;
    }
    if (emu) {
        argv[n++] = getenv("NNGC_CXX") && *getenv("NNGC_CXX") ? getenv("NNGC_CXX") : "c++";
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
    argv[n++] = object ? "-c" : "-shared";
    if (emu) { /* (nvcc: -x would hold for every file; the names end in .cu) */
        argv[n++] = "-x";
        argv[n++] = "c++";
    }
    argv[n++] = cu_path;
    if (!object) { /* the model, the CUDA runtime, then (--shared) the CPU runtime (-fPIC) and BLAS */
        argv[n++] = xsprintf("%s/nnrt_cuda.cu", rt);
        argv[n++] = xsprintf("%s/kernels.cu", rt);
        if (uses_approx(cu_path)) /* the softmax approximations' kernels */
            argv[n++] = xsprintf("%s/approx.cu", rt);
        if (emu) {
            argv[n++] = "-x";
            argv[n++] = "none";
            argv[n++] = xsprintf("%s/emu.cpp", rt);
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
