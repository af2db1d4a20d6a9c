/* Shared by the fuzz targets: a failed check aborts (libFuzzer saves the input; the replay
 * runner fails the CTest test), and a small reader over the input bytes. */
#ifndef ASOCK_FUZZ_H
#define ASOCK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* Takes bytes from the front of the input; past the end every read gives zeros. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

static inline uint8_t fuzz_u8(fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_in *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)((hi << 8) | fuzz_u8(in));
}

static inline uint32_t fuzz_u32(fuzz_in *in)
{
    uint32_t hi = fuzz_u16(in);
    return (hi << 16) | fuzz_u16(in);
}

/* A NUL-terminated heap copy of the next string: up to a NUL byte or max bytes (the NUL is
 * consumed).  Never NULL (aborts on out of memory). */
static inline char *fuzz_str(fuzz_in *in, size_t max)
{
    size_t n = 0;
    while (n < in->n && n < max && in->p[n] != 0)
        n++;
    char *s = malloc(n + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, in->p, n);
    s[n] = '\0';
    in->p += n;
    in->n -= n;
    if (in->n > 0 && n < max) {
        in->p++; /* the NUL */
        in->n--;
    }
    return s;
}

#endif
