# tests/cuda/counts.awk - `nngc run --target=cuda --stats`: the counts
# the runtime made as a call ran ("executed (WHAT, one call): ...") against
# those the compiler wrote down ("device code (GRAPH): per call: ...; per
# iteration of loop %N: ..."), for the same model run at two sequence
# lengths (files A and B; their words W_A and W_B, one loop iteration more
# per word):
#
#   - uploads and downloads: executed = static, in both runs (O(1) in T:
#     a loop never copies between host and device);
#   - bytes up: 4 per word (the words are the only input);
#   - kernel launches, GEMMs, device copies, zero fills: executed = per
#     call + k x per iteration (the loops' sum) with one k for all four,
#     and k_B - k_A = W_B - W_A;
#   - the bytes the zero fills wrote: at most what the static line says
#     (per call + k x per iteration), which for a sparse gradient is one
#     call's rows, not the table.
#
#   awk -v what=forward -v graph=forward -v wa=3 -v wb=9 -f counts.awk A B
#
# Prints "ok - ..." or "not ok - ..." lines (tests/cuda/run.sh's prog).

function num(s, label,    m) { # the number before label in s
    if (!match(s, "[0-9]+ " label))
        return -1
    m = substr(s, RSTART, RLENGTH)
    return m + 0
}

function zbytes(s) { # N of "zero fills (N bytes" in s
    if (!match(s, "zero fills \\([0-9]+ bytes"))
        return -1
    return substr(s, RSTART + 12, RLENGTH - 18) + 0
}

function check(cond, text) {
    print (cond ? "ok - " : "not ok - ") text
    failed += !cond
}

FNR == 1 { f++ }

index($0, "device code (" graph "): per call: ") == 1 {
    n = split($0, part, "; per iteration of loop ")
    up[f] = num(part[1], "uploads"); down[f] = num(part[1], "downloads")
    L[f] = num(part[1], "kernel launches"); G[f] = num(part[1], "GEMMs")
    C[f] = num(part[1], "device copies"); Z[f] = num(part[1], "zero fills")
    ZB[f] = zbytes(part[1])
    l[f] = g[f] = c[f] = z[f] = zb[f] = 0
    for (i = 2; i <= n; i++) {
        l[f] += num(part[i], "kernel launches"); g[f] += num(part[i], "GEMMs")
        c[f] += num(part[i], "device copies"); z[f] += num(part[i], "zero fills")
        zb[f] += zbytes(part[i])
    }
    static[f] = 1
}

index($0, "executed (" what ", one call): ") == 1 {
    eup[f] = num($0, "copies to device"); eupb[f] = $0
    sub(/^[^(]*\([^(]*\(/, "", eupb[f]); eupb[f] += 0 # the bytes up, in the first parentheses after the label
    edown[f] = num($0, "to host")
    eL[f] = num($0, "kernel launches"); eG[f] = num($0, "GEMMs")
    eC[f] = num($0, "device copies"); eZ[f] = num($0, "zero fills"); eZB[f] = zbytes($0)
    executed[f] = 1
}

END {
    w[1] = wa; w[2] = wb
    for (f = 1; f <= 2; f++) {
        if (!static[f] || !executed[f]) {
            check(0, what ": run " f ": both lines, \"device code (" graph ")\" and \"executed (" what ")\"")
            continue
        }
        check(eup[f] == up[f] && edown[f] == down[f],
              what ", " w[f] " words: " eup[f] " uploads, " edown[f] " downloads executed; static " up[f] ", " down[f])
        check(eupb[f] == 4 * w[f], what ", " w[f] " words: " eupb[f] " bytes up (4 per word)")
        k[f] = l[f] ? (eL[f] - L[f]) / l[f] : 0
        check(k[f] >= 0 && k[f] == int(k[f]) && eL[f] == L[f] + k[f] * l[f] && eG[f] == G[f] + k[f] * g[f] &&
                  eC[f] == C[f] + k[f] * c[f] && eZ[f] == Z[f] + k[f] * z[f],
              what ", " w[f] " words: executed " eL[f] " launches, " eG[f] " GEMMs, " eC[f] " device copies, " eZ[f] \
              " zero fills = per call " L[f] ", " G[f] ", " C[f] ", " Z[f] " + " k[f] " iterations x " l[f] ", " g[f] \
              ", " c[f] ", " z[f])
        check(ZB[f] >= 0 && eZB[f] >= 0 && eZB[f] <= ZB[f] + k[f] * zb[f],
              what ", " w[f] " words: the zero fills wrote " eZB[f] " bytes, at most " ZB[f] " + " k[f] " x " zb[f])
    }
    if (static[1] && static[2] && executed[1] && executed[2])
        check(l[1] > 0 && k[2] - k[1] == wb - wa,
              what ": " wb - wa " words more, " k[2] - k[1] " iterations more (" l[1] " launches each)")
    exit failed ? 1 : 0
}
