/* What the addon's two source files share. */
#ifndef QMPKIT_FDPASS_H
#define QMPKIT_FDPASS_H
#include <node_api.h>
#include <sys/socket.h>

/* Linux's SCM_MAX_FD: the kernel refuses more descriptors in one message. */
#define MAX_FDS 253

/* Throws an Error with `code` (EPIPE, ...), `errno` and `syscall` set, as Node's own do; returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);
/* The errno's name, as Node spells it in `err.code`. */
const char *errno_name(int err);
/* The descriptors of a received message's SCM_RIGHTS, as an array of numbers. */
napi_value received_fds(napi_env env, struct msghdr *msg);
/* Defines openReader, readerStart, readerStop and readerClose on `exports`. */
void register_reader(napi_env env, napi_value exports);

#endif
