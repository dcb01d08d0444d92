/* A Bison parser, made by GNU Bison 3.8.2.  */

/* Bison implementation for Yacc-like parsers in C

   Copyright (C) 1984, 1989-1990, 2000-2015, 2018-2021 Free Software Foundation,
   Inc.

   This program is free software: you can redistribute it and/or modify
   it under the terms of the GNU General Public License as published by
   the Free Software Foundation, either version 3 of the License, or
   (at your option) any later version.

   This program is distributed in the hope that it will be useful,
   but WITHOUT ANY WARRANTY; without even the implied warranty of
   MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
   GNU General Public License for more details.

   You should have received a copy of the GNU General Public License
   along with this program.  If not, see <https://www.gnu.org/licenses/>.  */

/* As a special exception, you may create a larger work that contains
   part or all of the Bison parser skeleton and distribute that work
   under terms of your choice, so long as that work isn't itself a
   parser generator using the skeleton or a modified version thereof
   as a parser skeleton.  Alternatively, if you modify or redistribute
   the parser skeleton itself, you may (at your option) remove this
   special exception, which will cause the skeleton and the resulting
   Bison output files to be licensed under the GNU General Public
   License without this special exception.

   This special exception was added by the Free Software Foundation in
   version 2.2 of Bison.  */

/* C LALR(1) parser skeleton written by Richard Stallman, by
   simplifying the original so-called "semantic" parser.  */

/* DO NOT RELY ON FEATURES THAT ARE NOT DOCUMENTED in the manual,
   especially those whose name start with YY_ or yy_.  They are
   private implementation details that can be changed or removed.  */

/* All symbols defined below should begin with yy or YY, to avoid
   infringing on user name space.  This should be done even for local
   variables, as they might otherwise be expanded by user macros.
   There are some unavoidable exceptions within include files to
   define necessary library symbols; they are noted "INFRINGES ON
   USER NAME SPACE" below.  */

/* Identify Bison output, and Bison version.  */
#define YYBISON 30802

/* Bison version string.  */
#define YYBISON_VERSION "3.8.2"

/* Skeleton name.  */
#define YYSKELETON_NAME "yacc.c"

/* Pure parsers.  */
#define YYPURE 2

/* Push parsers.  */
#define YYPUSH 0

/* Pull parsers.  */
#define YYPULL 1





# ifndef YY_CAST
#  ifdef __cplusplus
#   define YY_CAST(Type, Val) static_cast<Type> (Val)
#   define YY_REINTERPRET_CAST(Type, Val) reinterpret_cast<Type> (Val)
#  else
#   define YY_CAST(Type, Val) ((Type) (Val))
#   define YY_REINTERPRET_CAST(Type, Val) ((Type) (Val))
#  endif
# endif
# ifndef YY_NULLPTR
#  if defined __cplusplus
#   if 201103L <= __cplusplus
#    define YY_NULLPTR nullptr
#   else
#    define YY_NULLPTR 0
#   endif
#  else
#   define YY_NULLPTR ((void*)0)
#  endif
# endif

#include "parser.h"
/* Symbol kind.  */
enum yysymbol_kind_t
{
  YYSYMBOL_YYEMPTY = -2,
  YYSYMBOL_YYEOF = 0,                      /* "end of file"  */
  YYSYMBOL_YYerror = 1,                    /* error  */
  YYSYMBOL_YYUNDEF = 2,                    /* "invalid token"  */
  YYSYMBOL_NAME = 3,                       /* "identifier"  */
  YYSYMBOL_NUMBER = 4,                     /* "number"  */
  YYSYMBOL_STRING = 5,                     /* "string"  */
  YYSYMBOL_SEP = 6,                        /* "end of line"  */
  YYSYMBOL_PLUSEQ = 7,                     /* "+="  */
  YYSYMBOL_DOTDOT = 8,                     /* ".."  */
  YYSYMBOL_MODEL = 9,                      /* "model"  */
  YYSYMBOL_DIM = 10,                       /* "dim"  */
  YYSYMBOL_PARAM = 11,                     /* "param"  */
  YYSYMBOL_INPUT = 12,                     /* "input"  */
  YYSYMBOL_OUTPUT = 13,                    /* "output"  */
  YYSYMBOL_IMPORT = 14,                    /* "import"  */
  YYSYMBOL_DEF = 15,                       /* "def"  */
  YYSYMBOL_RETURN = 16,                    /* "return"  */
  YYSYMBOL_FOR = 17,                       /* "for"  */
  YYSYMBOL_IN = 18,                        /* "in"  */
  YYSYMBOL_INIT = 19,                      /* "init"  */
  YYSYMBOL_FROZEN = 20,                    /* "frozen"  */
  YYSYMBOL_OPTIMIZER = 21,                 /* "optimizer"  */
  YYSYMBOL_WITH = 22,                      /* "with"  */
  YYSYMBOL_MAX = 23,                       /* "max"  */
  YYSYMBOL_INT = 24,                       /* "int"  */
  YYSYMBOL_FLOAT = 25,                     /* "float"  */
  YYSYMBOL_26_ = 26,                       /* '+'  */
  YYSYMBOL_27_ = 27,                       /* '-'  */
  YYSYMBOL_28_ = 28,                       /* '*'  */
  YYSYMBOL_29_ = 29,                       /* '/'  */
  YYSYMBOL_30_ = 30,                       /* '@'  */
  YYSYMBOL_NEG = 31,                       /* NEG  */
  YYSYMBOL_32_ = 32,                       /* '{'  */
  YYSYMBOL_33_ = 33,                       /* '}'  */
  YYSYMBOL_34_ = 34,                       /* '='  */
  YYSYMBOL_35_ = 35,                       /* ':'  */
  YYSYMBOL_36_ = 36,                       /* '('  */
  YYSYMBOL_37_ = 37,                       /* ')'  */
  YYSYMBOL_38_ = 38,                       /* '['  */
  YYSYMBOL_39_ = 39,                       /* ']'  */
  YYSYMBOL_40_ = 40,                       /* ','  */
  YYSYMBOL_YYACCEPT = 41,                  /* $accept  */
  YYSYMBOL_program = 42,                   /* program  */
  YYSYMBOL_stmts = 43,                     /* stmts  */
  YYSYMBOL_stmt_list = 44,                 /* stmt_list  */
  YYSYMBOL_sep = 45,                       /* sep  */
  YYSYMBOL_item = 46,                      /* item  */
  YYSYMBOL_block = 47,                     /* block  */
  YYSYMBOL_decl = 48,                      /* decl  */
  YYSYMBOL_param_attrs = 49,               /* param_attrs  */
  YYSYMBOL_init_spec = 50,                 /* init_spec  */
  YYSYMBOL_type = 51,                      /* type  */
  YYSYMBOL_name = 52,                      /* name  */
  YYSYMBOL_names = 53,                     /* names  */
  YYSYMBOL_params = 54,                    /* params  */
  YYSYMBOL_stmt = 55,                      /* stmt  */
  YYSYMBOL_expr = 56,                      /* expr  */
  YYSYMBOL_primary = 57,                   /* primary  */
  YYSYMBOL_call = 58,                      /* call  */
  YYSYMBOL_approx = 59,                    /* approx  */
  YYSYMBOL_args = 60,                      /* args  */
  YYSYMBOL_exprs = 61,                     /* exprs  */
  YYSYMBOL_kwargs = 62,                    /* kwargs  */
  YYSYMBOL_kwarg = 63                      /* kwarg  */
};
typedef enum yysymbol_kind_t yysymbol_kind_t;



/* Unqualified %code blocks.  */
#line 71 "compiler/parser/parser.y"

#include "lexer.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Locations: the span from the first to the last symbol of a rule; an empty
 * rule gets an empty span just after the symbol before it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                           \
    do {                                                                      \
        if (N) {                                                              \
            (Cur) = loc_merge(YYRHSLOC(Rhs, 1), YYRHSLOC(Rhs, N));            \
        } else {                                                              \
            (Cur) = YYRHSLOC(Rhs, 0);                                         \
            (Cur).off += (Cur).len;                                           \
            (Cur).len = 0;                                                    \
        }                                                                     \
    } while (0)

/* The parser stack only grows with nesting, which the lexer caps, so this
 * is never reached by a legal program; it is a last line of defence. */
#define YYMAXDEPTH 20000

static void yyerror(Loc *loc, ParseCtx *ctx, yyscan_t scanner, const char *msg);

static Ast *binop(int op, Ast *a, Ast *b, Loc loc, Loc op_loc) {
    Ast *n = ast_new(AST_BINOP, loc);
    n->op = op;
    n->a = a;
    n->b = b;
    n->op_loc = op_loc;
    return n;
}

static Ast *named(AstKind kind, Loc loc, const char *name) {
    Ast *n = ast_new(kind, loc);
    n->name = name;
    return n;
}

static AstList list1(Ast *x) {
    AstList l = {0};
    if (x)
        ast_push(&l, x);
    return l;
}

static AstList list_add(AstList l, Ast *x) {
    if (x)
        ast_push(&l, x);
    return l;
}

#line 222 "build12/gen/parser.c"

#ifdef short
# undef short
#endif

/* On compilers that do not define __PTRDIFF_MAX__ etc., make sure
   <limits.h> and (if available) <stdint.h> are included
   so that the code can choose integer types of a good width.  */

#ifndef __PTRDIFF_MAX__
# include <limits.h> /* INFRINGES ON USER NAME SPACE */
# if defined __STDC_VERSION__ && 199901 <= __STDC_VERSION__
#  include <stdint.h> /* INFRINGES ON USER NAME SPACE */
#  define YY_STDINT_H
# endif
#endif

/* Narrow types that promote to a signed type and that can represent a
   signed or unsigned integer of at least N bits.  In tables they can
   save space and decrease cache pressure.  Promoting to a signed type
   helps avoid bugs in integer arithmetic.  */

#ifdef __INT_LEAST8_MAX__
typedef __INT_LEAST8_TYPE__ yytype_int8;
#elif defined YY_STDINT_H
typedef int_least8_t yytype_int8;
#else
typedef signed char yytype_int8;
#endif

#ifdef __INT_LEAST16_MAX__
typedef __INT_LEAST16_TYPE__ yytype_int16;
#elif defined YY_STDINT_H
typedef int_least16_t yytype_int16;
#else
typedef short yytype_int16;
#endif

/* Work around bug in HP-UX 11.23, which defines these macros
   incorrectly for preprocessor constants.  This workaround can likely
   be removed in 2023, as HPE has promised support for HP-UX 11.23
   (aka HP-UX 11i v2) only through the end of 2022; see Table 2 of
   <https://h20195.www2.hpe.com/V2/getpdf.aspx/4AA4-7673ENW.pdf>.  */
#ifdef __hpux
# undef UINT_LEAST8_MAX
# undef UINT_LEAST16_MAX
# define UINT_LEAST8_MAX 255
# define UINT_LEAST16_MAX 65535
#endif

#if defined __UINT_LEAST8_MAX__ && __UINT_LEAST8_MAX__ <= __INT_MAX__
typedef __UINT_LEAST8_TYPE__ yytype_uint8;
#elif (!defined __UINT_LEAST8_MAX__ && defined YY_STDINT_H \
       && UINT_LEAST8_MAX <= INT_MAX)
typedef uint_least8_t yytype_uint8;
#elif !defined __UINT_LEAST8_MAX__ && UCHAR_MAX <= INT_MAX
typedef unsigned char yytype_uint8;
#else
typedef short yytype_uint8;
#endif

#if defined __UINT_LEAST16_MAX__ && __UINT_LEAST16_MAX__ <= __INT_MAX__
typedef __UINT_LEAST16_TYPE__ yytype_uint16;
#elif (!defined __UINT_LEAST16_MAX__ && defined YY_STDINT_H \
       && UINT_LEAST16_MAX <= INT_MAX)
typedef uint_least16_t yytype_uint16;
#elif !defined __UINT_LEAST16_MAX__ && USHRT_MAX <= INT_MAX
typedef unsigned short yytype_uint16;
#else
typedef int yytype_uint16;
#endif

