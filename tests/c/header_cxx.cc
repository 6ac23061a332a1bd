// header_cxx.cc - toykv.h must be usable from C++ (C++17, warnings as errors): every
// declaration valid C++, every function with C linkage (extern "C" guards). `make c-build`
// compiles this file with -fsyntax-only, then links and runs it against libtoykv, which fails
// if the functions were declared with C++ linkage.
#include "toykv.h"

#include <cstring>

static_assert(TOYKV_OK == 0, "TOYKV_OK is 0");
static_assert(TOYKV_INTERNAL == 9, "status codes keep their values");
static_assert(TOYKV_MAX_KEY_LEN == 65536, "key limit");

int main() {
    toykv_options *opts = toykv_options_new();
    toykv_options_set_block_bytes(opts, 4096);
    toykv_options_free(opts);
    const char *v = toykv_version();
    return (v != nullptr && std::strcmp(v, TOYKV_VERSION) == 0 &&
            toykv_status_str(TOYKV_NOT_FOUND) != nullptr)
               ? 0
               : 1;
}
