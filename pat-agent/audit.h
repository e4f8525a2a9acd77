/*
 * The audit trail: one info line per change of a forwarding, whoever made
 * it, so an operator can say who changed or deleted what. One format:
 *
 *   audit: op=OP req=REQ project=P user=U router=R id=ID protocol=tcp
 *          external=ADDR:LO[:HI] internal=ADDR:LO[:HI] [was=ADDR:LO[:HI]->ADDR:LO[:HI]]
 *
 * on one line. OP is create, update, delete (a client's, v1 or legacy),
 * monitor-delete or monitor-retarget (a control socket report). REQ is
 * the request id the client got in X-Openstack-Request-Id, or "control"
 * for the control socket. P and U are the caller's project and user, "-"
 * when there are none (auth = "none", a trusted legacy caller, the control
 * socket). "was" (update and retarget only) is the replaced
 * external->internal pair.
 */
#ifndef PRAAS_AUDIT_H
#define PRAAS_AUDIT_H

#include "fwd.h"

struct caller;

/* Logs one change; old is the replaced forwarding (update, retarget) or NULL. */
void audit_log(const char *op, const char *req_id, const struct caller *who,
        const struct forwarding *f, const struct forwarding *old);

#endif
