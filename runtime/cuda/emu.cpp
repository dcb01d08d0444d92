/*
 * emu.cpp - the host emulation of CUDA that cuda_emu.h declares: the
 * fiber scheduler behind launches (barriers, thread orders, divergence
 * checks), tracked device memory, synchronous streams and events, and
 * cuBLAS SGEMM on the CPU runtime's nnrt_gemm.
 *
 * Single-threaded: one launch at a time, from one OS thread.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h> /* (where the switch is not hand-made: below) */
#include <unistd.h>

#include <vector>

#include "cuda_emu.h"
#include "nngrt.h"
#include "nnrt_abi.h" /* nnrt_gemm */

/* ---------------------------------------------------------------- errors */

static cudaError_t sticky;        /* a failed launch: stays until cleared */
static cudaError_t last;          /* the last error of any call */
static char fault_msg[1024];     /* the emulator's words for ... */
static cudaError_t fault_code;    /* ... this error */

static cudaError_t fail(cudaError_t e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fault_msg, sizeof fault_msg, fmt, ap);
    va_end(ap);
    fault_code = last = e;
    return e;
}

static cudaError_t ret(cudaError_t e) {
    if (e != cudaSuccess)
        last = e;
    return e;
}

const char *nnrt_emu_fault(void) { return fault_msg; }
void nnrt_emu_clear_fault(void) { sticky = last = fault_code = cudaSuccess, fault_msg[0] = 0; }

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e) {
    if (e != cudaSuccess && e == fault_code && fault_msg[0])
        return fault_msg; /* the emulator's own words: which kernel, which threads */
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    default: return cudaGetErrorName(e);
    }
}

cudaError_t cudaGetLastError(void) {
    cudaError_t e = sticky ? sticky : last;
    last = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return sticky ? sticky : last; }

/* ---------------------------------------------------------------- devices */

static bool no_device(void) {
    const char *s = getenv("NNRT_EMU_NO_DEVICE");
    return s && *s && strcmp(s, "0") != 0;
}

cudaError_t cudaGetDeviceCount(int *n) {
    *n = no_device() ? 0 : 1;
    return *n ? cudaSuccess : ret(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int dev) { return dev == 0 && !no_device() ? cudaSuccess : ret(cudaErrorInvalidValue); }
cudaError_t cudaGetDevice(int *dev) { *dev = 0; return cudaSuccess; }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev) {
    if (dev != 0 || no_device())
        return ret(cudaErrorInvalidValue);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "nnrt host emulation");
    p->totalGlobalMem = (size_t)1 << 32;
    p->major = 8, p->multiProcessorCount = 1, p->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) { return sticky; }

/* ---------------------------------------------------------------- memory */

/* A device allocation: n bytes at p, 256-aligned as cudaMalloc's, and
 * placed so that p + n rounded up to 256 ends its mapping; a page that is
 * neither readable nor writable follows. The slack between p + n and the
 * guard is 0xff and checked after every launch (a write past the end);
 * an access into the guard faults and on_segv names the kernel. */
struct Alloc {
    char *p;
    size_t n;
    char *map;
    size_t maplen;
};
static std::vector<Alloc> allocs; /* device allocations */

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }
static size_t slack(const Alloc &a) { return ((a.n + 255) & ~(size_t)255) - a.n; }

/* the allocation holding [p, p + n), or -1 */
static long find_alloc(const void *p, size_t n) {
    const char *c = (const char *)p;
    for (size_t i = 0; i < allocs.size(); i++)
        if (c >= allocs[i].p && c + n <= allocs[i].p + allocs[i].n)
            return (long)i;
    return -1;
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (no_device())
        return ret(cudaErrorNoDevice);
    size_t page = page_size(), body = ((bytes ? bytes : 1) + 255) & ~(size_t)255;
    size_t len = (body + page - 1) / page * page + page;
    char *map = (char *)mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return ret(cudaErrorMemoryAllocation);
    mprotect(map + len - page, page, PROT_NONE);
    char *m = map + len - page - body;
    memset(m, 0xff, body); /* NaN floats: reads of what was never written show; the slack stays so */
    allocs.push_back({m, bytes, map, len});
    *p = m;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p) {
    if (!p)
        return cudaSuccess;
    for (size_t i = 0; i < allocs.size(); i++)
        if (allocs[i].p == p) {
            munmap(allocs[i].map, allocs[i].maplen);
            allocs.erase(allocs.begin() + (long)i);
            return cudaSuccess;
        }
    return fail(cudaErrorInvalidDevicePointer, "cudaFree: %p is not a device allocation", p);
}

