/* SPDX-License-Identifier: MIT */
#pragma once

/* `keystone secureboot VERB`: one handler per verb, argv[0] = the verb. */
int sb_cmd_keygen(int argc, char **argv);
int sb_cmd_export(int argc, char **argv);
int sb_cmd_enroll(int argc, char **argv);
int sb_cmd_status(int argc, char **argv);
int sb_cmd_uki(int argc, char **argv);
int sb_cmd_sign(int argc, char **argv);
int sb_cmd_verify(int argc, char **argv);
int sb_cmd_inspect(int argc, char **argv);

/* Prints "keystone secureboot VERB: MESSAGE" and a pointer to --help. */
int sb_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
