/* Minimal config.h for compiling gnulib's sha256.c outside an autoconf build. */
#include <stdalign.h>
