/*
 * A UDP socket read and written in batches: recvmmsg(2) and sendmmsg(2), one JavaScript call
 * per batch of datagrams instead of one per datagram (Node's dgram makes a Buffer, an rinfo
 * object and a callback for every packet it receives, and a system call for every packet it
 * sends). It makes no DNS decision: it moves bytes between the socket and buffers that
 * JavaScript owns, and src/dns/udp-batch.ts is its only user.
 *
 * The buffers are allocated in JavaScript (udp-batch.ts) and handed to `open`:
 *   - input: `slots` fixed-size slots of datagram bytes, and per slot three uint32s
 *     {length, IPv4 address in host byte order, port}, written here before each batch;
 *   - output: one byte buffer and per datagram four uint32s {offset, length, address, port},
 *     written by JavaScript before it calls `send`.
 * The socket's fd is watched by a uv_poll on Node's own event loop, so the JS callback runs on
 * the main thread like any other I/O callback.
 *
 * Linux only (recvmmsg/sendmmsg), like the rest of localspace.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Batches read per readable event before the loop gets a turn (TCP, timers): 4 × slots. */
#define BATCHES_PER_WAKEUP 4

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t poll;
  napi_ref on_batch;      /* (count) => void, called with a batch in the input slots */
  napi_ref buffers[4];    /* keeps the JS-owned buffers alive while the socket is open */
  napi_async_context async_context;
  uint32_t slots, slot_size;
  uint8_t *in;            /* slots × slot_size bytes */
  uint32_t *in_meta;      /* slots × {length, address, port} */
  uint8_t *out;           /* out_length bytes */
  size_t out_length;
  uint32_t *out_meta;     /* slots × {offset, length, address, port} */
  struct mmsghdr *rmsg, *smsg;
  struct iovec *riov, *siov;
  struct sockaddr_in *raddr, *saddr;
  int closing;            /* close() was called: no more reads or sends */
  int poll_closed;        /* uv_close's callback ran: the poll handle is no longer used */
  int collected;          /* the JS handle was garbage-collected */
} Sock;

