/*
 * _fastblock: optional C accelerator for chaintrail.chains.btc.rawblock.parse_block.
 *
 * Why: the pure-Python parser tops out near 65,000 tx/s with addresses derived (the walk costs
 * about 5 us per transaction, a fresh address about 2 us); the project's target is ten times
 * python-bitcoinlib. This module does the same work in one pass over the bytes and builds the
 * very column lists rawblock._columns builds. rawblock.py stays the reference and the fallback:
 * the package installs and works without this module (setup.py marks it optional).
 *
 * Contract (rawblock.parse_block relies on it):
 *
 *   parse_block(data, verify_merkle, derive_addresses, p2pkh_version, p2sh_version, hrp)
 *       -> (hash, prev_hash, merkle_root, version, time, bits, nonce, stripped_size,
 *           coinbase_script_bytes_or_None, merkle_verified, tx_lists, input_lists, output_lists)
 *          with the lists in TX_COLUMNS / INPUT_COLUMNS / OUTPUT_COLUMNS order,
 *       -> None whenever the pure-Python parser would raise (malformed bytes, trailing data,
 *          CVE-2012-2459 duplication, merkle mismatch) or when the network parameters are
 *          outside what this module handles; the caller then re-runs the Python parser, which
 *          raises the exact error (type, message, source, offset) or returns the result.
 *
 * Every read is bounds-checked against the buffer length. The walk mirrors rawblock._walk
 * check for check (CompactSize canonical form and MAX_SIZE, the fit checks of the slow path,
 * the segwit flag, "witness flag but no witness data"); where Python would only notice an
 * overrun at its next read or at the end of the transaction, this code stops at once, which is
 * the same outcome (positions only move forward).
 *
 * Script classification and address encoding follow script.classify_many/_solve exactly (same
 * order of checks, same type names, P2PK -> P2PKH address of the key as written). Hashes are
 * written here from the specifications (FIPS 180-4 SHA-256, with an x86 SHA extensions path
 * chosen at import when the CPU has it; RIPEMD-160 from Dobbertin, Bosselaers and Preneel's
 * paper), because OpenSSL headers may be missing and hashlib costs a Python call per hash.
 *
 * The GIL is held throughout; the module keeps no state besides constants and the choice of
 * SHA-256 implementation.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FB_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define FB_HAVE_SHANI 0
#endif

#define HEADER_SIZE 80
#define MIN_TX_SIZE 60
#define MAX_COMPACT_SIZE 0x02000000ULL

/* ---------------------------------------------------------------------------------------------
 * Byte helpers
 */

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static inline uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---------------------------------------------------------------------------------------------
 * SHA-256 (FIPS 180-4). The round constants are the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes, the initial state those of the square roots of the
 * first 8 primes (section 4.2.2 and 5.3.3).
 */

static const uint32_t SHA256_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static const uint32_t SHA256_H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROTL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

typedef void (*sha256_blocks_fn)(uint32_t state[8], const uint8_t *data, size_t blocks);

static void sha256_blocks_portable(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    uint32_t w[64];
    while (blocks--) {
        for (int i = 0; i < 16; i++) {
            w[i] = be32(data + 4 * i);
        }
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROTR32(w[i - 15], 7) ^ ROTR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROTR32(w[i - 2], 17) ^ ROTR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t big1 = ROTR32(e, 6) ^ ROTR32(e, 11) ^ ROTR32(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + big1 + ch + SHA256_K[i] + w[i];
            uint32_t big0 = ROTR32(a, 2) ^ ROTR32(a, 13) ^ ROTR32(a, 22);
            uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = big0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
        data += 64;
    }
}

#if FB_HAVE_SHANI
/*
 * The same compression with the x86 SHA extensions. SHA256RNDS2 keeps the working variables as
 * two vectors, {A,B,E,F} and {C,D,G,H} (highest lane first), does two rounds with the two low
 * lanes of its third operand (message word + constant) and returns the new {A,B,E,F}; the old
 * {A,B,E,F} is then the new {C,D,G,H}, so the two vectors swap roles every call.
 * SHA256MSG1/SHA256MSG2 compute the message schedule four words at a time:
 *   W[t..t+3] = MSG2(MSG1(W[t-16..t-13], W[t-12..t-9]) + W[t-7..t-4], W[t-4..t-1]).
 */
#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

SHANI_TARGET static void sha256_blocks_shani(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* lane contents, lowest lane first */
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]); /* A B C D */
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]); /* E F G H */
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);               /* B A D C */
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);               /* H G F E */
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);              /* F E B A */
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);           /* H G D C */

    while (blocks--) {
        __m128i save_abef = abef, save_cdgh = cdgh;
        __m128i w0, w1, w2, w3, msg;

#define FB_ROUNDS4(W, I)                                                                           \
    do {                                                                                           \
        msg = _mm_add_epi32((W), _mm_loadu_si128((const __m128i *)&SHA256_K[4 * (I)]));           \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);                                             \
        msg = _mm_shuffle_epi32(msg, 0x0E);                                                        \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);                                             \
    } while (0)
/* next schedule vector into A from A=W[i-4], B=W[i-3], C=W[i-2], D=W[i-1] */
#define FB_SCHEDULE(A, B, C, D)                                                                    \
    (A) = _mm_sha256msg2_epu32(                                                                    \
        _mm_add_epi32(_mm_sha256msg1_epu32((A), (B)), _mm_alignr_epi8((D), (C), 4)), (D))

        /* after the two RNDS2 of FB_ROUNDS4 the vectors are back in their roles */
#define FB_GROUP(W, I) FB_ROUNDS4(W, I)

        w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), byteswap);
        w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), byteswap);
        w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), byteswap);
        w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), byteswap);
        FB_GROUP(w0, 0);
        FB_GROUP(w1, 1);
        FB_GROUP(w2, 2);
        FB_GROUP(w3, 3);
        FB_SCHEDULE(w0, w1, w2, w3);
        FB_GROUP(w0, 4);
        FB_SCHEDULE(w1, w2, w3, w0);
        FB_GROUP(w1, 5);
        FB_SCHEDULE(w2, w3, w0, w1);
        FB_GROUP(w2, 6);
        FB_SCHEDULE(w3, w0, w1, w2);
        FB_GROUP(w3, 7);
        FB_SCHEDULE(w0, w1, w2, w3);
        FB_GROUP(w0, 8);
        FB_SCHEDULE(w1, w2, w3, w0);
        FB_GROUP(w1, 9);
        FB_SCHEDULE(w2, w3, w0, w1);
        FB_GROUP(w2, 10);
        FB_SCHEDULE(w3, w0, w1, w2);
        FB_GROUP(w3, 11);
        FB_SCHEDULE(w0, w1, w2, w3);
        FB_GROUP(w0, 12);
        FB_SCHEDULE(w1, w2, w3, w0);
        FB_GROUP(w1, 13);
        FB_SCHEDULE(w2, w3, w0, w1);
        FB_GROUP(w2, 14);
        FB_SCHEDULE(w3, w0, w1, w2);
        FB_GROUP(w3, 15);
