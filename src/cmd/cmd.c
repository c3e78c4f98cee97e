/* SPDX-License-Identifier: MIT */
/* The command framework (cmd.h): dispatch through the verb table, option
 * parsing from a family's option set, generated help. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

#define MAX_FAMILY_OPTIONS 62   /* getopt_long table: the set, --help, the end */

/* True when the space-separated list holds word. */
static bool list_has(const char *list, const char *word) {
        size_t n = strlen(word);
        for (const char *p = list; *p;) {
                p += strspn(p, " ");
                size_t l = strcspn(p, " ");
                if (l == n && strncmp(p, word, n) == 0)
                        return true;
                p += l;
        }
        return false;
}

static bool option_allowed(const CmdOption *o, const char *verb) {
        return !o->verbs || list_has(o->verbs, verb);
}

int cmd_help(const char *text) {
        fputs(text, stdout);
        return 0;
}

/* The one usage error: "PATH: MESSAGE" and where the help is. */
static int vusage(const char *path, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int vusage(const char *path, const char *fmt, va_list ap) {
        fprintf(stderr, "%s: ", path);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\nTry '%s --help'.\n", path);
        return -KS_EUSAGE;
}

int cmd_usage(const CmdArgs *a, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vusage(a->path, fmt, ap);
        va_end(ap);
        return r;
}

/* A usage error before there is a CmdArgs (the dispatch levels). */
static int usage_at(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_at(const char *path, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = vusage(path, fmt, ap);
        va_end(ap);
        return r;
}

/* The first level's verbs are called commands ("keystone" has no space). */
static bool first_level(const char *path) {
        return !strchr(path, ' ');
}

const char *cmd_opt(const CmdArgs *a, int id) {
        for (int i = a->n_given - 1; i >= 0; i--)
                if (a->given[i].id == id)
                        return a->given[i].value;
        return NULL;
}

const char *cmd_opt_next(const CmdArgs *a, int id, int *i) {
        for (; *i < a->n_given; (*i)++)
                if (a->given[*i].id == id)
                        return a->given[(*i)++].value;
        return NULL;
}

int cmd_opt_uint_range(const CmdArgs *a, int id, uint64_t min, uint64_t max, uint64_t *ret) {
        const char *s = cmd_opt(a, id);
        if (!s)
                return 0;
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || errno != 0 || !end || *end || v < min || v > max)
                return cmd_usage(a, "--%s takes a number from %" PRIu64 " to %" PRIu64 ", not '%s'",
                                 a->options[id].name, min, max, s);
        *ret = v;
        return 0;
}

/* "plan and apply", "plan, apply and status" */
static void format_verb_list(const char *list, char *buf, size_t size) {
        size_t n = 0, count = 0, total = 0;
        for (const char *p = list; *p;) {
                p += strspn(p, " ");
                size_t l = strcspn(p, " ");
                total += l > 0;
                p += l;
        }
        buf[0] = 0;
        for (const char *p = list; *p;) {
                p += strspn(p, " ");
                size_t l = strcspn(p, " ");
                if (l == 0)
                        break;
                count++;
                const char *sep = count == 1 ? "" : count == total ? " and " : ", ";
                int w = snprintf(buf + n, size - n, "%s%.*s", sep, (int) l, p);
                if (w < 0 || (size_t) w >= size - n)
                        return;
                n += (size_t) w;
                p += l;
        }
}

static void print_option(FILE *f, const CmdOption *o) {
        char left[64];
        int n = snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : " ",
                         o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                         o->arg ? " " : "", o->arg ? o->arg : "");
        /* a name too long for the column: its help starts on the next line */
        if (n > 28)
                fprintf(f, "  %s\n  %-28s ", left, "");
        else
                fprintf(f, "  %-28s ", left);
        for (const char *p = o->help; *p;) {
                size_t l = strcspn(p, "\n");
                fprintf(f, "%.*s\n", (int) l, p);
                p += l;
                if (*p == '\n') {
                        p++;
                        fprintf(f, "  %-28s ", "");
                }
        }
        if (!*o->help)
                fputc('\n', f);
}

