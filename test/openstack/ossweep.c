/*
 * oslab_sweep(): deletes what earlier runs of this test left behind when
 * they were killed before their own cleanup (a meson timeout, SIGKILL).
 * Every name a run gives starts with "praas-test-PID-"; a resource is stale
 * when that PID no longer runs a test-openstack-real, so a run going on in
 * parallel keeps its resources. Housekeeping only: what cannot be deleted
 * is reported, not counted as a failed check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oslab.h"

#define TAG_PREFIX "praas-test-"

/* The PID in "praas-test-PID-...", or 0 if name is not one of ours. */
static long tag_pid(const char *name)
{
	char *end;
	long pid;

	if (name == NULL || strncmp(name, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return 0;
	errno = 0;
	pid = strtol(name + strlen(TAG_PREFIX), &end, 10);
	if (errno != 0 || *end != '-' || pid <= 0)
		return 0;
	return pid;
}

/* True if pid is a live (not zombie) process named test-openstack-... */
static bool runs_this_test(long pid)
{
	char path[64], stat[512];
	const char *open_paren, *close_paren;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	len = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[len] = '\0';
	/* "PID (COMM) STATE ...": COMM is cut at 15 characters */
	open_paren = strchr(stat, '(');
	close_paren = strrchr(stat, ')');
	if (open_paren == NULL || close_paren == NULL || close_paren[1] != ' ')
		return false;
	if (close_paren[2] == 'Z' || close_paren[2] == 'X')
		return false;
	return strncmp(open_paren + 1, "test-openstack-", 15) == 0;
}

static bool stale(const char *name)
{
	long pid = tag_pid(name);

	return pid != 0 && !runs_this_test(pid);
}

static void note(struct res *r, const char *what, const char *id)
{
	char *s = http_error_string(r->err);

	printf("# sweep: %s %s: %s\n", what, id, s != NULL ? s : "?");
	free(s);
}

static void sweep_delete(struct oslab *lab, const char *resource, const char *id, unsigned *n)
{
	struct res r;

	if (SYNC(lab, r, neutron_delete(lab->admin.nt, resource, id, cb_done, &r, NULL)))
		(*n)++;
	else if (r.err->code != -ENOENT)
		note(&r, resource, id);
	res_clear(&r);
}

/* A router with interfaces cannot be deleted: detach them first. */
static void sweep_router(struct oslab *lab, const char *id, unsigned *n)
{
	struct neutron_router_interfaces *ifs;
	struct res r, d;
	size_t i;

	if (SYNC(lab, r, neutron_router_interfaces(lab->admin.nt, id, cb_interfaces, &r, NULL))) {
		ifs = r.obj;
		for (i = 0; i < ifs->ports.len; i++) {
			if (!SYNC(lab, d,
			            neutron_router_remove_interface(lab->admin.nt, id, NULL,
			                    ifs->ports.v[i].id, cb_done, &d, NULL)))
				note(&d, "router interface", ifs->ports.v[i].id);
			res_clear(&d);
		}
		neutron_router_interfaces_free(ifs);
	}
	res_clear(&r);
	sweep_delete(lab, "routers", id, n);
}

static void sweep_routers(struct oslab *lab, unsigned *n)
{
	struct neutron_routers *l;
	struct res r;
	size_t i;

	if (!SYNC(lab, r, neutron_routers_list(lab->admin.nt, NULL, cb_routers, &r, NULL))) {
		note(&r, "list", "routers");
		res_clear(&r);
		return;
	}
	l = r.obj;
	for (i = 0; i < l->len; i++)
		if (stale(l->v[i].name))
			sweep_router(lab, l->v[i].id, n);
	neutron_routers_free(l);
}

static void sweep_ports(struct oslab *lab, unsigned *n)
{
	struct neutron_ports *l;
	struct res r;
	size_t i;

	if (!SYNC(lab, r, neutron_ports_list(lab->admin.nt, NULL, cb_ports, &r, NULL))) {
		note(&r, "list", "ports");
		res_clear(&r);
		return;
	}
	l = r.obj;
	for (i = 0; i < l->len; i++)
		if (stale(l->v[i].name))
			sweep_delete(lab, "ports", l->v[i].id, n);
	neutron_ports_free(l);
}

static void sweep_networks(struct oslab *lab, unsigned *n)
{
	struct neutron_network_filter f = {.router_external = -1};
	struct neutron_networks *l;
	struct res r;
	size_t i;

	if (!SYNC(lab, r, neutron_networks_list(lab->admin.nt, &f, cb_networks, &r, NULL))) {
		note(&r, "list", "networks");
		res_clear(&r);
		return;
	}
	l = r.obj;
	for (i = 0; i < l->len; i++)
		if (stale(l->v[i].name))
			sweep_delete(lab, "networks", l->v[i].id, n);
	neutron_networks_free(l);
}

void oslab_sweep(struct oslab *lab)
{
	unsigned n = 0;

	/* routers first (they hold interface ports), then ports, networks */
	sweep_routers(lab, &n);
	sweep_ports(lab, &n);
	sweep_networks(lab, &n);
	if (n > 0)
		printf("# sweep: deleted %u resources left by killed earlier runs\n", n);
}
