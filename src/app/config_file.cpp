#include "app/config_file.h"

#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace ig::app {

namespace {

// The option's command-line spelling of a TOML value; empty when the TOML type
// cannot be one (a table, an array, a date).
std::string as_argument(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string:
            return *node.value<std::string>();
        case toml::node_type::boolean:
            return *node.value<bool>() ? "true" : "false";
        case toml::node_type::integer:
            return std::to_string(*node.value<int64_t>());
        case toml::node_type::floating_point:
            return fmt::format("{}", *node.value<double>());  // shortest exact form
        default:
            return {};
    }
}

std::string type_name(toml::node_type t) {
    std::ostringstream s;
    s << t;
    return s.str();
}

}  // namespace

Status apply_config(CLI::App& sub, const std::string& path) {
    toml::table tbl;
    try {
        tbl = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        return make_error("--config {}:{}: {}", path, e.source().begin.line,
                          std::string(e.description()));
    }
    for (auto&& [key, node] : tbl) {
        const std::string name(key.str());
        const std::string where =
            fmt::format("--config {}:{}: '{}'", path, node.source().begin.line, name);
        if (name == "config") return make_error("{}: a config file cannot name another", where);
        CLI::Option* opt = sub.get_option_no_throw("--" + name);
        if (!opt)
            return make_error(
                "{}: unknown setting (see `infergrid {} --help`; keys are the flag "
                "names without the dashes)",
                where, sub.get_name());
        if (opt->count() > 0) continue;  // the command line wins
        // An array for a repeatable option (model = ["a.gguf", "b.gguf"]).
        if (const toml::array* arr = node.as_array(); arr && opt->get_expected_max() > 1) {
            try {
                opt->clear();
                for (const auto& item : *arr) {
                    const std::string v = as_argument(item);
                    if (v.empty() && !item.is_string())
                        return make_error("{}: array items must be strings or numbers", where);
                    opt->add_result(v);
                }
                opt->run_callback();
            } catch (const CLI::Error& e) {
                return make_error("{}: {}", where, e.what());
            }
            continue;
        }
        const bool is_flag = opt->get_expected_max() == 0;
        const bool is_bool = node.type() == toml::node_type::boolean;
        const std::string value = as_argument(node);
        if (is_flag && !is_bool)
            return make_error("{}: must be true or false, not {}", where, type_name(node.type()));
        if (!is_flag && (is_bool || (value.empty() && !node.is_string())))
            return make_error("{}: must be a string or a number, not {}", where,
                              type_name(node.type()));
        try {
            opt->clear();
            opt->add_result(value);
            opt->run_callback();
        } catch (const CLI::Error& e) {
            return make_error("{}: {}", where, e.what());
        }
    }
    return {};
}

}  // namespace ig::app
