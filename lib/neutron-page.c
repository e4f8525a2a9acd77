/*
 * Where a Neutron listing's next page starts: the marker in the page's
 * "<collection>_links" entry whose rel is "next".
 */
#include "neutron-page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* The marker of a "next" link's href (allocated), or NULL. */
static char *link_marker(const char *href)
{
	const char *p = strchr(href, '?');
	char *out, *o;

	while (p != NULL) {
		p++;
		if (strncmp(p, "marker=", 7) == 0) {
			const char *v = p + 7, *end = strchrnul(v, '&');

			if ((out = malloc((size_t)(end - v) + 1)) == NULL)
				return NULL;
			for (o = out; v < end; v++) {
				unsigned int x;

				if (*v == '%' && end - v >= 3 && sscanf(v + 1, "%2x", &x) == 1) {
					*o++ = (char)x;
					v += 2;
				} else {
					*o++ = *v == '+' ? ' ' : *v;
				}
			}
			*o = '\0';
			return out;
		}
		p = strchr(p, '&');
	}
	return NULL;
}

char *neutron_page_next(struct json_object *root, const char *collection, bool *bad)
{
	char key[64];
	struct json_object *links;

	*bad = false;
	snprintf(key, sizeof(key), "%s_links", collection);
	if (!json_object_object_get_ex(root, key, &links) || links == NULL ||
	        !json_object_is_type(links, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(links); i++) {
		struct json_object *l = json_object_array_get_idx(links, i), *rel, *href;
		char *m;

		if (!json_object_object_get_ex(l, "rel", &rel) ||
		        strcmp(json_object_get_string(rel), "next") != 0)
			continue;
		if (!json_object_object_get_ex(l, "href", &href) ||
		        !json_object_is_type(href, json_type_string) ||
		        (m = link_marker(json_object_get_string(href))) == NULL) {
			*bad = true;
			return NULL;
		}
		return m;
	}
	return NULL;
}
