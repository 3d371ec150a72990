// SPDX-License-Identifier: MIT
#include "metrics_export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json.h"

#define NSEC_PER_SEC 1000000000ULL

static const void *value_ptr(const struct metrics_group *g,
			     const struct metric_desc *d)
{
	return (const uint8_t *)g->block + d->offset;
}

/* Entries [first, end) of @g's table share @g->descs[first]'s name. */
static unsigned int family_end(const struct metrics_group *g,
			       unsigned int first)
{
	unsigned int end = first + 1;

	while (end < g->nr_descs &&
	       !strcmp(g->descs[end].name, g->descs[first].name))
		end++;
	return end;
}

/* --- JSON ------------------------------------------------------------ */

static struct json_object *histogram_json(const struct metric_histogram *h)
{
	struct json_object *o = json_object_new_object(), *b;
	uint64_t cumulative = 0;
	char bound[16];

	if (!o || json_add_u64(o, "count", metric_read(&h->count)) < 0 ||
	    json_add_u64(o, "sum_us", metric_read(&h->sum_ns) / 1000) < 0 ||
	    !(b = json_add_object(o, "buckets_us")))
		goto oom;
	for (unsigned int i = 0; i <= METRIC_HIST_BUCKETS; i++) {
		cumulative += metric_read(&h->buckets[i]);
		if (i < METRIC_HIST_BUCKETS)
			snprintf(bound, sizeof(bound), "%u",
				 metric_hist_bounds_us[i]);
		else
			snprintf(bound, sizeof(bound), "+Inf");
		if (json_add_u64(b, bound, cumulative) < 0)
			goto oom;
	}
	return o;
oom:
	json_object_put(o);
	return NULL;
}

static int value_json(struct json_object *o, const char *key,
		      const struct metrics_group *g,
		      const struct metric_desc *d)
{
	struct json_object *h;

	if (d->kind != METRIC_HISTOGRAM)
		return json_add_u64(o, key, metric_read(value_ptr(g, d)));
	h = histogram_json(value_ptr(g, d));
	return h ? json_add(o, key, h) : -1;
}

static struct json_object *group_json(const struct metrics_group *g)
{
	struct json_object *o = json_object_new_object(), *fam;

	if (!o)
		return NULL;
	for (unsigned int i = 0; i < g->nr_descs; i = family_end(g, i)) {
		const struct metric_desc *d = &g->descs[i];

		if (!d->variant) {
			if (value_json(o, d->name, g, d) < 0)
				goto oom;
			continue;
		}
		if (!(fam = json_add_object(o, d->name)))
			goto oom;
		for (unsigned int j = i; j < family_end(g, i); j++)
			if (value_json(fam, g->descs[j].variant, g,
				       &g->descs[j]) < 0)
				goto oom;
	}
	return o;
oom:
	json_object_put(o);
	return NULL;
}

struct json_object *metrics_to_json(const struct metrics *m)
{
	struct json_object *root = json_object_new_object(), *sub, *vals;

	if (!root)
		return NULL;
	for (const struct metrics_group *g = m->groups; g; g = g->next) {
		if (!(vals = group_json(g)))
			goto oom;
		if (!g->id[0]) {
			if (json_add(root, g->subsystem, vals) < 0)
				goto oom;
			continue;
		}
		if (!json_object_object_get_ex(root, g->subsystem, &sub) &&
		    !(sub = json_add_object(root, g->subsystem))) {
			json_object_put(vals);
			goto oom;
		}
		if (json_add(sub, g->id, vals) < 0)
			goto oom;
	}
	return root;
oom:
	json_object_put(root);
	return NULL;
}

/* --- Prometheus text format ----------------------------------------- */

static const char *suffix(enum metric_kind kind)
{
	switch (kind) {
	case METRIC_COUNTER:
		return "_total";
	case METRIC_HISTOGRAM:
		return "_seconds";
	case METRIC_GAUGE:
		break;
	}
	return "";
}

static const char *type_name(enum metric_kind kind)
{
	switch (kind) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_HISTOGRAM:
		return "histogram";
	case METRIC_GAUGE:
		break;
	}
	return "gauge";
}

/* A label value: backslash, double quote and newline are escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* {id_label="ID",variant_label="VARIANT"[,@extra]} or nothing at all. */
static void labels(FILE *f, const struct metrics_group *g,
		   const struct metric_desc *d, const char *extra)
{
	const char *sep = "{";

	if (g->id[0]) {
		fprintf(f, "%s%s=\"", sep, g->id_label);
		label_value(f, g->id);
		fputc('"', f);
		sep = ",";
	}
	if (d->variant) {
		fprintf(f, "%s%s=\"", sep, g->variant_label);
		label_value(f, d->variant);
		fputc('"', f);
		sep = ",";
	}
	if (extra) {
		fprintf(f, "%s%s", sep, extra);
		sep = ",";
	}
	if (*sep == ',')
		fputc('}', f);
}

