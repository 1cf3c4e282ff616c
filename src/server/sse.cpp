#include "server/sse.h"

#include <fmt/format.h>

namespace ig::server::sse {

void append_event(std::string& out, std::string_view payload) {
    out += "data: ";
    out += payload;
    out += "\n\n";
}

void append_json_event(std::string& out, const nlohmann::json& j) {
    append_event(out, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string stream_head(bool keep_alive,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string h = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\nConnection: {}\r\n",
        keep_alive ? "keep-alive" : "close");
    for (const auto& [name, value] : headers) h += fmt::format("{}: {}\r\n", name, value);
    h += "\r\n";
    return h;
}

std::string chunk(std::string_view data) {
    return fmt::format("{:x}\r\n{}\r\n", data.size(), data);
}

}  // namespace ig::server::sse
