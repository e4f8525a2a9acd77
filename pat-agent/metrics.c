#include "metrics.h"

#include <errno.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_latency_buckets[] = {
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t metrics_latency_buckets_n =
        sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

struct metric {
	struct metric *next;
	enum metric_type type;
	const char *name, *help;
	struct metric_label labels[METRICS_MAX_LABELS];
	size_t nlabels;
	size_t nseries;
	double buckets[METRICS_MAX_BUCKETS];
	size_t nbuckets;
	double *value;   /* counter/gauge value, or histogram sum; per series */
	uint64_t *count; /* histogram: per series, nbuckets + 1 (the last is +Inf) */
};

struct metrics {
	struct metric *first, **tail;
};

struct metrics *metrics_new(void)
{
	struct metrics *reg = calloc(1, sizeof(*reg));

	if (reg != NULL)
		reg->tail = &reg->first;
	return reg;
}

static void metric_free(struct metric *m)
{
	free(m->value);
	free(m->count);
	free(m);
}

void metrics_free(struct metrics *reg)
{
	struct metric *m, *next;

	if (reg == NULL)
		return;
	for (m = reg->first; m != NULL; m = next) {
		next = m->next;
		metric_free(m);
	}
	free(reg);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics; no ':' for labels. */
static bool name_valid(const char *s, bool colon)
{
	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		            (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

static bool labels_valid(
        enum metric_type type, const struct metric_label *labels, size_t n, size_t *nseries)
{
	*nseries = 1;
	if (n > METRICS_MAX_LABELS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!name_valid(labels[i].name, false) || labels[i].n == 0 ||
		        strncmp(labels[i].name, "__", 2) == 0 ||
		        (type == METRIC_HISTOGRAM && strcmp(labels[i].name, "le") == 0))
			return false;
		for (size_t j = 0; j < labels[i].n; j++)
			if (labels[i].values[j] == NULL)
				return false;
		*nseries *= labels[i].n;
		if (*nseries > METRICS_MAX_SERIES)
			return false;
	}
	return true;
}

static bool buckets_valid(enum metric_type type, const double *b, size_t n)
{
	if (type != METRIC_HISTOGRAM)
		return n == 0;
	if (n == 0 || n > METRICS_MAX_BUCKETS)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
			return false;
	return true;
}

struct metric *metrics_add(struct metrics *reg, enum metric_type type, const char *name,
        const char *help, const struct metric_label *labels, size_t nlabels, const double *buckets,
        size_t nbuckets)
{
	struct metric *m;
	size_t nseries;

	if (!name_valid(name, true) || help == NULL ||
	        !labels_valid(type, labels, nlabels, &nseries) ||
	        !buckets_valid(type, buckets, nbuckets)) {
		errno = EINVAL;
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	        (m->value = calloc(nseries, sizeof(*m->value))) == NULL ||
	        (type == METRIC_HISTOGRAM &&
	                (m->count = calloc(nseries * (nbuckets + 1), sizeof(*m->count))) == NULL)) {
		if (m != NULL)
			metric_free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->type = type;
	m->name = name;
	m->help = help;
	if (nlabels > 0)
		memcpy(m->labels, labels, nlabels * sizeof(*labels));
	m->nlabels = nlabels;
	m->nseries = nseries;
	if (nbuckets > 0)
		memcpy(m->buckets, buckets, nbuckets * sizeof(*buckets));
	m->nbuckets = nbuckets;
	*reg->tail = m;
	reg->tail = &m->next;
	return m;
}

/* The series an index tuple names, or -1 when an index is out of range. */
static long series(const struct metric *m, const unsigned int *idx)
{
	long s = 0;

	for (size_t i = 0; i < m->nlabels; i++) {
		if (idx == NULL || idx[i] >= m->labels[i].n)
			return -1;
		s = s * (long)m->labels[i].n + (long)idx[i];
	}
	return s;
}

void metric_inc(struct metric *m, const unsigned int *idx)
{
	metric_add(m, idx, 1);
}

void metric_add(struct metric *m, const unsigned int *idx, double v)
{
	long s = series(m, idx);

	if (s >= 0 && m->type != METRIC_HISTOGRAM && (m->type == METRIC_GAUGE || v >= 0))
		m->value[s] += v;
}

void metric_set(struct metric *m, const unsigned int *idx, double v)
{
	long s = series(m, idx);

	if (s >= 0 && m->type == METRIC_GAUGE)
		m->value[s] = v;
}

void metric_observe(struct metric *m, const unsigned int *idx, double v)
{
	long s = series(m, idx);
	size_t b;

	if (s < 0 || m->type != METRIC_HISTOGRAM || isnan(v))
		return;
	for (b = 0; b < m->nbuckets && v > m->buckets[b]; b++)
		;
	m->count[(size_t)s * (m->nbuckets + 1) + b]++;
	m->value[s] += v;
}

double metric_value(const struct metric *m, const unsigned int *idx)
{
	long s = series(m, idx);

	return s < 0 ? 0 : m->value[s];
}

int metric_label_index(const struct metric_label *l, const char *value)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->values[i], value) == 0)
			return (int)i;
	return -1;
}

