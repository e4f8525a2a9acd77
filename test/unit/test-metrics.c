/* The Prometheus registry: series, histograms, escaping, text format 0.0.4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

static char *render(struct metrics *reg)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	char *s;

	assert_int_equal(metrics_render(reg, b), 0);
	len = evbuffer_get_length(b);
	s = malloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

static const char *const routes[] = {"list", "create"};
static const char *const codes[] = {"2xx", "4xx"};
static const char *const odd[] = {"a\"b\\c\nd"};

static void test_counter_gauge(void **state)
{
	struct metrics *reg = metrics_new();
	const struct metric_label labels[] = {{"route", routes, 2}, {"code", codes, 2}};
	const struct metric_label oddl[] = {{"v", odd, 1}};
	struct metric *req, *fwd, *weird;
	unsigned int i01[] = {0, 1}, i10[] = {1, 0}, bad[] = {2, 0}, zero[] = {0};
	char *s;

	req = metrics_add(reg, METRIC_COUNTER, "praas_http_requests_total", "Requests by route.",
	        labels, 2, NULL, 0);
	fwd = metrics_add(
	        reg, METRIC_GAUGE, "praas_forwardings", "Forwardings\\now\n.", NULL, 0, NULL, 0);
	weird = metrics_add(reg, METRIC_GAUGE, "praas_odd", "x", oddl, 1, NULL, 0);
	assert_non_null(req);
	assert_non_null(fwd);
	assert_non_null(weird);
	metric_inc(req, i01);
	metric_inc(req, i01);
	metric_add(req, i10, 5);
	metric_add(req, i10, -1); /* a counter never goes down */
	metric_inc(req, bad);     /* out of range: ignored */
	metric_inc(req, NULL);
	metric_set(fwd, NULL, 12);
	metric_add(fwd, NULL, -2);
	metric_set(weird, zero, 0.25);
	assert_true(metric_value(req, i01) == 2);
	assert_true(metric_value(fwd, NULL) == 10);
	s = render(reg);
	assert_string_equal(s,
	        "# HELP praas_http_requests_total Requests by route.\n"
	        "# TYPE praas_http_requests_total counter\n"
	        "praas_http_requests_total{route=\"list\",code=\"2xx\"} 0\n"
	        "praas_http_requests_total{route=\"list\",code=\"4xx\"} 2\n"
	        "praas_http_requests_total{route=\"create\",code=\"2xx\"} 5\n"
	        "praas_http_requests_total{route=\"create\",code=\"4xx\"} 0\n"
	        "# HELP praas_forwardings Forwardings\\\\now\\n.\n"
	        "# TYPE praas_forwardings gauge\n"
	        "praas_forwardings 10\n"
	        "# HELP praas_odd x\n"
	        "# TYPE praas_odd gauge\n"
	        "praas_odd{v=\"a\\\"b\\\\c\\nd\"} 0.25\n");
	free(s);
	assert_int_equal(metric_label_index(&labels[1], "4xx"), 1);
	assert_int_equal(metric_label_index(&labels[1], "5xx"), -1);
	metrics_free(reg);
}

static void test_histogram(void **state)
{
	struct metrics *reg = metrics_new();
	const double b[] = {0.1, 1};
	const struct metric_label labels[] = {{"route", routes, 2}};
	struct metric *h = metrics_add(
	        reg, METRIC_HISTOGRAM, "praas_latency_seconds", "Latency.", labels, 1, b, 2);
	unsigned int list[] = {0};
	char *s;

	assert_non_null(h);
	metric_observe(h, list, 0.05);
	metric_observe(h, list, 0.1); /* on the bound: counted in le="0.1" */
	metric_observe(h, list, 0.5);
	metric_observe(h, list, 7);
	s = render(reg);
	assert_string_equal(s,
	        "# HELP praas_latency_seconds Latency.\n"
	        "# TYPE praas_latency_seconds histogram\n"
	        "praas_latency_seconds_bucket{route=\"list\",le=\"0.1\"} 2\n"
	        "praas_latency_seconds_bucket{route=\"list\",le=\"1\"} 3\n"
	        "praas_latency_seconds_bucket{route=\"list\",le=\"+Inf\"} 4\n"
	        "praas_latency_seconds_sum{route=\"list\"} 7.65\n"
	        "praas_latency_seconds_count{route=\"list\"} 4\n"
	        "praas_latency_seconds_bucket{route=\"create\",le=\"0.1\"} 0\n"
	        "praas_latency_seconds_bucket{route=\"create\",le=\"1\"} 0\n"
	        "praas_latency_seconds_bucket{route=\"create\",le=\"+Inf\"} 0\n"
	        "praas_latency_seconds_sum{route=\"create\"} 0\n"
	        "praas_latency_seconds_count{route=\"create\"} 0\n");
	free(s);

	/* Unlabelled, with the standard latency buckets; many observations stay cheap. */
	struct metric *nft = metrics_add(reg, METRIC_HISTOGRAM, "praas_nft_batch_seconds",
	        "Batches.", NULL, 0, metrics_latency_buckets, metrics_latency_buckets_n);
	struct timespec t0, t1;
	assert_non_null(nft);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 1000000; i++)
		metric_observe(nft, NULL, (i % 1000) / 100000.0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 1.0);
	s = render(reg);
	assert_non_null(strstr(s, "praas_nft_batch_seconds_count 1000000\n"));
	assert_non_null(strstr(s, "praas_nft_batch_seconds_bucket{le=\"0.0005\"} 51000\n"));
	free(s);
	metrics_free(reg);
}

static void test_invalid(void **state)
{
	struct metrics *reg = metrics_new();
	const char *const vals[] = {"x"};
	const struct metric_label le[] = {{"le", vals, 1}};
	const struct metric_label badname[] = {{"1a", vals, 1}};
	const struct metric_label empty[] = {{"a", vals, 0}};
	const double down[] = {1, 0.5};

	errno = 0;
	assert_null(metrics_add(reg, METRIC_COUNTER, "1bad", "h", NULL, 0, NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(metrics_add(reg, METRIC_COUNTER, "a-b", "h", NULL, 0, NULL, 0));
	assert_null(metrics_add(reg, METRIC_HISTOGRAM, "h", "h", le, 1, down, 1));
	assert_null(metrics_add(reg, METRIC_HISTOGRAM, "h", "h", NULL, 0, down, 2));
	assert_null(metrics_add(reg, METRIC_HISTOGRAM, "h", "h", NULL, 0, NULL, 0));
	assert_null(metrics_add(reg, METRIC_COUNTER, "c", "h", badname, 1, NULL, 0));
	assert_null(metrics_add(reg, METRIC_COUNTER, "c", "h", empty, 1, NULL, 0));
	assert_null(metrics_add(reg, METRIC_COUNTER, "c", "h", NULL, 0, down, 1));
	assert_non_null(metrics_add(reg, METRIC_COUNTER, "ns:c_total", "h", le, 1, NULL, 0));
	metrics_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_counter_gauge),
	        cmocka_unit_test(test_histogram),
	        cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
