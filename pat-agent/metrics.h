/*
 * A small Prometheus registry: counters, gauges and histograms whose label
 * values are fixed when the metric is declared, rendered in the text
 * exposition format 0.0.4.
 *
 * Every series exists from the start (a zero is a fact worth exporting),
 * and an observation is an array index plus, for a histogram, a scan of at
 * most METRICS_MAX_BUCKETS bounds: no allocation, no string handling, no
 * lookup by name on the request path. Label values are given by index into
 * the declared lists; an index out of range is ignored, never a crash.
 */
#ifndef PRAAS_METRICS_H
#define PRAAS_METRICS_H

#include <stddef.h>

struct evbuffer;
struct metrics;
struct metric;

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

#define METRICS_MAX_LABELS  3
#define METRICS_MAX_BUCKETS 24
#define METRICS_MAX_SERIES  4096 /* per metric: product of the label value counts */

/* One label and every value it may take. */
struct metric_label {
	const char *name;
	const char *const *values;
	size_t n;
};

/* Latency buckets in seconds, from 0.5 ms to 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_buckets_n;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *reg);

/*
 * Declares a metric. The registry keeps pointers to name, help, the label
 * names and values: they must outlive it (string literals, static tables).
 * buckets (strictly increasing, without +Inf) only for a histogram. NULL
 * with errno EINVAL for a bad name, label or bucket list, ENOMEM when out
 * of memory.
 */
struct metric *metrics_add(struct metrics *reg, enum metric_type type, const char *name,
        const char *help, const struct metric_label *labels, size_t nlabels, const double *buckets,
        size_t nbuckets);

/* idx holds one value index per label (NULL when the metric has none). */
void metric_inc(struct metric *m, const unsigned int *idx);
void metric_add(struct metric *m, const unsigned int *idx, double v);
void metric_set(struct metric *m, const unsigned int *idx, double v);
void metric_observe(struct metric *m, const unsigned int *idx, double v);
/* The current value of a counter or gauge series (tests, health checks). */
double metric_value(const struct metric *m, const unsigned int *idx);

/* Index of value in label l, or -1. For setup, not for the request path. */
int metric_label_index(const struct metric_label *l, const char *value);

/* Appends the text format of every metric, in declaration order. 0 or -ENOMEM. */
int metrics_render(const struct metrics *reg, struct evbuffer *out);

#endif
