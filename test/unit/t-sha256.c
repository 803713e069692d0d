/*
 * t-sha256.c — FIPS 180-4 SHA-256 known answers (the NIST example vectors),
 * block-boundary lengths against a one-shot digest, streaming in odd
 * chunks, and the file digest.
 */
#include "lib/common.h"
#include "lib/sha256.h"
#include "test/unit/tap.h"

#include <stdlib.h>
#include <unistd.h>

static void kat(const char *msg, const char *want)
{
    char hex[SHA256_HEX_LEN];
    sha256_hex(msg, strlen(msg), hex);
    char *what = xasprintf("sha256(\"%.40s%s\")", msg, strlen(msg) > 40 ? "..." : "");
    is_str(hex, want, what);
    free(what);
}

int main(void)
{
    kat("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    kat("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    kat("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    kat("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    kat("The quick brown fox jumps over the lazy dog",
        "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");

    /* one million 'a' (FIPS 180-2 appendix B.3), fed in uneven chunks */
    {
        char *a = xmalloc(1000000);
        memset(a, 'a', 1000000);
        struct sha256_ctx c;
        unsigned char d[SHA256_DIGEST_LEN];
        sha256_init(&c);
        size_t off = 0, step = 1;
        while (off < 1000000) {
            size_t n = step < 1000000 - off ? step : 1000000 - off;
            sha256_update(&c, a + off, n);
            off += n;
            step = step * 7 % 997 + 1;
        }
        sha256_final(&c, d);
        char hex[SHA256_HEX_LEN];
        for (int i = 0; i < 32; i++)
            sprintf(hex + 2 * i, "%02x", d[i]);
        is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "one million 'a' in uneven chunks");
        sha256_hex(a, 1000000, hex);
        is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
               "one million 'a' in one call");
        free(a);
    }

    /* padding edges: 55, 56, 63, 64, 65 bytes; byte-at-a-time equals one-shot */
    {
        static const struct {
            size_t len;
            const char *want;
        } edge[] = {
            {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
            {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
            {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
            {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
            {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        };
        char buf[65];
        memset(buf, 'a', sizeof(buf));
        for (size_t i = 0; i < ARRAY_SIZE(edge); i++) {
            char hex[SHA256_HEX_LEN], hex2[SHA256_HEX_LEN];
            sha256_hex(buf, edge[i].len, hex);
            struct sha256_ctx c;
            unsigned char d[SHA256_DIGEST_LEN];
            sha256_init(&c);
            for (size_t k = 0; k < edge[i].len; k++)
                sha256_update(&c, buf + k, 1);
            sha256_final(&c, d);
            for (int k = 0; k < 32; k++)
                sprintf(hex2 + 2 * k, "%02x", d[k]);
            char *what = xasprintf("%zu x 'a'", edge[i].len);
            is_str(hex, edge[i].want, what);
            free(what);
            what = xasprintf("%zu x 'a' byte by byte", edge[i].len);
            is_str(hex2, edge[i].want, what);
            free(what);
        }
    }

    /* the file digest is the digest of the bytes */
    {
        char path[] = "/tmp/t-sha256.XXXXXX";
        int fd = mkstemp(path);
        const char *text = "CREATE TABLE t (id int);\n";
        ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write a temp file");
        if (fd >= 0)
            close(fd);
        char hex[SHA256_HEX_LEN], want[SHA256_HEX_LEN];
        sha256_hex(text, strlen(text), want);
        is_int(sha256_file_hex(path, hex), 0, "sha256_file_hex succeeds");
        is_str(hex, want, "file digest equals the digest of its bytes");
        unlink(path);
        is_int(sha256_file_hex(path, hex), -1, "a missing file is an error");
    }
    return done_testing();
}