/* ---- rendering ---- */

/* Escapes \ and newline (and " when quoted) as the text format asks. */
static int put_escaped(struct evbuffer *out, const char *s, bool quoted)
{
	for (const char *p = s; *p; p++) {
		const char *esc = *p == '\\'  ? "\\\\"
		        : *p == '\n'          ? "\\n"
		        : quoted && *p == '"' ? "\\\""
		                              : NULL;
		int r = esc ? evbuffer_add(out, esc, 2) : evbuffer_add(out, p, 1);

		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

static int put_number(struct evbuffer *out, double v)
{
	if (isnan(v))
		return evbuffer_add(out, "NaN", 3);
	if (isinf(v))
		return v > 0 ? evbuffer_add(out, "+Inf", 4) : evbuffer_add(out, "-Inf", 4);
	return evbuffer_add_printf(out, "%.15g", v) < 0 ? -1 : 0;
}

/* name{l1="v1",...[,le="x"]} */
static int put_series_name(
        struct evbuffer *out, const struct metric *m, const char *suffix, size_t s, const char *le)
{
	size_t idx[METRICS_MAX_LABELS], rest = s;
	bool braces = m->nlabels > 0 || le != NULL;

	for (size_t i = m->nlabels; i-- > 0;) {
		idx[i] = rest % m->labels[i].n;
		rest /= m->labels[i].n;
	}
	if (evbuffer_add_printf(out, "%s%s%s", m->name, suffix, braces ? "{" : "") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->nlabels; i++)
		if (evbuffer_add_printf(out, "%s%s=\"", i ? "," : "", m->labels[i].name) < 0 ||
		        put_escaped(out, m->labels[i].values[idx[i]], true) < 0 ||
		        evbuffer_add(out, "\"", 1) < 0)
			return -ENOMEM;
	if (le != NULL && evbuffer_add_printf(out, "%sle=\"%s\"", m->nlabels ? "," : "", le) < 0)
		return -ENOMEM;
	if (braces && evbuffer_add(out, "}", 1) < 0)
		return -ENOMEM;
	return evbuffer_add(out, " ", 1) < 0 ? -ENOMEM : 0;
}

static int render_histogram_series(struct evbuffer *out, const struct metric *m, size_t s)
{
	const uint64_t *c = &m->count[s * (m->nbuckets + 1)];
	uint64_t cumulative = 0;
	char le[32];

	for (size_t b = 0; b <= m->nbuckets; b++) {
		cumulative += c[b];
		if (b < m->nbuckets)
			snprintf(le, sizeof(le), "%.15g", m->buckets[b]);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (put_series_name(out, m, "_bucket", s, le) < 0 ||
		        evbuffer_add_printf(out, "%llu\n", (unsigned long long)cumulative) < 0)
			return -ENOMEM;
	}
	if (put_series_name(out, m, "_sum", s, NULL) < 0 || put_number(out, m->value[s]) < 0 ||
	        evbuffer_add(out, "\n", 1) < 0 || put_series_name(out, m, "_count", s, NULL) < 0 ||
	        evbuffer_add_printf(out, "%llu\n", (unsigned long long)cumulative) < 0)
		return -ENOMEM;
	return 0;
}

static int render_metric(struct evbuffer *out, const struct metric *m)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};

	if (evbuffer_add_printf(out, "# HELP %s ", m->name) < 0 ||
	        put_escaped(out, m->help, false) < 0 ||
	        evbuffer_add_printf(out, "\n# TYPE %s %s\n", m->name, types[m->type]) < 0)
		return -ENOMEM;
	for (size_t s = 0; s < m->nseries; s++) {
		if (m->type == METRIC_HISTOGRAM) {
			if (render_histogram_series(out, m, s) < 0)
				return -ENOMEM;
		} else if (put_series_name(out, m, "", s, NULL) < 0 ||
		        put_number(out, m->value[s]) < 0 || evbuffer_add(out, "\n", 1) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

int metrics_render(const struct metrics *reg, struct evbuffer *out)
{
	for (const struct metric *m = reg->first; m != NULL; m = m->next)
		if (render_metric(out, m) < 0)
			return -ENOMEM;
	return 0;
}
