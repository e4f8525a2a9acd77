/*
 * The operator's routes: GET / (the version document), GET /healthz
 * (liveness and dependencies) and GET /metrics (Prometheus text).
 */
#ifndef PRAAS_API_OPERATOR_H
#define PRAAS_API_OPERATOR_H

struct call;

void api_version(struct call *c);
void api_healthz(struct call *c);
void api_metrics(struct call *c);

#endif
