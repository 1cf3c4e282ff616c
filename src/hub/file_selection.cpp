#include "hub/file_selection.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace ig::hub {

namespace {

const char* const kFolderFiles[] = {
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "model.safetensors.index.json",
};

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view base_name(std::string_view path) {
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_gguf(const RemoteFile& f) {
    return ends_with(lower(f.path), ".gguf");
}

bool is_projector(const RemoteFile& f) {
    return lower(base_name(f.path)).rfind("mmproj", 0) == 0;
}

// The tag as a whole word of the name: between start, '-' or '.' and the
// next '-', '.' or the end ("Q4_K" is not in "x-Q4_K_M.gguf", "Q4_K_M" is).
bool has_tag_word(const std::string& name, const std::string& tag) {
    for (size_t pos = name.find(tag); pos != std::string::npos; pos = name.find(tag, pos + 1)) {
        const bool left = pos == 0 || name[pos - 1] == '-' || name[pos - 1] == '.';
        const size_t end = pos + tag.size();
        const bool right = end == name.size() || name[end] == '-' || name[end] == '.';
        if (left && right) return true;
    }
    return false;
}

std::string list_paths(const std::vector<RemoteFile>& files) {
    std::string s;
    for (const RemoteFile& f : files) s += "\n  " + f.path;
    return s;
}

Expected<Selection> pick_quant(const std::vector<RemoteFile>& listing, std::string_view repo,
                               std::string_view tag_in) {
    const std::string tag = lower(tag_in);
    std::vector<RemoteFile> ggufs, words, contains;
    for (const RemoteFile& f : listing) {
        if (!is_gguf(f) || is_projector(f)) continue;
        ggufs.push_back(f);
        const std::string name = lower(base_name(f.path));
        if (has_tag_word(name, tag)) words.push_back(f);
        if (name.find(tag) != std::string::npos) contains.push_back(f);
    }
    if (ggufs.empty())
        return make_error(ErrorCode::NotFound, "{} has no file '{}' and no .gguf files", repo,
                          tag_in);
    const std::vector<RemoteFile>& hits = words.empty() ? contains : words;
    if (hits.empty())
        return make_error(ErrorCode::NotFound, "{}: no .gguf file matches '{}'; its GGUF files:{}",
                          repo, tag_in, list_paths(ggufs));
    if (hits.size() > 1)
        return make_error(
            "{}: '{}' matches {} .gguf files; name one as {}:FILE (or a longer "
            "quant tag):{}",
            repo, tag_in, hits.size(), repo, list_paths(hits));
    return Selection{{hits.front()}, false};
}

}  // namespace

bool safe_repo_path(std::string_view path) {
    if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos ||
        path.find('\0') != std::string_view::npos)
        return false;
    size_t start = 0;
    while (start <= path.size()) {
        const size_t slash = std::min(path.find('/', start), path.size());
        const std::string_view seg = path.substr(start, slash - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        start = slash + 1;
    }
    return true;
}

Expected<Selection> select_files(const std::vector<RemoteFile>& listing, std::string_view repo,
                                 std::string_view file) {
    for (const RemoteFile& f : listing)
        if (!safe_repo_path(f.path))
            return make_error(ErrorCode::Io, "{}: the hub lists an unsafe path '{}'", repo, f.path);
    if (!file.empty()) {
        for (const RemoteFile& f : listing)
            if (f.path == file) return Selection{{f}, false};
        if (file.find('/') != std::string_view::npos || ends_with(lower(file), ".gguf")) {
            std::vector<RemoteFile> ggufs;
            for (const RemoteFile& f : listing)
                if (is_gguf(f)) ggufs.push_back(f);
            return make_error(ErrorCode::NotFound, "{} has no file '{}'{}{}", repo, file,
                              ggufs.empty() ? "" : "; its GGUF files:", list_paths(ggufs));
        }
        return pick_quant(listing, repo, file);
    }
    Selection sel;
    sel.folder = true;
    bool any_safetensors = false;
    for (const RemoteFile& f : listing) {
        if (f.path.find('/') != std::string::npos) continue;  // the model folder is the root
        const bool weights = ends_with(lower(f.path), ".safetensors");
        any_safetensors = any_safetensors || weights;
        const bool known = std::find(std::begin(kFolderFiles), std::end(kFolderFiles), f.path) !=
                           std::end(kFolderFiles);
        if (weights || known) sel.files.push_back(f);
    }
    if (any_safetensors) return sel;
    std::vector<RemoteFile> ggufs;
    for (const RemoteFile& f : listing)
        if (is_gguf(f) && !is_projector(f)) ggufs.push_back(f);
    if (ggufs.size() == 1) return Selection{{ggufs.front()}, false};
    if (ggufs.size() > 1)
        return make_error("{} holds {} GGUF files: name a quant ({}:Q4_K_M) or a file ({}:FILE):{}",
                          repo, ggufs.size(), repo, repo, list_paths(ggufs));
    return make_error(ErrorCode::NotFound, "{} has no .safetensors or .gguf files at its root",
                      repo);
}

Expected<std::vector<RemoteFile>> keep_indexed_shards(const std::vector<RemoteFile>& files,
                                                      const std::string& index_json) {
    auto j = nlohmann::json::parse(index_json, nullptr, false);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        return make_error("model.safetensors.index.json has no weight_map object");
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : j["weight_map"].items())
        if (shard.is_string()) shards.insert(shard.get<std::string>());
    std::vector<RemoteFile> kept;
    for (const RemoteFile& f : files) {
        const bool weights = ends_with(lower(f.path), ".safetensors");
        if (!weights || shards.erase(f.path) > 0) kept.push_back(f);
    }
    if (!shards.empty())
        return make_error(ErrorCode::NotFound,
                          "model.safetensors.index.json names {}, which the repo lacks",
                          *shards.begin());
    return kept;
}

}  // namespace ig::hub
