#include "audit.h"

#include <stdio.h>
#include <sys/socket.h>

#include "caller.h"
#include "log.h"

/* "ADDR:LO[:HI]", an IPv6 address in brackets so the port stays readable. */
static const char *endpoint(const struct addr *a, const struct port_range *r, char *buf, size_t len)
{
	char ip[64], ports[16];

	addr_format(a, ip, sizeof(ip)); /* cannot fail: "-" for what it cannot print */
	/* One port as one number, the way the API shows external_port. */
	if (r->lo == r->hi)
		snprintf(ports, sizeof(ports), "%u", r->lo);
	else
		port_range_format(r, ports, sizeof(ports));
	snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%s" : "%s:%s", ip, ports);
	return buf;
}

static const char *or_dash(const char *s)
{
	return s != NULL && s[0] ? s : "-";
}

void audit_log(const char *op, const char *req_id, const struct caller *who,
        const struct forwarding *f, const struct forwarding *old)
{
	char ext[96], in[96], oext[96], oin[96];

	endpoint(&f->external_addr, &f->external, ext, sizeof(ext));
	endpoint(&f->internal_addr, &f->internal, in, sizeof(in));
	if (old != NULL)
		log_info("audit: op=%s req=%s project=%s user=%s router=%s id=%s protocol=%s "
		         "external=%s internal=%s was=%s->%s",
		        op, or_dash(req_id), or_dash(who ? who->project_id : NULL),
		        or_dash(who ? who->user_id : NULL), f->router_id, f->id,
		        fwd_protocol_name(f->protocol), ext, in,
		        endpoint(&old->external_addr, &old->external, oext, sizeof(oext)),
		        endpoint(&old->internal_addr, &old->internal, oin, sizeof(oin)));
	else
		log_info("audit: op=%s req=%s project=%s user=%s router=%s id=%s protocol=%s "
		         "external=%s internal=%s",
		        op, or_dash(req_id), or_dash(who ? who->project_id : NULL),
		        or_dash(who ? who->user_id : NULL), f->router_id, f->id,
		        fwd_protocol_name(f->protocol), ext, in);
}
