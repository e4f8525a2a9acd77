/*
 * An error on its way to an API answer: the HTTP status, the API-SIG code
 * ("praas.port_in_use") and a detail that says what and why. Modules below
 * the routes fill one; the routes render it once (v1 as API-SIG JSON,
 * legacy as {"status":"ERROR","message":...}).
 */
#ifndef PRAAS_APIERR_H
#define PRAAS_APIERR_H

struct apierr {
	int status;
	const char *code;
	char detail[512];
	int retry_after; /* seconds for a Retry-After header; 0: none */
};

/* Fills err (retry_after 0) and returns -1, so a caller can `return apierr_set(...)`. */
int apierr_set(struct apierr *err, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#endif