#ifndef YYPTRDIFF_T
# if defined __PTRDIFF_TYPE__ && defined __PTRDIFF_MAX__
#  define YYPTRDIFF_T __PTRDIFF_TYPE__
#  define YYPTRDIFF_MAXIMUM __PTRDIFF_MAX__
# elif defined PTRDIFF_MAX
#  ifndef ptrdiff_t
#   include <stddef.h> /* INFRINGES ON USER NAME SPACE */
#  endif
#  define YYPTRDIFF_T ptrdiff_t
#  define YYPTRDIFF_MAXIMUM PTRDIFF_MAX
# else
#  define YYPTRDIFF_T long
#  define YYPTRDIFF_MAXIMUM LONG_MAX
# endif
#endif

#ifndef YYSIZE_T
# ifdef __SIZE_TYPE__
#  define YYSIZE_T __SIZE_TYPE__
# elif defined size_t
#  define YYSIZE_T size_t
# elif defined __STDC_VERSION__ && 199901 <= __STDC_VERSION__
#  include <stddef.h> /* INFRINGES ON USER NAME SPACE */
#  define YYSIZE_T size_t
# else
#  define YYSIZE_T unsigned
# endif
#endif

#define YYSIZE_MAXIMUM                                  \
  YY_CAST (YYPTRDIFF_T,                                 \
           (YYPTRDIFF_MAXIMUM < YY_CAST (YYSIZE_T, -1)  \
            ? YYPTRDIFF_MAXIMUM                         \
            : YY_CAST (YYSIZE_T, -1)))

#define YYSIZEOF(X) YY_CAST (YYPTRDIFF_T, sizeof (X))


/* Stored state numbers (used for stacks). */
typedef yytype_uint8 yy_state_t;

/* State numbers in computations.  */
typedef int yy_state_fast_t;

#ifndef YY_
# if defined YYENABLE_NLS && YYENABLE_NLS
#  if ENABLE_NLS
#   include <libintl.h> /* INFRINGES ON USER NAME SPACE */
#   define YY_(Msgid) dgettext ("bison-runtime", Msgid)
#  endif
# endif
# ifndef YY_
#  define YY_(Msgid) Msgid
# endif
#endif


#ifndef YY_ATTRIBUTE_PURE
# if defined __GNUC__ && 2 < __GNUC__ + (96 <= __GNUC_MINOR__)
#  define YY_ATTRIBUTE_PURE __attribute__ ((__pure__))
# else
#  define YY_ATTRIBUTE_PURE
# endif
#endif

#ifndef YY_ATTRIBUTE_UNUSED
# if defined __GNUC__ && 2 < __GNUC__ + (7 <= __GNUC_MINOR__)
#  define YY_ATTRIBUTE_UNUSED __attribute__ ((__unused__))
# else
#  define YY_ATTRIBUTE_UNUSED
# endif
#endif

/* Suppress unused-variable warnings by "using" E.  */
#if ! defined lint || defined __GNUC__
# define YY_USE(E) ((void) (E))
#else
# define YY_USE(E) /* empty */
#endif

/* Suppress an incorrect diagnostic about yylval being uninitialized.  */
#if defined __GNUC__ && ! defined __ICC && 406 <= __GNUC__ * 100 + __GNUC_MINOR__
# if __GNUC__ * 100 + __GNUC_MINOR__ < 407
#  define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN                           \
    _Pragma ("GCC diagnostic push")                                     \
    _Pragma ("GCC diagnostic ignored \"-Wuninitialized\"")
# else
#  define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN                           \
    _Pragma ("GCC diagnostic push")                                     \
    _Pragma ("GCC diagnostic ignored \"-Wuninitialized\"")              \
    _Pragma ("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
# endif
# define YY_IGNORE_MAYBE_UNINITIALIZED_END      \
    _Pragma ("GCC diagnostic pop")
#else
# define YY_INITIAL_VALUE(Value) Value
#endif
#ifndef YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
# define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
# define YY_IGNORE_MAYBE_UNINITIALIZED_END
#endif
#ifndef YY_INITIAL_VALUE
# define YY_INITIAL_VALUE(Value) /* Nothing. */
#endif

#if defined __cplusplus && defined __GNUC__ && ! defined __ICC && 6 <= __GNUC__
# define YY_IGNORE_USELESS_CAST_BEGIN                          \
    _Pragma ("GCC diagnostic push")                            \
    _Pragma ("GCC diagnostic ignored \"-Wuseless-cast\"")
# define YY_IGNORE_USELESS_CAST_END            \
    _Pragma ("GCC diagnostic pop")
#endif
#ifndef YY_IGNORE_USELESS_CAST_BEGIN
# define YY_IGNORE_USELESS_CAST_BEGIN
# define YY_IGNORE_USELESS_CAST_END
#endif


#define YY_ASSERT(E) ((void) (0 && (E)))

#if 1

/* The parser invokes alloca or malloc; define the necessary symbols.  */

# ifdef YYSTACK_ALLOC
   /* Pacify GCC's 'empty if-body' warning.  */
#  define YYSTACK_FREE(Ptr) do { /* empty */; } while (0)
#  ifndef YYSTACK_ALLOC_MAXIMUM
    /* The OS might guarantee only one guard page at the bottom of the stack,
       and a page size can be as small as 4096 bytes.  So we cannot safely
       invoke alloca (N) if N exceeds 4096.  Use a slightly smaller number
       to allow for a few compiler-allocated temporary stack slots.  */
#   define YYSTACK_ALLOC_MAXIMUM 4032 /* reasonable circa 2006 */
#  endif
# else
#  define YYSTACK_ALLOC YYMALLOC
#  define YYSTACK_FREE YYFREE
#  ifndef YYSTACK_ALLOC_MAXIMUM
#   define YYSTACK_ALLOC_MAXIMUM YYSIZE_MAXIMUM
#  endif
#  if (defined __cplusplus && ! defined EXIT_SUCCESS \
       && ! ((defined YYMALLOC || defined malloc) \
             && (defined YYFREE || defined free)))
#   include <stdlib.h> /* INFRINGES ON USER NAME SPACE */
#   ifndef EXIT_SUCCESS
#    define EXIT_SUCCESS 0
#   endif
#  endif
#  ifndef YYMALLOC
#   define YYMALLOC malloc
#   if ! defined malloc && ! defined EXIT_SUCCESS
void *malloc (YYSIZE_T); /* INFRINGES ON USER NAME SPACE */
#   endif
#  endif
#  ifndef YYFREE
#   define YYFREE free
#   if ! defined free && ! defined EXIT_SUCCESS
void free (void *); /* INFRINGES ON USER NAME SPACE */
#   endif
#  endif
# endif
# define YYCOPY_NEEDED 1
#endif /* 1 */

#if (! defined yyoverflow \
     && (! defined __cplusplus \
         || (defined YYLTYPE_IS_TRIVIAL && YYLTYPE_IS_TRIVIAL \
             && defined YYSTYPE_IS_TRIVIAL && YYSTYPE_IS_TRIVIAL)))

/* A type that is properly aligned for any stack member.  */
union yyalloc
{
  yy_state_t yyss_alloc;
  YYSTYPE yyvs_alloc;
  YYLTYPE yyls_alloc;
};

/* The size of the maximum gap between one aligned stack and the next.  */
# define YYSTACK_GAP_MAXIMUM (YYSIZEOF (union yyalloc) - 1)

/* The size of an array large to enough to hold all stacks, each with
   N elements.  */
# define YYSTACK_BYTES(N) \
     ((N) * (YYSIZEOF (yy_state_t) + YYSIZEOF (YYSTYPE) \
             + YYSIZEOF (YYLTYPE)) \
      + 2 * YYSTACK_GAP_MAXIMUM)

# define YYCOPY_NEEDED 1

/* Relocate STACK from its old location to the new one.  The
   local variables YYSIZE and YYSTACKSIZE give the old and new number of
   elements in the stack, and YYPTR gives the new location of the
   stack.  Advance YYPTR to a properly aligned location for the next
   stack.  */
# define YYSTACK_RELOCATE(Stack_alloc, Stack)                           \
    do                                                                  \
      {                                                                 \
        YYPTRDIFF_T yynewbytes;                                         \
        YYCOPY (&yyptr->Stack_alloc, Stack, yysize);                    \
        Stack = &yyptr->Stack_alloc;                                    \
        yynewbytes = yystacksize * YYSIZEOF (*Stack) + YYSTACK_GAP_MAXIMUM; \
        yyptr += yynewbytes / YYSIZEOF (*yyptr);                        \
      }                                                                 \
    while (0)

#endif

#if defined YYCOPY_NEEDED && YYCOPY_NEEDED
/* Copy COUNT objects from SRC to DST.  The source and destination do
   not overlap.  */
# ifndef YYCOPY
#  if defined __GNUC__ && 1 < __GNUC__
#   define YYCOPY(Dst, Src, Count) \
      __builtin_memcpy (Dst, Src, YY_CAST (YYSIZE_T, (Count)) * sizeof (*(Src)))
#  else
#   define YYCOPY(Dst, Src, Count)              \
      do                                        \
        {                                       \
          YYPTRDIFF_T yyi;                      \
          for (yyi = 0; yyi < (Count); yyi++)   \
            (Dst)[yyi] = (Src)[yyi];            \
        }                                       \
      while (0)
#  endif
# endif
#endif /* !YYCOPY_NEEDED */

/* YYFINAL -- State number of the termination state.  */
#define YYFINAL  43
/* YYLAST -- Last index in YYTABLE.  */
#define YYLAST   186

/* YYNTOKENS -- Number of terminals.  */
#define YYNTOKENS  41
/* YYNNTS -- Number of nonterminals.  */
#define YYNNTS  23
/* YYNRULES -- Number of rules.  */
#define YYNRULES  70
/* YYNSTATES -- Number of states.  */
#define YYNSTATES  140

/* YYMAXUTOK -- Last valid token kind.  */
#define YYMAXUTOK   281


/* YYTRANSLATE(TOKEN-NUM) -- Symbol number corresponding to TOKEN-NUM
   as returned by yylex, with out-of-bounds checking.  */
#define YYTRANSLATE(YYX)                                \
  (0 <= (YYX) && (YYX) <= YYMAXUTOK                     \
   ? YY_CAST (yysymbol_kind_t, yytranslate[YYX])        \
   : YYSYMBOL_YYUNDEF)

/* YYTRANSLATE[TOKEN-NUM] -- Symbol number corresponding to TOKEN-NUM
   as returned by yylex.  */
static const yytype_int8 yytranslate[] =
{
       0,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
      36,    37,    28,    26,    40,    27,     2,    29,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,    35,     2,
       2,    34,     2,     2,    30,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,    38,     2,    39,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,    32,     2,    33,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     1,     2,     3,     4,
       5,     6,     7,     8,     9,    10,    11,    12,    13,    14,
      15,    16,    17,    18,    19,    20,    21,    22,    23,    24,
      25,    31
};

#if YYDEBUG
/* YYRLINE[YYN] -- Source line where rule number YYN was defined.  */
static const yytype_int16 yyrline[] =
{
       0,   172,   172,   178,   179,   180,   184,   185,   193,   199,
     200,   201,   205,   209,   210,   211,   212,   213,   219,   220,
     221,   222,   228,   234,   235,   241,   250,   251,   255,   256,
     257,   258,   259,   268,   272,   273,   277,   278,   282,   283,
     284,   285,   291,   299,   300,   304,   305,   306,   307,   308,
     309,   310,   314,   315,   316,   317,   318,   319,   329,   330,
     338,   339,   343,   344,   348,   349,   353,   354,   355,   359,
     360
};
#endif

/** Accessing symbol of state STATE.  */
#define YY_ACCESSING_SYMBOL(State) YY_CAST (yysymbol_kind_t, yystos[State])

#if 1
/* The user-facing name of the symbol whose (internal) number is
   YYSYMBOL.  No bounds checking.  */
static const char *yysymbol_name (yysymbol_kind_t yysymbol) YY_ATTRIBUTE_UNUSED;

static const char *
yysymbol_name (yysymbol_kind_t yysymbol)
{
  static const char *const yy_sname[] =
  {
  "end of file", "error", "invalid token", "identifier", "number",
  "string", "end of line", "+=", "..", "model", "dim", "param", "input",
  "output", "import", "def", "return", "for", "in", "init", "frozen",
  "optimizer", "with", "max", "int", "float", "'+'", "'-'", "'*'", "'/'",
  "'@'", "NEG", "'{'", "'}'", "'='", "':'", "'('", "')'", "'['", "']'",
  "','", "$accept", "program", "stmts", "stmt_list", "sep", "item",
  "block", "decl", "param_attrs", "init_spec", "type", "name", "names",
  "params", "stmt", "expr", "primary", "call", "approx", "args", "exprs",
  "kwargs", "kwarg", YY_NULLPTR
  };
  return yy_sname[yysymbol];
}
#endif