#undef FB_GROUP
#undef FB_SCHEDULE
#undef FB_ROUNDS4

        abef = _mm_add_epi32(abef, save_abef);
        cdgh = _mm_add_epi32(cdgh, save_cdgh);
        data += 64;
    }

    /* back to A..H order */
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B); /* A B E F */
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1); /* G H C D */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int cpu_has_sha_extensions(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    if (!(c & (1u << 9)) || !(c & (1u << 19))) { /* SSSE3, SSE4.1 */
        return 0;
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* SHA */
}
#endif

static sha256_blocks_fn sha256_blocks = sha256_blocks_portable;

typedef struct {
    uint32_t state[8];
    uint8_t buffer[64];
    size_t fill;
    uint64_t total;
} Sha256;

static inline void sha256_init(Sha256 *ctx)
{
    memcpy(ctx->state, SHA256_H0, sizeof ctx->state);
    ctx->fill = 0;
    ctx->total = 0;
}

static void sha256_update(Sha256 *ctx, const uint8_t *data, size_t size)
{
    ctx->total += size;
    if (ctx->fill) {
        size_t take = 64 - ctx->fill;
        if (take > size) {
            take = size;
        }
        memcpy(ctx->buffer + ctx->fill, data, take);
        ctx->fill += take;
        data += take;
        size -= take;
        if (ctx->fill < 64) {
            return;
        }
        sha256_blocks(ctx->state, ctx->buffer, 1);
        ctx->fill = 0;
    }
    if (size >= 64) {
        size_t blocks = size / 64;
        sha256_blocks(ctx->state, data, blocks);
        data += 64 * blocks;
        size -= 64 * blocks;
    }
    if (size) {
        memcpy(ctx->buffer, data, size);
        ctx->fill = size;
    }
}

static void sha256_final(Sha256 *ctx, uint8_t out[32])
{
    uint8_t pad[128];
    size_t fill = ctx->fill;
    uint64_t bits = ctx->total * 8;
    memcpy(pad, ctx->buffer, fill);
    pad[fill++] = 0x80;
    size_t blocks = fill + 8 <= 64 ? 1 : 2;
    memset(pad + fill, 0, 64 * blocks - 8 - fill);
    put_be32(pad + 64 * blocks - 8, (uint32_t)(bits >> 32));
    put_be32(pad + 64 * blocks - 4, (uint32_t)bits);
    sha256_blocks(ctx->state, pad, blocks);
    for (int i = 0; i < 8; i++) {
        put_be32(out + 4 * i, ctx->state[i]);
    }
}

/* SHA-256 of exactly 32 bytes (the second half of every double SHA-256): one padded block. */
static void sha256_32(const uint8_t in[32], uint8_t out[32])
{
    uint32_t state[8];
    uint8_t block[64];
    memcpy(state, SHA256_H0, sizeof state);
    memcpy(block, in, 32);
    block[32] = 0x80;
    memset(block + 33, 0, 31);
    block[62] = 0x01; /* 256 bits, big-endian */
    sha256_blocks(state, block, 1);
    for (int i = 0; i < 8; i++) {
        put_be32(out + 4 * i, state[i]);
    }
}

static void sha256(const uint8_t *data, size_t size, uint8_t out[32])
{
    Sha256 ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, data, size);
    sha256_final(&ctx, out);
}

static void sha256d(const uint8_t *data, size_t size, uint8_t out[32])
{
    uint8_t first[32];
    sha256(data, size, first);
    sha256_32(first, out);
}

/* ---------------------------------------------------------------------------------------------
 * RIPEMD-160 (Dobbertin, Bosselaers, Preneel 1996): two parallel lines of 80 steps in five
 * rounds, message word order r / r', rotations s / s', constants K / K'.
 */

static const uint8_t RMD_R[80] = {
    0, 1, 2,  3,  4,  5,  6,  7,  8, 9, 10, 11, 12, 13, 14, 15, 7,  4,  13, 1,
    10, 6, 15, 3,  12, 0,  9,  5,  2, 14, 11, 8, 3, 10, 14, 4, 9, 15, 8,  1,
    2, 7, 0,  6,  13, 11, 5,  12, 1, 9, 11, 10, 0,  8,  12, 4, 13, 3,  7,  15,
    14, 5, 6,  2,  4,  0,  5,  9,  7, 12, 2, 10, 14, 1,  3,  8, 11, 6,  15, 13,
};
static const uint8_t RMD_RP[80] = {
    5,  14, 7,  0, 9, 2,  11, 4,  13, 6,  15, 8,  1,  10, 3,  12, 6, 11, 3, 7,
    0,  13, 5,  10, 14, 15, 8, 12, 4,  9,  1,  2,  15, 5,  1,  3,  7, 14, 6, 9,
    11, 8,  12, 2, 10, 0,  4,  13, 8,  6,  4,  1,  3,  11, 15, 0,  5, 12, 2, 13,
    9,  7,  10, 14, 12, 15, 10, 4, 1,  5,  8,  7,  6,  2,  13, 14, 0, 3,  9, 11,
};
static const uint8_t RMD_S[80] = {
    11, 14, 15, 12, 5,  8,  7,  9,  11, 13, 14, 15, 6,  7,  9,  8,  7,  6,  8,  13,
    11, 9,  7,  15, 7,  12, 15, 9,  11, 7,  13, 12, 11, 13, 6,  7,  14, 9,  13, 15,
    14, 8,  13, 6,  5,  12, 7,  5,  11, 12, 14, 15, 14, 15, 9,  8,  9,  14, 5,  6,
    8,  6,  5,  12, 9,  15, 5,  11, 6,  8,  13, 12, 5,  12, 13, 14, 11, 8,  5,  6,
};
static const uint8_t RMD_SP[80] = {
    8,  9,  9,  11, 13, 15, 15, 5,  7,  7,  8,  11, 14, 14, 12, 6,  9,  13, 15, 7,
    12, 8,  9,  11, 7,  7,  12, 7,  6,  15, 13, 11, 9,  7,  15, 11, 8,  6,  6,  14,
    12, 13, 5,  14, 13, 13, 7,  5,  15, 5,  8,  11, 14, 14, 6,  14, 6,  9,  12, 9,
    12, 5,  15, 8,  8,  5,  12, 9,  12, 5,  14, 6,  8,  13, 6,  5,  15, 13, 11, 11,
};
static const uint32_t RMD_K[5] = {0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E};
static const uint32_t RMD_KP[5] = {0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000};

static inline uint32_t rmd_f(int j, uint32_t x, uint32_t y, uint32_t z)
{
    if (j < 16) {
        return x ^ y ^ z;
    }
    if (j < 32) {
        return (x & y) | (~x & z);
    }
    if (j < 48) {
        return (x | ~y) ^ z;
    }
    if (j < 64) {
        return (x & z) | (y & ~z);
    }
    return x ^ (y | ~z);
}