void cmd_print_help(const Verb *v, const char *path, const CmdOption *options, FILE *f) {
        const char *kind = first_level(path) ? "COMMAND" : "VERB";
        if (v->verbs) {
                if (v->synopsis)
                        fprintf(f, "Usage: %s %s\n", path, v->synopsis);
                else
                        fprintf(f, "Usage: %s %s [OPTIONS] [ARGS...]\n", path, kind);
                fprintf(f, "       %s %s --help\n\n", path, kind);
        } else
                fprintf(f, "Usage: %s%s%s%s\n\n", path, v->synopsis ? " " : "", v->synopsis ? v->synopsis : "",
                        options ? " [OPTIONS]" : "");
        fprintf(f, "%s\n", v->description ? v->description : v->summary);
        if (v->verbs) {
                fprintf(f, "\n%s:\n", first_level(path) ? "Commands" : "Verbs");
                for (const Verb *s = v->verbs; s->name; s++) {
                        char left[64];
                        snprintf(left, sizeof left, "%s%s%s", s->name, s->synopsis && !s->verbs ? " " : "",
                                 s->synopsis && !s->verbs ? s->synopsis : "");
                        if (strlen(left) > 22)
                                fprintf(f, "  %s\n  %-22s %s\n", left, "", s->summary);
                        else
                                fprintf(f, "  %-22s %s\n", left, s->summary);
                }
        } else {
                fprintf(f, "\nOptions:\n");
                for (const CmdOption *o = options; o && o->name; o++)
                        if (option_allowed(o, v->name))
                                print_option(f, o);
                fprintf(f, "  %-28s %s\n", "-h, --help", "this text");
        }
        if (v->epilog)
                fprintf(f, "\n%s", v->epilog);
}

/* Whether entry i of the set is the one VERB means by its long name (or,
 * by_letter, by its letter): the entry the verb allows, else the first.  So
 * one name may stand in the set once per group of verbs that describe it
 * differently, and one letter for other options in other verbs. */
static bool entry_chosen(const CmdOption *options, size_t i, const char *verb, bool by_letter) {
        const CmdOption *o = &options[i];
        bool allowed = option_allowed(o, verb);
        for (size_t j = 0; options[j].name; j++) {
                const CmdOption *p = &options[j];
                if (j == i || (by_letter ? p->short_name != o->short_name : !streq(p->name, o->name)))
                        continue;
                bool p_allowed = option_allowed(p, verb);
                if ((p_allowed && !allowed) || (p_allowed == allowed && j < i))
                        return false;
        }
        return true;
}

/* "sign, sign-module and enroll": the verbs of every entry named name. */
static void verbs_of(const CmdOption *options, const char *name, char *buf, size_t size) {
        char all[512] = "";
        size_t n = 0;
        for (const CmdOption *o = options; o->name; o++)
                if (streq(o->name, name) && o->verbs) {
                        int w = snprintf(all + n, sizeof all - n, "%s%s", n ? " " : "", o->verbs);
                        if (w < 0 || (size_t) w >= sizeof all - n)
                                break;
                        n += (size_t) w;
                }
        format_verb_list(all, buf, size);
}

/* Parses the options and positional arguments of a leaf verb into a. */
static int parse(const Verb *v, const CmdOption *options, int argc, char **argv, CmdArgs *a) {
        struct option table[MAX_FAMILY_OPTIONS + 2] = {};
        /* ':' first: a missing argument is told apart from an unknown option */
        char shorts[2 * MAX_FAMILY_OPTIONS + 4] = ":h";
        size_t n = 0, ns = 2, nt = 0;
        for (const CmdOption *o = options; o && o->name; o++, n++) {
                if (n >= MAX_FAMILY_OPTIONS)
                        return log_error_errno(-E2BIG, "%s: the option set has more than %d options", a->path,
                                               MAX_FAMILY_OPTIONS);
                if (entry_chosen(options, n, v->name, false))
                        table[nt++] = (struct option) { o->name, o->arg ? required_argument : no_argument, NULL,
                                                        256 + (int) n };
                if (o->short_name && entry_chosen(options, n, v->name, true)) {
                        shorts[ns++] = (char) o->short_name;
                        if (o->arg)
                                shorts[ns++] = ':';
                }
        }
        table[nt] = (struct option) { "help", no_argument, NULL, 'h' };
        shorts[ns] = 0;

        optind = 0; /* 0: getopt reinitialises itself (every verb parses afresh) */
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, shorts, table, NULL)) >= 0) {
                if (c == 'h')
                        return 1;
                if (c == '?' || c == ':') {
                        const char *bad = argv[optind - 1];
                        if (c == ':')
                                return cmd_usage(a, "option '%s' needs an argument", bad);
                        if (optopt && optopt < 256 && bad[0] == '-' && bad[1] != '-')
                                return cmd_usage(a, "unknown option '-%c'", optopt);
                        return cmd_usage(a, "unknown option '%s'", bad);
                }
                int id = -1;
                if (c >= 256)
                        id = c - 256;
                else
                        for (size_t i = 0; i < n; i++)
                                if (options[i].short_name == c && entry_chosen(options, i, v->name, true))
                                        id = (int) i;
                if (id < 0)
                        return cmd_usage(a, "unknown option '-%c'", c);
                const CmdOption *o = &options[id];
                if (!option_allowed(o, v->name)) {
                        char verbs[256];
                        verbs_of(options, o->name, verbs, sizeof verbs);
                        return cmd_usage(a, "--%s is for %s", o->name, verbs);
                }
                if (a->n_given >= CMD_MAX_GIVEN)
                        return cmd_usage(a, "too many options (at most %d)", CMD_MAX_GIVEN);
                a->given[a->n_given].id = id;
                a->given[a->n_given].value = o->arg ? optarg : "";
                a->n_given++;
        }
        a->args = argv + optind;
        a->n_args = argc - optind;
        if (a->n_args < v->min_args)
                return cmd_usage(a, "missing argument%s%s (expects %s%d, got %d)", v->synopsis ? ": " : "",
                                 v->synopsis ? v->synopsis : "", v->max_args == v->min_args ? "" : "at least ",
                                 v->min_args, a->n_args);
        if (v->max_args >= 0 && a->n_args > v->max_args) {
                if (v->max_args == 0)
                        return cmd_usage(a, "takes no arguments (got '%s')", a->args[0]);
                return cmd_usage(a, "too many arguments (expects at most %d, got %d: '%s' is one too many)",
                                 v->max_args, a->n_args, a->args[v->max_args]);
        }
        return 0;
}

