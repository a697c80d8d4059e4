/* The same program, linked statically: LD_PRELOAD does not apply, so every
 * syscall stops, and recording and replay must still work. */
#include "syscallbuf.c"