static void ripemd160_block(uint32_t h[5], const uint8_t *block)
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++) {
        x[i] = le32(block + 4 * i);
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    uint32_t ap = a, bp = b, cp = c, dp = d, ep = e;
    for (int j = 0; j < 80; j++) {
        uint32_t t = a + rmd_f(j, b, c, d) + x[RMD_R[j]] + RMD_K[j / 16];
        t = ROTL32(t, RMD_S[j]) + e;
        a = e;
        e = d;
        d = ROTL32(c, 10);
        c = b;
        b = t;
        t = ap + rmd_f(79 - j, bp, cp, dp) + x[RMD_RP[j]] + RMD_KP[j / 16];
        t = ROTL32(t, RMD_SP[j]) + ep;
        ap = ep;
        ep = dp;
        dp = ROTL32(cp, 10);
        cp = bp;
        bp = t;
    }
    uint32_t t = h[1] + c + dp;
    h[1] = h[2] + d + ep;
    h[2] = h[3] + e + ap;
    h[3] = h[4] + a + bp;
    h[4] = h[0] + b + cp;
    h[0] = t;
}

static void ripemd160(const uint8_t *data, size_t size, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint64_t bits = (uint64_t)size * 8;
    size_t full = size / 64;
    for (size_t i = 0; i < full; i++) {
        ripemd160_block(h, data + 64 * i);
    }
    uint8_t pad[128];
    size_t rest = size - 64 * full;
    memcpy(pad, data + 64 * full, rest);
    pad[rest++] = 0x80;
    size_t blocks = rest + 8 <= 64 ? 1 : 2;
    memset(pad + rest, 0, 64 * blocks - 8 - rest);
    put_le32(pad + 64 * blocks - 8, (uint32_t)bits);
    put_le32(pad + 64 * blocks - 4, (uint32_t)(bits >> 32));
    for (size_t i = 0; i < blocks; i++) {
        ripemd160_block(h, pad + 64 * i);
    }
    for (int i = 0; i < 5; i++) {
        put_le32(out + 4 * i, h[i]);
    }
}

static void hash160(const uint8_t *data, size_t size, uint8_t out[20])
{
    uint8_t digest[32];
    sha256(data, size, digest);
    ripemd160(digest, 32, out);
}

/* ---------------------------------------------------------------------------------------------
 * Text: hex, base58check, bech32/bech32m
 */

static char HEX_PAIRS[512]; /* "000102...ff", filled at import */

static PyObject *hex_string(const uint8_t *data, Py_ssize_t size)
{
    PyObject *text = PyUnicode_New(2 * size, 127);
    if (text == NULL) {
        return NULL;
    }
    char *out = (char *)PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t i = 0; i < size; i++) {
        memcpy(out + 2 * i, HEX_PAIRS + 2 * data[i], 2);
    }
    return text;
}

/* display hex of a 32-byte hash (byte-reversed) */
static PyObject *hex_reversed32(const uint8_t *hash)
{
    PyObject *text = PyUnicode_New(64, 127);
    if (text == NULL) {
        return NULL;
    }
    char *out = (char *)PyUnicode_1BYTE_DATA(text);
    for (int i = 0; i < 32; i++) {
        memcpy(out + 2 * i, HEX_PAIRS + 2 * hash[31 - i], 2);
    }
    return text;
}

static PyObject *ascii_string(const char *text, Py_ssize_t size)
{
    PyObject *out = PyUnicode_New(size, 127);
    if (out == NULL) {
        return NULL;
    }
    memcpy(PyUnicode_1BYTE_DATA(out), text, (size_t)size);
    return out;
}

static const char B58_ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
#define B58_POW5 656356768u /* 58**5 < 2**30 */

/* base58check of version byte + 20-byte hash: the 25-byte payload (with the 4-byte checksum)
 * as a number is divided by 58**5 seven times (58**35 > 256**25), giving 35 digits; leading
 * zero digits are dropped and each leading zero byte of the payload becomes a '1'. */
static PyObject *base58check_address(uint8_t version, const uint8_t hash20[20])
{
    uint8_t payload[25];
    uint8_t check[32];
    payload[0] = version;
    memcpy(payload + 1, hash20, 20);
    sha256d(payload, 21, check);
    memcpy(payload + 21, check, 4);

    uint32_t limbs[7]; /* big-endian 32-bit limbs: 1 + 24 bytes */
    limbs[0] = payload[0];
    for (int i = 0; i < 6; i++) {
        limbs[i + 1] = be32(payload + 1 + 4 * i);
    }
    uint8_t digits[35];
    for (int group = 0; group < 7; group++) {
        uint64_t rest = 0;
        for (int i = 0; i < 7; i++) {
            uint64_t current = (rest << 32) | limbs[i];
            limbs[i] = (uint32_t)(current / B58_POW5);
            rest = current % B58_POW5;
        }
        for (int k = 0; k < 5; k++) {
            digits[34 - 5 * group - k] = (uint8_t)(rest % 58);
            rest /= 58;
        }
    }
    int zeros = 0;
    while (zeros < 25 && payload[zeros] == 0) {
        zeros++;
    }
    int first = 0;
    while (first < 35 && digits[first] == 0) {
        first++;
    }
    char text[60];
    int size = 0;
    for (int i = 0; i < zeros; i++) {
        text[size++] = '1';
    }
    for (int i = first; i < 35; i++) {
        text[size++] = B58_ALPHABET[digits[i]];
    }
    return ascii_string(text, size);
}

static const char BECH32_CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
static const uint32_t BECH32_GENERATOR[5] = {0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD,
                                             0x2A1462B3};

static inline uint32_t bech32_step(uint32_t chk, uint32_t value)
{
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1FFFFFF) << 5) ^ value;
    for (int i = 0; i < 5; i++) {
        if ((top >> i) & 1) {
            chk ^= BECH32_GENERATOR[i];
        }
    }
    return chk;
}

#define MAX_HRP 83

typedef struct {
    uint8_t p2pkh;
    uint8_t p2sh;
    char hrp[MAX_HRP + 1];
    Py_ssize_t hrp_size;
    uint32_t hrp_checksum; /* polymod state after the expanded hrp */
} Network;

/* Fill a Network from Python arguments; 0 = unsupported (the caller falls back to Python). */
static int network_init(Network *net, int p2pkh, int p2sh, PyObject *hrp)
{
    if (p2pkh < 0 || p2pkh > 255 || p2sh < 0 || p2sh > 255 || !PyUnicode_Check(hrp)) {
        return 0;
    }
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(hrp, &size);
    if (text == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (size < 1 || size > MAX_HRP) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        if ((unsigned char)text[i] < 33 || (unsigned char)text[i] > 126) {
            return 0;
        }
    }
    net->p2pkh = (uint8_t)p2pkh;
    net->p2sh = (uint8_t)p2sh;
    memcpy(net->hrp, text, (size_t)size);
    net->hrp[size] = 0;
    net->hrp_size = size;
    uint32_t chk = 1;
    for (Py_ssize_t i = 0; i < size; i++) {
        chk = bech32_step(chk, (unsigned char)text[i] >> 5);
    }
    chk = bech32_step(chk, 0);
    for (Py_ssize_t i = 0; i < size; i++) {
        chk = bech32_step(chk, (unsigned char)text[i] & 31);
    }
    net->hrp_checksum = chk;
    return 1;
}

