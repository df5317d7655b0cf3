#ifndef UTIL_BANNED_H
#define UTIL_BANNED_H

/*
 * Functions that are too easy to misuse: unbounded copies, hidden global
 * state, or silent conversion failures.  Including this header turns every
 * use into a compile error (the idea is git's banned.h).  Use the buf_*
 * functions, snprintf, strtok_r or util_parse_* instead.
 *
 * Include it last, after all system headers, so that their own inline uses
 * are not caught.
 */

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef atof
#define atof(x) BANNED(atof)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)
#undef ctime
#define ctime(x) BANNED(ctime)
#undef asctime
#define asctime(x) BANNED(asctime)
#undef tmpnam
#define tmpnam(x) BANNED(tmpnam)

#endif
