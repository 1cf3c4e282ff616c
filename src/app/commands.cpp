#include "app/commands.h"

#include <cstdio>

namespace ig::app {

int fail(const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 1;
}

}  // namespace ig::app