/* segwit address of a 2..40-byte program (bech32 for version 0, bech32m for 1..16) */
static PyObject *segwit_address(const Network *net, int version, const uint8_t *program,
                                Py_ssize_t size)
{
    char text[MAX_HRP + 2 + 64 + 6 + 1];
    uint8_t symbols[1 + 64];
    int count = 0;
    symbols[count++] = (uint8_t)version;
    uint32_t acc = 0;
    int bits = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        acc = ((acc << 8) | program[i]) & 0xFFFF;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            symbols[count++] = (uint8_t)((acc >> bits) & 31);
        }
    }
    if (bits) {
        symbols[count++] = (uint8_t)((acc << (5 - bits)) & 31);
    }
    uint32_t chk = net->hrp_checksum;
    for (int i = 0; i < count; i++) {
        chk = bech32_step(chk, symbols[i]);
    }
    for (int i = 0; i < 6; i++) {
        chk = bech32_step(chk, 0);
    }
    chk ^= version == 0 ? 1u : 0x2BC830A3u;
    Py_ssize_t n = net->hrp_size;
    memcpy(text, net->hrp, (size_t)n);
    text[n++] = '1';
    for (int i = 0; i < count; i++) {
        text[n++] = BECH32_CHARSET[symbols[i]];
    }
    for (int i = 0; i < 6; i++) {
        text[n++] = BECH32_CHARSET[(chk >> (5 * (5 - i))) & 31];
    }
    return ascii_string(text, n);
}

/* ---------------------------------------------------------------------------------------------
 * Script classification: script._solve in C, same order of checks.
 */

enum {
    T_PUBKEY,
    T_PUBKEYHASH,
    T_SCRIPTHASH,
    T_MULTISIG,
    T_NULLDATA,
    T_WITNESS_V0_KEYHASH,
    T_WITNESS_V0_SCRIPTHASH,
    T_WITNESS_V1_TAPROOT,
    T_ANCHOR,
    T_WITNESS_UNKNOWN,
    T_NONSTANDARD,
    T_COUNT
};

static const char *TYPE_NAMES[T_COUNT] = {
    "pubkey",
    "pubkeyhash",
    "scripthash",
    "multisig",
    "nulldata",
    "witness_v0_keyhash",
    "witness_v0_scripthash",
    "witness_v1_taproot",
    "anchor",
    "witness_unknown",
    "nonstandard",
};
static PyObject *TYPE_OBJECTS[T_COUNT];

/* IsPushOnly from ``start`` (script._push_only) */
static int push_only(const uint8_t *s, Py_ssize_t end, Py_ssize_t start)
{
    uint64_t pos = (uint64_t)start;
    uint64_t stop = (uint64_t)end;
    while (pos < stop) {
        uint8_t op = s[pos];
        pos += 1;
        if (op > 0x60) {
            return 0;
        }
        if (op < 0x4C) {
            pos += op;
        }
        else if (op == 0x4C) {
            if (pos + 1 > stop) {
                return 0;
            }
            pos += 1 + (uint64_t)s[pos];
        }
        else if (op == 0x4D) {
            if (pos + 2 > stop) {
                return 0;
            }
            pos += 2 + (uint64_t)le16(s + pos);
        }
        else if (op == 0x4E) {
            if (pos + 4 > stop) {
                return 0;
            }
            pos += 4 + (uint64_t)le32(s + pos);
        }
        if (pos > stop) {
            return 0;
        }
    }
    return 1;
}

/* script._valid_key_size: the length implied by the first byte (CPubKey::IsValid) */
static int valid_key_size(const uint8_t *key, Py_ssize_t size)
{
    uint8_t first = size ? key[0] : 0;
    if (first == 2 || first == 3) {
        return size == 33;
    }
    if (first == 4 || first == 6 || first == 7) {
        return size == 65;
    }
    return 0;
}

/* script._is_multisig (Bitcoin Core's MatchMultisig) */
static int is_multisig(const uint8_t *s, Py_ssize_t end)
{
    if (end < 3 || s[end - 1] != 0xAE || s[0] < 0x51 || s[0] > 0x60) {
        return 0;
    }
    int required = s[0] - 0x50;
    Py_ssize_t pos = 1;
    int keys = 0;
    while (pos < end - 2) {
        int size = s[pos];
        if ((size != 33 && size != 65) || pos + 1 + size > end - 2) {
            return 0;
        }
        if (!valid_key_size(s + pos + 1, size)) {
            return 0;
        }
        pos += 1 + size;
        keys += 1;
    }
    if (pos != end - 2) {
        return 0;
    }
    int total = (int)s[pos] - 0x50;
    return 1 <= total && total <= 16 && total == keys && required <= keys;
}

/* (type, address) of one output script as new references (address may be None); -1 on a
 * memory error. */
