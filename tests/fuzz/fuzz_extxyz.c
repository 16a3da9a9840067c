/*
 * fuzz_extxyz.c — libFuzzer harness: the extxyz reader and the periodic neighbour lists of every frame it
 * accepts (tnace_dataset_read_keys: frames → species → neighbour lists within 4 Å), with and without
 * declared units (the plausibility checks). Seed corpus: tests/fuzz/corpus/extxyz (tests/data/extxyz etc.).
 */
#include "fuzz_common.h"   /* first: it sets _GNU_SOURCE for memfd_create */
#include "dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char elem[4][4] = {"Cu", "Ni", "Mo", "W"};
  char path[64], err[1024];
  int fd = fuzz_memfile(data, size, path, sizeof path);
  if (fd < 0) return 0;
  const tnace_xyz_keys declared = {.stress_unit = TNACE_STRESS_UNIT_GPA, .units_declared = 1};
  for (int k = 0; k < 2; k++) {
    tnace_dataset ds = {0};
    tnace_dataset_read_keys(&ds, path, k ? &declared : NULL, 4, elem, 4.0, k, err, sizeof err);
    tnace_dataset_free(&ds);
  }
  close(fd);
  return 0;
}