#define YYPACT_NINF (-40)

#define yypact_value_is_default(Yyn) \
  ((Yyn) == YYPACT_NINF)

#define YYTABLE_NINF (-6)

#define yytable_value_is_error(Yyn) \
  0

/* YYPACT[STATE-NUM] -- Index in YYTABLE of the portion describing
   STATE-NUM.  */
static const yytype_int16 yypact[] =
{
     121,   -40,    -5,     4,    20,    24,    29,    34,    59,    27,
       9,    74,    55,    67,   -40,    83,   -40,   -40,   -40,     9,
       9,     9,   -40,    28,    63,    65,   -40,   -40,    76,   -40,
      88,    92,   103,   -40,     9,     9,     9,   143,    85,   -40,
      88,   123,   104,   -40,   -40,     5,   143,   143,   117,     9,
       9,    10,    10,    34,    96,   -40,    34,     9,   -40,    66,
     143,    48,     9,     9,     9,     9,     9,     9,   -40,     9,
      38,   -40,    -3,   143,   143,   115,   116,     9,   -40,   -40,
     -40,   124,    76,   118,   130,   119,   -40,   -40,     9,    43,
      43,   128,   128,   -40,   122,    53,    50,   143,     6,   -40,
       9,     9,     9,     9,    75,    30,   -40,    88,   138,   143,
     -40,     9,     9,   -40,    38,   143,   143,    79,    87,   -40,
     171,   -40,   -40,   172,   136,   143,   -40,   -40,   -40,   140,
     -40,   141,   -40,   -40,     9,    38,   142,    26,   -40,   -40
};

/* YYDEFACT[STATE-NUM] -- Default reduction number in state STATE-NUM.
   Performed when YYTABLE does not specify something else to do.  Zero
   means the default is an error.  */
static const yytype_int8 yydefact[] =
{
       0,    11,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     2,     4,     6,     9,    10,     0,
       0,     0,    13,     0,     0,     0,    33,    34,    19,    14,
       0,     0,    53,    52,     0,     0,     0,    44,    45,    54,
       0,     0,     0,     1,     8,     0,    39,    38,     0,     0,
       0,     0,     0,     0,     0,    22,    36,    62,    46,     0,
      64,     0,     0,     0,     0,     0,     0,     0,    43,     0,
      66,     7,     0,    16,    15,    30,    29,     0,    23,    18,
      35,     0,    37,     0,     0,    63,    55,    56,     0,    47,
      48,    49,    50,    51,     0,     0,    53,    70,     0,    67,
       0,     0,     0,     0,     0,    17,    12,     0,    58,    65,
      57,     0,     0,    20,     0,    41,    40,     0,     0,    28,
       0,    25,    21,     0,     0,    69,    68,    32,    31,    26,
      24,    60,    59,    42,    62,    66,     0,     0,    27,    61
};

/* YYPGOTO[NTERM-NUM].  */
static const yytype_int16 yypgoto[] =
{
     -40,   -40,   126,   -40,   -40,   133,   -39,   -40,   -40,   -40,
     129,   131,   127,   -40,   -40,   -10,   -40,   -40,   -40,    51,
     -33,    47,    72
};

/* YYDEFGOTO[NTERM-NUM].  */
static const yytype_uint8 yydefgoto[] =
{
       0,    13,    14,    15,    45,    16,    55,    17,   105,   130,
      78,    27,    28,    83,    18,    60,    38,    39,   132,    84,
      85,    98,    99
};

/* YYTABLE[YYPACT[STATE-NUM]] -- What to do in state STATE-NUM.  If
   positive, shift that token.  If negative, reduce the rule whose
   number is the opposite.  If YYTABLE_NINF, syntax error.  */
static const yytype_int16 yytable[] =
{
      37,    68,    19,    61,   100,    -5,     1,    22,     2,    46,
      47,    48,    32,    33,     3,     4,     5,     6,     7,     8,
       9,    10,    11,    23,    58,    59,    12,    24,    30,    20,
      31,   101,    25,    21,    75,    76,    34,    26,    -5,    73,
      74,    96,    33,   113,   104,    35,   114,    36,    77,   120,
     121,    49,    89,    90,    91,    92,    93,    94,    42,    95,
      97,   111,    50,   139,    29,    34,   114,    43,   122,   117,
     118,    64,    65,    66,    35,    40,    36,    41,   109,    62,
      63,    64,    65,    66,   112,   133,    57,    87,    88,    44,
     115,   116,    62,    63,    64,    65,    66,     1,    51,     2,
      52,   124,   125,    86,    97,     3,     4,     5,     6,     7,
       8,     9,    10,    11,   119,    88,    53,    12,   127,    88,
      54,    -3,     1,    67,     2,    97,   128,    88,    56,    -3,
       3,     4,     5,     6,     7,     8,     9,    10,    11,    57,
      70,    69,    12,    62,    63,    64,    65,    66,    62,    63,
      64,    65,    66,   102,   103,   107,    72,   106,    66,    88,
     123,   110,    62,    63,    64,    65,    66,   108,    54,    62,
      63,    64,    65,    66,   129,   131,   134,   135,    71,   138,
      81,    79,   137,    82,    80,   136,   126
};

static const yytype_uint8 yycheck[] =
{
      10,    40,     7,    36,     7,     0,     1,     3,     3,    19,
      20,    21,     3,     4,     9,    10,    11,    12,    13,    14,
      15,    16,    17,     3,    34,    35,    21,     3,     1,    34,
       3,    34,     3,    38,    24,    25,    27,     3,    33,    49,
      50,     3,     4,    37,    77,    36,    40,    38,    38,    19,
      20,    23,    62,    63,    64,    65,    66,    67,     3,    69,
      70,     8,    34,    37,     5,    27,    40,     0,   107,   102,
     103,    28,    29,    30,    36,     1,    38,     3,    88,    26,
      27,    28,    29,    30,    34,   124,    36,    39,    40,     6,
     100,   101,    26,    27,    28,    29,    30,     1,    35,     3,
      35,   111,   112,    37,   114,     9,    10,    11,    12,    13,
      14,    15,    16,    17,    39,    40,    40,    21,    39,    40,
      32,     0,     1,    38,     3,   135,    39,    40,    36,    33,
       9,    10,    11,    12,    13,    14,    15,    16,    17,    36,
      36,    18,    21,    26,    27,    28,    29,    30,    26,    27,
      28,    29,    30,    38,    38,    37,    39,    33,    30,    40,
      22,    39,    26,    27,    28,    29,    30,    37,    32,    26,
      27,    28,    29,    30,     3,     3,    36,    36,    45,    37,
      54,    52,   135,    56,    53,   134,   114
};

/* YYSTOS[STATE-NUM] -- The symbol kind of the accessing symbol of
   state STATE-NUM.  */
static const yytype_int8 yystos[] =
{
       0,     1,     3,     9,    10,    11,    12,    13,    14,    15,
      16,    17,    21,    42,    43,    44,    46,    48,    55,     7,
      34,    38,     3,     3,     3,     3,     3,    52,    53,     5,
       1,     3,     3,     4,    27,    36,    38,    56,    57,    58,
       1,     3,     3,     0,     6,    45,    56,    56,    56,    23,
      34,    35,    35,    40,    32,    47,    36,    36,    56,    56,
      56,    61,    26,    27,    28,    29,    30,    38,    47,    18,
      36,    46,    39,    56,    56,    24,    25,    38,    51,    51,
      52,    43,    53,    54,    60,    61,    37,    39,    40,    56,
      56,    56,    56,    56,    56,    56,     3,    56,    62,    63,
       7,    34,    38,    38,    61,    49,    33,    37,    37,    56,
      39,     8,    34,    37,    40,    56,    56,    61,    61,    39,
      19,    20,    47,    22,    56,    56,    63,    39,    39,     3,
      50,     3,    59,    47,    36,    36,    60,    62,    37,    37
};

/* YYR1[RULE-NUM] -- Symbol kind of the left-hand side of rule RULE-NUM.  */
static const yytype_int8 yyr1[] =
{
       0,    41,    42,    43,    43,    43,    44,    44,    45,    46,
      46,    46,    47,    48,    48,    48,    48,    48,    48,    48,
      48,    48,    48,    49,    49,    49,    50,    50,    51,    51,
      51,    51,    51,    52,    53,    53,    54,    54,    55,    55,
      55,    55,    55,    55,    55,    56,    56,    56,    56,    56,
      56,    56,    57,    57,    57,    57,    57,    57,    58,    58,
      59,    59,    60,    60,    61,    61,    62,    62,    62,    63,
      63
};

/* YYR2[RULE-NUM] -- Number of symbols on the right-hand side of rule RULE-NUM.  */
static const yytype_int8 yyr2[] =
{
       0,     2,     1,     0,     1,     2,     1,     3,     1,     1,
       1,     1,     3,     2,     2,     4,     4,     5,     4,     2,
       5,     6,     3,     0,     3,     2,     1,     4,     3,     1,
       1,     4,     4,     1,     1,     3,     0,     1,     3,     3,
       6,     6,     7,     3,     2,     1,     2,     3,     3,     3,
       3,     3,     1,     1,     1,     3,     3,     4,     4,     6,
       1,     4,     0,     1,     1,     3,     0,     1,     3,     3,
       1
};


enum { YYENOMEM = -2 };

#define yyerrok         (yyerrstatus = 0)
#define yyclearin       (yychar = TOK_YYEMPTY)

#define YYACCEPT        goto yyacceptlab
#define YYABORT         goto yyabortlab
#define YYERROR         goto yyerrorlab
#define YYNOMEM         goto yyexhaustedlab


#define YYRECOVERING()  (!!yyerrstatus)

#define YYBACKUP(Token, Value)                                    \
  do                                                              \
    if (yychar == TOK_YYEMPTY)                                        \
      {                                                           \
        yychar = (Token);                                         \
        yylval = (Value);                                         \
        YYPOPSTACK (yylen);                                       \
        yystate = *yyssp;                                         \
        YY_LAC_DISCARD ("YYBACKUP");                              \
        goto yybackup;                                            \
      }                                                           \
    else                                                          \
      {                                                           \
        yyerror (&yylloc, ctx, scanner, YY_("syntax error: cannot back up")); \
        YYERROR;                                                  \
      }                                                           \
  while (0)

/* Backward compatibility with an undocumented macro.
   Use TOK_YYerror or TOK_YYUNDEF. */
#define YYERRCODE TOK_YYUNDEF

/* YYLLOC_DEFAULT -- Set CURRENT to span from RHS[1] to RHS[N].
   If N is 0, then set CURRENT to the empty location which ends
   the previous symbol: RHS[0] (always defined).  */

#ifndef YYLLOC_DEFAULT
# define YYLLOC_DEFAULT(Current, Rhs, N)                                \
    do                                                                  \
      if (N)                                                            \
        {                                                               \
          (Current).first_line   = YYRHSLOC (Rhs, 1).first_line;        \
          (Current).first_column = YYRHSLOC (Rhs, 1).first_column;      \
          (Current).last_line    = YYRHSLOC (Rhs, N).last_line;         \
          (Current).last_column  = YYRHSLOC (Rhs, N).last_column;       \
        }                                                               \
      else                                                              \
        {                                                               \
          (Current).first_line   = (Current).last_line   =              \
            YYRHSLOC (Rhs, 0).last_line;                                \
          (Current).first_column = (Current).last_column =              \
            YYRHSLOC (Rhs, 0).last_column;                              \
        }                                                               \
    while (0)
#endif

#define YYRHSLOC(Rhs, K) ((Rhs)[K])


/* Enable debugging if requested.  */
#if YYDEBUG

# ifndef YYFPRINTF
#  include <stdio.h> /* INFRINGES ON USER NAME SPACE */
#  define YYFPRINTF fprintf
# endif

# define YYDPRINTF(Args)                        \
do {                                            \
  if (yydebug)                                  \
    YYFPRINTF Args;                             \
} while (0)