static int classify(const uint8_t *s, Py_ssize_t size, const Network *net, PyObject **kind,
                    PyObject **address)
{
    int type = T_NONSTANDARD;
    PyObject *addr = NULL;
    uint8_t hash[20];

    if (size == 25 && s[0] == 0x76 && s[1] == 0xA9 && s[2] == 0x14 && s[23] == 0x88 &&
        s[24] == 0xAC) {
        type = T_PUBKEYHASH; /* checked first, as classify_many does: disjoint from the rest */
        addr = base58check_address(net->p2pkh, s + 3);
    }
    else if (size == 23 && s[0] == 0xA9 && s[1] == 0x14 && s[22] == 0x87) {
        type = T_SCRIPTHASH;
        addr = base58check_address(net->p2sh, s + 2);
    }
    else if (size >= 4 && size <= 42 && s[1] == size - 2 &&
             (s[0] == 0 || (s[0] >= 0x51 && s[0] <= 0x60))) {
        Py_ssize_t program = size - 2;
        int version = s[0] == 0 ? 0 : s[0] - 0x50;
        if (s[0] == 0) {
            type = program == 20   ? T_WITNESS_V0_KEYHASH
                   : program == 32 ? T_WITNESS_V0_SCRIPTHASH
                                   : T_NONSTANDARD;
        }
        else if (s[0] == 0x51 && size == 34) {
            type = T_WITNESS_V1_TAPROOT;
        }
        else if (s[0] == 0x51 && program == 2 && s[2] == 0x4E && s[3] == 0x73) {
            type = T_ANCHOR;
        }
        else {
            type = T_WITNESS_UNKNOWN;
        }
        if (type != T_NONSTANDARD) {
            addr = segwit_address(net, version, s + 2, program);
        }
    }
    else if (size && s[0] == 0x6A) {
        type = push_only(s, size, 1) ? T_NULLDATA : T_NONSTANDARD;
    }
    else {
        if (((size == 35 && s[0] == 33) || (size == 67 && s[0] == 65)) && s[size - 1] == 0xAC &&
            valid_key_size(s + 1, size - 2)) {
            type = T_PUBKEY;
            hash160(s + 1, (size_t)(size - 2), hash);
            addr = base58check_address(net->p2pkh, hash);
        }
        else if (is_multisig(s, size)) {
            type = T_MULTISIG;
        }
    }
    if (addr == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        addr = Py_None;
        Py_INCREF(addr);
    }
    *kind = TYPE_OBJECTS[type];
    Py_INCREF(*kind);
    *address = addr;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The walk: positions and hashes, no Python objects. Mirrors rawblock._walk.
 */

typedef struct {
    Py_ssize_t start, end, witness; /* witness: marker + flag + witness bytes */
    Py_ssize_t n_in, n_out;
    uint8_t txid[32], wtxid[32]; /* internal byte order */
} TxRecord;

typedef struct {
    Py_ssize_t outpoint; /* position of the 36-byte outpoint; the sequence follows the script */
    Py_ssize_t sequence;
} InRecord;

typedef struct {
    Py_ssize_t value; /* position of the 8-byte value */
    Py_ssize_t script;
    Py_ssize_t size;
} OutRecord;

typedef struct {
    TxRecord *txs;
    InRecord *ins;
    OutRecord *outs;
    Py_ssize_t n_tx, n_in, n_out;
    Py_ssize_t cap_tx, cap_in, cap_out;
    Py_ssize_t coinbase_script, coinbase_size; /* script of the first input of tx 0 */
} Walk;

#define WALK_OK 0
#define WALK_REJECT 1 /* Python raises: fall back to it */
#define WALK_NOMEM 2

static void walk_free(Walk *w)
{
    PyMem_Free(w->txs);
    PyMem_Free(w->ins);
    PyMem_Free(w->outs);
}

static int grow(void **items, Py_ssize_t *capacity, Py_ssize_t needed, size_t item_size)
{
    if (needed <= *capacity) {
        return 0;
    }
    Py_ssize_t wanted = *capacity ? *capacity : 64;
    while (wanted < needed) {
        wanted *= 2;
    }
    if ((size_t)wanted > PY_SSIZE_T_MAX / item_size) {
        return -1;
    }
    void *bigger = PyMem_Realloc(*items, (size_t)wanted * item_size);
    if (bigger == NULL) {
        return -1;
    }
    *items = bigger;
    *capacity = wanted;
    return 0;
}

/* rawblock._compact_size plus its inline fast path: 0 ok, -1 where Python raises (the fit
 * check applies to the slow path only, as in Python; the fast path's overruns are caught by
 * the bounds checks of the reads that follow). */
static inline int read_compact(const uint8_t *d, Py_ssize_t end, Py_ssize_t *pos, uint64_t unit,
                               uint64_t *value)
{
    Py_ssize_t p = *pos;
    if (p >= end) {
        return -1;
    }
    uint8_t first = d[p];
    if (first < 0xFD) {
        *value = first;
        *pos = p + 1;
        return 0;
    }
    uint64_t v, least;
    Py_ssize_t after;
    if (first == 0xFD) {
        if (end - p < 3) {
            return -1;
        }
        v = le16(d + p + 1);
        after = p + 3;
        least = 0xFD;
    }
    else if (first == 0xFE) {
        if (end - p < 5) {
            return -1;
        }
        v = le32(d + p + 1);
        after = p + 5;
        least = 0x10000;
    }
    else {
        if (end - p < 9) {
            return -1;
        }
        v = le64(d + p + 1);
        after = p + 9;
        least = 0x100000000ULL;
    }
    if (v < least || v > MAX_COMPACT_SIZE || v * unit > (uint64_t)(end - after)) {
        return -1;
    }
    *value = v;
    *pos = after;
    return 0;
}

static int walk_block(const uint8_t *d, Py_ssize_t end, Py_ssize_t pos, Py_ssize_t count,
                      Walk *w)
{
    for (Py_ssize_t index = 0; index < count; index++) {
        Py_ssize_t start = pos;
        int segwit;
        uint64_t n_in, n_out, size;
        if (end - pos < 5) {
            return WALK_REJECT;
        }
        if (d[pos + 4]) {
            pos += 4;
            segwit = 0;
        }
        else {
            if (end - pos < 6 || d[pos + 5] != 1) {
                return WALK_REJECT;
            }
            pos += 6;
            segwit = 1;
        }
        if (read_compact(d, end, &pos, 41, &n_in)) {
            return WALK_REJECT;
        }
        /* every input takes at least 41 bytes, so the count is bounded by the data */
        if (n_in > (uint64_t)(end - pos) / 41) {
            return WALK_REJECT;
        }
        if (grow((void **)&w->ins, &w->cap_in, w->n_in + (Py_ssize_t)n_in, sizeof(InRecord))) {
            return WALK_NOMEM;
        }
        for (uint64_t j = 0; j < n_in; j++) {
            if (end - pos < 37) {
                return WALK_REJECT;
            }
            InRecord *in = &w->ins[w->n_in++];
            in->outpoint = pos;
            Py_ssize_t p = pos + 36;
            if (read_compact(d, end, &p, 1, &size) || size > (uint64_t)(end - p)) {
                return WALK_REJECT;
            }
            if (index == 0 && j == 0) {
                w->coinbase_script = p;
                w->coinbase_size = (Py_ssize_t)size;
            }
            pos = p + (Py_ssize_t)size;
            if (end - pos < 4) {
                return WALK_REJECT;
            }
            in->sequence = pos;
            pos += 4;
        }
        if (read_compact(d, end, &pos, 9, &n_out)) {
            return WALK_REJECT;
        }
        if (n_out > (uint64_t)(end - pos) / 9) {
            return WALK_REJECT;
        }
        if (grow((void **)&w->outs, &w->cap_out, w->n_out + (Py_ssize_t)n_out,
                 sizeof(OutRecord))) {
            return WALK_NOMEM;
        }
        for (uint64_t j = 0; j < n_out; j++) {
            if (end - pos < 9) {
                return WALK_REJECT;
            }
            OutRecord *out = &w->outs[w->n_out++];
            out->value = pos;
            Py_ssize_t p = pos + 8;
            if (read_compact(d, end, &p, 1, &size) || size > (uint64_t)(end - p)) {
                return WALK_REJECT;
            }
            out->script = p;
            out->size = (Py_ssize_t)size;
            pos = p + (Py_ssize_t)size;
        }
        if (grow((void **)&w->txs, &w->cap_tx, w->n_tx + 1, sizeof(TxRecord))) {
            return WALK_NOMEM;
        }
        TxRecord *tx = &w->txs[w->n_tx];
        if (segwit) {
            Py_ssize_t witness_start = pos;
            for (uint64_t j = 0; j < n_in; j++) {
                uint64_t items;
                if (read_compact(d, end, &pos, 1, &items)) {
                    return WALK_REJECT;
                }
                for (uint64_t k = 0; k < items; k++) {
                    if (read_compact(d, end, &pos, 1, &size) || size > (uint64_t)(end - pos)) {
                        return WALK_REJECT;
                    }
                    pos += (Py_ssize_t)size;
                }
            }
            if (pos == witness_start + (Py_ssize_t)n_in) {
                return WALK_REJECT; /* the witness flag but no witness data */
            }
            if (end - pos < 4) {
                return WALK_REJECT;
            }
            pos += 4;
            sha256d(d + start, (size_t)(pos - start), tx->wtxid);
            Sha256 ctx;
            uint8_t first[32];
            sha256_init(&ctx);
            sha256_update(&ctx, d + start, 4);
            sha256_update(&ctx, d + start + 6, (size_t)(witness_start - start - 6));
            sha256_update(&ctx, d + pos - 4, 4);
            sha256_final(&ctx, first);
            sha256_32(first, tx->txid);
            tx->witness = pos - witness_start - 2;
        }
        else {
            if (end - pos < 4) {
                return WALK_REJECT;
            }
            pos += 4;
            sha256d(d + start, (size_t)(pos - start), tx->txid);
            memcpy(tx->wtxid, tx->txid, 32);
            tx->witness = 0;
        }
        tx->start = start;
        tx->end = pos;
        tx->n_in = (Py_ssize_t)n_in;
        tx->n_out = (Py_ssize_t)n_out;
        w->n_tx++;
    }
    if (pos != end) {
        return WALK_REJECT; /* trailing data */
    }
    return WALK_OK;
}

/* rawblock._merkle_root and the comparison with the header: 0 = verified, 1 = Python raises
 * (CVE-2012-2459 duplication or mismatch), -1 = no memory. */
static int verify_merkle_root(const Walk *w, const uint8_t *expected)
{
    Py_ssize_t n = w->n_tx;
    uint8_t *level = PyMem_Malloc((size_t)(n + 1) * 32);
    if (level == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        memcpy(level + 32 * i, w->txs[i].txid, 32);
    }
    int result = 0;
    while (n > 1) {
        for (Py_ssize_t i = 0; i + 1 < n; i += 2) {
            if (memcmp(level + 32 * i, level + 32 * (i + 1), 32) == 0) {
                result = 1;
                goto done;
            }
        }
        if (n & 1) {
            memcpy(level + 32 * n, level + 32 * (n - 1), 32);
            n += 1;
        }
        for (Py_ssize_t i = 0; i < n / 2; i++) {
            uint8_t pair[64];
            memcpy(pair, level + 64 * i, 64);
            sha256d(pair, 64, level + 32 * i);
        }
        n /= 2;
    }
    if (memcmp(level, expected, 32) != 0) {
        result = 1;
    }
done:
    PyMem_Free(level);
    return result;
}

/* ---------------------------------------------------------------------------------------------
 * Columns: rawblock._columns in C.
 */

static PyObject *SEQUENCE_FINAL; /* 0xffffffff, the usual nSequence, shared */

static inline PyObject *u32_object(uint32_t value)
{
    if (value == 0xFFFFFFFFu) {
        Py_INCREF(SEQUENCE_FINAL);
        return SEQUENCE_FINAL;
    }
    return PyLong_FromUnsignedLong(value);
}

static int new_lists(PyObject **lists, int count, Py_ssize_t size)
{
    for (int i = 0; i < count; i++) {
        lists[i] = PyList_New(size);
        if (lists[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

static PyObject *lists_tuple(PyObject **lists, int count)
{
    PyObject *tuple = PyTuple_New(count);
    if (tuple == NULL) {
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        PyTuple_SET_ITEM(tuple, i, lists[i]);
        lists[i] = NULL;
    }
    return tuple;
}

static void free_lists(PyObject **lists, int count)
{
    for (int i = 0; i < count; i++) {
        Py_CLEAR(lists[i]);
    }
}

/* sum of uint64 values that may not fit in 64 bits: low word + carries * 2**64 */
static PyObject *wide_sum(uint64_t low, uint64_t carries)
{
    if (carries == 0) {
        return PyLong_FromUnsignedLongLong(low);
    }
    PyObject *high = PyLong_FromUnsignedLongLong(carries);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *shifted = NULL, *low_object = NULL, *total = NULL;
    if (high && shift) {
        shifted = PyNumber_Lshift(high, shift);
    }
    if (shifted) {
        low_object = PyLong_FromUnsignedLongLong(low);
    }
    if (low_object) {
        total = PyNumber_Add(shifted, low_object);
    }
    Py_XDECREF(high);
    Py_XDECREF(shift);
    Py_XDECREF(shifted);
    Py_XDECREF(low_object);
    return total;
}

#define N_TX_COLUMNS 12
#define N_IN_COLUMNS 10
#define N_OUT_COLUMNS 6

#define SET(list, i, value)                                                                        \
    do {                                                                                           \
        PyObject *fb_v = (value);                                                                  \
        if (fb_v == NULL) {                                                                        \
            goto error;                                                                            \
        }                                                                                          \
        PyList_SET_ITEM((list), (i), fb_v);                                                        \
    } while (0)

#define SET_SHARED(list, i, value)                                                                 \
    do {                                                                                           \
        PyObject *fb_v = (value);                                                                  \
        Py_INCREF(fb_v);                                                                           \
        PyList_SET_ITEM((list), (i), fb_v);                                                        \
    } while (0)

/* The three column groups as tuples of lists; NULL with an exception set on failure. */
static int build_columns(const uint8_t *d, const Walk *w, int coinbase, int derive,
                         const Network *net, PyObject **tx_out, PyObject **in_out,
                         PyObject **out_out)
{
    PyObject *tx_cols[N_TX_COLUMNS] = {NULL};
    PyObject *in_cols[N_IN_COLUMNS] = {NULL};
    PyObject *out_cols[N_OUT_COLUMNS] = {NULL};
    Py_ssize_t n_tx = w->n_tx, n_in = w->n_in, n_out = w->n_out;
    if (new_lists(tx_cols, N_TX_COLUMNS, n_tx) || new_lists(in_cols, N_IN_COLUMNS, n_in) ||
        new_lists(out_cols, N_OUT_COLUMNS, n_out)) {
        goto error;
    }
    PyObject *txid = tx_cols[0], *wtxid = tx_cols[1], *position = tx_cols[2];
    PyObject *version = tx_cols[3], *locktime = tx_cols[4], *tx_size = tx_cols[5];
    PyObject *vsize = tx_cols[6], *weight = tx_cols[7], *tx_coinbase = tx_cols[8];
    PyObject *input_count = tx_cols[9], *output_count = tx_cols[10];
    PyObject *output_value = tx_cols[11];
    PyObject *in_txid = in_cols[0], *in_index = in_cols[1], *spent_txid = in_cols[2];
    PyObject *spent_vout = in_cols[3], *sequence = in_cols[4], *in_coinbase = in_cols[5];
    PyObject *coinbase_script = in_cols[6], *in_value = in_cols[7], *in_address = in_cols[8];
    PyObject *in_type = in_cols[9];
    PyObject *out_txid = out_cols[0], *vout = out_cols[1], *value = out_cols[2];
    PyObject *address = out_cols[3], *script_type = out_cols[4], *script_hex = out_cols[5];

    Py_ssize_t in_row = 0, out_row = 0;
    for (Py_ssize_t t = 0; t < n_tx; t++) {
        const TxRecord *tx = &w->txs[t];
        PyObject *id = hex_reversed32(tx->txid);
        SET(txid, t, id);
        if (tx->witness) {
            SET(wtxid, t, hex_reversed32(tx->wtxid));
        }
        else {
            SET_SHARED(wtxid, t, id); /* equal text; Python builds a second string */
        }
        Py_ssize_t size = tx->end - tx->start;
        Py_ssize_t tx_weight = 4 * size - 3 * tx->witness;
        SET(position, t, PyLong_FromSsize_t(t));
        SET(version, t, PyLong_FromUnsignedLong(le32(d + tx->start)));
        SET(locktime, t, PyLong_FromUnsignedLong(le32(d + tx->end - 4)));
        SET(tx_size, t, PyLong_FromSsize_t(size));
        SET(vsize, t, PyLong_FromSsize_t((tx_weight + 3) / 4));
        SET(weight, t, PyLong_FromSsize_t(tx_weight));
        SET_SHARED(tx_coinbase, t, (coinbase && t == 0) ? Py_True : Py_False);
        SET(input_count, t, PyLong_FromSsize_t(tx->n_in));
        SET(output_count, t, PyLong_FromSsize_t(tx->n_out));

        for (Py_ssize_t j = 0; j < tx->n_in; j++, in_row++) {
            const InRecord *in = &w->ins[in_row];
            SET_SHARED(in_txid, in_row, id);
            SET(in_index, in_row, PyLong_FromSsize_t(j));
            if (coinbase && in_row == 0) {
                SET_SHARED(spent_txid, 0, Py_None);
                SET_SHARED(spent_vout, 0, Py_None);
                SET_SHARED(in_coinbase, 0, Py_True);
                SET(coinbase_script, 0, hex_string(d + w->coinbase_script, w->coinbase_size));
            }
            else {
                SET(spent_txid, in_row, hex_reversed32(d + in->outpoint));
                SET(spent_vout, in_row, u32_object(le32(d + in->outpoint + 32)));
                SET_SHARED(in_coinbase, in_row, Py_False);
                SET_SHARED(coinbase_script, in_row, Py_None);
            }
            SET(sequence, in_row, u32_object(le32(d + in->sequence)));
            SET_SHARED(in_value, in_row, Py_None);
            SET_SHARED(in_address, in_row, Py_None);
            SET_SHARED(in_type, in_row, Py_None);
        }

        uint64_t total = 0, carries = 0;
        for (Py_ssize_t j = 0; j < tx->n_out; j++, out_row++) {
            const OutRecord *out = &w->outs[out_row];
            uint64_t amount = le64(d + out->value);
            total += amount;
            carries += total < amount;
            SET_SHARED(out_txid, out_row, id);
            SET(vout, out_row, PyLong_FromSsize_t(j));
            SET(value, out_row, PyLong_FromUnsignedLongLong(amount));
            if (derive) {
                PyObject *kind, *addr;
                if (classify(d + out->script, out->size, net, &kind, &addr) < 0) {
                    goto error;
                }
                PyList_SET_ITEM(script_type, out_row, kind);
                PyList_SET_ITEM(address, out_row, addr);
            }
            else {
                SET_SHARED(script_type, out_row, Py_None);
                SET_SHARED(address, out_row, Py_None);
            }
            SET(script_hex, out_row, hex_string(d + out->script, out->size));
        }
        SET(output_value, t, wide_sum(total, carries));
    }
    *tx_out = lists_tuple(tx_cols, N_TX_COLUMNS);
    if (*tx_out == NULL) {
        goto error;
    }
    *in_out = lists_tuple(in_cols, N_IN_COLUMNS);
    if (*in_out == NULL) {
        Py_CLEAR(*tx_out);
        goto error;
    }
    *out_out = lists_tuple(out_cols, N_OUT_COLUMNS);
    if (*out_out == NULL) {
        Py_CLEAR(*tx_out);
        Py_CLEAR(*in_out);
        goto error;
    }
    return 0;
error:
    free_lists(tx_cols, N_TX_COLUMNS);
    free_lists(in_cols, N_IN_COLUMNS);
    free_lists(out_cols, N_OUT_COLUMNS);
    return -1;
}

static const uint8_t NULL_OUTPOINT[36] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
};

/* ---------------------------------------------------------------------------------------------
 * Module functions
 */

PyDoc_STRVAR(parse_block_doc,
             "parse_block(data, verify_merkle, derive_addresses, p2pkh_version, p2sh_version, hrp)\n"
             "--\n\n"
             "The fields and column lists of one serialized block, or None where the pure-Python\n"
             "parser raises (the caller re-runs it for the exact error).");

static PyObject *fb_parse_block(PyObject *self, PyObject *args)
{
    Py_buffer view;
    int verify, derive, p2pkh, p2sh;
    PyObject *hrp;
    Network net;
    if (!PyArg_ParseTuple(args, "y*ppiiU", &view, &verify, &derive, &p2pkh, &p2sh, &hrp)) {
        return NULL;
    }
    PyObject *result = NULL;
    Walk w = {0};
    const uint8_t *d = view.buf;
    Py_ssize_t end = view.len;

    if (derive && !network_init(&net, p2pkh, p2sh, hrp)) {
        goto reject;
    }
    if (end < HEADER_SIZE + 1 + MIN_TX_SIZE) {
        goto reject;
    }
    Py_ssize_t pos = HEADER_SIZE;
    uint64_t count;
    if (read_compact(d, end, &pos, MIN_TX_SIZE, &count) || count == 0) {
        goto reject;
    }
    int status = walk_block(d, end, pos, (Py_ssize_t)count, &w);
    if (status == WALK_NOMEM) {
        PyErr_NoMemory();
        goto done;
    }
    if (status != WALK_OK) {
        goto reject;
    }
    int verified = 0;
    if (verify) {
        int merkle = verify_merkle_root(&w, d + 36);
        if (merkle < 0) {
            PyErr_NoMemory();
            goto done;
        }
        if (merkle) {
            goto reject;
        }
        verified = 1;
    }
    int coinbase = w.txs[0].n_in == 1 && memcmp(d + w.ins[0].outpoint, NULL_OUTPOINT, 36) == 0;
    Py_ssize_t witness = 0;
    for (Py_ssize_t i = 0; i < w.n_tx; i++) {
        witness += w.txs[i].witness;
    }
    PyObject *txs, *inputs, *outputs;
    if (build_columns(d, &w, coinbase, derive, &net, &txs, &inputs, &outputs) < 0) {
        goto done;
    }
    uint8_t block_hash[32];
    sha256d(d, HEADER_SIZE, block_hash);
    uint8_t prev[32], merkle_root[32];
    memcpy(prev, d + 4, 32);
    memcpy(merkle_root, d + 36, 32);
    PyObject *coinbase_bytes;
    if (coinbase) {
        coinbase_bytes = PyBytes_FromStringAndSize((const char *)d + w.coinbase_script,
                                                   w.coinbase_size);
    }
    else {
        coinbase_bytes = Py_None;
        Py_INCREF(coinbase_bytes);
    }
    PyObject *hash_text = hex_reversed32(block_hash);
    PyObject *prev_text = hex_reversed32(prev);
    PyObject *merkle_text = hex_reversed32(merkle_root);
    if (coinbase_bytes && hash_text && prev_text && merkle_text) {
        result = Py_BuildValue("(NNNlkkknNONNN)", hash_text, prev_text, merkle_text,
                               (long)(int32_t)le32(d), (unsigned long)le32(d + 68),
                               (unsigned long)le32(d + 72), (unsigned long)le32(d + 76),
                               end - witness, coinbase_bytes, verified ? Py_True : Py_False, txs,
                               inputs, outputs);
    }
    else {
        Py_XDECREF(coinbase_bytes);
        Py_XDECREF(hash_text);
        Py_XDECREF(prev_text);
        Py_XDECREF(merkle_text);
        Py_DECREF(txs);
        Py_DECREF(inputs);
        Py_DECREF(outputs);
    }
    goto done;

reject:
    result = Py_None;
    Py_INCREF(result);
done:
    walk_free(&w);
    PyBuffer_Release(&view);
    return result;
}

PyDoc_STRVAR(classify_many_doc,
             "classify_many(scripts, p2pkh_version, p2sh_version, hrp)\n"
             "--\n\n"
             "(script_type, address) of each output script, as script.classify_many gives them;\n"
             "None when the network parameters are outside what this module handles.");

static PyObject *fb_classify_many(PyObject *self, PyObject *args)
{
    PyObject *scripts, *hrp;
    int p2pkh, p2sh;
    Network net;
    if (!PyArg_ParseTuple(args, "O!iiU", &PyList_Type, &scripts, &p2pkh, &p2sh, &hrp)) {
        return NULL;
    }
    if (!network_init(&net, p2pkh, p2sh, hrp)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyList_GET_SIZE(scripts);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *script = PyList_GET_ITEM(scripts, i);
        if (!PyBytes_Check(script)) {
            PyErr_SetString(PyExc_TypeError, "scripts must be bytes");
            Py_DECREF(out);
            return NULL;
        }
        PyObject *kind, *addr;
        if (classify((const uint8_t *)PyBytes_AS_STRING(script), PyBytes_GET_SIZE(script), &net,
                     &kind, &addr) < 0) {
            Py_DECREF(out);
            return NULL;
        }
        PyObject *pair = PyTuple_Pack(2, kind, addr);
        Py_DECREF(kind);
        Py_DECREF(addr);
        if (pair == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, pair);
    }
    return out;
}

static PyObject *fb_sha256(PyObject *self, PyObject *args)
{
    Py_buffer view;
    uint8_t out[32];
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;
    }
    sha256(view.buf, (size_t)view.len, out);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

static PyObject *fb_sha256d(PyObject *self, PyObject *args)
{
    Py_buffer view;
    uint8_t out[32];
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;
    }
    sha256d(view.buf, (size_t)view.len, out);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

static PyObject *fb_ripemd160(PyObject *self, PyObject *args)
{
    Py_buffer view;
    uint8_t out[20];
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;
    }
    ripemd160(view.buf, (size_t)view.len, out);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, 20);
}

static PyObject *fb_hash160(PyObject *self, PyObject *args)
{
    Py_buffer view;
    uint8_t out[20];
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;
    }
    hash160(view.buf, (size_t)view.len, out);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, 20);
}

