/*
 * names.c - which user names may appear in the generated C.
 *
 * The model's name is a type and the prefix of every symbol; dynamic dims,
 * inputs and outputs are fields of NAME_inputs / NAME_outputs that the
 * application writes (in.words, out.h). They keep the user's spelling, so
 * a name is rejected, with a diagnostic at its declaration, when it would
 * not compile next to what model.h and model.c include (stdint.h,
 * stdlib.h, string.h, math.h, nngrt.h, nnrt_abi.h), or next to stdio.h,
 * which the application most likely includes too:
 *   - not an identifier, or a keyword;
 *   - reserved for the C implementation: __x, _X (so __func__);
 *   - a macro or type those headers may define: NULL, SIZE_MAX, INT64_MAX
 *     and the other limits and constant macros, INFINITY, NAN, EXIT_*,
 *     the math constants M_*, errno, any name ending in _t (int64_t,
 *     size_t: POSIX reserves the suffix), the runtime's nnrt_ / NNRT_;
 *   - for the model only (a type at file scope): a function of those
 *     headers (malloc, exp, expf, ...) or a local or parameter name of the
 *     generated functions.
 * Fields may be named like functions (a field `malloc` is fine).
 */
#include "backend.h"

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
    "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
    "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
    "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
    "_Static_assert", "_Thread_local", "bool", "true", "false", "asm", NULL,
};

/* Macros of the included headers that no pattern below covers. */
static const char *const header_macros[] = {
    "NULL", "offsetof", "errno", "assert", "INFINITY", "NAN", "HUGE_VAL", "HUGE_VALF", "HUGE_VALL",
    "RAND_MAX", "MB_CUR_MAX", "EXIT_SUCCESS", "EXIT_FAILURE", "MATH_ERRNO", "MATH_ERREXCEPT",
    "math_errhandling", "isnan", "isinf", "isfinite", "isnormal", "signbit", "fpclassify", "isgreater",
    "isgreaterequal", "isless", "islessequal", "islessgreater", "isunordered", "static_assert",
    "alignas", "alignof", "noreturn", "thread_local", "complex", "imaginary", "unix", "linux",
    /* stdio.h: not included by the generated code, but by nearly every
     * application before model.h (a field `EOF` would read `-1`) */
    "EOF", "BUFSIZ", "FILENAME_MAX", "FOPEN_MAX", "L_tmpnam", "TMP_MAX", "SEEK_SET", "SEEK_CUR", "SEEK_END",
    "stdin", "stdout", "stderr", NULL,
};

/* Functions of the included headers (also with an f or l suffix for
 * math.h), and the generated functions' parameters and locals: the model's
 * name is a type at file scope and may not be any of them. */
static const char *const model_reserved[] = {
    "m", "in", "out", "rng", "seed", "path", "name", "i", "dyn", "inputs", "outputs", "loss", "rc",
    "nn_ld", "nn_lse",
    /* stdlib.h */
    "malloc", "calloc", "realloc", "free", "aligned_alloc", "abort", "exit", "atexit", "at_quick_exit",
    "quick_exit", "getenv", "system", "atoi", "atol", "atoll", "atof", "strtod", "strtof", "strtold",
    "strtol", "strtoll", "strtoul", "strtoull", "rand", "srand", "qsort", "bsearch", "abs", "labs", "llabs",
    "div", "ldiv", "lldiv", "mblen", "mbtowc", "wctomb", "mbstowcs", "wcstombs",
    /* string.h */
    "memcpy", "memmove", "memset", "memcmp", "memchr", "strcpy", "strncpy", "strcat", "strncat", "strcmp",
    "strncmp", "strcoll", "strxfrm", "strchr", "strrchr", "strspn", "strcspn", "strpbrk", "strstr", "strtok",
    "strlen", "strerror", "strdup", "strndup",
    /* math.h, each also with f and l */
    "acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh", "sinh", "tanh",
    "exp", "exp2", "expm1", "frexp", "ilogb", "ldexp", "log", "log10", "log1p", "log2", "logb", "modf",
    "scalbn", "scalbln", "cbrt", "fabs", "hypot", "pow", "sqrt", "erf", "erfc", "lgamma", "tgamma", "ceil",
    "floor", "nearbyint", "rint", "lrint", "llrint", "round", "lround", "llround", "trunc", "fmod",
    "remainder", "remquo", "copysign", "nan", "nextafter", "nexttoward", "fdim", "fmax", "fmin", "fma",
    "gamma", "j0", "j1", "jn", "y0", "y1", "yn", "drem", "significand", "finite", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_identifier(const char *s)
{
    bool ok = s && (s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
    for (const char *p = s; ok && *p; p++)
        ok = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
    return ok;
}

/* Is s a macro or type name the included headers define or may define? */
static bool header_name(const char *s)
{
    if (in_list(header_macros, s))
        return true;
    /* limits and constant macros of stdint.h: INT8_MAX, UINT_LEAST16_MIN, INT64_C, SIZE_MAX, ... */
    bool intish = starts(s, "INT") || starts(s, "UINT") || starts(s, "SIZE_") || starts(s, "PTRDIFF_") ||
                  starts(s, "SIG_ATOMIC_") || starts(s, "WCHAR_") || starts(s, "WINT_");
    if (intish && (ends(s, "_MAX") || ends(s, "_MIN") || ends(s, "_C")))
        return true;
    /* math.h: M_PI, FP_NAN, FP_FAST_FMA, ...; the runtime's own names */
    return starts(s, "M_") || starts(s, "FP_") || starts(s, "nnrt_") || starts(s, "NNRT_");
}

/* Checks one user name that becomes a C identifier; reports at loc. */
void check_name(Ctx *x, const char *what, const char *name, Loc loc)
{
    if (!is_identifier(name) || in_list(c_keywords, name)) {
        emit_error(x, loc, "%s name '%s' cannot be used in C (a keyword or not an identifier)", what,
                   name ? name : "(null)");
    } else if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z'))) {
        emit_error(x, loc, "%s name '%s' is reserved for the C implementation (it starts with '%.2s'); rename it",
                   what, name, name);
    } else if (ends(name, "_t")) { /* int64_t, size_t: and POSIX reserves every name so ending for types */
        emit_error(x, loc, "%s name '%s' ends in '_t', the names of types (int64_t, size_t: the C headers the "
                   "generated code includes define some, POSIX reserves the rest); rename it", what, name);
    } else if (header_name(name)) {
        emit_error(x, loc, "%s name '%s' is a macro or type of the C headers the generated code (or its caller: stdio.h) includes; rename it",
                   what, name);
    }
}

/* The model's name: also a type at file scope, and the prefix of every
 * generated symbol. */
void check_model_name(Ctx *x, const char *name, Loc loc)
{
    check_name(x, "model", name, loc);
    if (!x->ok)
        return;
    size_t n = strlen(name);
    char *base = xstrdup(name); /* expf, logl: the function without its suffix */
    if (n > 1 && (name[n - 1] == 'f' || name[n - 1] == 'l'))
        base[n - 1] = 0;
    if (in_list(model_reserved, name) || in_list(model_reserved, base))
        emit_error(x, loc, "model name '%s' is reserved in the generated C (a library function or a name "
                              "of the generated code); choose another", name);
}
