// infergrid: one binary, subcommands.
#include <cstdio>

int main() {
    std::puts("infergrid");
    return 0;
}