/* YYLOCATION_PRINT -- Print the location on the stream.
   This macro was not mandated originally: define only if we know
   we won't break user code: when these are the locations we know.  */

# ifndef YYLOCATION_PRINT

#  if defined YY_LOCATION_PRINT

   /* Temporary convenience wrapper in case some people defined the
      undocumented and private YY_LOCATION_PRINT macros.  */
#   define YYLOCATION_PRINT(File, Loc)  YY_LOCATION_PRINT(File, *(Loc))

#  elif defined YYLTYPE_IS_TRIVIAL && YYLTYPE_IS_TRIVIAL

/* Print *YYLOCP on YYO.  Private, do not rely on its existence. */

YY_ATTRIBUTE_UNUSED
static int
yy_location_print_ (FILE *yyo, YYLTYPE const * const yylocp)
{
  int res = 0;
  int end_col = 0 != yylocp->last_column ? yylocp->last_column - 1 : 0;
  if (0 <= yylocp->first_line)
    {
      res += YYFPRINTF (yyo, "%d", yylocp->first_line);
      if (0 <= yylocp->first_column)
        res += YYFPRINTF (yyo, ".%d", yylocp->first_column);
    }
  if (0 <= yylocp->last_line)
    {
      if (yylocp->first_line < yylocp->last_line)
        {
          res += YYFPRINTF (yyo, "-%d", yylocp->last_line);
          if (0 <= end_col)
            res += YYFPRINTF (yyo, ".%d", end_col);
        }
      else if (0 <= end_col && yylocp->first_column < end_col)
        res += YYFPRINTF (yyo, "-%d", end_col);
    }
  return res;
}

#   define YYLOCATION_PRINT  yy_location_print_

    /* Temporary convenience wrapper in case some people defined the
       undocumented and private YY_LOCATION_PRINT macros.  */
#   define YY_LOCATION_PRINT(File, Loc)  YYLOCATION_PRINT(File, &(Loc))

#  else

#   define YYLOCATION_PRINT(File, Loc) ((void) 0)
    /* Temporary convenience wrapper in case some people defined the
       undocumented and private YY_LOCATION_PRINT macros.  */
#   define YY_LOCATION_PRINT  YYLOCATION_PRINT

#  endif
# endif /* !defined YYLOCATION_PRINT */


# define YY_SYMBOL_PRINT(Title, Kind, Value, Location)                    \
do {                                                                      \
  if (yydebug)                                                            \
    {                                                                     \
      YYFPRINTF (stderr, "%s ", Title);                                   \
      yy_symbol_print (stderr,                                            \
                  Kind, Value, Location, ctx, scanner); \
      YYFPRINTF (stderr, "\n");                                           \
    }                                                                     \
} while (0)


/*-----------------------------------.
| Print this symbol's value on YYO.  |
`-----------------------------------*/

static void
yy_symbol_value_print (FILE *yyo,
                       yysymbol_kind_t yykind, YYSTYPE const * const yyvaluep, YYLTYPE const * const yylocationp, ParseCtx *ctx, yyscan_t scanner)
{
  FILE *yyoutput = yyo;
  YY_USE (yyoutput);
  YY_USE (yylocationp);
  YY_USE (ctx);
  YY_USE (scanner);
  if (!yyvaluep)
    return;
  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  YY_USE (yykind);
  YY_IGNORE_MAYBE_UNINITIALIZED_END
}


/*---------------------------.
| Print this symbol on YYO.  |
`---------------------------*/

static void
yy_symbol_print (FILE *yyo,
                 yysymbol_kind_t yykind, YYSTYPE const * const yyvaluep, YYLTYPE const * const yylocationp, ParseCtx *ctx, yyscan_t scanner)
{
  YYFPRINTF (yyo, "%s %s (",
             yykind < YYNTOKENS ? "token" : "nterm", yysymbol_name (yykind));

  YYLOCATION_PRINT (yyo, yylocationp);
  YYFPRINTF (yyo, ": ");
  yy_symbol_value_print (yyo, yykind, yyvaluep, yylocationp, ctx, scanner);
  YYFPRINTF (yyo, ")");
}

/*------------------------------------------------------------------.
| yy_stack_print -- Print the state stack from its BOTTOM up to its |
| TOP (included).                                                   |
`------------------------------------------------------------------*/

static void
yy_stack_print (yy_state_t *yybottom, yy_state_t *yytop)
{
  YYFPRINTF (stderr, "Stack now");
  for (; yybottom <= yytop; yybottom++)
    {
      int yybot = *yybottom;
      YYFPRINTF (stderr, " %d", yybot);
    }
  YYFPRINTF (stderr, "\n");
}

# define YY_STACK_PRINT(Bottom, Top)                            \
do {                                                            \
  if (yydebug)                                                  \
    yy_stack_print ((Bottom), (Top));                           \
} while (0)


/*------------------------------------------------.
| Report that the YYRULE is going to be reduced.  |
`------------------------------------------------*/

static void
yy_reduce_print (yy_state_t *yyssp, YYSTYPE *yyvsp, YYLTYPE *yylsp,
                 int yyrule, ParseCtx *ctx, yyscan_t scanner)
{
  int yylno = yyrline[yyrule];
  int yynrhs = yyr2[yyrule];
  int yyi;
  YYFPRINTF (stderr, "Reducing stack by rule %d (line %d):\n",
             yyrule - 1, yylno);
  /* The symbols being reduced.  */
  for (yyi = 0; yyi < yynrhs; yyi++)
    {
      YYFPRINTF (stderr, "   $%d = ", yyi + 1);
      yy_symbol_print (stderr,
                       YY_ACCESSING_SYMBOL (+yyssp[yyi + 1 - yynrhs]),
                       &yyvsp[(yyi + 1) - (yynrhs)],
                       &(yylsp[(yyi + 1) - (yynrhs)]), ctx, scanner);
      YYFPRINTF (stderr, "\n");
    }
}

# define YY_REDUCE_PRINT(Rule)          \
do {                                    \
  if (yydebug)                          \
    yy_reduce_print (yyssp, yyvsp, yylsp, Rule, ctx, scanner); \
} while (0)

/* Nonzero means print parse trace.  It is left uninitialized so that
   multiple parsers can coexist.  */
int yydebug;
#else /* !YYDEBUG */
# define YYDPRINTF(Args) ((void) 0)
# define YY_SYMBOL_PRINT(Title, Kind, Value, Location)
# define YY_STACK_PRINT(Bottom, Top)
# define YY_REDUCE_PRINT(Rule)
#endif /* !YYDEBUG */


/* YYINITDEPTH -- initial size of the parser's stacks.  */
#ifndef YYINITDEPTH
# define YYINITDEPTH 200
#endif

/* YYMAXDEPTH -- maximum size the stacks can grow to (effective only
   if the built-in stack extension method is used).

   Do not make this value too large; the results are undefined if
   YYSTACK_ALLOC_MAXIMUM < YYSTACK_BYTES (YYMAXDEPTH)
   evaluated with infinite-precision integer arithmetic.  */

#ifndef YYMAXDEPTH
# define YYMAXDEPTH 10000
#endif


/* Given a state stack such that *YYBOTTOM is its bottom, such that
   *YYTOP is either its top or is YYTOP_EMPTY to indicate an empty
   stack, and such that *YYCAPACITY is the maximum number of elements it
   can hold without a reallocation, make sure there is enough room to
   store YYADD more elements.  If not, allocate a new stack using
   YYSTACK_ALLOC, copy the existing elements, and adjust *YYBOTTOM,
   *YYTOP, and *YYCAPACITY to reflect the new capacity and memory
   location.  If *YYBOTTOM != YYBOTTOM_NO_FREE, then free the old stack
   using YYSTACK_FREE.  Return 0 if successful or if no reallocation is
   required.  Return YYENOMEM if memory is exhausted.  */
static int
yy_lac_stack_realloc (YYPTRDIFF_T *yycapacity, YYPTRDIFF_T yyadd,
#if YYDEBUG
                      char const *yydebug_prefix,
                      char const *yydebug_suffix,
#endif
                      yy_state_t **yybottom,
                      yy_state_t *yybottom_no_free,
                      yy_state_t **yytop, yy_state_t *yytop_empty)
{
  YYPTRDIFF_T yysize_old =
    *yytop == yytop_empty ? 0 : *yytop - *yybottom + 1;
  YYPTRDIFF_T yysize_new = yysize_old + yyadd;
  if (*yycapacity < yysize_new)
    {
      YYPTRDIFF_T yyalloc = 2 * yysize_new;
      yy_state_t *yybottom_new;
      /* Use YYMAXDEPTH for maximum stack size given that the stack
         should never need to grow larger than the main state stack
         needs to grow without LAC.  */
      if (YYMAXDEPTH < yysize_new)
        {
          YYDPRINTF ((stderr, "%smax size exceeded%s", yydebug_prefix,
                      yydebug_suffix));
          return YYENOMEM;
        }
      if (YYMAXDEPTH < yyalloc)
        yyalloc = YYMAXDEPTH;
      yybottom_new =
        YY_CAST (yy_state_t *,
                 YYSTACK_ALLOC (YY_CAST (YYSIZE_T,
                                         yyalloc * YYSIZEOF (*yybottom_new))));
      if (!yybottom_new)
        {
          YYDPRINTF ((stderr, "%srealloc failed%s", yydebug_prefix,
                      yydebug_suffix));
          return YYENOMEM;
        }
      if (*yytop != yytop_empty)
        {
          YYCOPY (yybottom_new, *yybottom, yysize_old);
          *yytop = yybottom_new + (yysize_old - 1);
        }
      if (*yybottom != yybottom_no_free)
        YYSTACK_FREE (*yybottom);
      *yybottom = yybottom_new;
      *yycapacity = yyalloc;
    }
  return 0;
}

/* Establish the initial context for the current lookahead if no initial
   context is currently established.

   We define a context as a snapshot of the parser stacks.  We define
   the initial context for a lookahead as the context in which the
   parser initially examines that lookahead in order to select a
   syntactic action.  Thus, if the lookahead eventually proves
   syntactically unacceptable (possibly in a later context reached via a
   series of reductions), the initial context can be used to determine
   the exact set of tokens that would be syntactically acceptable in the
   lookahead's place.  Moreover, it is the context after which any
   further semantic actions would be erroneous because they would be
   determined by a syntactically unacceptable token.

   YY_LAC_ESTABLISH should be invoked when a reduction is about to be
   performed in an inconsistent state (which, for the purposes of LAC,
   includes consistent states that don't know they're consistent because
   their default reductions have been disabled).  Iff there is a
   lookahead token, it should also be invoked before reporting a syntax
   error.  This latter case is for the sake of the debugging output.

   For parse.lac=full, the implementation of YY_LAC_ESTABLISH is as
   follows.  If no initial context is currently established for the
   current lookahead, then check if that lookahead can eventually be
   shifted if syntactic actions continue from the current context.
   Report a syntax error if it cannot.  */
#define YY_LAC_ESTABLISH                                                \
do {                                                                    \
  if (!yy_lac_established)                                              \
    {                                                                   \
      YYDPRINTF ((stderr,                                               \
                  "LAC: initial context established for %s\n",          \
                  yysymbol_name (yytoken)));                            \
      yy_lac_established = 1;                                           \
      switch (yy_lac (yyesa, &yyes, &yyes_capacity, yyssp, yytoken))    \
        {                                                               \
        case YYENOMEM:                                                  \
          YYNOMEM;                                                      \
        case 1:                                                         \
          goto yyerrlab;                                                \
        }                                                               \
    }                                                                   \
} while (0)

/* Discard any previous initial lookahead context because of Event,
   which may be a lookahead change or an invalidation of the currently
   established initial context for the current lookahead.

   The most common example of a lookahead change is a shift.  An example
   of both cases is syntax error recovery.  That is, a syntax error
   occurs when the lookahead is syntactically erroneous for the
   currently established initial context, so error recovery manipulates
   the parser stacks to try to find a new initial context in which the
   current lookahead is syntactically acceptable.  If it fails to find
   such a context, it discards the lookahead.  */
#if YYDEBUG
# define YY_LAC_DISCARD(Event)                                           \
do {                                                                     \
  if (yy_lac_established)                                                \
    {                                                                    \
      YYDPRINTF ((stderr, "LAC: initial context discarded due to "       \
                  Event "\n"));                                          \
      yy_lac_established = 0;                                            \
    }                                                                    \
} while (0)
#else
# define YY_LAC_DISCARD(Event) yy_lac_established = 0
#endif

