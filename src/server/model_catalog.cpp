#include "server/model_catalog.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <toml++/toml.h>

namespace ig::server {

namespace fs = std::filesystem;

namespace {

// A Hugging Face model folder: a directory with a config.json.
bool is_hf_folder(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec) && fs::is_regular_file(p / "config.json", ec);
}

bool is_gguf_file(const fs::path& p) {
    std::error_code ec;
    return p.extension() == ".gguf" && fs::is_regular_file(p, ec);
}

std::string where(const toml::node& n) {
    const auto& s = n.source();
    return s.begin.line ? " (line " + std::to_string(s.begin.line) + ")" : "";
}

Expected<std::string> string_of(const toml::node& n, std::string_view key) {
    if (auto v = n.value<std::string>()) return *v;
    return make_error("models.toml: '{}' must be a string{}", key, where(n));
}

Expected<int64_t> positive_int(const toml::node& n, std::string_view key) {
    auto v = n.value<int64_t>();
    if (!v || *v <= 0)
        return make_error("models.toml: '{}' must be a positive integer{}", key, where(n));
    return *v;
}

// Applies one [models.NAME] table to `spec`.
Status apply_options(const toml::table& t, const fs::path& dir, ModelSpec& spec) {
    for (const auto& [k, node] : t) {
        const std::string key(k.str());
        if (key == "file") {
            continue;  // resolved by the caller
        } else if (key == "aliases") {
            const toml::array* a = node.as_array();
            if (!a)
                return make_error("models.toml: 'aliases' must be an array of strings{}",
                                  where(node));
            for (const auto& item : *a) {
                std::string s;
                IG_ASSIGN_OR_RETURN(s, string_of(item, "aliases"));
                if (s.empty()) return make_error("models.toml: an alias is empty{}", where(item));
                spec.aliases.push_back(std::move(s));
            }
        } else if (key == "context") {
            int64_t n = 0;
            IG_ASSIGN_OR_RETURN(n, positive_int(node, key));
            spec.context = n;
        } else if (key == "kv_bytes") {
            if (node.is_string()) {
                auto b = parse_byte_size(*node.value<std::string>());
                if (!b.ok())
                    return make_error("models.toml: kv_bytes: {}{}", b.error().message,
                                      where(node));
                spec.kv_bytes = *b;
            } else {
                int64_t n = 0;
                IG_ASSIGN_OR_RETURN(n, positive_int(node, key));
                spec.kv_bytes = n;
            }
        } else if (key == "chat_template") {
            std::string s;
            IG_ASSIGN_OR_RETURN(s, string_of(node, key));
            spec.chat_template_path = (dir / s).string();
        } else if (key == "tool_call_parser") {
            std::string s;
            IG_ASSIGN_OR_RETURN(s, string_of(node, key));
            spec.tool_call_parser = s;
        } else if (key == "reasoning_parser") {
            std::string s;
            IG_ASSIGN_OR_RETURN(s, string_of(node, key));
            spec.reasoning_parser = s;
        } else {
            return make_error(
                "models.toml: unknown key '{}' in [models.{}]{} (known: file, aliases, context, "
                "kv_bytes, chat_template, tool_call_parser, reasoning_parser)",
                key, spec.name, where(node));
        }
    }
    return {};
}

// The directory's models, by name, with models.toml applied.
Expected<std::vector<ModelSpec>> scan_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return make_error("--models-dir {}: not a directory", dir.string());
    // file name -> spec, for every model file or folder found.
    std::map<std::string, ModelSpec> found;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path p = it->path();
        if (!is_gguf_file(p) && !is_hf_folder(p)) continue;
        ModelSpec s;
        s.path = p.string();
        s.name = model_name_of(s.path);
        found.emplace(p.filename().string(), std::move(s));
    }
    if (ec) return make_error("--models-dir {}: {}", dir.string(), ec.message());

    const fs::path toml_path = dir / "models.toml";
    if (fs::exists(toml_path, ec)) {
        toml::table doc;
        try {
            doc = toml::parse_file(toml_path.string());
        } catch (const toml::parse_error& e) {
            return make_error("{}: {} (line {})", toml_path.string(), e.description(),
                              e.source().begin.line);
        }
        for (const auto& [k, node] : doc) {
            if (k.str() != "models")
                return make_error("{}: unknown table '{}'{} (models are [models.NAME])",
                                  toml_path.string(), k.str(), where(node));
        }
        if (const toml::table* models = doc["models"].as_table()) {
            for (const auto& [k, node] : *models) {
                const std::string name(k.str());
                const toml::table* t = node.as_table();
                if (!t)
                    return make_error("models.toml: [models.{}] must be a table{}", name,
                                      where(node));
                std::string file = name;
                if (const toml::node* f = t->get("file")) {
                    IG_ASSIGN_OR_RETURN(file, string_of(*f, "file"));
                } else if (!found.count(file)) {
                    // Without `file`, NAME is a file's stem or a folder's name.
                    for (const auto& [fname, s] : found)
                        if (s.name == name) file = fname;
                }
                auto at = found.find(file);
                if (at == found.end())
                    return make_error(
                        "models.toml: [models.{}]: no model file or folder '{}' in {}", name, file,
                        dir.string());
                at->second.name = name;
                IG_TRY(apply_options(*t, dir, at->second));
            }
        }
    }
    std::vector<ModelSpec> out;
    for (auto& [f, s] : found) out.push_back(std::move(s));
    std::sort(out.begin(), out.end(),
              [](const ModelSpec& a, const ModelSpec& b) { return a.name < b.name; });
    return out;
}

}  // namespace

