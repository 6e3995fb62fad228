/*
 * Reading a socket Node owns with recvmsg(), so that the descriptors a peer sends with SCM_RIGHTS are
 * kept instead of being closed by the kernel (which is what happens to them under Node's read()).
 *
 * The reader polls its own duplicate of the socket's descriptor: libuv allows one watcher per
 * descriptor number, and Node's watcher on the original stays in place for writes. Node must not read
 * the socket itself meanwhile; the JavaScript side makes sure of that. Each time the socket is
 * readable, one recvmsg() of at most maxBytes is handed to the callback as (data, fds); an empty
 * `data` is the end of the stream, and a string in third place is the errno name of a failed read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fdpass.h"

typedef struct {
  uv_poll_t poll;
  int fd;
  /* The JavaScript handle and the libuv handle each hold one; the memory goes with the last. */
  int refs;
  int polling;
  int closing;
  size_t max;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
} reader_t;

/*
 * One read buffer per thread, shared by its readers: the bytes are copied into a Buffer at once, so an
 * idle connection costs no buffer of its own.
 */
static __thread char *read_buf;
static __thread size_t read_buf_size;

static char *buffer_for(size_t size) {
  if (read_buf_size < size) {
    char *b = realloc(read_buf, size);
    if (b == NULL) return NULL;
    read_buf = b;
    read_buf_size = size;
  }
  return read_buf;
}

static void release(reader_t *r) {
  if (--r->refs > 0) return;
  free(r);
}

static void on_closed(uv_handle_t *handle) {
  reader_t *r = handle->data;
  close(r->fd);
  release(r);
}

static void env_cleanup(void *arg);

static void close_reader(reader_t *r) {
  if (r->closing) return;
  r->closing = 1;
  r->polling = 0;
  uv_poll_stop(&r->poll);
  napi_remove_env_cleanup_hook(r->env, env_cleanup, r);
  napi_delete_reference(r->env, r->callback);
  napi_async_destroy(r->env, r->async);
  uv_close((uv_handle_t *)&r->poll, on_closed);
}

static void env_cleanup(void *arg) {
  close_reader(arg);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  reader_t *r = data;
  close_reader(r);
  release(r);
}

static void call_back(reader_t *r, int argc, napi_value *argv) {
  napi_env env = r->env;
  napi_value cb, recv;
  napi_get_reference_value(env, r->callback, &cb);
  napi_get_global(env, &recv);
  if (napi_make_callback(env, r->async, recv, cb, (size_t)argc, argv, NULL) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  reader_t *r = handle->data;
  if (r->closing) return;
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  napi_value argv[3];
  int err = status < 0 ? -status : 0;
  ssize_t n = -1;
  struct msghdr msg;
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  char *buf = buffer_for(r->max);
  if (buf == NULL) err = ENOMEM;
  if (err == 0) {
    struct iovec iov = {.iov_base = buf, .iov_len = r->max};
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    do {
      n = recvmsg(r->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        napi_close_handle_scope(r->env, scope);
        return;
      }
      err = errno;
    }
  }
  if (err != 0 || n == 0) {
    /* Nothing more will come: stop, or a level-triggered poll would call again and again. */
    r->polling = 0;
    uv_poll_stop(&r->poll);
  }
  if (err != 0) {
    napi_get_null(r->env, &argv[0]);
    napi_create_array(r->env, &argv[1]);
    napi_create_string_utf8(r->env, errno_name(err), NAPI_AUTO_LENGTH, &argv[2]);
    call_back(r, 3, argv);
  } else {
    napi_create_buffer_copy(r->env, (size_t)n, buf, NULL, &argv[0]);
    if (n > 0) argv[1] = received_fds(r->env, &msg);
    else napi_create_array(r->env, &argv[1]);
    call_back(r, 2, argv);
  }
  napi_close_handle_scope(r->env, scope);
}

static reader_t *get_reader(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t;
  void *data = NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a reader from openReader()");
    return NULL;
  }
  return data;
}

/* openReader(fd, maxBytes, callback) -> reader. Not polling until readerStart(). */
static napi_value open_reader(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, max;
  napi_valuetype t0, t1, t2;
  if (argc < 3 || napi_typeof(env, argv[0], &t0) != napi_ok || t0 != napi_number ||
      napi_typeof(env, argv[1], &t1) != napi_ok || t1 != napi_number ||
      napi_typeof(env, argv[2], &t2) != napi_ok || t2 != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "openReader(fd, maxBytes, callback)");
    return NULL;
  }
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int32(env, argv[1], &max);
  if (fd < 0 || max <= 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "fd must be >= 0 and maxBytes > 0");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_errno(env, EINVAL, "uv_poll_init");
  reader_t *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, ENOMEM, "openReader");
  r->max = (size_t)max;
  r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (r->fd < 0) {
    int e = errno;
    free(r);
    return throw_errno(env, e, "dup");
  }
  int rc = uv_poll_init(loop, &r->poll, r->fd);
  if (rc != 0) {
    close(r->fd);
    free(r);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  r->poll.data = r;
  r->env = env;
  r->refs = 2;
  napi_create_reference(env, argv[2], 1, &r->callback);
  napi_value name, resource;
  napi_create_string_utf8(env, "qmpkit.fdReader", NAPI_AUTO_LENGTH, &name);
  /* Node 20 wants a resource object here (later versions make one up). */
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &r->async);
  napi_add_env_cleanup_hook(env, env_cleanup, r);
  napi_value result;
  napi_create_external(env, r, finalize, NULL, &result);
  return result;
}

static napi_value reader_start(napi_env env, napi_callback_info info) {
  reader_t *r = get_reader(env, info);
  if (r == NULL) return NULL;
  if (!r->closing && !r->polling) {
    int rc = uv_poll_start(&r->poll, UV_READABLE | UV_DISCONNECT, on_poll);
    if (rc != 0) return throw_errno(env, -rc, "uv_poll_start");
    r->polling = 1;
  }
  return NULL;
}

static napi_value reader_stop(napi_env env, napi_callback_info info) {
  reader_t *r = get_reader(env, info);
  if (r == NULL) return NULL;
  if (r->polling) {
    uv_poll_stop(&r->poll);
    r->polling = 0;
  }
  return NULL;
}

static napi_value reader_close(napi_env env, napi_callback_info info) {
  reader_t *r = get_reader(env, info);
  if (r != NULL) close_reader(r);
  return NULL;
}

void register_reader(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openReader", NULL, open_reader, NULL, NULL, NULL, napi_default, NULL},
      {"readerStart", NULL, reader_start, NULL, NULL, NULL, napi_default, NULL},
      {"readerStop", NULL, reader_stop, NULL, NULL, NULL, napi_default, NULL},
      {"readerClose", NULL, reader_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