/* after a launch: a byte written in some allocation's slack, as a fault */
static bool slack_written(const char *name) {
    for (const Alloc &a : allocs)
        for (size_t b = 0; b < slack(a); b++)
            if ((unsigned char)a.p[a.n + b] != 0xff) {
                fail(cudaErrorLaunchFailure, "kernel %s wrote past the end of a %zu-byte device allocation "
                     "(byte %zu after it)", name, a.n, b);
                return true;
            }
    return false;
}

cudaError_t cudaMallocHost(void **p, size_t bytes) {
    *p = malloc(bytes ? bytes : 1);
    return *p ? cudaSuccess : ret(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void *p) {
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    bool dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (bytes && dd && find_alloc(dst, bytes) < 0)
        return fail(cudaErrorInvalidValue, "cudaMemcpy: destination [%p, +%zu) is not inside a device allocation",
                    dst, bytes);
    if (bytes && sd && find_alloc(src, bytes) < 0)
        return fail(cudaErrorInvalidValue, "cudaMemcpy: source [%p, +%zu) is not inside a device allocation",
                    src, bytes);
    if (bytes)
        memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void *p, int v, size_t bytes) {
    if (bytes && find_alloc(p, bytes) < 0)
        return fail(cudaErrorInvalidValue, "cudaMemset: [%p, +%zu) is not inside a device allocation", p, bytes);
    memset(p, v, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t) { return cudaMemset(p, v, bytes); }

/* ---------------------------------------------------------------- streams and events */

struct nnrt_emu_stream {
    int unused;
};
struct nnrt_emu_event {
    double us;
};

cudaError_t cudaStreamCreate(cudaStream_t *s) {
    if (no_device())
        return ret(cudaErrorNoDevice);
    *s = new nnrt_emu_stream();
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) { return cudaStreamCreate(s); }
cudaError_t cudaStreamDestroy(cudaStream_t s) { delete s; return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return sticky; }
cudaError_t cudaEventCreate(cudaEvent_t *e) { *e = new nnrt_emu_event(); return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t e) { delete e; return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) { e->us = nnrt_now_us(); return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return sticky; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = (float)((b->us - a->us) / 1000.0);
    return cudaSuccess;
}

/* ---------------------------------------------------------------- the scheduler */

enum { READY, AT_BARRIER, DONE };
enum { STACK_BYTES = 64 * 1024, GUARD_BYTES = 64 * 1024 };

/* Switching between a block's threads: swapcontext makes a system call
 * (sigprocmask) at every switch, which was most of the emulation's time.
 * On x86-64 a switch is a few instructions instead (nnrt_emu_switch below:
 * the callee-saved registers pushed on the old stack, the stack pointer
 * swapped, popped from the new one; the floating-point control state is
 * not switched, kernels never change it); elsewhere, under ASan or TSan
 * (which follow ucontext but not a hand-made switch), and with shadow
 * stacks (-fcf-protection: a return into a new fiber has no call on the
 * shadow stack), ucontext. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !(defined(__CET__) && (__CET__ & 2))
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NNRT_EMU_UCONTEXT 1
#endif
#endif
#else
#define NNRT_EMU_UCONTEXT 1
#endif

#ifndef NNRT_EMU_UCONTEXT
/* nnrt_emu_switch(&from, to): saves the running context on its stack and
 * its stack pointer in *from, then resumes the one whose stack pointer is
 * to (saved by an earlier switch, or made by fiber_start) */
extern "C" void nnrt_emu_switch(void **from, void *to);
__asm__(".pushsection .text\n"
        ".p2align 4\n"
        ".type nnrt_emu_switch, @function\n"
        "nnrt_emu_switch:\n"
        "\tpushq %rbp\n\tpushq %rbx\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n"
        "\tmovq %rsp, (%rdi)\n"
        "\tmovq %rsi, %rsp\n"
        "\tpopq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %rbx\n\tpopq %rbp\n"
        "\tret\n"
        ".size nnrt_emu_switch, .-nnrt_emu_switch\n"
        ".popsection\n");
#endif

struct Fiber {
#ifdef NNRT_EMU_UCONTEXT
    ucontext_t uc;
#else
    void *sp; /* its saved stack pointer while it does not run */
#endif
    char *stack;
    int state;
    int nbar;          /* __syncthreads reached so far */
    const char *file;  /* where it waits */
    int line;
    nnrt_emu_index idx;
};

nnrt_emu_index *nnrt_emu_cur;
static std::vector<Fiber> fibers; /* one per thread of a block, reused across launches */
static Fiber *running;
#ifdef NNRT_EMU_UCONTEXT
static ucontext_t sched;
#else
static void *sched_sp; /* the scheduler's, while a thread runs */
#endif
static void (*body_fn)(void *);
static void *body_arg;
static std::vector<unsigned char> dyn_shared;
static nnrt_emu_order order_mode = NNRT_EMU_BOTH;
static long nlaunches;

nnrt_emu_order nnrt_emu_set_order(nnrt_emu_order o) {
    nnrt_emu_order old = order_mode;
    order_mode = o;
    return old;
}

long nnrt_emu_launches(void) { return nlaunches; }
void *nnrt_emu_dyn_shared(void) { return dyn_shared.data(); }

void nnrt_emu_syncthreads(const char *file, int line) {
    if (!running) {
        fprintf(stderr, "cuda_emu: __syncthreads() outside a kernel at %s:%d\n", file, line);
        abort();
    }
    Fiber *f = running;
    f->nbar++, f->state = AT_BARRIER, f->file = file, f->line = line;
#ifdef NNRT_EMU_UCONTEXT
    swapcontext(&f->uc, &sched);
#else
    nnrt_emu_switch(&f->sp, sched_sp);
#endif
}

static void fiber_main(void) {
    body_fn(body_arg);
    running->state = DONE;
#ifdef NNRT_EMU_UCONTEXT
    /* returning resumes uc_link: the scheduler */
#else
    void *dead;
    nnrt_emu_switch(&dead, sched_sp); /* never resumed */
    abort();
#endif
}

/* makes f start fiber_main at its next resume */
static void fiber_start(Fiber *f) {
#ifdef NNRT_EMU_UCONTEXT
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = STACK_BYTES;
    f->uc.uc_link = &sched;
    makecontext(&f->uc, fiber_main, 0);
#else
    /* what nnrt_emu_switch pops: six registers (0), then the address it
     * returns to (fiber_main, entered as if called: the stack pointer 8
     * past a multiple of 16), then a return address fiber_main never uses */
    void **top = (void **)(f->stack + STACK_BYTES); /* a multiple of 16 */
    void **sp = top - 8;
    for (int i = 0; i < 6; i++)
        sp[i] = NULL;
    sp[6] = (void *)fiber_main;
    sp[7] = NULL;
    f->sp = sp;
#endif
}

/* runs f until its next __syncthreads or its end */
static void fiber_resume(Fiber *f) {
#ifdef NNRT_EMU_UCONTEXT
    swapcontext(&sched, &f->uc);
#else
    nnrt_emu_switch(&sched_sp, f->sp);
#endif
}

/* A thread's stack, STACK_BYTES above GUARD_BYTES that are neither
 * readable nor writable: a kernel whose locals outgrow it faults there
 * (and on_segv says so) instead of writing over another thread's stack.
 * NULL when out of memory. */
static char *new_stack(void) {
    char *p = (char *)mmap(NULL, GUARD_BYTES + STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    mprotect(p, GUARD_BYTES, PROT_NONE);
    return p + GUARD_BYTES;
}

static const char *running_kernel;

/* SIGSEGV in a guard page: names the kernel and the thread, then dies of
 * the signal as it would have (the handler runs on its own stack) */
static void on_segv(int sig, siginfo_t *si, void *) {
    const char *a = (const char *)si->si_addr;
    if (running && a >= running->stack - GUARD_BYTES && a < running->stack) {
        char msg[256];
        int n = snprintf(msg, sizeof msg,
                         "cuda_emu: kernel %s: thread (%u,%u,%u) of block (%u,%u,%u) overflowed its %d KiB stack "
                         "(locals too large for the emulation)\n",
                         running_kernel, running->idx.tid.x, running->idx.tid.y, running->idx.tid.z,
                         running->idx.bid.x, running->idx.bid.y, running->idx.bid.z, STACK_BYTES / 1024);
        if (n > 0 && write(2, msg, (size_t)n) < 0)
            n = 0;
    }
    for (const Alloc &d : allocs)
        if (running && a >= d.map + d.maplen - page_size() && a < d.map + d.maplen) {
            char msg[256];
            int n = snprintf(msg, sizeof msg,
                             "cuda_emu: kernel %s: thread (%u,%u,%u) of block (%u,%u,%u) accessed device memory %zu "
                             "bytes past the end of a %zu-byte allocation\n",
                             running_kernel, running->idx.tid.x, running->idx.tid.y, running->idx.tid.z,
                             running->idx.bid.x, running->idx.bid.y, running->idx.bid.z, (size_t)(a - d.p) - d.n, d.n);
            if (n > 0 && write(2, msg, (size_t)n) < 0)
                n = 0;
        }
    signal(sig, SIG_DFL); /* returning re-runs the access: the default action */
}

/* installs on_segv once, unless the program has its own handler */
static void guard_handler(void) {
    static bool done;
    if (done)
        return;
    done = true;
    struct sigaction old;
    if (sigaction(SIGSEGV, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
        return;
    static char alt[64 * 1024];
    stack_t ss;
    ss.ss_sp = alt, ss.ss_size = sizeof alt, ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) != 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}

/* "(x,y,z)" of an index, for messages */
static const char *ix(dim3 d, char *buf, size_t len) {
    snprintf(buf, len, "(%u,%u,%u)", d.x, d.y, d.z);
    return buf;
}

/* the static __shared__ variables of every kernel (cuda_emu.h), as the
 * linker delimits their section; NULL if the program has none */
extern "C" char __start_nnrt_emu_shared[] __attribute__((weak));
extern "C" char __stop_nnrt_emu_shared[] __attribute__((weak));

static void poison_shared(void) {
    if (__start_nnrt_emu_shared && __stop_nnrt_emu_shared)
        memset(__start_nnrt_emu_shared, 0xff, (size_t)(__stop_nnrt_emu_shared - __start_nnrt_emu_shared));
    if (!dyn_shared.empty())
        memset(dyn_shared.data(), 0xff, dyn_shared.size());
}

/* Runs one block with its threads in forward or reverse order each round. */
static bool run_block(const char *name, dim3 bid, dim3 grid, dim3 block, bool reverse) {
    size_t nt = (size_t)block.x * block.y * block.z;
    if (fibers.size() < nt)
        fibers.resize(nt);
    for (size_t t = 0; t < nt; t++) {
        Fiber *f = &fibers[t];
        if (!f->stack && !(f->stack = new_stack())) {
            fail(cudaErrorMemoryAllocation, "kernel %s: out of memory for the emulated threads", name);
            return false;
        }
        fiber_start(f);
        f->state = READY, f->nbar = 0, f->file = NULL, f->line = 0;
        f->idx.tid = dim3((unsigned)(t % block.x), (unsigned)(t / block.x % block.y),
                          (unsigned)(t / ((size_t)block.x * block.y)));
        f->idx.bid = bid, f->idx.bdim = block, f->idx.gdim = grid;
    }
    poison_shared();
    char b1[40], b2[40], b3[40];
    for (;;) {
        for (size_t i = 0; i < nt; i++) {
            Fiber *f = &fibers[reverse ? nt - 1 - i : i];
            if (f->state == DONE)
                continue;
            f->state = READY;
            running = f;
            nnrt_emu_cur = &f->idx;
            fiber_resume(f);
        }
        running = NULL;
        /* after a round every thread waits at a barrier or has ended */
        Fiber *waiting = NULL, *ended = NULL;
        for (size_t t = 0; t < nt; t++) {
            Fiber *f = &fibers[t];
            if (f->state == AT_BARRIER && !waiting)
                waiting = f;
            if (f->state == DONE && !ended)
                ended = f;
        }
        if (!waiting)
            return true;
        if (ended) {
            fail(cudaErrorLaunchFailure,
                 "kernel %s: divergent __syncthreads in block %s: thread %s waits at barrier %d (%s:%d) but "
                 "thread %s ended after %d",
                 name, ix(bid, b1, sizeof b1), ix(waiting->idx.tid, b2, sizeof b2), waiting->nbar, waiting->file,
                 waiting->line, ix(ended->idx.tid, b3, sizeof b3), ended->nbar);
            return false;
        }
        for (size_t t = 0; t < nt; t++) {
            Fiber *f = &fibers[t];
            if (f->nbar != waiting->nbar || f->line != waiting->line || strcmp(f->file, waiting->file) != 0) {
                fail(cudaErrorLaunchFailure,
                     "kernel %s: divergent __syncthreads in block %s: thread %s waits at barrier %d (%s:%d), "
                     "thread %s at barrier %d (%s:%d)",
                     name, ix(bid, b1, sizeof b1), ix(waiting->idx.tid, b2, sizeof b2), waiting->nbar,
                     waiting->file, waiting->line, ix(f->idx.tid, b3, sizeof b3), f->nbar, f->file, f->line);
                return false;
            }
        }
    }
}

/* Every block, one after another: in order, or (reverse) from the last
 * to the first, as a GPU may run them (a kernel whose block reads what
 * another block wrote, or whose blocks add into one element without an
 * atomic, gives other bytes in the other order). */
static bool run_grid(const char *name, dim3 grid, dim3 block, bool reverse) {
    size_t nb = (size_t)grid.x * grid.y * grid.z;
    for (size_t k = 0; k < nb; k++) {
        size_t b = reverse ? nb - 1 - k : k;
        unsigned x = (unsigned)(b % grid.x), y = (unsigned)(b / grid.x % grid.y), z = (unsigned)(b / grid.x / grid.y);
        if (!run_block(name, dim3(x, y, z), grid, block, reverse))
            return false;
    }
    return true;
}

cudaError_t nnrt_emu_launch(const char *name, dim3 grid, dim3 block, size_t shmem, cudaStream_t,
                            void (*body)(void *), void *arg) {
    nlaunches++;
    if (sticky)
        return sticky;
    if (no_device())
        return ret(cudaErrorNoDevice);
    size_t nt = (size_t)block.x * block.y * block.z;
    if (nt == 0 || nt > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535)
        return fail(cudaErrorInvalidConfiguration, "kernel %s: invalid launch configuration: grid (%u,%u,%u), "
                    "block (%u,%u,%u)", name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
    dyn_shared.assign(shmem, 0xff);
    body_fn = body, body_arg = arg;
    running_kernel = name;
    guard_handler();
    if (order_mode != NNRT_EMU_BOTH) {
        if (!run_grid(name, grid, block, order_mode == NNRT_EMU_REVERSE) || slack_written(name))
            return sticky = last;
        return cudaSuccess;
    }
    /* both orders from the same device memory; the results must agree */
    /* (kept across launches: no allocation, no fresh pages per launch) */
    static std::vector<std::vector<char>> before, after;
    if (before.size() < allocs.size())
        before.resize(allocs.size()), after.resize(allocs.size());
    for (size_t i = 0; i < allocs.size(); i++)
        before[i].assign(allocs[i].p, allocs[i].p + allocs[i].n);
    if (!run_grid(name, grid, block, false))
        return sticky = last;
    for (size_t i = 0; i < allocs.size(); i++) {
        after[i].assign(allocs[i].p, allocs[i].p + allocs[i].n);
        memcpy(allocs[i].p, before[i].data(), allocs[i].n);
    }
    if (!run_grid(name, grid, block, true) || slack_written(name))
        return sticky = last;
    for (size_t i = 0; i < allocs.size(); i++) {
        if (memcmp(allocs[i].p, after[i].data(), allocs[i].n) == 0)
            continue;
        for (size_t b = 0; b < allocs[i].n; b++)
            if (allocs[i].p[b] != after[i][b]) {
                float fw, rv;
                size_t at = b & ~(size_t)3;
                memcpy(&fw, after[i].data() + at, sizeof fw);
                memcpy(&rv, allocs[i].p + at, sizeof rv);
                fail(cudaErrorLaunchFailure,
                     "kernel %s: the result depends on the order of the threads of a block or of the blocks "
                     "(a missing __syncthreads, threads writing one element, a block reading what another "
                     "wrote): byte %zu of a %zu-byte allocation is "
                     "%g (as a float) with the threads in forward order, %g in reverse order",
                     name, b, allocs[i].n, (double)fw, (double)rv);
                return sticky = last;
            }
    }
    return cudaSuccess;
}

/* ---------------------------------------------------------------- cuBLAS */

struct nnrt_emu_blas {
    cudaStream_t stream;
};

cublasStatus_t cublasCreate(cublasHandle_t *h) {
    if (no_device())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    *h = new nnrt_emu_blas();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) { delete h; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { h->stream = s; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

const char *cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float *alpha, const float *A, int lda, long long sa,
                                         const float *B, int ldb, long long sb, const float *beta, float *C, int ldc,
                                         long long sc, int batch) {
    /* cuBLAS's argument checks (column-major: op(A) is m x k) */
    int arows = ta == CUBLAS_OP_N ? m : k, brows = tb == CUBLAS_OP_N ? k : n;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < (arows > 1 ? arows : 1) || ldb < (brows > 1 ? brows : 1) ||
        ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (sticky)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    /* a column-major X with leading dimension ld is the row-major X^T with
     * row stride ld: C^T = op(B)^T op(A)^T, an n x m row-major product */
    for (int i = 0; i < batch; i++)
        nnrt_gemm(tb == CUBLAS_OP_T, ta == CUBLAS_OP_T, n, m, k, *alpha, B + i * sb, ldb, A + i * sa, lda, *beta,
                  C + i * sc, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
