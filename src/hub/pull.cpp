#include "hub/pull.h"

#include <cctype>
#include <cstdlib>

#include "hub/file_selection.h"
#include "hub/hub_client.h"
#include "hub/url.h"
#include "util/read_file.h"

namespace ig::hub {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHubScheme = "hf://";

bool repo_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool valid_repo_part(std::string_view s) {
    if (s.empty() || s.size() > 96 || s == "." || s == ".." || s.front() == '-') return false;
    for (char c : s)
        if (!repo_name_char(c)) return false;
    return true;
}

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

}  // namespace

Expected<PullSpec> parse_pull_spec(std::string_view s) {
    const size_t colon = s.find(':');
    PullSpec p;
    p.repo = std::string(s.substr(0, colon));
    if (colon != std::string_view::npos) {
        p.file = std::string(s.substr(colon + 1));
        if (p.file.empty())
            return make_error("'{}': nothing after ':' (REPO:Q4_K_M or REPO:path/file.gguf)", s);
    }
    const size_t slash = p.repo.find('/');
    const bool ok = slash == std::string::npos
                        ? valid_repo_part(p.repo)
                        : valid_repo_part(std::string_view(p.repo).substr(0, slash)) &&
                              valid_repo_part(std::string_view(p.repo).substr(slash + 1));
    if (!ok)
        return make_error("'{}' is not a repo id (owner/name, letters, digits, '-', '_', '.')",
                          p.repo);
    return p;
}

bool is_hub_uri(std::string_view s) {
    return s.substr(0, kHubScheme.size()) == kHubScheme;
}

Expected<PullSpec> parse_hub_uri(std::string_view s) {
    if (!is_hub_uri(s)) return make_error("'{}' is not an hf:// model (hf://owner/name[:FILE])", s);
    return parse_pull_spec(s.substr(kHubScheme.size()));
}

std::string repo_folder_name(std::string_view repo) {
    std::string r(repo);
    const size_t slash = r.find('/');
    if (slash != std::string::npos) r.replace(slash, 1, "--");
    return r;
}

PullOptions pull_options_from_env() {
    PullOptions o;
    o.endpoint = env_or("HF_ENDPOINT", o.endpoint);
    o.token = env_or("HF_TOKEN", "");
    const std::string home = env_or("HOME", "");
    const std::string fallback = home.empty() ? "" : home + "/.cache/infergrid/models";
    o.models_dir = env_or("IG_MODELS_DIR", fallback);
    return o;
}

Expected<PullResult> pull(const PullSpec& spec, const PullOptions& opt) {
    if (opt.models_dir.empty())
        return make_error("no models folder: set --models-dir or IG_MODELS_DIR (HOME is unset)");
    if (opt.revision.empty()) return make_error("--revision is empty");
    if (auto u = parse_url(opt.endpoint); !u.ok())
        return make_error("hub endpoint (HF_ENDPOINT) {}", u.error().message);
    std::unique_ptr<HttpClient> http;
    IG_ASSIGN_OR_RETURN(http, HttpClient::create(opt.http));
    HubClient hub(opt.endpoint, opt.token, std::move(http));
    std::vector<RemoteFile> listing;
    IG_ASSIGN_OR_RETURN(listing, hub.list_files(spec.repo, opt.revision));
    Selection sel;
    IG_ASSIGN_OR_RETURN(sel, select_files(listing, spec.repo, spec.file));

    const fs::path folder = fs::absolute(opt.models_dir) / repo_folder_name(spec.repo);
    PullResult res;
    const auto fetch = [&](const RemoteFile& f) -> Status {
        const fs::path dest = folder / f.path;
        Fetched how;
        IG_ASSIGN_OR_RETURN(how,
                            download_file(hub.http(), hub.file_url(spec.repo, opt.revision, f.path),
                                          hub.token(), f, dest, opt.download));
        ++(how == Fetched::Downloaded ? res.downloaded : res.already_present);
        res.files.push_back(dest);
        return {};
    };
    if (sel.folder) {
        // The index first: it says which .safetensors files are the weights.
        std::vector<RemoteFile> files = sel.files;
        for (const RemoteFile& f : sel.files) {
            if (f.path != "model.safetensors.index.json") continue;
            IG_TRY(fetch(f));
            std::string index;
            IG_ASSIGN_OR_RETURN(index, read_file((folder / f.path).string()));
            IG_ASSIGN_OR_RETURN(files, keep_indexed_shards(sel.files, index));
        }
        for (const RemoteFile& f : files)
            if (f.path != "model.safetensors.index.json") IG_TRY(fetch(f));
        res.path = folder;
    } else {
        IG_TRY(fetch(sel.files.front()));
        res.path = res.files.front();
    }
    return res;
}

Expected<std::string> resolve_hub_model(std::string_view uri, const PullOptions& opt) {
    PullSpec spec;
    IG_ASSIGN_OR_RETURN(spec, parse_hub_uri(uri));
    PullResult r;
    IG_ASSIGN_OR_RETURN(r, pull(spec, opt));
    return r.path.string();
}

}  // namespace ig::hub
