#ifndef UTIL_HASH_H
#define UTIL_HASH_H

#include <stddef.h>

/*
 * SHA-256 through OpenSSL.  out receives 64 lowercase hex digits and a NUL
 * (size 65).  Used for fingerprints of observed state and the spec file.
 */
#define UTIL_SHA256_HEX_SIZE 65

void util_sha256_hex(const void *data, size_t len,
		     char out[UTIL_SHA256_HEX_SIZE]);

/* Incremental form, for hashing several fields without copying them. */
struct util_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

void util_sha256_init(struct util_sha256 *h);
void util_sha256_update(struct util_sha256 *h, const void *data, size_t len);
/* Hashes s and its terminating NUL, so ("ab","c") differs from ("a","bc"). */
void util_sha256_field(struct util_sha256 *h, const char *s);
/* Writes the digest and frees the context. */
void util_sha256_final_hex(struct util_sha256 *h,
			   char out[UTIL_SHA256_HEX_SIZE]);

/* Lowercase hex of n bytes into out (size >= 2n + 1). */
void util_hex(const unsigned char *in, size_t n, char *out);

#endif
