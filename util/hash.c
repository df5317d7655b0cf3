#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "banned.h"

static void die_crypto(void)
{
	/* Only reachable when libcrypto itself is broken or out of memory. */
	fputs("moor: libcrypto SHA-256 failed\n", stderr);
	abort();
}

void util_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void util_sha256_hex(const void *data, size_t len,
		     char out[UTIL_SHA256_HEX_SIZE])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		die_crypto();
	util_hex(md, 32, out);
}

void util_sha256_init(struct util_sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		die_crypto();
	h->ctx = ctx;
}

void util_sha256_update(struct util_sha256 *h, const void *data, size_t len)
{
	if (len && !EVP_DigestUpdate(h->ctx, data, len))
		die_crypto();
}

void util_sha256_field(struct util_sha256 *h, const char *s)
{
	if (!s)
		s = "";
	util_sha256_update(h, s, strlen(s) + 1);
}

void util_sha256_final_hex(struct util_sha256 *h,
			   char out[UTIL_SHA256_HEX_SIZE])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_DigestFinal_ex(h->ctx, md, &mdlen) || mdlen != 32)
		die_crypto();
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	util_hex(md, 32, out);
}
