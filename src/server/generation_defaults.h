#pragma once
// A Hugging Face folder's generation_config.json as the defaults of requests
// that leave the fields out: temperature, top_p, top_k, min_p,
// repetition_penalty, as vLLM takes them (do_sample = false: greedy). Fields that would change
// generation in ways requests cannot express are refused by name; its eos_token_id is the
// tokenizer's (hf_folder_vocab.h).
#include <string>

#include "engine/sampling_params.h"
#include "util/expected.h"

namespace ig::server {

// OpenAI's defaults when `model_path` is not a folder or has no
// generation_config.json.
Expected<SamplingParams> generation_defaults(const std::string& model_path);

}  // namespace ig::server
