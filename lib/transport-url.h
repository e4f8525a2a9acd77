/*
 * oslo.messaging's transport_url, the form every OpenStack service's
 * configuration already holds:
 *
 *   rabbit://USER:PASS@HOST:PORT[,USER:PASS@HOST2:PORT]/VHOST[?query]
 *
 * Several hosts are one RabbitMQ cluster, tried in turn. USER, PASS and
 * VHOST are percent-decoded; HOST may be an IPv6 address in brackets;
 * PORT defaults to 5672; an empty VHOST is "/". A host without
 * credentials takes those of the host before it (oslo's reading), the
 * first without any is refused. The query (oslo's driver options) is
 * ignored. Scheme "rabbit" or "amqp".
 */
#ifndef PRAAS_TRANSPORT_URL_H
#define PRAAS_TRANSPORT_URL_H

#include <stddef.h>

#define TRANSPORT_URL_MAX_HOSTS    16
#define TRANSPORT_URL_DEFAULT_PORT 5672

struct transport_host {
	char *user, *password, *host;
	int port;
};

struct transport_url {
	struct transport_host *hosts;
	size_t n;
	char *vhost;
};

/*
 * 0 with *out filled (free with transport_url_free), or -EINVAL with *cause
 * saying what is wrong (never quoting the password), or -ENOMEM.
 */
int transport_url_parse(const char *text, struct transport_url *out, char **cause);
void transport_url_free(struct transport_url *u);

#endif
