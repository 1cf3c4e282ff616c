#include "server/generation_defaults.h"

#include <cmath>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "util/read_file.h"

namespace ig::server {

Expected<SamplingParams> generation_defaults(const std::string& model_path) {
    namespace fs = std::filesystem;
    SamplingParams s;
    std::error_code ec;
    const fs::path p = fs::path(model_path) / "generation_config.json";
    if (!fs::is_directory(model_path, ec) || !fs::exists(p, ec)) return s;
    std::string text;
    IG_ASSIGN_OR_RETURN(text, read_file(p.string()));
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return make_error("{}: not a JSON object", p.string());
    auto num = [&](const char* key, double lo, double hi, float& dst) -> Status {
        if (!j.contains(key) || j[key].is_null()) return {};
        if (!j[key].is_number() || !(j[key].get<double>() >= lo && j[key].get<double>() <= hi))
            return make_error("{}: '{}' must be a number in [{}, {}]", p.string(), key, lo, hi);
        dst = static_cast<float>(j[key].get<double>());
        return {};
    };
    IG_TRY(num("temperature", 0, 2, s.temperature));
    IG_TRY(num("top_p", 1e-9, 1, s.top_p));
    IG_TRY(num("repetition_penalty", 1e-9, 2, s.repetition_penalty));
    IG_TRY(num("min_p", 0, 1, s.min_p));
    if (j.contains("top_k") && !j["top_k"].is_null()) {
        if (!j["top_k"].is_number_integer() || j["top_k"].get<int64_t>() < 0 ||
            j["top_k"].get<int64_t>() > (int64_t{1} << 24))
            return make_error("{}: 'top_k' must be a non-negative integer", p.string());
        s.top_k = static_cast<int32_t>(j["top_k"].get<int64_t>());
    }
    // transformers samples only with do_sample = true (its default is false,
    // but configs that name sampling knobs set it); false means greedy.
    if (j.contains("do_sample") && j["do_sample"] == false) s.temperature = 0;
    // Beam, contrastive and n-gram-blocked search change what is generated.
    const std::pair<const char*, double> refused[] = {
        {"num_beams", 1}, {"penalty_alpha", 0}, {"no_repeat_ngram_size", 0}};
    for (const auto& [key, neutral] : refused)
        if (j.contains(key) && j[key].is_number() && j[key].get<double>() > neutral)
            return make_error("{}: '{}' = {} is not supported", p.string(), key, j[key].dump());
    return s;
}

}  // namespace ig::server
