/*
 * sha256.h — SHA-256 (FIPS 180-4), small and dependency-free, for the
 * migration hashes the shell migrator recorded (`sha256sum up.sql`).
 */
#ifndef DBTOOL_SHA256_H
#define DBTOOL_SHA256_H

#include "lib/common.h"

#define SHA256_DIGEST_LEN 32
/* Lower-case hex digest plus NUL. */
#define SHA256_HEX_LEN 65

struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;      /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;       /* bytes pending in buf */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_DIGEST_LEN]);
/* One-shot digest of DATA as lower-case hex into HEX. */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN]);
/* Lower-case hex of the contents of PATH (what sha256sum prints). 0, or -1 with errno. */
int sha256_file_hex(const char *path, char hex[SHA256_HEX_LEN]);
/*
 * The same for what is left to read of FD (not closed). SIZE: the file's size
 * when known (a short read that reaches it is the end: one read() less), else -1.
 * 0, or -1 with errno.
 */
int sha256_fd_hex(int fd, long long size, char hex[SHA256_HEX_LEN]);

#endif
