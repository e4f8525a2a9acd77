/*
 * TLS for the REST port: the certificate and key an operator names
 * (tls_certificate, tls_key), loaded into an OpenSSL context that the
 * connections accepted from then on use. Names use the prefix tls_.
 *
 * What it promises:
 * - tls_new() refuses a file it cannot read, a certificate that does not
 *   parse, or a key that does not match the certificate, with a cause that
 *   names the file and OpenSSL's words.
 * - tls_reload() reads both files again; on success new connections get
 *   the new certificate, connections already open keep the one they shook
 *   hands with; on failure nothing changes (the old pair keeps serving).
 * - TLS 1.2 and 1.3 only; no renegotiation; no session tickets kept
 *   across a reload matter (each context has its own keys).
 * - A client that speaks plain HTTP to the TLS port gets a plain-text
 *   HTTP 400 saying so, then the connection is closed.
 */
#ifndef PRAAS_HTTP_TLS_H
#define PRAAS_HTTP_TLS_H

#include <openssl/ssl.h>

struct tls;

/* 0, or -errno with *cause allocated. */
int tls_new(const char *certificate, const char *key, struct tls **out, char **cause);
/* 0, or -errno with *cause allocated: the old certificate stays. */
int tls_reload(struct tls *t, char **cause);
/* A new server-side SSL for one connection, or NULL (out of memory). */
SSL *tls_ssl_new(struct tls *t);
/* The SHA-256 fingerprint of the certificate served now, "AB:CD:..". */
const char *tls_fingerprint(const struct tls *t);
void tls_free(struct tls *t);

#endif
