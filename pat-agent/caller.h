/*
 * Who is asking, as the routes see it once auth is done. With auth = "none"
 * and for trusted legacy callers every caller may act on every router.
 */
#ifndef PRAAS_CALLER_H
#define PRAAS_CALLER_H

#include <stdbool.h>

#include "fwd.h"

struct caller {
	bool admin; /* may act on any router */
	char project_id[FWD_NAME_MAX + 1];
	char user_id[FWD_NAME_MAX + 1];
};

#endif
