#include "fault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static const char *const cause_names[FAULT_CAUSE_COUNT] = {
        [FAULT_REQUEST] = "request",
        [FAULT_TARGET] = "target",
        [FAULT_TOKEN] = "token",
        [FAULT_PROJECT] = "project",
        [FAULT_FORWARDING] = "forwarding",
        [FAULT_ROUTER] = "router",
        [FAULT_EXTERNAL_PORT] = "external_port",
        [FAULT_INTERNAL_PORT] = "internal_port",
        [FAULT_RANGE] = "range",
        [FAULT_GATEWAY] = "gateway",
        [FAULT_STORE] = "store",
        [FAULT_KERNEL] = "kernel",
        [FAULT_TABLE] = "table",
        [FAULT_NEUTRON] = "neutron",
        [FAULT_KEYSTONE] = "keystone",
        [FAULT_RESYNC] = "resync",
        [FAULT_MEMORY] = "memory",
};

int fault_set(struct fault *f, int err, enum fault_cause cause, const char *fmt, ...)
{
	va_list ap;

	f->err = err;
	f->cause = cause;
	f->has_other = false;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
	return -1;
}

int fault_no_memory(struct fault *f)
{
	return fault_set(f, -ENOMEM, FAULT_MEMORY, "out of memory");
}

const char *fault_cause_name(enum fault_cause cause)
{
	return cause >= 0 && cause < FAULT_CAUSE_COUNT ? cause_names[cause] : "?";
}
