#pragma once
// Which files of a repo `pull REPO[:FILE]` downloads, decided on the hub's
// file list alone:
//  - FILE naming a file of the repo (a path, or any name ending in .gguf):
//    that file;
//  - FILE otherwise a quant tag (Q4_K_M): the one .gguf whose name carries
//    it, case-insensitive (mmproj-* projector files are never picked);
//    several or none is an error listing the candidates;
//  - no FILE, a safetensors repo: the model folder (config, tokenizer and
//    chat-template files, *.safetensors and their index; no .bin/.pt/.onnx/
//    .msgpack/.h5 duplicates, nothing in sub-folders);
//  - no FILE, a GGUF-only repo: its one .gguf, or an error listing them.
#include <string>
#include <string_view>
#include <vector>

#include "hub/hub_client.h"
#include "util/expected.h"

namespace ig::hub {

struct Selection {
    std::vector<RemoteFile> files;
    bool folder = false;  // a model folder (safetensors) rather than one file
};

Expected<Selection> select_files(const std::vector<RemoteFile>& listing, std::string_view repo,
                                 std::string_view file);

// With a model.safetensors.index.json: the safetensors files of `sel` that
// its weight_map names (a repo may also carry a consolidated copy).
Expected<std::vector<RemoteFile>> keep_indexed_shards(const std::vector<RemoteFile>& files,
                                                      const std::string& index_json);

// A repo path that is safe to write under a folder: relative, no "..", no
// empty or "." segments, no backslashes.
bool safe_repo_path(std::string_view path);

}  // namespace ig::hub
