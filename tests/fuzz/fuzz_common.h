/*
 * fuzz_common.h — helpers of the libFuzzer harnesses (tests/fuzz/): the readers take file paths, so each
 * input is written to an anonymous in-memory file (memfd) and read back through /proc/self/fd/N.
 */
#ifndef TNACE_FUZZ_COMMON_H
#define TNACE_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fusion.h"

/* Coupling trees within the library's limit can take seconds to build, legitimately (ν = 4, l_max 8: work
 * 4.9e5, 4 s, ~12 s under the sanitizers, over the 10 s per-input timeout); the limit itself is tested by
 * test_fusion and fitcli_nu4_too_big. The harnesses build trees only up to this work (about 0.8 s without
 * sanitizers). */
#define FUZZ_MAX_WORK 1.0e5
static inline int fuzz_tree_too_slow(int nu, int lmax) { return tnace_fusion_work_estimate(nu, lmax) > FUZZ_MAX_WORK; }

/* Write data to a fresh memfd; path receives "/proc/self/fd/N". Returns the fd (close it) or -1. */
static int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len) {
  int fd = memfd_create("tnace-fuzz", 0);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) { close(fd); return -1; }
    done += (size_t)w;
  }
  snprintf(path, len, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