/* Given the stack whose top is *YYSSP, return 0 iff YYTOKEN can
   eventually (after perhaps some reductions) be shifted, return 1 if
   not, or return YYENOMEM if memory is exhausted.  As preconditions and
   postconditions: *YYES_CAPACITY is the allocated size of the array to
   which *YYES points, and either *YYES = YYESA or *YYES points to an
   array allocated with YYSTACK_ALLOC.  yy_lac may overwrite the
   contents of either array, alter *YYES and *YYES_CAPACITY, and free
   any old *YYES other than YYESA.  */
static int
yy_lac (yy_state_t *yyesa, yy_state_t **yyes,
        YYPTRDIFF_T *yyes_capacity, yy_state_t *yyssp, yysymbol_kind_t yytoken)
{
  yy_state_t *yyes_prev = yyssp;
  yy_state_t *yyesp = yyes_prev;
  /* Reduce until we encounter a shift and thereby accept the token.  */
  YYDPRINTF ((stderr, "LAC: checking lookahead %s:", yysymbol_name (yytoken)));
  if (yytoken == YYSYMBOL_YYUNDEF)
    {
      YYDPRINTF ((stderr, " Always Err\n"));
      return 1;
    }
  while (1)
    {
      int yyrule = yypact[+*yyesp];
      if (yypact_value_is_default (yyrule)
          || (yyrule += yytoken) < 0 || YYLAST < yyrule
          || yycheck[yyrule] != yytoken)
        {
          /* Use the default action.  */
          yyrule = yydefact[+*yyesp];
          if (yyrule == 0)
            {
              YYDPRINTF ((stderr, " Err\n"));
              return 1;
            }
        }
      else
        {
          /* Use the action from yytable.  */
          yyrule = yytable[yyrule];
          if (yytable_value_is_error (yyrule))
            {
              YYDPRINTF ((stderr, " Err\n"));
              return 1;
            }
          if (0 < yyrule)
            {
              YYDPRINTF ((stderr, " S%d\n", yyrule));
              return 0;
            }
          yyrule = -yyrule;
        }
      /* By now we know we have to simulate a reduce.  */
      YYDPRINTF ((stderr, " R%d", yyrule - 1));
      {
        /* Pop the corresponding number of values from the stack.  */
        YYPTRDIFF_T yylen = yyr2[yyrule];
        /* First pop from the LAC stack as many tokens as possible.  */
        if (yyesp != yyes_prev)
          {
            YYPTRDIFF_T yysize = yyesp - *yyes + 1;
            if (yylen < yysize)
              {
                yyesp -= yylen;
                yylen = 0;
              }
            else
              {
                yyesp = yyes_prev;
                yylen -= yysize;
              }
          }
        /* Only afterwards look at the main stack.  */
        if (yylen)
          yyesp = yyes_prev -= yylen;
      }
      /* Push the resulting state of the reduction.  */
      {
        yy_state_fast_t yystate;
        {
          const int yylhs = yyr1[yyrule] - YYNTOKENS;
          const int yyi = yypgoto[yylhs] + *yyesp;
          yystate = (0 <= yyi && yyi <= YYLAST && yycheck[yyi] == *yyesp
                     ? yytable[yyi]
                     : yydefgoto[yylhs]);
        }
        if (yyesp == yyes_prev)
          {
            yyesp = *yyes;
            YY_IGNORE_USELESS_CAST_BEGIN
            *yyesp = YY_CAST (yy_state_t, yystate);
            YY_IGNORE_USELESS_CAST_END
          }
        else
          {
            if (yy_lac_stack_realloc (yyes_capacity, 1,
#if YYDEBUG
                                      " (", ")",
#endif
                                      yyes, yyesa, &yyesp, yyes_prev))
              {
                YYDPRINTF ((stderr, "\n"));
                return YYENOMEM;
              }
            YY_IGNORE_USELESS_CAST_BEGIN
            *++yyesp = YY_CAST (yy_state_t, yystate);
            YY_IGNORE_USELESS_CAST_END
          }
        YYDPRINTF ((stderr, " G%d", yystate));
      }
    }
}

/* Context of a parse error.  */
typedef struct
{
  yy_state_t *yyssp;
  yy_state_t *yyesa;
  yy_state_t **yyes;
  YYPTRDIFF_T *yyes_capacity;
  yysymbol_kind_t yytoken;
  YYLTYPE *yylloc;
} yypcontext_t;

/* Put in YYARG at most YYARGN of the expected tokens given the
   current YYCTX, and return the number of tokens stored in YYARG.  If
   YYARG is null, return the number of expected tokens (guaranteed to
   be less than YYNTOKENS).  Return YYENOMEM on memory exhaustion.
   Return 0 if there are more than YYARGN expected tokens, yet fill
   YYARG up to YYARGN. */
static int
yypcontext_expected_tokens (const yypcontext_t *yyctx,
                            yysymbol_kind_t yyarg[], int yyargn)
{
  /* Actual size of YYARG. */
  int yycount = 0;

  int yyx;
  for (yyx = 0; yyx < YYNTOKENS; ++yyx)
    {
      yysymbol_kind_t yysym = YY_CAST (yysymbol_kind_t, yyx);
      if (yysym != YYSYMBOL_YYerror && yysym != YYSYMBOL_YYUNDEF)
        switch (yy_lac (yyctx->yyesa, yyctx->yyes, yyctx->yyes_capacity, yyctx->yyssp, yysym))
          {
          case YYENOMEM:
            return YYENOMEM;
          case 1:
            continue;
          default:
            if (!yyarg)
              ++yycount;
            else if (yycount == yyargn)
              return 0;
            else
              yyarg[yycount++] = yysym;
          }
    }
  if (yyarg && yycount == 0 && 0 < yyargn)
    yyarg[0] = YYSYMBOL_YYEMPTY;
  return yycount;
}




/* The kind of the lookahead of this context.  */
static yysymbol_kind_t
yypcontext_token (const yypcontext_t *yyctx) YY_ATTRIBUTE_UNUSED;

static yysymbol_kind_t
yypcontext_token (const yypcontext_t *yyctx)
{
  return yyctx->yytoken;
}

/* The location of the lookahead of this context.  */
static YYLTYPE *
yypcontext_location (const yypcontext_t *yyctx) YY_ATTRIBUTE_UNUSED;

static YYLTYPE *
yypcontext_location (const yypcontext_t *yyctx)
{
  return yyctx->yylloc;
}

/* User defined function to report a syntax error.  */
static int
yyreport_syntax_error (const yypcontext_t *yyctx, ParseCtx *ctx, yyscan_t scanner);

/*-----------------------------------------------.
| Release the memory associated to this symbol.  |
`-----------------------------------------------*/

static void
yydestruct (const char *yymsg,
            yysymbol_kind_t yykind, YYSTYPE *yyvaluep, YYLTYPE *yylocationp, ParseCtx *ctx, yyscan_t scanner)
{
  YY_USE (yyvaluep);
  YY_USE (yylocationp);
  YY_USE (ctx);
  YY_USE (scanner);
  if (!yymsg)
    yymsg = "Deleting";
  YY_SYMBOL_PRINT (yymsg, yykind, yyvaluep, yylocationp);

  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  YY_USE (yykind);
  YY_IGNORE_MAYBE_UNINITIALIZED_END
}






/*----------.
| yyparse.  |
`----------*/

