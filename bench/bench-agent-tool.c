/*
 * bench-agent-tool: the measuring half of bench/bench-agent.
 *
 *   bench-agent-tool create HOST PORT ROUTER COUNT CLIENTS EXT_BASE TARGET INT_BASE [churn]
 *       COUNT creates over CLIENTS keep-alive connections (one thread
 *       each); forwarding i is TARGET:INT_BASE+i behind EXT_BASE+i. With
 *       "churn" each create is followed by a delete of it (not timed), so
 *       the router's table keeps the size it had.
 *   bench-agent-tool get HOST PORT PATH REPEAT
 *       REPEAT GETs of PATH on one connection.
 *   bench-agent-tool wait HOST PORT PATH TIMEOUT_S
 *       polls PATH every millisecond until it answers 200.
 *   bench-agent-tool netns-add DIR PREFIX COUNT
 *       COUNT bare network namespaces, each bind-mounted on DIR/PREFIX<uuid>
 *       (the uuids printed one a line). No interfaces: enough for a table.
 *   bench-agent-tool netns-del DIR PREFIX
 *       unmounts and removes every DIR/PREFIX* file.
 *
 * Output is "key value" lines; the script turns them into figures. The
 * HTTP client is the least that measures the agent and not itself:
 * HTTP/1.1, keep-alive, Content-Length or chunked bodies (what evhttp sends).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench-agent-tool: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a keep-alive HTTP/1.1 connection ---- */

struct hc {
	const char *host;
	int port;
	int fd;
	char *buf; /* the whole last answer, headers and body */
	size_t len, cap;
};

