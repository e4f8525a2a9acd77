/*
 * The OpenStack connection both agents open from praas.conf: the cloud
 * named by `cloud` in `clouds_file` (or OS_*), an HTTP client on the
 * daemon's loop, Keystone and Neutron over it.
 */
#ifndef PRAAS_OSCLIENT_H
#define PRAAS_OSCLIENT_H

#include "clouds.h"
#include "http.h"
#include "keystone.h"
#include "neutron.h"

struct config;
struct event_base;

struct osclient {
	struct cloud cloud;
	struct http_client *http;
	struct keystone *keystone;
	struct neutron *neutron;
};

/*
 * Opens the connection; nothing is sent yet. 0, or -errno with *cause (an
 * allocated line naming the file, cloud or field). On failure nothing is
 * left to free.
 */
int osclient_open(
        struct event_base *base, const struct config *cfg, struct osclient **out, char **cause);
void osclient_close(struct osclient *os);

#endif
