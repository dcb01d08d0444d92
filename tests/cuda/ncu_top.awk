# ncu_top.awk - the kernels of an `ncu --metrics gpu__time_duration.sum
# --print-summary per-kernel` output by the time they took in all
# (average x invocations), the longest first (scripts/gpu-check.sh):
#
#   awk [-v n=N] -f tests/cuda/ncu_top.awk NCU_OUTPUT     (N lines, default 10)
#
# Each line: share of the total, total us, invocations, average us, the
# kernel with its grid and block. A kernel launched with two grids is two
# lines (ncu keeps them apart). Units ns, us, ms and s are read; another
# unit is reported and its kernel left out.
/, Invocations [0-9]+$/ {
    name = $0
    sub(/^ +/, "", name)
    sub(/, Device .*/, "", name)
    inv = $NF
    next
}
/gpu__time_duration\.sum/ && name != "" {
    u = $2
    f = u == "ns" ? 0.001 : u == "us" ? 1 : u == "ms" ? 1000 : u == "s" ? 1000000 : -1
    if (f < 0) {
        odd = odd " " u
        name = ""
        next
    }
    k++
    kname[k] = name
    kinv[k] = inv
    kavg[k] = $5 * f
    ktot[k] = $5 * f * inv
    total += ktot[k]
    name = ""
}
END {
    if (n == "")
        n = 10
    printf "kernel time (ncu): %.1f us in all, %d kernels%s\n", total, k, (odd == "" ? "" : " (units not read:" odd ")")
    for (i = 1; i <= n && i <= k; i++) { # the i-th longest, by selection
        b = 0
        for (j = 1; j <= k; j++)
            if (!(j in done) && (b == 0 || ktot[j] > ktot[b]))
                b = j
        done[b] = 1
        printf "%5.1f%% %10.1f us %6d x %9.2f us  %s\n", (total > 0 ? 100 * ktot[b] / total : 0), ktot[b], kinv[b], kavg[b], kname[b]
    }
}