int
yyparse (ParseCtx *ctx, yyscan_t scanner)
{
/* Lookahead token kind.  */
int yychar;


/* The semantic value of the lookahead symbol.  */
/* Default value used for initialization, for pacifying older GCCs
   or non-GCC compilers.  */
YY_INITIAL_VALUE (static YYSTYPE yyval_default;)
YYSTYPE yylval YY_INITIAL_VALUE (= yyval_default);

/* Location data for the lookahead symbol.  */
static YYLTYPE yyloc_default
# if defined YYLTYPE_IS_TRIVIAL && YYLTYPE_IS_TRIVIAL
  = { 1, 1, 1, 1 }
# endif
;
YYLTYPE yylloc = yyloc_default;

    /* Number of syntax errors so far.  */
    int yynerrs = 0;

    yy_state_fast_t yystate = 0;
    /* Number of tokens to shift before error messages enabled.  */
    int yyerrstatus = 0;

    /* Refer to the stacks through separate pointers, to allow yyoverflow
       to reallocate them elsewhere.  */

    /* Their size.  */
    YYPTRDIFF_T yystacksize = YYINITDEPTH;

    /* The state stack: array, bottom, top.  */
    yy_state_t yyssa[YYINITDEPTH];
    yy_state_t *yyss = yyssa;
    yy_state_t *yyssp = yyss;

    /* The semantic value stack: array, bottom, top.  */
    YYSTYPE yyvsa[YYINITDEPTH];
    YYSTYPE *yyvs = yyvsa;
    YYSTYPE *yyvsp = yyvs;

    /* The location stack: array, bottom, top.  */
    YYLTYPE yylsa[YYINITDEPTH];
    YYLTYPE *yyls = yylsa;
    YYLTYPE *yylsp = yyls;

    yy_state_t yyesa[20];
    yy_state_t *yyes = yyesa;
    YYPTRDIFF_T yyes_capacity = 20 < YYMAXDEPTH ? 20 : YYMAXDEPTH;

  /* Whether LAC context is established.  A Boolean.  */
  int yy_lac_established = 0;
  int yyn;
  /* The return value of yyparse.  */
  int yyresult;
  /* Lookahead symbol kind.  */
  yysymbol_kind_t yytoken = YYSYMBOL_YYEMPTY;
  /* The variables used to return semantic value and location from the
     action routines.  */
  YYSTYPE yyval;
  YYLTYPE yyloc;

  /* The locations where the error started and ended.  */
  YYLTYPE yyerror_range[3];



#define YYPOPSTACK(N)   (yyvsp -= (N), yyssp -= (N), yylsp -= (N))

  /* The number of symbols on the RHS of the reduced rule.
     Keep to zero when no symbol should be popped.  */
  int yylen = 0;

  YYDPRINTF ((stderr, "Starting parse\n"));

  yychar = TOK_YYEMPTY; /* Cause a token to be read.  */


/* User initialization code.  */
#line 139 "compiler/parser/parser.y"
{ yylloc = (Loc){ctx->file, 1, 1, 0, 0}; }

#line 1490 "build12/gen/parser.c"

  yylsp[0] = yylloc;
  goto yysetstate;


/*------------------------------------------------------------.
| yynewstate -- push a new state, which is found in yystate.  |
`------------------------------------------------------------*/
yynewstate:
  /* In all cases, when you get here, the value and location stacks
     have just been pushed.  So pushing a state here evens the stacks.  */
  yyssp++;


/*--------------------------------------------------------------------.
| yysetstate -- set current state (the top of the stack) to yystate.  |
`--------------------------------------------------------------------*/
yysetstate:
  YYDPRINTF ((stderr, "Entering state %d\n", yystate));
  YY_ASSERT (0 <= yystate && yystate < YYNSTATES);
  YY_IGNORE_USELESS_CAST_BEGIN
  *yyssp = YY_CAST (yy_state_t, yystate);
  YY_IGNORE_USELESS_CAST_END
  YY_STACK_PRINT (yyss, yyssp);

  if (yyss + yystacksize - 1 <= yyssp)
#if !defined yyoverflow && !defined YYSTACK_RELOCATE
    YYNOMEM;
#else
    {
      /* Get the current used size of the three stacks, in elements.  */
      YYPTRDIFF_T yysize = yyssp - yyss + 1;

# if defined yyoverflow
      {
        /* Give user a chance to reallocate the stack.  Use copies of
           these so that the &'s don't force the real ones into
           memory.  */
        yy_state_t *yyss1 = yyss;
        YYSTYPE *yyvs1 = yyvs;
        YYLTYPE *yyls1 = yyls;

        /* Each stack pointer address is followed by the size of the
           data in use in that stack, in bytes.  This used to be a
           conditional around just the two extra args, but that might
           be undefined if yyoverflow is a macro.  */
        yyoverflow (YY_("memory exhausted"),
                    &yyss1, yysize * YYSIZEOF (*yyssp),
                    &yyvs1, yysize * YYSIZEOF (*yyvsp),
                    &yyls1, yysize * YYSIZEOF (*yylsp),
                    &yystacksize);
        yyss = yyss1;
        yyvs = yyvs1;
        yyls = yyls1;
      }
# else /* defined YYSTACK_RELOCATE */
      /* Extend the stack our own way.  */
      if (YYMAXDEPTH <= yystacksize)
        YYNOMEM;
      yystacksize *= 2;
      if (YYMAXDEPTH < yystacksize)
        yystacksize = YYMAXDEPTH;

      {
        yy_state_t *yyss1 = yyss;
        union yyalloc *yyptr =
          YY_CAST (union yyalloc *,
                   YYSTACK_ALLOC (YY_CAST (YYSIZE_T, YYSTACK_BYTES (yystacksize))));
        if (! yyptr)
          YYNOMEM;
        YYSTACK_RELOCATE (yyss_alloc, yyss);
        YYSTACK_RELOCATE (yyvs_alloc, yyvs);
        YYSTACK_RELOCATE (yyls_alloc, yyls);
#  undef YYSTACK_RELOCATE
        if (yyss1 != yyssa)
          YYSTACK_FREE (yyss1);
      }
# endif

      yyssp = yyss + yysize - 1;
      yyvsp = yyvs + yysize - 1;
      yylsp = yyls + yysize - 1;

      YY_IGNORE_USELESS_CAST_BEGIN
      YYDPRINTF ((stderr, "Stack size increased to %ld\n",
                  YY_CAST (long, yystacksize)));
      YY_IGNORE_USELESS_CAST_END

      if (yyss + yystacksize - 1 <= yyssp)
        YYABORT;
    }
#endif /* !defined yyoverflow && !defined YYSTACK_RELOCATE */


  if (yystate == YYFINAL)
    YYACCEPT;

  goto yybackup;


/*-----------.
| yybackup.  |
`-----------*/
yybackup:
  /* Do appropriate processing given the current state.  Read a
     lookahead token if we need one and don't already have one.  */

  /* First try to decide what to do without reference to lookahead token.  */
  yyn = yypact[yystate];
  if (yypact_value_is_default (yyn))
    goto yydefault;

  /* Not known => get a lookahead token if don't already have one.  */

  /* YYCHAR is either empty, or end-of-input, or a valid lookahead.  */
  if (yychar == TOK_YYEMPTY)
    {
      YYDPRINTF ((stderr, "Reading a token\n"));
      yychar = yylex (&yylval, &yylloc, scanner);
    }

  if (yychar <= TOK_YYEOF)
    {
      yychar = TOK_YYEOF;
      yytoken = YYSYMBOL_YYEOF;
      YYDPRINTF ((stderr, "Now at end of input.\n"));
    }
  else if (yychar == TOK_YYerror)
    {
      /* The scanner already issued an error message, process directly
         to error recovery.  But do not keep the error token as
         lookahead, it is too special and may lead us to an endless
         loop in error recovery. */
      yychar = TOK_YYUNDEF;
      yytoken = YYSYMBOL_YYerror;
      yyerror_range[1] = yylloc;
      goto yyerrlab1;
    }
  else
    {
      yytoken = YYTRANSLATE (yychar);
      YY_SYMBOL_PRINT ("Next token is", yytoken, &yylval, &yylloc);
    }

  /* If the proper action on seeing token YYTOKEN is to reduce or to
     detect an error, take that action.  */
  yyn += yytoken;
  if (yyn < 0 || YYLAST < yyn || yycheck[yyn] != yytoken)
    {
      YY_LAC_ESTABLISH;
      goto yydefault;
    }
  yyn = yytable[yyn];
  if (yyn <= 0)
    {
      if (yytable_value_is_error (yyn))
        goto yyerrlab;
      yyn = -yyn;
      YY_LAC_ESTABLISH;
      goto yyreduce;
    }

  /* Count tokens shifted since error; after three, turn off error
     status.  */
  if (yyerrstatus)
    yyerrstatus--;

  /* Shift the lookahead token.  */
  YY_SYMBOL_PRINT ("Shifting", yytoken, &yylval, &yylloc);
  yystate = yyn;
  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  *++yyvsp = yylval;
  YY_IGNORE_MAYBE_UNINITIALIZED_END
  *++yylsp = yylloc;

  /* Discard the shifted token.  */
  yychar = TOK_YYEMPTY;
  YY_LAC_DISCARD ("shift");
  goto yynewstate;


/*-----------------------------------------------------------.
| yydefault -- do the default action for the current state.  |
`-----------------------------------------------------------*/
yydefault:
  yyn = yydefact[yystate];
  if (yyn == 0)
    goto yyerrlab;
  goto yyreduce;


/*-----------------------------.
| yyreduce -- do a reduction.  |
`-----------------------------*/
yyreduce:
  /* yyn is the number of a rule to reduce with.  */
  yylen = yyr2[yyn];

  /* If YYLEN is nonzero, implement the default value of the action:
     '$$ = $1'.

     Otherwise, the following line sets YYVAL to garbage.
     This behavior is undocumented and Bison
     users should not rely upon it.  Assigning to YYVAL
     unconditionally makes the parser a bit smaller, and it avoids a
     GCC warning that YYVAL may be used uninitialized.  */
  yyval = yyvsp[1-yylen];

  /* Default location. */
  YYLLOC_DEFAULT (yyloc, (yylsp - yylen), yylen);
  yyerror_range[1] = yyloc;
  YY_REDUCE_PRINT (yyn);
  {
    int yychar_backup = yychar;
    switch (yyn)
      {
  case 2: /* program: stmts  */
#line 172 "compiler/parser/parser.y"
                                { ctx->items = (yyvsp[0].list); }
#line 1710 "build12/gen/parser.c"
    break;

  case 3: /* stmts: %empty  */
#line 178 "compiler/parser/parser.y"
                                { (yyval.list) = (AstList){0}; }
#line 1716 "build12/gen/parser.c"
    break;

  case 4: /* stmts: stmt_list  */
#line 179 "compiler/parser/parser.y"
                                { (yyval.list) = (yyvsp[0].list); }
#line 1722 "build12/gen/parser.c"
    break;

  case 5: /* stmts: stmt_list sep  */
#line 180 "compiler/parser/parser.y"
                                { (yyval.list) = (yyvsp[-1].list); }
#line 1728 "build12/gen/parser.c"
    break;

  case 6: /* stmt_list: item  */
#line 184 "compiler/parser/parser.y"
                                { (yyval.list) = list1((yyvsp[0].ast)); }
#line 1734 "build12/gen/parser.c"
    break;

  case 7: /* stmt_list: stmt_list sep item  */
#line 185 "compiler/parser/parser.y"
                                { (yyval.list) = list_add((yyvsp[-2].list), (yyvsp[0].ast)); }
#line 1740 "build12/gen/parser.c"
    break;

  case 8: /* sep: "end of line"  */
#line 193 "compiler/parser/parser.y"
                                { yyerrok; }
#line 1746 "build12/gen/parser.c"
    break;

  case 11: /* item: error  */
#line 201 "compiler/parser/parser.y"
                                { (yyval.ast) = NULL; }
#line 1752 "build12/gen/parser.c"
    break;

  case 12: /* block: '{' stmts '}'  */
#line 205 "compiler/parser/parser.y"
                                { (yyval.list) = (yyvsp[-1].list); }
#line 1758 "build12/gen/parser.c"
    break;

  case 13: /* decl: "model" "identifier"  */
#line 209 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_MODEL, (yyloc), (yyvsp[0].str)); }
#line 1764 "build12/gen/parser.c"
    break;

  case 14: /* decl: "import" "string"  */
#line 210 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_IMPORT, (yyloc), (yyvsp[0].str)); }
#line 1770 "build12/gen/parser.c"
    break;

  case 15: /* decl: "dim" "identifier" '=' expr  */
#line 211 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_DIM, (yyloc), (yyvsp[-2].str)); (yyval.ast)->a = (yyvsp[0].ast); }
#line 1776 "build12/gen/parser.c"
    break;

  case 16: /* decl: "dim" "identifier" "max" expr  */
#line 212 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_DIM, (yyloc), (yyvsp[-2].str)); (yyval.ast)->a = (yyvsp[0].ast); (yyval.ast)->is_max = true; }
#line 1782 "build12/gen/parser.c"
    break;

  case 17: /* decl: "param" "identifier" ':' type param_attrs  */
#line 213 "compiler/parser/parser.y"
                                    {
                                  (yyval.ast) = (yyvsp[0].ast);
                                  (yyval.ast)->loc = (yyloc);
                                  (yyval.ast)->name = (yyvsp[-3].str);
                                  (yyval.ast)->type = (yyvsp[-1].ast);
                                }
#line 1793 "build12/gen/parser.c"
    break;

  case 18: /* decl: "input" "identifier" ':' type  */
#line 219 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_INPUT, (yyloc), (yyvsp[-2].str)); (yyval.ast)->type = (yyvsp[0].ast); }
#line 1799 "build12/gen/parser.c"
    break;

  case 19: /* decl: "output" names  */
#line 220 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_OUTPUT, (yyloc)); (yyval.ast)->args = (yyvsp[0].list); }
#line 1805 "build12/gen/parser.c"
    break;

  case 20: /* decl: "optimizer" "identifier" '(' kwargs ')'  */
#line 221 "compiler/parser/parser.y"
                                  { (yyval.ast) = named(AST_OPTIMIZER, (yyloc), (yyvsp[-3].str)); (yyval.ast)->args = (yyvsp[-1].list); }
#line 1811 "build12/gen/parser.c"
    break;

  case 21: /* decl: "def" "identifier" '(' params ')' block  */
#line 222 "compiler/parser/parser.y"
                                  {
                                  (yyval.ast) = named(AST_DEF, (yyloc), (yyvsp[-4].str));
                                  (yyval.ast)->args = (yyvsp[-2].list);
                                  (yyval.ast)->body = (yyvsp[0].list);
                                }
#line 1821 "build12/gen/parser.c"
    break;

  case 22: /* decl: "def" error block  */
#line 228 "compiler/parser/parser.y"
                                { (yyval.ast) = NULL; }
#line 1827 "build12/gen/parser.c"
    break;

  case 23: /* param_attrs: %empty  */
#line 234 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_PARAM, (yyloc)); }
#line 1833 "build12/gen/parser.c"
    break;

  case 24: /* param_attrs: param_attrs "init" init_spec  */
#line 235 "compiler/parser/parser.y"
                                {
                                  (yyval.ast) = (yyvsp[-2].ast);
                                  if ((yyval.ast)->a)
                                      diag_error(ctx->d, (yylsp[-1]), "duplicate 'init' for a param");
                                  (yyval.ast)->a = (yyvsp[0].ast);
                                }
#line 1844 "build12/gen/parser.c"
    break;

  case 25: /* param_attrs: param_attrs "frozen"  */
#line 241 "compiler/parser/parser.y"
                                {
                                  (yyval.ast) = (yyvsp[-1].ast);
                                  if ((yyval.ast)->frozen)
                                      diag_error(ctx->d, (yylsp[0]), "duplicate 'frozen' for a param");
                                  (yyval.ast)->frozen = true;
                                }
#line 1855 "build12/gen/parser.c"
    break;

  case 26: /* init_spec: "identifier"  */
#line 250 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_NAME, (yyloc), (yyvsp[0].str)); }
#line 1861 "build12/gen/parser.c"
    break;

  case 27: /* init_spec: "identifier" '(' args ')'  */
#line 251 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_CALL, (yyloc), (yyvsp[-3].str)); (yyval.ast)->args = (yyvsp[-1].list); }
#line 1867 "build12/gen/parser.c"
    break;

  case 28: /* type: '[' exprs ']'  */
#line 255 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_TYPE, (yyloc)); (yyval.ast)->has_shape = true; (yyval.ast)->args = (yyvsp[-1].list); }
#line 1873 "build12/gen/parser.c"
    break;

  case 29: /* type: "float"  */
#line 256 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_TYPE, (yyloc)); }
#line 1879 "build12/gen/parser.c"
    break;

  case 30: /* type: "int"  */
#line 257 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_TYPE, (yyloc)); (yyval.ast)->is_int = true; }
#line 1885 "build12/gen/parser.c"
    break;

  case 31: /* type: "float" '[' exprs ']'  */
#line 258 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_TYPE, (yyloc)); (yyval.ast)->has_shape = true; (yyval.ast)->args = (yyvsp[-1].list); }
#line 1891 "build12/gen/parser.c"
    break;

  case 32: /* type: "int" '[' exprs ']'  */
#line 259 "compiler/parser/parser.y"
                                {
                                  (yyval.ast) = ast_new(AST_TYPE, (yyloc));
                                  (yyval.ast)->is_int = true;
                                  (yyval.ast)->has_shape = true;
                                  (yyval.ast)->args = (yyvsp[-1].list);
                                }
#line 1902 "build12/gen/parser.c"
    break;

  case 33: /* name: "identifier"  */
#line 268 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_NAME, (yyloc), (yyvsp[0].str)); }
#line 1908 "build12/gen/parser.c"
    break;

  case 34: /* names: name  */
#line 272 "compiler/parser/parser.y"
                                { (yyval.list) = list1((yyvsp[0].ast)); }
#line 1914 "build12/gen/parser.c"
    break;

  case 35: /* names: names ',' name  */
#line 273 "compiler/parser/parser.y"
                                { (yyval.list) = list_add((yyvsp[-2].list), (yyvsp[0].ast)); }
#line 1920 "build12/gen/parser.c"
    break;

  case 36: /* params: %empty  */
#line 277 "compiler/parser/parser.y"
                                { (yyval.list) = (AstList){0}; }
#line 1926 "build12/gen/parser.c"
    break;

  case 37: /* params: names  */
#line 278 "compiler/parser/parser.y"
                                { (yyval.list) = (yyvsp[0].list); }
#line 1932 "build12/gen/parser.c"
    break;

  case 38: /* stmt: "identifier" '=' expr  */
#line 282 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_BIND, (yyloc), (yyvsp[-2].str)); (yyval.ast)->a = (yyvsp[0].ast); }
#line 1938 "build12/gen/parser.c"
    break;

  case 39: /* stmt: "identifier" "+=" expr  */
#line 283 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_ACCUM, (yyloc), (yyvsp[-2].str)); (yyval.ast)->a = (yyvsp[0].ast); (yyval.ast)->op_loc = (yylsp[-1]); }
#line 1944 "build12/gen/parser.c"
    break;

  case 40: /* stmt: "identifier" '[' expr ']' '=' expr  */
#line 284 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_SETROW, (yyloc), (yyvsp[-5].str)); (yyval.ast)->b = (yyvsp[-3].ast); (yyval.ast)->a = (yyvsp[0].ast); }
#line 1950 "build12/gen/parser.c"
    break;

  case 41: /* stmt: "identifier" '[' expr ']' "+=" expr  */
#line 285 "compiler/parser/parser.y"
                                  {
                                  diag_error(ctx->d, (yylsp[-1]),
                                             "'+=' only adds to a plain name such as 'loss'; "
                                             "write a row with '%s[...] = ...'", (yyvsp[-5].str));
                                  (yyval.ast) = NULL;
                                }
#line 1961 "build12/gen/parser.c"
    break;

  case 42: /* stmt: "for" "identifier" "in" expr ".." expr block  */
#line 291 "compiler/parser/parser.y"
                                       {
                                  (yyval.ast) = named(AST_FOR, (yyloc), (yyvsp[-5].str));
                                  (yyval.ast)->op_loc = (yylsp[-6]);
                                  (yyval.ast)->a = (yyvsp[-3].ast);
                                  (yyval.ast)->b = (yyvsp[-1].ast);
                                  (yyval.ast)->body = (yyvsp[0].list);
                                }
#line 1973 "build12/gen/parser.c"
    break;

  case 43: /* stmt: "for" error block  */
#line 299 "compiler/parser/parser.y"
                                { (yyval.ast) = NULL; }
#line 1979 "build12/gen/parser.c"
    break;

  case 44: /* stmt: "return" expr  */
#line 300 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_RETURN, (yyloc)); (yyval.ast)->a = (yyvsp[0].ast); }
#line 1985 "build12/gen/parser.c"
    break;

  case 46: /* expr: '-' expr  */
#line 305 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_NEG, (yyloc)); (yyval.ast)->a = (yyvsp[0].ast); }
#line 1991 "build12/gen/parser.c"
    break;

  case 47: /* expr: expr '+' expr  */
#line 306 "compiler/parser/parser.y"
                                { (yyval.ast) = binop('+', (yyvsp[-2].ast), (yyvsp[0].ast), (yyloc), (yylsp[-1])); }
#line 1997 "build12/gen/parser.c"
    break;

  case 48: /* expr: expr '-' expr  */
#line 307 "compiler/parser/parser.y"
                                { (yyval.ast) = binop('-', (yyvsp[-2].ast), (yyvsp[0].ast), (yyloc), (yylsp[-1])); }
#line 2003 "build12/gen/parser.c"
    break;

  case 49: /* expr: expr '*' expr  */
#line 308 "compiler/parser/parser.y"
                                { (yyval.ast) = binop('*', (yyvsp[-2].ast), (yyvsp[0].ast), (yyloc), (yylsp[-1])); }
#line 2009 "build12/gen/parser.c"
    break;

  case 50: /* expr: expr '/' expr  */
#line 309 "compiler/parser/parser.y"
                                { (yyval.ast) = binop('/', (yyvsp[-2].ast), (yyvsp[0].ast), (yyloc), (yylsp[-1])); }
#line 2015 "build12/gen/parser.c"
    break;

  case 51: /* expr: expr '@' expr  */
#line 310 "compiler/parser/parser.y"
                                { (yyval.ast) = binop('@', (yyvsp[-2].ast), (yyvsp[0].ast), (yyloc), (yylsp[-1])); }
#line 2021 "build12/gen/parser.c"
    break;

  case 53: /* primary: "identifier"  */
#line 315 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_NAME, (yyloc), (yyvsp[0].str)); }
#line 2027 "build12/gen/parser.c"
    break;

  case 55: /* primary: '(' expr ')'  */
#line 317 "compiler/parser/parser.y"
                                { (yyval.ast) = (yyvsp[-1].ast); }
#line 2033 "build12/gen/parser.c"
    break;

  case 56: /* primary: '[' exprs ']'  */
#line 318 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_SHAPE, (yyloc)); (yyval.ast)->args = (yyvsp[-1].list); }
#line 2039 "build12/gen/parser.c"
    break;

  case 57: /* primary: primary '[' expr ']'  */
#line 319 "compiler/parser/parser.y"
                                {
                                  (yyval.ast) = ast_new(AST_INDEX, (yyloc));
                                  (yyval.ast)->a = (yyvsp[-3].ast);
                                  (yyval.ast)->b = (yyvsp[-1].ast);
                                  (yyval.ast)->op_loc = (yylsp[-2]);
                                }
#line 2050 "build12/gen/parser.c"
    break;

  case 58: /* call: "identifier" '(' args ')'  */
#line 329 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_CALL, (yyloc), (yyvsp[-3].str)); (yyval.ast)->args = (yyvsp[-1].list); }
#line 2056 "build12/gen/parser.c"
    break;

  case 59: /* call: "identifier" '(' args ')' "with" approx  */
#line 330 "compiler/parser/parser.y"
                                  {
                                  (yyval.ast) = named(AST_CALL, (yyloc), (yyvsp[-5].str));
                                  (yyval.ast)->args = (yyvsp[-3].list);
                                  (yyval.ast)->approx = (yyvsp[0].ast);
                                }
#line 2066 "build12/gen/parser.c"
    break;

  case 60: /* approx: "identifier"  */
#line 338 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_APPROX, (yyloc), (yyvsp[0].str)); }
#line 2072 "build12/gen/parser.c"
    break;

  case 61: /* approx: "identifier" '(' kwargs ')'  */
#line 339 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_APPROX, (yyloc), (yyvsp[-3].str)); (yyval.ast)->args = (yyvsp[-1].list); }
#line 2078 "build12/gen/parser.c"
    break;

  case 62: /* args: %empty  */
#line 343 "compiler/parser/parser.y"
                                { (yyval.list) = (AstList){0}; }
#line 2084 "build12/gen/parser.c"
    break;

  case 63: /* args: exprs  */
#line 344 "compiler/parser/parser.y"
                                { (yyval.list) = (yyvsp[0].list); }
#line 2090 "build12/gen/parser.c"
    break;

  case 64: /* exprs: expr  */
#line 348 "compiler/parser/parser.y"
                                { (yyval.list) = list1((yyvsp[0].ast)); }
#line 2096 "build12/gen/parser.c"
    break;

  case 65: /* exprs: exprs ',' expr  */
#line 349 "compiler/parser/parser.y"
                                { (yyval.list) = list_add((yyvsp[-2].list), (yyvsp[0].ast)); }
#line 2102 "build12/gen/parser.c"
    break;

  case 66: /* kwargs: %empty  */
#line 353 "compiler/parser/parser.y"
                                { (yyval.list) = (AstList){0}; }
#line 2108 "build12/gen/parser.c"
    break;

  case 67: /* kwargs: kwarg  */
#line 354 "compiler/parser/parser.y"
                                { (yyval.list) = list1((yyvsp[0].ast)); }
#line 2114 "build12/gen/parser.c"
    break;

  case 68: /* kwargs: kwargs ',' kwarg  */
#line 355 "compiler/parser/parser.y"
                                { (yyval.list) = list_add((yyvsp[-2].list), (yyvsp[0].ast)); }
#line 2120 "build12/gen/parser.c"
    break;

  case 69: /* kwarg: "identifier" '=' expr  */
#line 359 "compiler/parser/parser.y"
                                { (yyval.ast) = named(AST_KWARG, (yyloc), (yyvsp[-2].str)); (yyval.ast)->a = (yyvsp[0].ast); }
#line 2126 "build12/gen/parser.c"
    break;

  case 70: /* kwarg: expr  */
#line 360 "compiler/parser/parser.y"
                                { (yyval.ast) = ast_new(AST_KWARG, (yyloc)); (yyval.ast)->a = (yyvsp[0].ast); }
#line 2132 "build12/gen/parser.c"
    break;


#line 2136 "build12/gen/parser.c"

        default: break;
      }
    if (yychar_backup != yychar)
      YY_LAC_DISCARD ("yychar change");
  }
  /* User semantic actions sometimes alter yychar, and that requires
     that yytoken be updated with the new translation.  We take the
     approach of translating immediately before every use of yytoken.
     One alternative is translating here after every semantic action,
     but that translation would be missed if the semantic action invokes
     YYABORT, YYACCEPT, or YYERROR immediately after altering yychar or
     if it invokes YYBACKUP.  In the case of YYABORT or YYACCEPT, an
     incorrect destructor might then be invoked immediately.  In the
     case of YYERROR or YYBACKUP, subsequent parser actions might lead
     to an incorrect destructor call or verbose syntax error message
     before the lookahead is translated.  */
  YY_SYMBOL_PRINT ("-> $$ =", YY_CAST (yysymbol_kind_t, yyr1[yyn]), &yyval, &yyloc);

  YYPOPSTACK (yylen);
  yylen = 0;

  *++yyvsp = yyval;
  *++yylsp = yyloc;

  /* Now 'shift' the result of the reduction.  Determine what state
     that goes to, based on the state we popped back to and the rule
     number reduced by.  */
  {
    const int yylhs = yyr1[yyn] - YYNTOKENS;
    const int yyi = yypgoto[yylhs] + *yyssp;
    yystate = (0 <= yyi && yyi <= YYLAST && yycheck[yyi] == *yyssp
               ? yytable[yyi]
               : yydefgoto[yylhs]);
  }

  goto yynewstate;


/*--------------------------------------.
| yyerrlab -- here on detecting error.  |
`--------------------------------------*/
yyerrlab:
  /* Make sure we have latest lookahead translation.  See comments at
     user semantic actions for why this is necessary.  */
  yytoken = yychar == TOK_YYEMPTY ? YYSYMBOL_YYEMPTY : YYTRANSLATE (yychar);
  /* If not already recovering from an error, report this error.  */
  if (!yyerrstatus)
    {
      ++yynerrs;
      {
        yypcontext_t yyctx
          = {yyssp, yyesa, &yyes, &yyes_capacity, yytoken, &yylloc};
        if (yychar != TOK_YYEMPTY)
          YY_LAC_ESTABLISH;
        if (yyreport_syntax_error (&yyctx, ctx, scanner) == 2)
          YYNOMEM;
      }
    }

  yyerror_range[1] = yylloc;
  if (yyerrstatus == 3)
    {
      /* If just tried and failed to reuse lookahead token after an
         error, discard it.  */

      if (yychar <= TOK_YYEOF)
        {
          /* Return failure if at end of input.  */
          if (yychar == TOK_YYEOF)
            YYABORT;
        }
      else
        {
          yydestruct ("Error: discarding",
                      yytoken, &yylval, &yylloc, ctx, scanner);
          yychar = TOK_YYEMPTY;
        }
    }

  /* Else will try to reuse lookahead token after shifting the error
     token.  */
  goto yyerrlab1;


/*---------------------------------------------------.
| yyerrorlab -- error raised explicitly by YYERROR.  |
`---------------------------------------------------*/
yyerrorlab:
  /* Pacify compilers when the user code never invokes YYERROR and the
     label yyerrorlab therefore never appears in user code.  */
  if (0)
    YYERROR;
  ++yynerrs;

  /* Do not reclaim the symbols of the rule whose action triggered
     this YYERROR.  */
  YYPOPSTACK (yylen);
  yylen = 0;
  YY_STACK_PRINT (yyss, yyssp);
  yystate = *yyssp;
  goto yyerrlab1;


/*-------------------------------------------------------------.
| yyerrlab1 -- common code for both syntax error and YYERROR.  |
`-------------------------------------------------------------*/
yyerrlab1:
  yyerrstatus = 3;      /* Each real token shifted decrements this.  */

  /* Pop stack until we find a state that shifts the error token.  */
  for (;;)
    {
      yyn = yypact[yystate];
      if (!yypact_value_is_default (yyn))
        {
          yyn += YYSYMBOL_YYerror;
          if (0 <= yyn && yyn <= YYLAST && yycheck[yyn] == YYSYMBOL_YYerror)
            {
              yyn = yytable[yyn];
              if (0 < yyn)
                break;
            }
        }

      /* Pop the current state because it cannot handle the error token.  */
      if (yyssp == yyss)
        YYABORT;

      yyerror_range[1] = *yylsp;
      yydestruct ("Error: popping",
                  YY_ACCESSING_SYMBOL (yystate), yyvsp, yylsp, ctx, scanner);
      YYPOPSTACK (1);
      yystate = *yyssp;
      YY_STACK_PRINT (yyss, yyssp);
    }

  /* If the stack popping above didn't lose the initial context for the
     current lookahead token, the shift below will for sure.  */
  YY_LAC_DISCARD ("error recovery");

  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  *++yyvsp = yylval;
  YY_IGNORE_MAYBE_UNINITIALIZED_END

  yyerror_range[2] = yylloc;
  ++yylsp;
  YYLLOC_DEFAULT (*yylsp, yyerror_range, 2);

  /* Shift the error token.  */
  YY_SYMBOL_PRINT ("Shifting", YY_ACCESSING_SYMBOL (yyn), yyvsp, yylsp);

  yystate = yyn;
  goto yynewstate;


/*-------------------------------------.
| yyacceptlab -- YYACCEPT comes here.  |
`-------------------------------------*/
yyacceptlab:
  yyresult = 0;
  goto yyreturnlab;


/*-----------------------------------.
| yyabortlab -- YYABORT comes here.  |
`-----------------------------------*/
yyabortlab:
  yyresult = 1;
  goto yyreturnlab;


/*-----------------------------------------------------------.
| yyexhaustedlab -- YYNOMEM (memory exhaustion) comes here.  |
`-----------------------------------------------------------*/
yyexhaustedlab:
  yyerror (&yylloc, ctx, scanner, YY_("memory exhausted"));
  yyresult = 2;
  goto yyreturnlab;


/*----------------------------------------------------------.
| yyreturnlab -- parsing is finished, clean up and return.  |
`----------------------------------------------------------*/
yyreturnlab:
  if (yychar != TOK_YYEMPTY)
    {
      /* Make sure we have latest lookahead translation.  See comments at
         user semantic actions for why this is necessary.  */
      yytoken = YYTRANSLATE (yychar);
      yydestruct ("Cleanup: discarding lookahead",
                  yytoken, &yylval, &yylloc, ctx, scanner);
    }
  /* Do not reclaim the symbols of the rule whose action triggered
     this YYABORT or YYACCEPT.  */
  YYPOPSTACK (yylen);
  YY_STACK_PRINT (yyss, yyssp);
  while (yyssp != yyss)
    {
      yydestruct ("Cleanup: popping",
                  YY_ACCESSING_SYMBOL (+*yyssp), yyvsp, yylsp, ctx, scanner);
      YYPOPSTACK (1);
    }
#ifndef yyoverflow
  if (yyss != yyssa)
    YYSTACK_FREE (yyss);
#endif
  if (yyes != yyesa)
    YYSTACK_FREE (yyes);

  return yyresult;
}

