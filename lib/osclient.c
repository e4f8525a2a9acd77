#include "osclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"

int osclient_open(
        struct event_base *base, const struct config *cfg, struct osclient **out, char **cause)
{
	struct http_options opts;
	struct osclient *os;
	int r;

	*cause = NULL;
	os = calloc(1, sizeof(*os));
	if (os == NULL)
		return -ENOMEM;
	r = clouds_load(cfg->clouds_file, cfg->cloud, &os->cloud, cause);
	if (r < 0)
		goto fail;
	http_options_default(&opts);
	opts.verify = os->cloud.verify;
	opts.cacert = os->cloud.cacert;
	r = http_client_new(base, &opts, &os->http);
	if (r < 0) {
		if (asprintf(cause, "cannot start the HTTP client") < 0)
			*cause = NULL;
		goto fail;
	}
	r = keystone_new(os->http, &os->cloud, &os->keystone, cause);
	if (r < 0)
		goto fail;
	r = neutron_new(os->keystone, &os->neutron);
	if (r < 0)
		goto fail;
	*out = os;
	return 0;
fail:
	osclient_close(os);
	return r;
}

void osclient_close(struct osclient *os)
{
	if (os == NULL)
		return;
	if (os->neutron != NULL)
		neutron_free(os->neutron);
	if (os->keystone != NULL)
		keystone_free(os->keystone);
	if (os->http != NULL)
		http_client_free(os->http);
	cloud_free(&os->cloud);
	free(os);
}
