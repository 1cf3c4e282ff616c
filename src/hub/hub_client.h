#pragma once
// The Hugging Face Hub's HTTP API, as far as pulling models needs it: the
// file list of a repo at a revision (with sizes and checksums), the URL a
// file downloads from, and hub answers (401/403/404) as clear errors.
#include <memory>
#include <string>
#include <vector>

#include "hub/http_fetch.h"
#include "util/expected.h"

namespace ig::hub {

// One file of a repo, as the hub lists it.
struct RemoteFile {
    std::string path;     // inside the repo, '/'-separated
    int64_t size = 0;     // bytes
    std::string git_oid;  // git blob SHA-1 (hex) of the file as git stores it
    std::string sha256;   // LFS files: SHA-256 (hex) of the content; "" for plain git files

    bool operator==(const RemoteFile&) const = default;
};

// Parses the JSON of GET /api/models/{repo}/tree/{revision}: the files (no
// folders), or an error naming what is missing.
Expected<std::vector<RemoteFile>> parse_tree_listing(const std::string& json);

// The URL of the next page from a Link header (`<url>; rel="next"`), or "".
std::string next_page_link(const std::string& link_header);

// A non-2xx hub answer as an error: 401/403 name the token, 404 `what`
// (ErrorCode::NotFound); the hub's own X-Error-Message or JSON "error" is kept.
Error hub_status_error(const HttpResponse& r, const std::string& what, bool have_token);

class HubClient {
  public:
    // endpoint: https://huggingface.co or a compatible server (a trailing
    // '/' is dropped); token: "" or a token sent as `Authorization: Bearer`.
    HubClient(std::string endpoint, std::string token, std::unique_ptr<HttpClient> http);

    Expected<std::vector<RemoteFile>> list_files(const std::string& repo,
                                                 const std::string& revision);
    std::string file_url(const std::string& repo, const std::string& revision,
                         const std::string& path) const;

    HttpClient& http() { return *http_; }
    const std::string& token() const { return token_; }
    const std::string& endpoint() const { return endpoint_; }

  private:
    std::string endpoint_;
    std::string token_;
    std::unique_ptr<HttpClient> http_;
};

}  // namespace ig::hub
