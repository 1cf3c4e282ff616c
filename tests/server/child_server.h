#pragma once
// `infergrid serve` as a child process: its first stdout line names the URL.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace ig::test {

struct ChildServer {
    pid_t pid = -1;
    uint16_t port = 0;

    bool start(const std::vector<std::string>& args) {
        int out[2];
        if (pipe(out) != 0) return false;
        pid = fork();
        if (pid == 0) {
            dup2(out[1], 1);
            ::close(out[0]);
            ::close(out[1]);
            std::vector<char*> argv;
            for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        ::close(out[1]);
        std::string line;
        char ch;
        while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
        ::close(out[0]);
        const size_t colon = line.rfind(':');
        if (colon == std::string::npos) return false;
        port = static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
        return port != 0;
    }
    // SIGKILL: no shutdown code runs (a crash).
    void kill_hard() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
    }
    ~ChildServer() { kill_hard(); }
};

}  // namespace ig::test