static void histogram_samples(FILE *f, const char *name,
			      const struct metrics_group *g,
			      const struct metric_desc *d)
{
	const struct metric_histogram *h = value_ptr(g, d);
	uint64_t cumulative = 0, sum_ns = metric_read(&h->sum_ns);
	char le[32];

	for (unsigned int i = 0; i <= METRIC_HIST_BUCKETS; i++) {
		cumulative += metric_read(&h->buckets[i]);
		if (i < METRIC_HIST_BUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"",
				 metric_hist_bounds_us[i] / 1e6);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		fprintf(f, "%s_bucket", name);
		labels(f, g, d, le);
		fprintf(f, " %llu\n", (unsigned long long)cumulative);
	}
	fprintf(f, "%s_sum", name);
	labels(f, g, d, NULL);
	fprintf(f, " %llu.%09llu\n", (unsigned long long)(sum_ns / NSEC_PER_SEC),
		(unsigned long long)(sum_ns % NSEC_PER_SEC));
	fprintf(f, "%s_count", name);
	labels(f, g, d, NULL);
	fprintf(f, " %llu\n", (unsigned long long)metric_read(&h->count));
}

static void family_samples(FILE *f, const char *name,
			   const struct metrics_group *g, unsigned int first)
{
	for (unsigned int j = first; j < family_end(g, first); j++) {
		const struct metric_desc *d = &g->descs[j];

		if (d->kind == METRIC_HISTOGRAM) {
			histogram_samples(f, name, g, d);
			continue;
		}
		fputs(name, f);
		labels(f, g, d, NULL);
		fprintf(f, " %llu\n",
			(unsigned long long)metric_read(value_ptr(g, d)));
	}
}

/* Was @g's table written already, with an earlier group's? */
static bool table_done(const struct metrics *m, const struct metrics_group *g)
{
	for (const struct metrics_group *h = m->groups; h != g; h = h->next)
		if (h->descs == g->descs)
			return true;
	return false;
}

/*
 * A family's samples must stand together under one HELP and TYPE: each
 * table is written once, family by family, with every group that uses it.
 */
static void write_table(FILE *f, const struct metrics_group *g)
{
	char name[128];

	for (unsigned int i = 0; i < g->nr_descs; i = family_end(g, i)) {
		const struct metric_desc *d = &g->descs[i];

		snprintf(name, sizeof(name), "vmm_%s_%s%s", g->subsystem,
			 d->name, suffix(d->kind));
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, d->help, name,
			type_name(d->kind));
		for (const struct metrics_group *h = g; h; h = h->next)
			if (h->descs == g->descs)
				family_samples(f, name, h, i);
	}
}

char *metrics_to_prometheus(const struct metrics *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	for (const struct metrics_group *g = m->groups; g; g = g->next)
		if (!table_done(m, g))
			write_table(f, g);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* --- The metrics file ------------------------------------------------ */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int metrics_file_write(struct metrics_file *f, struct err *e)
{
	char tmp[4200];
	size_t len;
	char *text = metrics_to_prometheus(f->metrics, &len);
	int fd, ret = -1;

	if (!text)
		return err_set(e, "metrics file %s: out of memory", f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_errno(e, "metrics file %s", tmp);
		goto out;
	}
	if (write_all(fd, text, len) < 0) {
		err_errno(e, "metrics file %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, f->path) < 0) {
		err_errno(e, "metrics file %s", f->path);
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

/* A failing file is said once, and once more when it works again. */
static void metrics_file_tick(void *opaque)
{
	struct metrics_file *f = opaque;
	struct err e;

	if (metrics_file_write(f, &e) < 0) {
		if (!f->failing)
			log_warn("%s; retrying at every interval", e.msg);
		f->failing = true;
	} else if (f->failing) {
		log_info("metrics file %s: written again", f->path);
		f->failing = false;
	}
}

int metrics_file_start(struct metrics_file *f, struct event_loop *loop,
		       const struct metrics *m, const char *path,
		       unsigned int interval_s, struct err *e)
{
	uint64_t interval = (uint64_t)interval_s * NSEC_PER_SEC;

	*f = (struct metrics_file){ .metrics = m };
	if (strlen(path) > 4000)
		return err_set(e, "--metrics: the path is longer than 4000 bytes");
	f->path = strdup(path);
	if (!f->path)
		return err_set(e, "out of memory");
	if (metrics_file_write(f, e) < 0 ||
	    event_timer_init(&f->timer, loop, metrics_file_tick, f, e) < 0)
		goto fail;
	f->timer_ready = true;
	if (event_timer_arm(&f->timer, interval, interval) < 0) {
		err_errno(e, "metrics file %s: arming its timer", path);
		goto fail;
	}
	return 0;
fail:
	metrics_file_stop(f);
	return -1;
}

void metrics_file_stop(struct metrics_file *f)
{
	struct err e;

	if (f->timer_ready) {
		event_timer_destroy(&f->timer);
		f->timer_ready = false;
		if (metrics_file_write(f, &e) < 0)
			log_warn("%s", e.msg);
	}
	free(f->path);
	f->path = NULL;
}
