/*
 * Neutron pagination links, without a network.
 *
 * Promises: a page without a "next" link ends the listing; a "next" link
 * without a usable marker is reported (never silently taken as the end),
 * so a listing is complete or an error.
 */
#ifndef PRAAS_NEUTRON_PAGE_H
#define PRAAS_NEUTRON_PAGE_H

#include <stdbool.h>

struct json_object;

/*
 * The marker (decoded, allocated) of root's next link in
 * "<collection>_links", or NULL when there is none; *bad is set when a
 * next link is there but unusable (or on -ENOMEM).
 */
char *neutron_page_next(struct json_object *root, const char *collection, bool *bad);

#endif
