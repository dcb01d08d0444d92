/*
 * spill_probe.cu - a kernel that must spill registers: 64 live floats,
 * but its launch bounds (1024 threads, 2 blocks per SM) leave it 32
 * registers. tests/cuda/run.sh compiles it with the runtime's nvcc flags
 * to show that a spill is an error, not a warning.
 */
extern "C" __global__ void __launch_bounds__(1024, 2) spill_probe(float *out, const float *x) {
    float a[64];
    for (int i = 0; i < 64; i++)
        a[i] = x[i * threadIdx.x];
    float s = 0;
    for (int k = 0; k < 64; k++)
        for (int i = 0; i < 64; i++)
            s += a[i] * a[(i * k) & 63];
    out[threadIdx.x] = s;
}
