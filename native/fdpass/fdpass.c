/*
 * qmpkit's fd-passing addon: one sendmsg() with SCM_RIGHTS on a socket Node already owns, and one
 * recvmsg() that keeps the descriptors a peer sent. Node's net module has no API for ancillary data;
 * everything else (buffering, ordering, retrying on EAGAIN) is done in JavaScript by the caller.
 * fdreader.c reads a socket that way as data comes (for servers that accept descriptors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "fdpass.h"

const char *errno_name(int err) {
  return err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == EPIPE ? "EPIPE"
       : err == ECONNRESET ? "ECONNRESET" : err == EINVAL ? "EINVAL" : err == ETOOMANYREFS ? "ETOOMANYREFS"
       : err == EMSGSIZE ? "EMSGSIZE" : err == ENOBUFS ? "ENOBUFS" : err == ENOMEM ? "ENOMEM"
       : err == EMFILE ? "EMFILE" : err == ENFILE ? "ENFILE" : "EIO";
}

napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value msg, code, error, sys;
  char text[256];
  snprintf(text, sizeof text, "%s failed: %s", syscall, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_value errnum;
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

static napi_value type_error(napi_env env, const char *text) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

napi_value received_fds(napi_env env, struct msghdr *msg) {
  napi_value fds;
  napi_create_array(env, &fds);
  uint32_t count = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *p = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < k; i++) {
      napi_value v;
      napi_create_int32(env, p[i], &v);
      napi_set_element(env, fds, count++, v);
    }
  }
  return fds;
}

/*
 * sendWithFds(fd, data, fds) -> bytes written, or 0 when the socket would block (nothing was sent,
 * the descriptors included). The descriptors travel with the first byte written: after a partial
 * write the caller sends the rest of the bytes without them.
 */
static napi_value send_with_fds(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return type_error(env, "sendWithFds(fd, data, fds) takes three arguments");
  int32_t sock;
  if (!get_int(env, argv[0], &sock) || sock < 0) return type_error(env, "fd must be a non-negative integer");
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (!is_buffer) return type_error(env, "data must be a Buffer");
  void *data;
  size_t len;
  napi_get_buffer_info(env, argv[1], &data, &len);
  if (len == 0) return type_error(env, "data must not be empty: descriptors travel with at least one byte");
  bool is_array = false;
  napi_is_array(env, argv[2], &is_array);
  if (!is_array) return type_error(env, "fds must be an array of integers");
  uint32_t nfds;
  napi_get_array_length(env, argv[2], &nfds);
  if (nfds > MAX_FDS) return type_error(env, "too many descriptors for one message (at most 253)");
  int fds[MAX_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value e;
    napi_get_element(env, argv[2], i, &e);
    int32_t v;
    if (!get_int(env, e, &v) || v < 0) return type_error(env, "fds must be an array of non-negative integers");
    fds[i] = v;
  }

  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  if (nfds > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) n = 0;
    else return throw_errno(env, errno, "sendmsg");
  }
  napi_value result;
  napi_create_int64(env, (int64_t)n, &result);
  return result;
}

/*
 * recvWithFds(fd, maxBytes) -> { data: Buffer, fds: number[] } or null when nothing is there yet
 * (EAGAIN). Received descriptors are close-on-exec. An empty `data` means the peer closed.
 */
static napi_value recv_with_fds(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return type_error(env, "recvWithFds(fd, maxBytes) takes two arguments");
  int32_t sock, max;
  if (!get_int(env, argv[0], &sock) || sock < 0) return type_error(env, "fd must be a non-negative integer");
  if (!get_int(env, argv[1], &max) || max <= 0) return type_error(env, "maxBytes must be a positive integer");
  char *buf = malloc((size_t)max);
  if (buf == NULL) return throw_errno(env, ENOMEM, "recvmsg");
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)max};
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    free(buf);
    if (err == EAGAIN || err == EWOULDBLOCK) {
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;
    }
    return throw_errno(env, err, "recvmsg");
  }
  napi_value fds = received_fds(env, &msg);
  napi_value data, result;
  napi_create_buffer_copy(env, (size_t)n, buf, NULL, &data);
  free(buf);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "data", data);
  napi_set_named_property(env, result, "fds", fds);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sendWithFds", NULL, send_with_fds, NULL, NULL, NULL, napi_default, NULL},
      {"recvWithFds", NULL, recv_with_fds, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  register_reader(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
