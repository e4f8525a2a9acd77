#include "http-tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cause.h"
#include "log.h"

struct tls {
	char *certificate, *key;
	SSL_CTX *ctx;
	char fingerprint[32 * 3];
};

/* OpenSSL's own words for the last error, and the queue emptied. */
static const char *ssl_why(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "%s", "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/*
 * A plain HTTP request on the TLS port fails the handshake; OpenSSL
 * recognises it (SSL_R_HTTP_REQUEST). Without this the client sees an
 * empty reply and no reason: tell it, in the only language it speaks.
 */
static void on_info(const SSL *ssl, int where, int ret)
{
	static const char body[] = "This port speaks HTTPS: plain HTTP is not served here.\n";
	char answer[256];
	unsigned long e;
	int fd, n;

	if (!(where & SSL_CB_EXIT) || ret > 0 || !SSL_is_server((SSL *)ssl))
		return;
	/*
	 * The queue is the thread's, but no stale entry is left in it: libevent
	 * empties it after every failed handshake (and ssl_why() after ours).
	 */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_SSL || ERR_GET_REASON(e) != SSL_R_HTTP_REQUEST)
		return;
	if ((fd = SSL_get_fd(ssl)) < 0)
		return;
	n = snprintf(answer, sizeof(answer),
	        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
	        "Content-Length: %zu\r\n\r\n%s",
	        sizeof(body) - 1, body);
	/* Best effort, as the guard's refusals: a client not reading loses it. */
	if (n > 0 && send(fd, answer, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("tls: cannot answer a plain HTTP request: %s", strerror(errno));
	(void)shutdown(fd, SHUT_WR);
	log_debug("tls: a plain HTTP request on the TLS port, answered 400");
}

static int fingerprint(SSL_CTX *ctx, char *out, size_t size)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1)
		return -EINVAL;
	for (unsigned int i = 0; i < n && (size_t)(i * 3 + 3) <= size; i++)
		snprintf(out + i * 3, size - i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return 0;
}

/* A context serving certificate and key; NULL with *cause on failure. */
static SSL_CTX *load(const char *certificate, const char *key, char **cause)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];

	if (ctx == NULL) {
		cause_set(
		        cause, -ENOMEM, "cannot make a TLS context: %s", ssl_why(why, sizeof(why)));
		return NULL;
	}
	/* TLS 1.0 and 1.1 are deprecated (RFC 8996); renegotiation only adds attack surface. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	        !(SSL_CTX_set_options(
	                  ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE) &
	                SSL_OP_NO_RENEGOTIATION)) {
		cause_set(cause, -EINVAL, "cannot set the TLS versions: %s",
		        ssl_why(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, certificate) != 1) {
		cause_set(cause, -EINVAL, "tls_certificate %s: cannot use it: %s", certificate,
		        ssl_why(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		cause_set(cause, -EINVAL, "tls_key %s: cannot use it: %s", key,
		        ssl_why(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		cause_set(cause, -EINVAL, "tls_key %s does not match tls_certificate %s: %s", key,
		        certificate, ssl_why(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_info_callback(ctx, on_info);
	return ctx;
}

int tls_new(const char *certificate, const char *key, struct tls **out, char **cause)
{
	struct tls *t = calloc(1, sizeof(*t));

	*out = NULL;
	*cause = NULL;
	if (t == NULL || (t->certificate = strdup(certificate)) == NULL ||
	        (t->key = strdup(key)) == NULL) {
		tls_free(t);
		return cause_set(cause, -ENOMEM, "out of memory");
	}
	if ((t->ctx = load(certificate, key, cause)) == NULL) {
		tls_free(t);
		return -EINVAL;
	}
	(void)fingerprint(t->ctx, t->fingerprint, sizeof(t->fingerprint));
	*out = t;
	return 0;
}

int tls_reload(struct tls *t, char **cause)
{
	SSL_CTX *ctx;

	*cause = NULL;
	if ((ctx = load(t->certificate, t->key, cause)) == NULL)
		return -EINVAL;
	/* Each open connection's SSL holds a reference: they keep the old one. */
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	(void)fingerprint(t->ctx, t->fingerprint, sizeof(t->fingerprint));
	return 0;
}

SSL *tls_ssl_new(struct tls *t)
{
	return SSL_new(t->ctx);
}

const char *tls_fingerprint(const struct tls *t)
{
	return t->fingerprint;
}

void tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	free(t->certificate);
	free(t->key);
	free(t);
}
