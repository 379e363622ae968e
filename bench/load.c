/*
 * The engine bench's load client (compiled by bench/engine_bench.ts with `cc -O2`): epoll,
 * non-blocking sockets, loopback only, bounded by a duration. One JSON line on stdout.
 *
 *   load reply PORT CONC SECONDS EXPECT [MAX]     connect, read to EOF, close; EXPECT reply bytes
 *   load rr    PORT CONC SECONDS EXPECT REQ [MAX] connect, send REQ, read EXPECT bytes, close
 *   load idle  PORT N   HOLD_SECONDS SEND    open N connections, send SEND (may be ""), print
 *                                            {"ready":N}, hold until stdin closes or HOLD ends
 *   load stream PORT                         one connection, read to EOF: bytes and GB/s
 *
 * MAX (reply, rr): start at most MAX connections, then stop once they are done (0: no limit).
 *
 * Latency is per connection, from connect() to the last byte (or EOF), in a 1 us histogram.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 200000 /* histogram up to 200 ms, 1 us buckets; beyond: the last bucket */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in target;

static int open_conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

struct slot {
  int fd;
  int connecting;
  size_t got;
  double t0;
};

static uint32_t *hist;
static uint64_t done_n, errors;

static void record(double t0) {
  double us = (now_s() - t0) * 1e6;
  long b = us < 0 ? 0 : (long)us;
  if (b >= HIST_US) b = HIST_US - 1;
  hist[b]++;
}

static double percentile(double p) {
  uint64_t total = 0, seen = 0;
  for (long i = 0; i < HIST_US; i++) total += hist[i];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)(p * total);
  if (want >= total) want = total - 1;
  for (long i = 0; i < HIST_US; i++) {
    seen += hist[i];
    if (seen > want) return i;
  }
  return HIST_US;
}

static int run_load(int rr, int conc, double seconds, size_t expect, const char *req, long max) {
  size_t reqlen = req ? strlen(req) : 0;
  hist = calloc(HIST_US, sizeof *hist);
  struct slot *slots = calloc(conc, sizeof *slots);
  int ep = epoll_create1(0);
  double start = now_s(), end = start + seconds;
  int active = 0;
  long started = 0;
  char buf[65536];
  for (int i = 0; i < conc; i++) {
    slots[i].fd = -1;
  }
  for (;;) {
    double t = now_s();
    int running = t < end && (max <= 0 || started < max);
    for (int i = 0; i < conc && running; i++) {
      if (slots[i].fd >= 0) continue;
      if (max > 0 && started >= max) break;
      started++;
      int fd = open_conn();
      if (fd < 0) {
        errors++;
        continue;
      }
      slots[i] = (struct slot){fd, 1, 0, now_s()};
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = i};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      active++;
    }
    if (active == 0 && !running) break;
    if (t > end + 10) break; /* stragglers: give up */
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      struct slot *s = &slots[evs[k].data.u32];
      if (s->fd < 0) continue;
      int finished = 0, failed = 0;
      if (s->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          failed = 1;
        } else {
          s->connecting = 0;
          if (rr && send(s->fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen) failed = 1;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[k].data.u32};
          epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
        }
      }
      while (!failed && !finished && !s->connecting) {
        ssize_t r = read(s->fd, buf, sizeof buf);
        if (r > 0) {
          s->got += r;
          if (rr && s->got >= expect) finished = 1;
        } else if (r == 0) {
          if (s->got == expect) finished = 1;
          else failed = 1;
        } else if (errno == EAGAIN) {
          break;
        } else {
          /* a reset after the whole reply still counts (nginx `return` resets unread input) */
          if (s->got == expect) finished = 1;
          else failed = 1;
        }
      }
      if (finished || failed) {
        if (finished) {
          record(s->t0);
          done_n++;
        } else {
          errors++;
        }
        close(s->fd);
        s->fd = -1;
        active--;
      }
    }
  }
  double elapsed = now_s() - start;
  printf("{\"conns\":%llu,\"errors\":%llu,\"seconds\":%.4f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
         (unsigned long long)done_n, (unsigned long long)errors, elapsed, percentile(0.5),
         percentile(0.99));
  return 0;
}

static int run_idle(int n, double hold, const char *send_text) {
  int *fds = calloc(n, sizeof *fds);
  size_t len = strlen(send_text);
  int opened = 0;
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&target, sizeof target) < 0) {
      if (fd >= 0) close(fd);
      break;
    }
    if (len && send(fd, send_text, len, MSG_NOSIGNAL) != (ssize_t)len) {
      close(fd);
      break;
    }
    fds[opened++] = fd;
  }
  printf("{\"ready\":%d}\n", opened);
  fflush(stdout);
  struct pollfd p = {.fd = 0, .events = POLLIN};
  poll(&p, 1, (int)(hold * 1000));
  for (int i = 0; i < opened; i++) close(fds[i]);
  return 0;
}

static int run_stream(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0) {
    printf("{\"error\":\"connect\"}\n");
    return 1;
  }
  static char buf[1 << 20];
  uint64_t total = 0;
  double t0 = now_s();
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    total += r;
  }
  double s = now_s() - t0;
  close(fd);
  printf("{\"bytes\":%llu,\"seconds\":%.4f,\"gbps\":%.3f}\n", (unsigned long long)total, s,
         total / s / 1e9);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: load reply|rr|idle|stream PORT ...\n");
    return 2;
  }
  memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons(atoi(argv[2]));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char *mode = argv[1];
  if (!strcmp(mode, "reply") && argc >= 6) {
    return run_load(0, atoi(argv[3]), atof(argv[4]), atol(argv[5]), NULL, argc >= 7 ? atol(argv[6]) : 0);
  }
  if (!strcmp(mode, "rr") && argc >= 7) {
    return run_load(1, atoi(argv[3]), atof(argv[4]), atol(argv[5]), argv[6], argc >= 8 ? atol(argv[7]) : 0);
  }
  if (!strcmp(mode, "idle") && argc >= 6) return run_idle(atoi(argv[3]), atof(argv[4]), argv[5]);
  if (!strcmp(mode, "stream")) return run_stream();
  fprintf(stderr, "bad arguments\n");
  return 2;
}
