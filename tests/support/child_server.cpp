#include "support/child_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace ig::test {

bool ChildServer::start(const std::vector<std::string>& args) {
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
    // Log lines ("[time] [level] ...", spdlog writes to stdout) may come
    // first; the port ends the first other line ("... at http://HOST:PORT/v1").
    std::string line;
    char ch;
    for (;;) {
        line.clear();
        bool got = false;
        while (read(out[0], &ch, 1) == 1) {
            got = true;
            if (ch == '\n') break;
            line += ch;
        }
        if (!got || line.empty() || line[0] != '[') break;
    }
    ::close(out[0]);
    const size_t colon = line.rfind(':');
    if (colon == std::string::npos) return false;
    port = static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
    return port != 0;
}

void ChildServer::kill_hard() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
}

int ChildServer::wait_exit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
}

}  // namespace ig::test