#define CHECK(call)                                                                        \
  do {                                                                                     \
    if ((call) != napi_ok) {                                                               \
      napi_throw_error(env, NULL, "udp-batch: N-API call failed: " #call);                 \
      return NULL;                                                                         \
    }                                                                                      \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s %s: %s", what, uv_err_name(-err), strerror(err));
  napi_throw_error(env, uv_err_name(-err), message);
  return NULL;
}

static void free_sock(Sock *s) {
  free(s->rmsg);
  free(s->smsg);
  free(s->riov);
  free(s->siov);
  free(s->raddr);
  free(s->saddr);
  free(s);
}

/* The poll handle is closed and the JS handle is gone: nothing refers to the Sock any more. */
static void maybe_free(Sock *s) {
  if (s->poll_closed && s->collected) free_sock(s);
}

static void on_poll_closed(uv_handle_t *handle) {
  Sock *s = handle->data;
  close(s->fd);
  s->poll_closed = 1;
  maybe_free(s);
}

/* Stops watching, drops the references to JS; the fd is closed once libuv lets go of it. */
static void start_close(Sock *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  napi_delete_reference(s->env, s->on_batch);
  for (int i = 0; i < 4; i++) napi_delete_reference(s->env, s->buffers[i]);
  napi_async_destroy(s->env, s->async_context);
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static void on_collected(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Sock *s = data;
  s->collected = 1;
  start_close(s); /* the wrapper always closes first; this only guards against a leak */
  maybe_free(s);
}

/* Calls onBatch(count); an exception becomes the process's uncaught exception, as usual. */
static void deliver(Sock *s, uint32_t count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_value fn, arg, global, result;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, s->on_batch, &fn) == napi_ok &&
      napi_create_uint32(env, count, &arg) == napi_ok && napi_get_global(env, &global) == napi_ok) {
    /* make_callback (not call_function): runs the microtasks and nextTicks the JS queued. */
    if (napi_make_callback(env, s->async_context, global, fn, 1, &arg, &result) ==
        napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Sock *s = handle->data;
  if (status < 0) return; /* nothing to do but wait for the next event */
  for (int round = 0; round < BATCHES_PER_WAKEUP && !s->closing; round++) {
    for (uint32_t i = 0; i < s->slots; i++) {
      s->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
      s->rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->rmsg, s->slots, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN: drained (other errors: see the next event) */
    for (int i = 0; i < n; i++) {
      uint32_t *meta = s->in_meta + 3 * i;
      /* A datagram longer than its slot was cut short: length 0 tells JS to skip it. */
      meta[0] = (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : s->rmsg[i].msg_len;
      meta[1] = ntohl(s->raddr[i].sin_addr.s_addr);
      meta[2] = ntohs(s->raddr[i].sin_port);
    }
    deliver(s, (uint32_t)n);
    if ((uint32_t)n < s->slots) return; /* the queue is empty now */
  }
}

static Sock *sock_of(napi_env env, napi_value handle) {
  void *data = NULL;
  if (napi_get_value_external(env, handle, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "udp-batch: not a socket handle");
    return NULL;
  }
  return data;
}

static int buffer_arg(napi_env env, napi_value v, void **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t elements, offset;
  napi_value arraybuffer;
  if (napi_get_typedarray_info(env, v, &type, &elements, data, &arraybuffer, &offset) != napi_ok)
    return 0;
  *length = type == napi_uint32_array ? elements * 4 : elements;
  return type == napi_uint8_array || type == napi_uint32_array;
}

/*
 * open(address, port, recvBufferBytes, slotSize, inBytes, inMeta, outBytes, outMeta, onBatch)
 * → handle. Binds a non-blocking UDP socket to address:port (port 0: any) and starts reading.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9) {
    napi_throw_type_error(env, NULL, "udp-batch: open takes 9 arguments");
    return NULL;
  }
  char address[64];
  size_t address_length;
  uint32_t port, rcvbuf, slot_size;
  CHECK(napi_get_value_string_utf8(env, argv[0], address, sizeof address, &address_length));
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  CHECK(napi_get_value_uint32(env, argv[2], &rcvbuf));
  CHECK(napi_get_value_uint32(env, argv[3], &slot_size));
  void *bufs[4];
  size_t lengths[4];
  for (int i = 0; i < 4; i++)
    if (!buffer_arg(env, argv[4 + i], &bufs[i], &lengths[i])) {
      napi_throw_type_error(env, NULL, "udp-batch: buffers must be Uint8Array or Uint32Array");
      return NULL;
    }
  uint32_t slots = (uint32_t)(lengths[1] / 12);
  if (slots == 0 || slot_size == 0 || lengths[0] < (size_t)slots * slot_size ||
      lengths[3] < (size_t)slots * 16) {
    napi_throw_range_error(env, NULL, "udp-batch: buffers do not match the slots");
    return NULL;
  }

  struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, address, &local.sin_addr) != 1) {
    napi_throw_type_error(env, NULL, "udp-batch: not an IPv4 address");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int size = (int)rcvbuf;
  /* The kernel caps this at net.core.rmem_max without complaint; not fatal either way. */
  if (size > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }

  Sock *s = calloc(1, sizeof *s);
  if (s) {
    s->rmsg = calloc(slots, sizeof *s->rmsg);
    s->smsg = calloc(slots, sizeof *s->smsg);
    s->riov = calloc(slots, sizeof *s->riov);
    s->siov = calloc(slots, sizeof *s->siov);
    s->raddr = calloc(slots, sizeof *s->raddr);
    s->saddr = calloc(slots, sizeof *s->saddr);
  }
  if (!s || !s->rmsg || !s->smsg || !s->riov || !s->siov || !s->raddr || !s->saddr) {
    if (s) free_sock(s);
    close(fd);
    napi_throw_error(env, NULL, "udp-batch: out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->slots = slots;
  s->slot_size = slot_size;
  s->in = bufs[0];
  s->in_meta = bufs[1];
  s->out = bufs[2];
  s->out_length = lengths[2];
  s->out_meta = bufs[3];
  for (uint32_t i = 0; i < slots; i++) {
    s->riov[i].iov_base = s->in + (size_t)i * slot_size;
    s->riov[i].iov_len = slot_size;
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
    s->rmsg[i].msg_hdr.msg_name = &s->raddr[i];
    s->smsg[i].msg_hdr.msg_iov = &s->siov[i];
    s->smsg[i].msg_hdr.msg_iovlen = 1;
    s->smsg[i].msg_hdr.msg_name = &s->saddr[i];
    s->smsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    s->saddr[i].sin_family = AF_INET;
  }

  uv_loop_t *loop;
  napi_value resource_name, handle;
  int ok = napi_get_uv_event_loop(env, &loop) == napi_ok &&
           napi_create_reference(env, argv[8], 1, &s->on_batch) == napi_ok &&
           napi_create_string_utf8(env, "localspace:udp-batch", NAPI_AUTO_LENGTH,
                                   &resource_name) == napi_ok &&
           napi_async_init(env, NULL, resource_name, &s->async_context) == napi_ok;
  for (int i = 0; ok && i < 4; i++)
    ok = napi_create_reference(env, argv[4 + i], 1, &s->buffers[i]) == napi_ok;
  if (!ok || uv_poll_init(loop, &s->poll, fd) != 0) {
    /* References made so far die with the env; the socket must not outlive this call. */
    free_sock(s);
    close(fd);
    napi_throw_error(env, NULL, "udp-batch: could not set up the socket");
    return NULL;
  }
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (napi_create_external(env, s, on_collected, NULL, &handle) != napi_ok) {
    s->collected = 1;
    start_close(s);
    napi_throw_error(env, NULL, "udp-batch: could not make the handle");
    return NULL;
  }
  return handle;
}

/* localPort(handle) → the port the socket is bound to (useful after binding port 0). */
static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Sock *s = sock_of(env, argv[0]);
  if (!s) return NULL;
  struct sockaddr_in local;
  socklen_t length = sizeof local;
  if (s->closing || getsockname(s->fd, (struct sockaddr *)&local, &length) < 0)
    return throw_errno(env, "getsockname", s->closing ? EBADF : errno);
  CHECK(napi_create_uint32(env, ntohs(local.sin_port), &result));
  return result;
}

/*
 * send(handle, count) → how many were sent: the first `count` output datagrams, each to its
 * own address and port, in as few sendmmsg calls as it takes. A datagram the kernel refuses (no
 * route, a full send buffer) is dropped and the rest still go, as a lost UDP packet would be.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  uint32_t count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Sock *s = sock_of(env, argv[0]);
  if (!s) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &count));
  if (s->closing) count = 0;
  if (count > s->slots) count = s->slots;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t *meta = s->out_meta + 4 * i;
    size_t offset = meta[0] < s->out_length ? meta[0] : s->out_length;
    size_t length = meta[1] < s->out_length - offset ? meta[1] : s->out_length - offset;
    s->siov[i].iov_base = s->out + offset;
    s->siov[i].iov_len = length;
    s->saddr[i].sin_addr.s_addr = htonl(meta[2]);
    s->saddr[i].sin_port = htons((uint16_t)meta[3]);
  }
  uint32_t done = 0, sent = 0;
  while (done < count) {
    int n = sendmmsg(s->fd, s->smsg + done, count - done, 0);
    if (n > 0) {
      done += (uint32_t)n;
      sent += (uint32_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      done++; /* the datagram at `done` was refused: skip it */
    }
  }
  CHECK(napi_create_uint32(env, sent, &result));
  return result;
}

/* close(handle): stops reading and closes the socket (idempotent). */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Sock *s = sock_of(env, argv[0]);
  if (!s) return NULL;
  start_close(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, 4, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