static int sha_extensions_available(void)
{
#if FB_HAVE_SHANI
    return cpu_has_sha_extensions();
#else
    return 0;
#endif
}

static PyObject *fb_sha256_backend(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(sha256_blocks == sha256_blocks_portable ? "portable"
                                                                        : "x86-sha");
}

static PyObject *fb_set_sha256_backend(PyObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) {
        return NULL;
    }
    if (strcmp(name, "portable") == 0) {
        sha256_blocks = sha256_blocks_portable;
        Py_RETURN_TRUE;
    }
    if (strcmp(name, "x86-sha") == 0) {
#if FB_HAVE_SHANI
        if (sha_extensions_available()) {
            sha256_blocks = sha256_blocks_shani;
            Py_RETURN_TRUE;
        }
#endif
        Py_RETURN_FALSE;
    }
    PyErr_Format(PyExc_ValueError, "unknown SHA-256 backend %s", name);
    return NULL;
}

static PyMethodDef methods[] = {
    {"parse_block", fb_parse_block, METH_VARARGS, parse_block_doc},
    {"classify_many", fb_classify_many, METH_VARARGS, classify_many_doc},
    {"sha256", fb_sha256, METH_VARARGS, "SHA-256 of a bytes-like object."},
    {"sha256d", fb_sha256d, METH_VARARGS, "Double SHA-256 of a bytes-like object."},
    {"ripemd160", fb_ripemd160, METH_VARARGS, "RIPEMD-160 of a bytes-like object."},
    {"hash160", fb_hash160, METH_VARARGS, "RIPEMD-160 of SHA-256 of a bytes-like object."},
    {"sha256_backend", fb_sha256_backend, METH_NOARGS,
     "The SHA-256 compression in use: 'x86-sha' or 'portable'."},
    {"set_sha256_backend", fb_set_sha256_backend, METH_VARARGS,
     "Use 'portable' or 'x86-sha' (tests); returns False when the CPU lacks it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "chaintrail.chains.btc._fastblock",
    "Optional C accelerator for rawblock.parse_block (see the comment at the top of the source).",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__fastblock(void)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 256; i++) {
        HEX_PAIRS[2 * i] = digits[i >> 4];
        HEX_PAIRS[2 * i + 1] = digits[i & 15];
    }
#if FB_HAVE_SHANI
    if (cpu_has_sha_extensions()) {
        sha256_blocks = sha256_blocks_shani;
    }
#endif
    for (int i = 0; i < T_COUNT; i++) {
        if (TYPE_OBJECTS[i] == NULL) {
            TYPE_OBJECTS[i] = PyUnicode_InternFromString(TYPE_NAMES[i]);
            if (TYPE_OBJECTS[i] == NULL) {
                return NULL;
            }
        }
    }
    if (SEQUENCE_FINAL == NULL) {
        SEQUENCE_FINAL = PyLong_FromUnsignedLong(0xFFFFFFFFu);
        if (SEQUENCE_FINAL == NULL) {
            return NULL;
        }
    }
    return PyModule_Create(&module);
}