#line 363 "compiler/parser/parser.y"


void parse_ctx_init(ParseCtx *ctx, Diag *d, int file) {
    memset(ctx, 0, sizeof *ctx);
    ctx->d = d;
    ctx->file = file;
    ctx->line = 1;
    ctx->col = 1;
    ctx->suppress_off = -1;
}

/* Only "memory exhausted" (the parser stack) reaches here; parse.error
 * custom sends syntax errors to yyreport_syntax_error. */
static void yyerror(Loc *loc, ParseCtx *ctx, yyscan_t scanner, const char *msg) {
    (void)scanner;
    if (!ctx->fatal)
        diag_error(ctx->d, *loc, "program nested too deeply for the parser (%s)", msg);
    ctx->fatal = true;
}

/* How a token is named in a message: identifiers and numbers with their
 * text, a SEP as what it was written as. */
static void describe(ParseCtx *ctx, yysymbol_kind_t sym, Loc loc, char *buf, size_t n) {
    const SourceFile *f = &ctx->d->files[ctx->file];
    const char *text = loc.off >= 0 && (size_t)loc.off < f->len ? f->text + loc.off : "";
    switch (sym) {
    case YYSYMBOL_YYEOF: snprintf(buf, n, "end of file"); break;
    case YYSYMBOL_SEP: /* the one the lexer adds at the end has no text */
        snprintf(buf, n, loc.len == 0 ? "end of file" : *text == ';' ? "';'" : "end of line");
        break;
    case YYSYMBOL_NAME: snprintf(buf, n, "identifier '%.*s'", loc.len > 40 ? 40 : loc.len, text); break;
    case YYSYMBOL_NUMBER: snprintf(buf, n, "number '%.*s'", loc.len > 40 ? 40 : loc.len, text); break;
    case YYSYMBOL_STRING: snprintf(buf, n, "string %.*s", loc.len > 40 ? 40 : loc.len, text); break;
    default: {
        /* char tokens are named "'+'" already; aliases come as "\"for\"" or "for" */
        const char *s = yysymbol_name(sym);
        size_t len = strlen(s);
        if (s[0] == '"' && len >= 2)
            snprintf(buf, n, "'%.*s'", (int)len - 2, s + 1);
        else if (s[0] == '\'')
            snprintf(buf, n, "%s", s);
        else
            snprintf(buf, n, "'%s'", s);
    }
    }
}

