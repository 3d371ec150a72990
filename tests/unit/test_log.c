// SPDX-License-Identifier: MIT
/*
 * The log: levels filter, text lines keep their old shape, JSON lines are
 * one valid object each whatever the message holds, and a guest repeating
 * itself is heard a bounded number of times.
 */
#define LOG_COMPONENT "log-test"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

static int saved_stderr = -1;
static FILE *captured;

/* From here on, what is logged goes to a file the test reads back. */
static void capture(enum log_level level, enum log_format format)
{
	captured = tmpfile();
	cr_assert_not_null(captured);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(dup2(fileno(captured), STDERR_FILENO), 0);
	log_setup("vmm", level, format);
}

/* What was logged since capture(), malloc()ed. */
static char *logged(void)
{
	long n = ftell(captured);
	char *buf;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fseek(captured, 0, SEEK_END);
	n = ftell(captured);
	buf = calloc(1, (size_t)n + 1);
	rewind(captured);
	cr_assert_eq(fread(buf, 1, (size_t)n, captured), (size_t)n);
	fclose(captured);
	return buf;
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(log, levels_filter_and_text_keeps_its_shape)
{
	char *out;

	capture(LOG_WARN, LOG_FORMAT_TEXT);
	log_debug("not shown %d", 1);
	log_info("not shown %d", 2);
	log_warn("careful: %s", "disk almost full");
	log_error("broken: %d", 3);
	out = logged();
	cr_assert_str_eq(out, "vmm: warning: careful: disk almost full\n"
			      "vmm: error: broken: 3\n");
	free(out);
}

Test(log, names_parse)
{
	enum log_level l;
	enum log_format f;

	cr_assert_eq(log_level_parse("debug", &l), 0);
	cr_assert_eq(l, LOG_DEBUG);
	cr_assert_eq(log_level_parse("warn", &l), 0);
	cr_assert_eq(l, LOG_WARN);
	cr_assert_eq(log_level_parse("warning", &l), -1);
	cr_assert_eq(log_level_parse("", &l), -1);
	cr_assert_eq(log_format_parse("json", &f), 0);
	cr_assert_eq(f, LOG_FORMAT_JSON);
	cr_assert_eq(log_format_parse("JSON", &f), -1);
}

static struct json_object *field(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
		  json_object_to_json_string(o));
	return v;
}

Test(log, json_lines_are_objects_whatever_the_message_holds)
{
	static const char nasty[] = "quote \" backslash \\ newline \n tab \t "
				    "bell \a bad utf-8 \xff\xfe ok \xc3\xa9";
	char *out, *line, *save;
	int n = 0;

	capture(LOG_DEBUG, LOG_FORMAT_JSON);
	log_info("%s", nasty);
	log_debug("second");
	log_write(LOG_ERROR, "devices/virtio/blk.c", "third");
	out = logged();
	cr_assert_eq(lines(out), 3, "%s", out);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		struct json_object *o = json_tokener_parse(line);
		const char *time;

		cr_assert_not_null(o, "not JSON: %s", line);
		time = json_object_get_string(field(o, "time"));
		cr_assert_eq(strlen(time), strlen("2026-12-01T20:55:01.123456Z"),
			     "%s", time);
		cr_assert_eq(time[10], 'T');
		cr_assert_eq(time[strlen(time) - 1], 'Z');
		if (n == 0) {
			cr_assert_str_eq(json_object_get_string(field(o, "level")),
					 "info");
			cr_assert_str_eq(json_object_get_string(field(o, "component")),
					 "log-test");
			cr_assert_str_eq(json_object_get_string(field(o, "message")),
					 "quote \" backslash \\ newline \n tab \t bell \a "
					 "bad utf-8 \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
		} else if (n == 1) {
			cr_assert_str_eq(json_object_get_string(field(o, "level")),
					 "debug");
		} else {
			/* A file that names no component: its base name. */
			cr_assert_str_eq(json_object_get_string(field(o, "component")),
					 "blk");
			cr_assert_str_eq(json_object_get_string(field(o, "level")),
					 "error");
		}
		json_object_put(o);
	}
	free(out);
}

Test(log, a_long_message_is_cut_but_stays_one_json_line)
{
	char *big = malloc(8192), *out;
	struct json_object *o;

	memset(big, '"', 8191);
	big[8191] = '\0';
	capture(LOG_INFO, LOG_FORMAT_JSON);
	log_warn("%s", big);
	out = logged();
	cr_assert_eq(lines(out), 1);
	o = json_tokener_parse(out);
	cr_assert_not_null(o, "%s", out);
	json_object_put(o);
	free(out);
	free(big);
}

static void guest_says(void)
{
	log_guest("virtio-blk: request %d without a header", 7);
}

Test(log, a_guest_repeating_itself_is_heard_a_bounded_number_of_times)
{
	char *out;

	capture(LOG_INFO, LOG_FORMAT_TEXT);
	for (int i = 0; i < 1000; i++)
		guest_says();
	for (int i = 0; i < 1000; i++)
		log_guest_once("said once");
	out = logged();
	cr_assert_eq(lines(out), LOG_GUEST_BURST + 1, "%s", out);
	cr_assert(strstr(out, "vmm: guest: virtio-blk: request 7 without a header\n"),
		  "%s", out);
	cr_assert(strstr(out, "vmm: guest: said once\n"), "%s", out);
	free(out);
}

Test(log, after_a_quiet_spell_the_count_of_what_was_left_out)
{
	struct log_ratelimit rl = { 0 };
	char *out;

	capture(LOG_INFO, LOG_FORMAT_JSON);
	for (int i = 0; i < LOG_GUEST_BURST + 7; i++)
		log_guest_write(&rl, "test", "again");
	/* The interval passes. */
	rl.window_start_ns -= (LOG_GUEST_INTERVAL_S + 1) * 1000000000ULL;
	log_guest_write(&rl, "test", "again");
	out = logged();
	cr_assert_eq(lines(out), LOG_GUEST_BURST + 1, "%s", out);
	cr_assert(strstr(out, "\"guest\":true"), "%s", out);
	cr_assert(strstr(out, "again (7 more like this were not logged)"), "%s",
		  out);
	free(out);
}

Test(log, guest_messages_go_with_warnings)
{
	char *out;

	capture(LOG_ERROR, LOG_FORMAT_TEXT);
	log_guest_once("not at level error");
	out = logged();
	cr_assert_str_eq(out, "");
	free(out);
}