std::string model_name_of(const std::string& path) {
    fs::path p(path);
    while (!p.empty() && p.filename().empty()) p = p.parent_path();  // "dir/" -> "dir"
    std::error_code ec;
    return fs::is_directory(p, ec) ? p.filename().string() : p.stem().string();
}

Expected<int64_t> parse_byte_size(std::string_view text) {
    std::string s(text);
    s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }),
            s.end());
    size_t unit_at = 0;
    while (unit_at < s.size() &&
           (std::isdigit(static_cast<unsigned char>(s[unit_at])) || s[unit_at] == '.'))
        ++unit_at;
    if (unit_at == 0)
        return make_error("'{}' is not a byte size (e.g. 512MiB, 4GB, 1000000)", text);
    double value = 0;
    try {
        value = std::stod(s.substr(0, unit_at));
    } catch (const std::exception&) {
        return make_error("'{}' is not a byte size", text);
    }
    std::string unit = s.substr(unit_at);
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::map<std::string, double> kUnits = {{"", 1},
                                                         {"b", 1},
                                                         {"kb", 1e3},
                                                         {"mb", 1e6},
                                                         {"gb", 1e9},
                                                         {"tb", 1e12},
                                                         {"k", 1e3},
                                                         {"m", 1e6},
                                                         {"g", 1e9},
                                                         {"kib", 1024.0},
                                                         {"mib", 1048576.0},
                                                         {"gib", 1073741824.0},
                                                         {"tib", 1099511627776.0}};
    auto u = kUnits.find(unit);
    if (u == kUnits.end()) return make_error("'{}': unknown unit '{}'", text, unit);
    const double bytes = value * u->second;
    if (!std::isfinite(bytes) || bytes < 0 || bytes > 9.0e18)
        return make_error("'{}' is out of range", text);
    return static_cast<int64_t>(bytes);
}

Expected<std::vector<ModelSpec>> build_catalog(const CatalogSources& src) {
    std::vector<ModelSpec> out;
    for (const std::string& m : src.models) {
        std::error_code ec;
        if (!fs::exists(m, ec)) return make_error("--model {}: no such file or folder", m);
        ModelSpec s;
        s.path = m;
        s.name = model_name_of(m);
        out.push_back(std::move(s));
    }
    if (!src.served_model_name.empty()) {
        if (out.size() != 1 || !src.models_dir.empty())
            return make_error(
                "--served-model-name names the one --model; with several models "
                "use models.toml in --models-dir (aliases)");
        out[0].name = src.served_model_name;
    }
    if (!src.models_dir.empty()) {
        std::vector<ModelSpec> dir;
        IG_ASSIGN_OR_RETURN(dir, scan_dir(src.models_dir));
        // A --model inside the directory is that model, not a second one.
        auto same = [](const std::string& a, const std::string& b) {
            std::error_code ec;
            return fs::equivalent(a, b, ec);
        };
        for (ModelSpec& s : dir) {
            bool given = false;
            for (const std::string& m : src.models) given |= same(m, s.path);
            if (!given) out.push_back(std::move(s));
        }
    }
    if (out.empty())
        return src.models_dir.empty()
                   ? make_error("no model: give --model FILE|DIR or --models-dir DIR")
                   : make_error(
                         "--models-dir {} holds no model (*.gguf files or Hugging Face "
                         "folders)",
                         src.models_dir);
    std::map<std::string, std::string> owner;  // name or alias -> model
    for (const ModelSpec& s : out) {
        for (const std::string* n : [&] {
                 std::vector<const std::string*> v{&s.name};
                 for (const auto& a : s.aliases) v.push_back(&a);
                 return v;
             }()) {
            auto [it, fresh] = owner.emplace(*n, s.name);
            if (!fresh)
                return make_error(
                    "model name '{}' is used twice ({} and {}); rename one in "
                    "models.toml",
                    *n, it->second, s.path);
        }
    }
    return out;
}

}  // namespace ig::server
