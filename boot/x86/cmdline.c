// SPDX-License-Identifier: MIT
/* What a Linux command line says about the tables the kernel will read. */
#include "cmdline.h"

#include <ctype.h>
#include <string.h>

/* The next word of @p: its start in *@word, its length returned. */
static size_t next_word(const char **p, const char **word)
{
	const char *s = *p;
	bool quoted = false;

	while (isspace((unsigned char)*s))
		s++;
	*word = s;
	for (; *s && (quoted || !isspace((unsigned char)*s)); s++)
		if (*s == '"')
			quoted = !quoted;
	*p = s;
	return (size_t)(s - *word);
}

/* Whether @word (@len bytes) reads @want once its quotes are dropped. */
static bool word_is(const char *word, size_t len, const char *want)
{
	for (size_t i = 0; i < len; i++) {
		if (word[i] == '"')
			continue;
		if (*want++ != word[i])
			return false;
	}
	return *want == '\0';
}

bool cmdline_acpi_off(const char *cmdline)
{
	const char *p = cmdline, *word;
	bool off = false;
	size_t len;

	while ((len = next_word(&p, &word)) > 0) {
		if (word_is(word, len, "--"))
			break;
		if (word_is(word, len, "acpi=off"))
			off = true;
		else if (word_is(word, len, "acpi=force"))
			off = false;
	}
	return off;
}
