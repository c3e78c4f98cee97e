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
int sb_cmd_sign_module(int argc, char **argv);
int sb_cmd_verify_module(int argc, char **argv);

#include <openssl/evp.h>
#include <openssl/x509.h>
/* The signing key: --key/--cert, or the db key of the sbctl-layout DIR. */
int sb_load_signing_key(const char *verb, const char *dir, const char *key_path, const char *cert_path,
                        EVP_PKEY **ret_key, X509 **ret_cert);

/* Prints "keystone secureboot VERB: MESSAGE" and a pointer to --help. */
int sb_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
