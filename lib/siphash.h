/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash. With a
 * secret random key, nobody who does not know the key can choose inputs
 * that collide, so a table keyed by it can hold untrusted strings (tokens)
 * as hashes instead of the strings themselves.
 */
#ifndef PRAAS_SIPHASH_H
#define PRAAS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
