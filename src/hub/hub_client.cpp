#include "hub/hub_client.h"

#include <nlohmann/json.hpp>

#include "hub/url.h"

namespace ig::hub {

namespace {

constexpr size_t kListingBytes = 64 << 20;
constexpr int kMaxListingPages = 1000;

// The hub's own words for a failure, if it gave any.
std::string hub_message(const HttpResponse& r) {
    std::string m = r.header("x-error-message");
    if (!m.empty()) return m;
    auto j = nlohmann::json::parse(r.error_body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string())
        return j["error"].get<std::string>();
    return "";
}

}  // namespace

Expected<std::vector<RemoteFile>> parse_tree_listing(const std::string& json) {
    auto j = nlohmann::json::parse(json, nullptr, false);
    if (!j.is_array()) return make_error(ErrorCode::Io, "the hub's file list is not a JSON array");
    std::vector<RemoteFile> files;
    for (const auto& e : j) {
        if (!e.is_object() || e.value("type", "") != "file") continue;
        RemoteFile f;
        if (!e.contains("path") || !e["path"].is_string() || !e.contains("size") ||
            !e["size"].is_number_integer())
            return make_error(ErrorCode::Io, "the hub's file list has an entry without path/size");
        f.path = e["path"].get<std::string>();
        f.size = e["size"].get<int64_t>();
        if (e.contains("oid") && e["oid"].is_string()) f.git_oid = e["oid"].get<std::string>();
        if (e.contains("lfs") && e["lfs"].is_object()) {
            const auto& lfs = e["lfs"];
            if (lfs.contains("oid") && lfs["oid"].is_string()) f.sha256 = lfs["oid"];
            // For LFS files the top-level size may be the pointer's; the content's is here.
            if (lfs.contains("size") && lfs["size"].is_number_integer())
                f.size = lfs["size"].get<int64_t>();
        }
        if (f.size < 0)
            return make_error(ErrorCode::Io, "the hub lists {} with a negative size", f.path);
        files.push_back(std::move(f));
    }
    return files;
}

std::string next_page_link(const std::string& link) {
    // <https://...>; rel="next", <...>; rel="prev"
    size_t pos = 0;
    while ((pos = link.find('<', pos)) != std::string::npos) {
        const size_t close = link.find('>', pos);
        if (close == std::string::npos) return "";
        const size_t end = link.find(',', close);
        const std::string params = link.substr(close + 1, end - close - 1);
        if (params.find("rel=\"next\"") != std::string::npos ||
            params.find("rel=next") != std::string::npos)
            return link.substr(pos + 1, close - pos - 1);
        pos = close;
    }
    return "";
}

Error hub_status_error(const HttpResponse& r, const std::string& what, bool have_token) {
    const std::string said = hub_message(r);
    const std::string detail = said.empty() ? "" : " (hub: " + said + ")";
    switch (r.status) {
        case 401:
            return make_error(
                ErrorCode::Invalid, "{}: 401 Unauthorized: the repo is gated or private; {}{}",
                what,
                have_token ? "HF_TOKEN was refused" : "set HF_TOKEN to a token that has access",
                detail);
        case 403:
            return make_error(ErrorCode::Invalid,
                              "{}: 403 Forbidden: {} (a gated repo's terms must be accepted on "
                              "its page first){}",
                              what,
                              have_token ? "the token in HF_TOKEN has no access"
                                         : "access needs a token in HF_TOKEN",
                              detail);
        case 404:
            return make_error(ErrorCode::NotFound, "{}: 404 Not Found{}", what, detail);
        default:
            return make_error(ErrorCode::Io, "{}: HTTP {} {}{}", what, r.status, r.reason, detail);
    }
}

HubClient::HubClient(std::string endpoint, std::string token, std::unique_ptr<HttpClient> http)
    : endpoint_(std::move(endpoint)), token_(std::move(token)), http_(std::move(http)) {
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

Expected<std::vector<RemoteFile>> HubClient::list_files(const std::string& repo,
                                                        const std::string& revision) {
    std::string url = endpoint_ + "/api/models/" + repo + "/tree/" +
                      percent_encode(revision, false) + "?recursive=true";
    std::vector<RemoteFile> all;
    for (int page = 0; !url.empty(); ++page) {
        if (page == kMaxListingPages)
            return make_error(ErrorCode::Io, "{}: the file list has over {} pages", repo, page);
        std::string body;
        HttpResponse r;
        IG_ASSIGN_OR_RETURN(r, http_->get_text(url, token_, body, kListingBytes));
        if (!r.success())
            return hub_status_error(
                r, "listing " + repo + " at revision " + revision + " (" + endpoint_ + ")",
                !token_.empty());
        std::vector<RemoteFile> files;
        IG_ASSIGN_OR_RETURN(files, parse_tree_listing(body));
        all.insert(all.end(), files.begin(), files.end());
        url = next_page_link(r.header("link"));
        if (!url.empty() && url.find("://") == std::string::npos) {
            auto base = parse_url(r.url);
            if (!base.ok()) return base.error();
            auto next = resolve_location(*base, url);
            if (!next.ok()) return next.error();
            url = next->str();
        }
    }
    return all;
}

std::string HubClient::file_url(const std::string& repo, const std::string& revision,
                                const std::string& path) const {
    return endpoint_ + "/" + repo + "/resolve/" + percent_encode(revision, false) + "/" +
           percent_encode(path, true);
}

}  // namespace ig::hub