static const Verb *sub_verb(const Verb *v, const char *name) {
        for (const Verb *s = v->verbs; s->name; s++)
                if (streq(s->name, name))
                        return s;
        return NULL;
}

/* "missing verb (a, b, c)" / "unknown command 'x' (a, b, c)" at path, whose
 * sub-verbs are v's; name NULL: none was given. */
static int verb_usage(const char *path, const Verb *v, const char *name) {
        char names[512] = "";
        size_t n = 0;
        for (const Verb *s = v->verbs; s->name; s++) {
                int w = snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", s->name);
                if (w < 0 || (size_t) w >= sizeof names - n)
                        break;
                n += (size_t) w;
        }
        const char *kind = first_level(path) ? "command" : "verb";
        if (!name)
                return usage_at(path, "missing %s (%s)", kind, names);
        return usage_at(path, "unknown %s '%s' (%s)", kind, name, names);
}

static int dispatch(const Verb *v, const char *path, const CmdOption *inherited, int argc, char **argv);

/* `help [VERB…]` at a level with sub-verbs: the help of the verb named. */
static int help_verb(const Verb *v, const char *path, const CmdOption *options, int argc, char **argv) {
        char p[96];
        snprintf(p, sizeof p, "%s", path);
        for (int i = 1; i < argc; i++) {
                if (!v->verbs)
                        return usage_at(p, "has no verb '%s'", argv[i]);
                const Verb *s = sub_verb(v, argv[i]);
                if (!s)
                        return verb_usage(p, v, argv[i]);
                v = s;
                options = s->options ? s->options : options;
                size_t l = strlen(p);
                snprintf(p + l, sizeof p - l, " %s", s->name);
        }
        cmd_print_help(v, p, options, stdout);
        return 0;
}

int cmd_help_path(const Verb *root, int n, char **names) {
        /* help_verb skips its argv[0] */
        char *argv[n + 2];
        argv[0] = (char *) root->name;
        for (int i = 0; i < n; i++)
                argv[i + 1] = names[i];
        argv[n + 1] = NULL;
        return help_verb(root, root->name, root->options, n + 1, argv);
}

static int dispatch(const Verb *v, const char *path, const CmdOption *inherited, int argc, char **argv) {
        const CmdOption *options = v->options ? v->options : inherited;
        if (v->verbs) {
                if (argc < 2)
                        return verb_usage(path, v, NULL);
                const char *name = argv[1];
                if (streq(name, "--help") || streq(name, "-h")) {
                        cmd_print_help(v, path, options, stdout);
                        return 0;
                }
                if (streq(name, "help") && !sub_verb(v, "help"))
                        return help_verb(v, path, options, argc - 1, argv + 1);
                const Verb *s = sub_verb(v, name);
                if (!s && !v->verbs[1].name)
                        return usage_at(path, "expected '%s', not %s", v->verbs[0].name, name);
                if (!s)
                        return verb_usage(path, v, name);
                char p[96];
                snprintf(p, sizeof p, "%s %s", path, s->name);
                return dispatch(s, p, options, argc - 1, argv + 1);
        }

        CmdArgs *a = calloc(1, sizeof *a);
        if (!a)
                return log_error_errno(-ENOMEM, "%s: out of memory", path);
        a->verb = v;
        a->options = options;
        snprintf(a->path, sizeof a->path, "%s", path);
        int r = parse(v, options, argc, argv, a);
        if (r == 1) {
                cmd_print_help(v, path, options, stdout);
                r = 0;
        } else if (r == 0) {
                /* every error message of the verb says which command it comes from */
                log_set_program(a->path);
                r = v->run(a);
                log_set_program("keystone");
        }
        free(a);
        return r;
}

int cmd_run(const Verb *root, int argc, char **argv) {
        return dispatch(root, root->name, root->options, argc, argv);
}
