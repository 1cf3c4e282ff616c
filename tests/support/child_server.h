#pragma once
// `infergrid serve` as a child process, for the end-to-end tests: its first
// stdout line names the URL.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ig::test {

class ChildServer {
  public:
    ChildServer() = default;
    ChildServer(const ChildServer&) = delete;
    ChildServer& operator=(const ChildServer&) = delete;
    ~ChildServer() { kill_hard(); }

    // Runs args[0] with args; true once it printed a line ending in ":<port>".
    bool start(const std::vector<std::string>& args);
    // SIGKILL: no shutdown code runs (a crash).
    void kill_hard();
    // The exit code (128 + signal when killed), or -1 if it is still running
    // after `timeout`.
    int wait_exit(std::chrono::seconds timeout);

    pid_t pid = -1;
    uint16_t port = 0;
};

}  // namespace ig::test
