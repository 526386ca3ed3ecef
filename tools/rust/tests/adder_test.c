/* Calls the Rust cdylib through its C ABI: proves rust_shared_library links into cc targets. */
#include <stdio.h>
#include <stdint.h>
#include "tools/rust/tests/adder.h"

static int failures = 0;
#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

int main(void) {
  CHECK(nexa_example_add(40, 2) == 42);
  CHECK(nexa_example_add(INT32_MAX, 1) == INT32_MAX);
  CHECK(nexa_example_strlen("nexa") == 4);
  CHECK(nexa_example_strlen(NULL) == -1);
  if (failures) return 1;
  printf("adder_test: all checks passed\n");
  return 0;
}
