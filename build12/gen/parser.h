/* A Bison parser, made by GNU Bison 3.8.2.  */

/* Bison interface for Yacc-like parsers in C

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

/* DO NOT RELY ON FEATURES THAT ARE NOT DOCUMENTED in the manual,
   especially those whose name start with YY_ or yy_.  They are
   private implementation details that can be changed or removed.  */

#ifndef YY_YY_BUILD12_GEN_PARSER_H_INCLUDED
# define YY_YY_BUILD12_GEN_PARSER_H_INCLUDED
/* Debug traces.  */
#ifndef YYDEBUG
# define YYDEBUG 0
#endif
#if YYDEBUG
extern int yydebug;
#endif
/* "%code requires" blocks.  */
#line 24 "compiler/parser/parser.y"

#include "nngc.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* An open ( [ or {, remembered by the lexer to match its closer and to say
 * where an unclosed one was opened. */
typedef struct Delim {
    char ch;       /* '(', '[' or '{' */
    Loc loc;
    const char *owner; /* '{' only: "for" or "def" when it opens their body, else NULL */
} Delim;

/* State shared by the lexer and the parser of one file. */
typedef struct ParseCtx {
    Diag *d;
    int file;
    AstList items;   /* the result: top-level items in source order */
    /* lexer position (1-based line/col, byte offset) of the next byte */
    int line, col, off;
    int nl_col;      /* column of the last newline seen */
    Delim delims[NN_MAX_NESTING];
    int ndelims;
    int minus_run;   /* consecutive '-' tokens: unary minus chains nest */
    int stmt_ops;    /* operators since the last statement boundary */
    int last_tok;    /* last token returned (0 before the first) */
    const char *owner; /* "for"/"def" seen in this statement, for its '{' */
    Loc owner_loc;
    bool fatal;      /* a limit was hit: the lexer returns end of file */
    bool recovering; /* after a syntax error: the next newline ends the statement */
    bool eof_done;   /* end of input reached and handled */
    bool suppress_next;  /* the lexer reported an error: ... */
    int suppress_off;    /* ... so no syntax error at this token offset */
} ParseCtx;

void parse_ctx_init(ParseCtx *ctx, Diag *d, int file);

#line 90 "build12/gen/parser.h"

/* Token kinds.  */
#ifndef YYTOKENTYPE
# define YYTOKENTYPE
  enum yytokentype
  {
    TOK_YYEMPTY = -2,
    TOK_YYEOF = 0,                 /* "end of file"  */
    TOK_YYerror = 256,             /* error  */
    TOK_YYUNDEF = 257,             /* "invalid token"  */
    TOK_NAME = 258,                /* "identifier"  */
    TOK_NUMBER = 259,              /* "number"  */
    TOK_STRING = 260,              /* "string"  */
    TOK_SEP = 261,                 /* "end of line"  */
    TOK_PLUSEQ = 262,              /* "+="  */
    TOK_DOTDOT = 263,              /* ".."  */
    TOK_MODEL = 264,               /* "model"  */
    TOK_DIM = 265,                 /* "dim"  */
    TOK_PARAM = 266,               /* "param"  */
    TOK_INPUT = 267,               /* "input"  */
    TOK_OUTPUT = 268,              /* "output"  */
    TOK_IMPORT = 269,              /* "import"  */
    TOK_DEF = 270,                 /* "def"  */
    TOK_RETURN = 271,              /* "return"  */
    TOK_FOR = 272,                 /* "for"  */
    TOK_IN = 273,                  /* "in"  */
    TOK_INIT = 274,                /* "init"  */
    TOK_FROZEN = 275,              /* "frozen"  */
    TOK_OPTIMIZER = 276,           /* "optimizer"  */
    TOK_WITH = 277,                /* "with"  */
    TOK_MAX = 278,                 /* "max"  */
    TOK_INT = 279,                 /* "int"  */
    TOK_FLOAT = 280,               /* "float"  */
    TOK_NEG = 281                  /* NEG  */
  };
  typedef enum yytokentype yytoken_kind_t;
#endif

/* Value type.  */
#if ! defined YYSTYPE && ! defined YYSTYPE_IS_DECLARED
union YYSTYPE
{
#line 141 "compiler/parser/parser.y"

    Ast *ast;
    AstList list;
    const char *str;

#line 139 "build12/gen/parser.h"

};
typedef union YYSTYPE YYSTYPE;
# define YYSTYPE_IS_TRIVIAL 1
# define YYSTYPE_IS_DECLARED 1
#endif

/* Location type.  */
typedef Loc YYLTYPE;




int yyparse (ParseCtx *ctx, yyscan_t scanner);

/* "%code provides" blocks.  */
#line 65 "compiler/parser/parser.y"

/* Limit on the operators of one statement: keeps expression trees shallow
 * enough for the recursive passes that walk them. */
#define NN_MAX_STMT_OPS 1000

#line 162 "build12/gen/parser.h"

#endif /* !YY_YY_BUILD12_GEN_PARSER_H_INCLUDED  */
