#pragma once
// `infergrid pull REPO[:FILE]` and `serve --model hf://REPO[:FILE]`: list
// the repo on the hub, select the files (file_selection.h), download what
// is missing (download.h), and name the local path.
//
// Layout under the models folder (one folder per repo, so equal file names
// of two repos never meet):
//   <models-dir>/<owner>--<name>/<file>          a GGUF file (its repo path)
//   <models-dir>/<owner>--<name>/                 a safetensors model folder
// One revision per repo folder: pulling another revision replaces the
// files that differ.
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hub/download.h"
#include "hub/http_fetch.h"
#include "util/expected.h"

namespace ig::hub {

struct PullSpec {
    std::string repo;  // owner/name (or a bare legacy name)
    std::string file;  // "" (the whole model), a quant tag, or a repo path
};

// "owner/name[:FILE]"
Expected<PullSpec> parse_pull_spec(std::string_view s);
// "hf://owner/name[:FILE]"
bool is_hub_uri(std::string_view s);
Expected<PullSpec> parse_hub_uri(std::string_view s);

// owner/name -> owner--name
std::string repo_folder_name(std::string_view repo);

struct PullOptions {
    std::string endpoint = "https://huggingface.co";
    std::string token;
    std::string revision = "main";
    std::filesystem::path models_dir;
    HttpOptions http;
    DownloadOptions download;
};

// HF_ENDPOINT, HF_TOKEN, IG_MODELS_DIR (else ~/.cache/infergrid/models).
PullOptions pull_options_from_env();

struct PullResult {
    std::filesystem::path path;  // the GGUF file, or the model folder
    std::vector<std::filesystem::path> files;
    int downloaded = 0;
    int already_present = 0;
};

Expected<PullResult> pull(const PullSpec& spec, const PullOptions& opt);

// For serve: a model argument "hf://REPO[:FILE]" pulled when missing, as the
// local path to load.
Expected<std::string> resolve_hub_model(std::string_view uri, const PullOptions& opt);

}  // namespace ig::hub