static bool expects(const yysymbol_kind_t *exp, int n, yysymbol_kind_t sym) {
    for (int i = 0; i < n; i++)
        if (exp[i] == sym)
            return true;
    return false;
}

/* Bison numbers char tokens by order of appearance (YYSYMBOL_4_ ...), so
 * they are recognised by name instead. */
static bool is_char(yysymbol_kind_t sym, char c) {
    const char *s = yysymbol_name(sym);
    return s[0] == '\'' && s[1] == c && s[2] == '\'' && s[3] == '\0';
}

static bool expects_char(const yysymbol_kind_t *exp, int n, char c) {
    for (int i = 0; i < n; i++)
        if (is_char(exp[i], c))
            return true;
    return false;
}

static int yyreport_syntax_error(const yypcontext_t *pc, ParseCtx *ctx, yyscan_t scanner) {
    (void)scanner;
    if (ctx->fatal)
        return 0;
    /* The lexer ends a broken statement at the next newline even inside ( ). */
    ctx->recovering = true;
    yysymbol_kind_t tok = yypcontext_token(pc);
    Loc loc = *yypcontext_location(pc);
    if (loc.off == ctx->suppress_off)
        return 0; /* the lexer already reported the problem here */

    yysymbol_kind_t exp[YYNTOKENS];
    int nexp = yypcontext_expected_tokens(pc, exp, YYNTOKENS);
    if (nexp < 0)
        nexp = 0;
    char found[80];
    describe(ctx, tok, loc, found, sizeof found);

    /* Innermost delimiter opened before the offending token. */
    const Delim *open = NULL;
    for (int i = ctx->ndelims - 1; i >= 0; i--) {
        if (ctx->delims[i].loc.off < loc.off) {
            open = &ctx->delims[i];
            break;
        }
    }
    if (open && open->ch != '{') {
        char closer = open->ch == '(' ? ')' : ']';
        if (expects_char(exp, nexp, closer) && (tok == YYSYMBOL_SEP || loc.line > open->loc.line)) {
            diag_error(ctx->d, loc, "expected '%c' to close '%c' at %d:%d, found %s",
                       closer, open->ch, open->loc.line, open->loc.col, found);
            return 0;
        }
    }
    if (tok == YYSYMBOL_WITH) {
        diag_error(ctx->d, loc, "'with' must follow a call, as in 'cross_entropy(W @ h, y) with neg(k = 3)'");
        return 0;
    }
    if (tok == YYSYMBOL_PLUSEQ) {
        if (expects_char(exp, nexp, '='))
            diag_error(ctx->d, loc, "expected '=' here, not '+='");
        else
            diag_error(ctx->d, loc, "unexpected '+=': only a plain name can be updated, as in 'loss += e'");
        return 0;
    }
    if (is_char(tok, '=') && expects_char(exp, nexp, ':')) {
        diag_error(ctx->d, loc, "expected ':' before the type, as in 'param W : [H, E]', found '='");
        return 0;
    }
    if (tok == YYSYMBOL_SEP && expects_char(exp, nexp, '{') && strcmp(found, "end of line") == 0) {
        diag_error(ctx->d, loc, "expected '{' on the same line, found end of line");
        return 0;
    }
    if (is_char(tok, '{') && expects(exp, nexp, YYSYMBOL_DOTDOT)) {
        diag_error(ctx->d, loc, "expected '..' in the range, as in 'for t in 0..T', found '{'");
        return 0;
    }

    char msg[400];
    int len = snprintf(msg, sizeof msg, "unexpected %s", found);
    if (nexp > 0 && nexp <= 4) {
        for (int i = 0; i < nexp && len < (int)sizeof msg; i++) {
            char e[80];
            describe(ctx, exp[i], NO_LOC, e, sizeof e);
            if (exp[i] == YYSYMBOL_NAME)
                snprintf(e, sizeof e, "identifier");
            else if (exp[i] == YYSYMBOL_NUMBER)
                snprintf(e, sizeof e, "number");
            else if (exp[i] == YYSYMBOL_STRING)
                snprintf(e, sizeof e, "string");
            else if (exp[i] == YYSYMBOL_SEP)
                snprintf(e, sizeof e, "end of line");
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", i == 0 ? ", expecting " : " or ", e);
        }
    }
    diag_error(ctx->d, loc, "%s", msg);
    return 0;
}

bool parse_file(Diag *d, int file, AstList *out) {
    NN_ASSERT(d && out && file >= 0 && file < d->nfiles);
    const SourceFile *f = &d->files[file];
    *out = (AstList){0};
    if (f->len > (size_t)INT_MAX / 2) {
        diag_error(d, NO_LOC, "%s: file too large", f->path);
        return false;
    }
    ParseCtx ctx;
    parse_ctx_init(&ctx, d, file);
    yyscan_t scanner;
    if (yylex_init_extra(&ctx, &scanner) != 0) {
        diag_error(d, NO_LOC, "cannot start the lexer: %s", strerror(errno));
        return false;
    }
    YY_BUFFER_STATE buf = yy_scan_bytes(f->text, (int)f->len, scanner);
    int errors_before = d->nerrors;
    int rc = yyparse(&ctx, scanner);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    *out = ctx.items;
    return rc == 0 && d->nerrors == errors_before;
}
