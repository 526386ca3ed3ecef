/* C declarations of the example cdylib in adder.rs (rule test only). */
#ifndef NEXA_TOOLS_RUST_TESTS_ADDER_H_
#define NEXA_TOOLS_RUST_TESTS_ADDER_H_
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
int32_t nexa_example_add(int32_t a, int32_t b);
int64_t nexa_example_strlen(const char* s);
#ifdef __cplusplus
}
#endif
#endif