static int hc_connect(struct hc *h)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port)};
	int one = 1;

	if (inet_pton(AF_INET, h->host, &sin.sin_addr) != 1)
		die("%s: not an IPv4 address", h->host);
	if ((h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("TCP_NODELAY: %s", strerror(errno));
	if (connect(h->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int r = -errno;
		close(h->fd);
		h->fd = -1;
		return r;
	}
	return 0;
}

static void hc_grow(struct hc *h, size_t need)
{
	if (h->cap >= need)
		return;
	h->cap = need * 2;
	if ((h->buf = realloc(h->buf, h->cap)) == NULL)
		die("out of memory");
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/*
 * A chunked body at p (n bytes): its decoded length once it is all there
 * (decoding it in place when apply), or -1 while more is to come.
 */
static long dechunk(char *p, size_t n, bool apply)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *eol = memmem(p + in, n - in, "\r\n", 2);
		size_t size, data;

		if (eol == NULL)
			return -1;
		size = strtoul(p + in, NULL, 16);
		data = (size_t)(eol - p) + 2;
		if (size == 0)
			return n >= data + 2 ? (long)out : -1;
		if (n < data + size + 2)
			return -1;
		if (apply)
			memmove(p + out, p + data, size);
		out += size;
		in = data + size + 2;
	}
}

/* One request; returns the status, *body points into h->buf. */
static int hc_do(struct hc *h, const char *method, const char *path, const char *body,
        const char **rbody, size_t *rlen)
{
	char head[512];
	size_t blen = body ? strlen(body) : 0, hlen = 0, clen = 0;
	const char *end = NULL, *cl, *te;
	bool chunked = false;
	int n, status;

	n = snprintf(head, sizeof(head),
	        "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	        "Content-Length: %zu\r\n\r\n",
	        method, path, h->host, blen);
	if (n < 0 || (size_t)n >= sizeof(head))
		die("request line too long");
	send_all(h->fd, head, (size_t)n);
	if (blen)
		send_all(h->fd, body, blen);
	h->len = 0;
	for (;;) {
		ssize_t r;

		if (end == NULL && h->len > 0) {
			h->buf[h->len] = '\0';
			if ((end = strstr(h->buf, "\r\n\r\n")) != NULL) {
				hlen = (size_t)(end - h->buf) + 4;
				if ((cl = strcasestr(h->buf, "\r\nContent-Length:")) != NULL &&
				        cl < end)
					clen = strtoul(cl + 17, NULL, 10);
				/* Long listings come in pieces, as the client reads. */
				te = strcasestr(h->buf, "\r\nTransfer-Encoding: chunked");
				chunked = te != NULL && te < end;
			}
		}
		if (end != NULL && chunked && dechunk(h->buf + hlen, h->len - hlen, false) >= 0) {
			clen = (size_t)dechunk(h->buf + hlen, h->len - hlen, true);
			break;
		}
		if (end != NULL && !chunked && h->len >= hlen + clen)
			break;
		hc_grow(h, h->len + 65536 + 1);
		r = recv(h->fd, h->buf + h->len, h->cap - h->len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s %s: the connection ended (%s)", method, path,
			        r == 0 ? "closed" : strerror(errno));
		h->len += (size_t)r;
	}
	if (sscanf(h->buf, "HTTP/1.%*d %d", &status) != 1)
		die("%s %s: not an HTTP answer", method, path);
	h->buf[hlen + clen] = '\0';
	*rbody = h->buf + hlen;
	*rlen = clen;
	return status;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

static void print_latencies(const char *prefix, double *v, size_t n)
{
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("%scount %zu\n", prefix, n);
	printf("%smin_ms %.3f\n", prefix, v[0] * 1e3);
	printf("%sp50_ms %.3f\n", prefix, pct(v, n, 0.50) * 1e3);
	printf("%sp99_ms %.3f\n", prefix, pct(v, n, 0.99) * 1e3);
	printf("%smax_ms %.3f\n", prefix, v[n - 1] * 1e3);
	printf("%smean_ms %.3f\n", prefix, sum / (double)n * 1e3);
}

/* ---- create ---- */

struct create_job {
	pthread_t thread;
	struct hc h;
	const char *router, *target;
	unsigned int first, count, ext_base, int_base;
	bool churn;
	pthread_barrier_t *start;
	double *lat;     /* count entries */
	double *del_lat; /* with churn: the deletes' */
};

static void *create_run(void *arg)
{
	struct create_job *j = arg;
	char path[256], body[512], del[512];
	const char *rbody, *id;
	size_t rlen;

	snprintf(path, sizeof(path), "/v1/routers/%s/port_forwardings", j->router);
	pthread_barrier_wait(j->start);
	for (unsigned int k = 0; k < j->count; k++) {
		unsigned int i = j->first + k;
		double t0;
		int st;

		snprintf(body, sizeof(body),
		        "{\"port_forwarding\":{\"protocol\":\"tcp\",\"internal_ip_address\":\"%s\","
		        "\"internal_port\":%u,\"external_port\":%u}}",
		        j->target, j->int_base + i, j->ext_base + i);
		t0 = now();
		st = hc_do(&j->h, "POST", path, body, &rbody, &rlen);
		j->lat[k] = now() - t0;
		if (st != 201)
			die("create %u: %d %.*s", i, st, (int)rlen, rbody);
		if (!j->churn)
			continue;
		if ((id = strstr(rbody, "\"id\":\"")) == NULL)
			die("create %u: no id in %.*s", i, (int)rlen, rbody);
		snprintf(del, sizeof(del), "%s/%.36s", path, id + 6);
		t0 = now();
		st = hc_do(&j->h, "DELETE", del, NULL, &rbody, &rlen);
		j->del_lat[k] = now() - t0;
		if (st != 204)
			die("delete %u: %d %.*s", i, st, (int)rlen, rbody);
	}
	return NULL;
}

static int cmd_create(int argc, char **argv)
{
	unsigned int count, clients;
	struct create_job *jobs;
	pthread_barrier_t start;
	double t0, elapsed, *lat, *del_lat;
	bool churn;

	if (argc < 10)
		die("create HOST PORT ROUTER COUNT CLIENTS EXT_BASE TARGET INT_BASE [churn]");
	count = (unsigned int)atoi(argv[5]);
	clients = (unsigned int)atoi(argv[6]);
	churn = argc > 10 && strcmp(argv[10], "churn") == 0;
	if (count == 0 || clients == 0 || clients > 64)
		die("COUNT > 0, 1 <= CLIENTS <= 64");
	if ((jobs = calloc(clients, sizeof(*jobs))) == NULL ||
	        (lat = calloc(count, sizeof(*lat))) == NULL ||
	        (del_lat = calloc(count, sizeof(*del_lat))) == NULL)
		die("out of memory");
	if (pthread_barrier_init(&start, NULL, clients + 1) != 0)
		die("pthread_barrier_init");
	for (unsigned int c = 0, first = 0; c < clients; c++) {
		struct create_job *j = &jobs[c];

		j->h = (struct hc){.host = argv[2], .port = atoi(argv[3]), .fd = -1};
		if (hc_connect(&j->h) < 0)
			die("connect %s:%s: %s", argv[2], argv[3], strerror(errno));
		j->router = argv[4];
		j->target = argv[8];
		j->ext_base = (unsigned int)atoi(argv[7]);
		j->int_base = (unsigned int)atoi(argv[9]);
		j->churn = churn;
		j->first = first;
		j->count = count / clients + (c < count % clients);
		j->lat = lat + first;
		j->del_lat = del_lat + first;
		j->start = &start;
		first += j->count;
		if (pthread_create(&j->thread, NULL, create_run, j) != 0)
			die("pthread_create");
	}
	pthread_barrier_wait(&start);
	t0 = now();
	for (unsigned int c = 0; c < clients; c++)
		pthread_join(jobs[c].thread, NULL);
	elapsed = now() - t0;
	print_latencies("", lat, count);
	if (churn)
		print_latencies("delete_", del_lat, count);
	printf("elapsed_s %.3f\n", elapsed);
	printf("rate_per_s %.0f\n", (double)count / elapsed);
	for (unsigned int c = 0; c < clients; c++) {
		close(jobs[c].h.fd);
		free(jobs[c].h.buf);
	}
	free(jobs);
	free(lat);
	free(del_lat);
	return 0;
}

/* ---- get, wait ---- */

static int cmd_get(int argc, char **argv)
{
	struct hc h;
	unsigned int repeat, ids = 0;
	const char *rbody, *p;
	size_t rlen = 0;
	double *lat;
	int st;

	if (argc != 6)
		die("get HOST PORT PATH REPEAT");
	h = (struct hc){.host = argv[2], .port = atoi(argv[3]), .fd = -1};
	repeat = (unsigned int)atoi(argv[5]);
	if (repeat == 0 || (lat = calloc(repeat, sizeof(*lat))) == NULL)
		die("REPEAT > 0");
	if (hc_connect(&h) < 0)
		die("connect: %s", strerror(errno));
	for (unsigned int i = 0; i < repeat; i++) {
		double t0 = now();

		st = hc_do(&h, "GET", argv[4], NULL, &rbody, &rlen);
		lat[i] = now() - t0;
		if (st != 200)
			die("GET %s: %d", argv[4], st);
	}
	for (p = rbody; (p = strstr(p, "\"id\":")) != NULL; p += 5)
		ids++;
	print_latencies("", lat, repeat);
	printf("bytes %zu\n", rlen);
	printf("ids %u\n", ids);
	close(h.fd);
	free(h.buf);
	free(lat);
	return 0;
}

static int cmd_wait(int argc, char **argv)
{
	struct hc h;
	const char *rbody;
	size_t rlen;
	double t0 = now(), limit;

	if (argc != 6)
		die("wait HOST PORT PATH TIMEOUT_S");
	limit = atof(argv[5]);
	h = (struct hc){.host = argv[2], .port = atoi(argv[3]), .fd = -1};
	while (now() - t0 < limit) {
		if (hc_connect(&h) == 0) {
			int st = hc_do(&h, "GET", argv[4], NULL, &rbody, &rlen);

			close(h.fd);
			if (st == 200) {
				printf("waited_s %.3f\n", now() - t0);
				free(h.buf);
				return 0;
			}
		}
		usleep(1000);
	}
	die("%s did not answer 200 within %s s", argv[4], argv[5]);
}

/* ---- namespaces ---- */

static void uuid(char out[37])
{
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");

	if (f == NULL || fgets(out, 37, f) == NULL)
		die("cannot read a uuid: %s", strerror(errno));
	fclose(f);
}

static int cmd_netns_add(int argc, char **argv)
{
	char id[37], path[4096];
	int n, fd;

	if (argc != 5)
		die("netns-add DIR PREFIX COUNT");
	n = atoi(argv[4]);
	for (int i = 0; i < n; i++) {
		uuid(id);
		snprintf(path, sizeof(path), "%s/%s%s", argv[2], argv[3], id);
		if ((fd = open(path, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444)) < 0)
			die("%s: %s", path, strerror(errno));
		close(fd);
		/* A new namespace for this process; the bind mount keeps it when we move on. */
		if (unshare(CLONE_NEWNET) < 0)
			die("unshare: %s", strerror(errno));
		if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
			die("mount %s: %s", path, strerror(errno));
		printf("%s\n", id);
	}
	return 0;
}

static int cmd_netns_del(int argc, char **argv)
{
	size_t plen;
	struct dirent *e;
	char path[4096];
	DIR *d;
	int n = 0;

	if (argc != 4)
		die("netns-del DIR PREFIX");
	if ((d = opendir(argv[2])) == NULL)
		return 0;
	plen = strlen(argv[3]);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, argv[3], plen) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[2], e->d_name);
		if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
			fprintf(stderr, "bench-agent-tool: umount %s: %s\n", path, strerror(errno));
		if (unlink(path) < 0)
			fprintf(stderr, "bench-agent-tool: rm %s: %s\n", path, strerror(errno));
		n++;
	}
	closedir(d);
	printf("removed %d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("create|get|wait|netns-add|netns-del ...");
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc, argv);
	if (strcmp(argv[1], "get") == 0)
		return cmd_get(argc, argv);
	if (strcmp(argv[1], "wait") == 0)
		return cmd_wait(argc, argv);
	if (strcmp(argv[1], "netns-add") == 0)
		return cmd_netns_add(argc, argv);
	if (strcmp(argv[1], "netns-del") == 0)
		return cmd_netns_del(argc, argv);
	die("unknown command %s", argv[1]);
}
