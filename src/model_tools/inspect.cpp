#include "model_tools/inspect.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "gguf/gguf.h"
#include "model/hf_folder.h"

namespace ig {
namespace {

using json = nlohmann::ordered_json;  // keeps fields in the order written

// Hyperparameters shown, as suffixes of "{arch}.". key_length is the head
// dimension, which need not be embedding_length / head_count (qwen3).
constexpr std::string_view kHparams[] = {
    "context_length",
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.key_length",
    "attention.value_length",
    "rope.freq_base",
    "rope.dimension_count",
    "attention.layer_norm_rms_epsilon",
};

// f32 values are stored widened to double; going through the float's
// shortest decimal form makes JSON show 1e-05 rather than 9.99999974e-06.
double display_double(const GgufValue& v, double d) {
    if (v.type != GgufType::F32) return d;
    return std::strtod(fmt::format("{}", static_cast<float>(d)).c_str(), nullptr);
}

// Scalars as JSON values; arrays as a summary (a vocabulary would swamp
// the output).
json value_json(const GgufValue& v) {
    if (const auto* x = std::get_if<uint64_t>(&v.v)) return *x;
    if (const auto* x = std::get_if<int64_t>(&v.v)) return *x;
    if (const auto* x = std::get_if<double>(&v.v)) return display_double(v, *x);
    if (const auto* x = std::get_if<bool>(&v.v)) return *x;
    if (const auto* x = std::get_if<std::string>(&v.v)) return *x;
    const auto& a = std::get<GgufArray>(v.v);
    return json{{"elem_type", gguf_type_name(a.elem_type)}, {"length", a.items.size()}};
}

std::string type_label(const GgufValue& v) {
    if (const auto* a = std::get_if<GgufArray>(&v.v))
        return fmt::format("array[{}]", gguf_type_name(a->elem_type));
    return std::string(gguf_type_name(v.type));
}

std::string human_bytes(uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = static_cast<double>(n);
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.2f} {}", x, units[u]);
}

std::string human_count(uint64_t n) {
    if (n >= 1'000'000'000) return fmt::format("{:.2f} B", static_cast<double>(n) / 1e9);
    if (n >= 1'000'000) return fmt::format("{:.2f} M", static_cast<double>(n) / 1e6);
    if (n >= 1'000) return fmt::format("{:.2f} K", static_cast<double>(n) / 1e3);
    return fmt::format("{}", n);
}

std::string shape_str(const std::vector<uint64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

struct Summary {
    std::optional<std::string> arch, name, tok_model, tok_pre;
    std::optional<uint64_t> vocab_size;
    bool has_chat_template = false;
    std::vector<std::pair<std::string_view, const GgufValue*>> hparams;  // present ones only
    uint64_t n_params = 0, n_bytes = 0;
    double bpw = 0;
};

Summary summarize(const GgufFile& f) {
    Summary s;
    if (auto a = f.get_string("general.architecture")) s.arch = std::string(*a);
    if (auto n = f.get_string("general.name")) s.name = std::string(*n);
    if (auto m = f.get_string("tokenizer.ggml.model")) s.tok_model = std::string(*m);
    if (auto p = f.get_string("tokenizer.ggml.pre")) s.tok_pre = std::string(*p);
    if (const GgufArray* t = f.get_array("tokenizer.ggml.tokens")) s.vocab_size = t->items.size();
    s.has_chat_template = f.find("tokenizer.chat_template") != nullptr;
    if (s.arch) {
        for (std::string_view h : kHparams)
            if (const GgufValue* v = f.find(fmt::format("{}.{}", *s.arch, h)))
                s.hparams.emplace_back(h, v);
    }
    for (const auto& t : f.tensors()) {
        s.n_params += t.n_elements;
        s.n_bytes += t.n_bytes;
    }
    if (s.n_params) s.bpw = 8.0 * static_cast<double>(s.n_bytes) / static_cast<double>(s.n_params);
    return s;
}

json opt_json(const std::optional<std::string>& s) {
    return s ? json(*s) : json(nullptr);
}

void print_json(const GgufFile& f, const Summary& s, std::ostream& out) {
    json j;
    j["path"] = f.path();
    j["version"] = f.version();
    j["alignment"] = f.alignment();
    j["data_offset"] = f.data_offset();
    j["file_size"] = f.file_size();
    j["architecture"] = opt_json(s.arch);
    j["name"] = opt_json(s.name);
    json hp = json::object();
    for (const auto& [key, v] : s.hparams) hp[std::string(key)] = value_json(*v);
    j["hyperparameters"] = std::move(hp);
    j["tokenizer"] = {
        {"model", opt_json(s.tok_model)},
        {"pre", opt_json(s.tok_pre)},
        {"vocab_size", s.vocab_size ? json(*s.vocab_size) : json(nullptr)},
        {"has_chat_template", s.has_chat_template},
    };
    json md = json::array();
    for (const auto& kv : f.metadata())
        md.push_back(
            {{"key", kv.key}, {"type", type_label(kv.value)}, {"value", value_json(kv.value)}});
    j["metadata"] = std::move(md);
    json ts = json::array();
    for (const auto& t : f.tensors())
        ts.push_back({{"name", t.name},
                      {"shape", t.shape},
                      {"type", dtype_name(t.type)},
                      {"offset", t.offset},
                      {"n_elements", t.n_elements},
                      {"bytes", t.n_bytes}});
    j["tensors"] = std::move(ts);
    j["tensor_count"] = f.tensors().size();
    j["parameter_count"] = s.n_params;
    j["tensor_bytes"] = s.n_bytes;
    j["bits_per_weight"] = s.bpw;
    // Names and strings come from the file and need not be valid UTF-8.
    out << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void print_text(const GgufFile& f, const Summary& s, std::ostream& out) {
    auto line = [&](std::string_view label, const std::string& value) {
        out << label << ": " << value << "\n";
    };
    const std::string none = "(none)";
    line("file", f.path());
    line("gguf version", std::to_string(f.version()));
    line("alignment", std::to_string(f.alignment()));
    line("data offset", std::to_string(f.data_offset()));
    line("file size", fmt::format("{} ({})", f.file_size(), human_bytes(f.file_size())));
    line("architecture", s.arch.value_or(none));
    line("name", s.name.value_or(none));
    if (!s.hparams.empty()) {
        out << "hyperparameters:\n";
        for (const auto& [key, v] : s.hparams)
            out << "  " << key << ": " << gguf_value_to_string(*v) << "\n";
    }
    out << "tokenizer:\n";
    line("  model", s.tok_model.value_or(none));
    line("  pre", s.tok_pre.value_or(none));
    line("  vocab size", s.vocab_size ? std::to_string(*s.vocab_size) : none);
    line("  chat template", s.has_chat_template ? "present" : "absent");

    out << "metadata: " << f.metadata().size() << " keys\n";
    size_t kw = 0, tw = 0;
    for (const auto& kv : f.metadata()) {
        kw = std::max(kw, kv.key.size());
        tw = std::max(tw, type_label(kv.value).size());
    }
    for (const auto& kv : f.metadata())
        out << fmt::format("  {:<{}}  {:<{}}  {}\n", kv.key, kw, type_label(kv.value), tw,
                           gguf_value_to_string(kv.value));

    out << "tensors: " << f.tensors().size() << "\n";
    size_t nw = 0, sw = 0;
    for (const auto& t : f.tensors()) {
        nw = std::max(nw, t.name.size());
        sw = std::max(sw, shape_str(t.shape).size());
    }
    for (const auto& t : f.tensors())
        out << fmt::format("  {:<{}}  {:<{}}  {:<5}  {}\n", t.name, nw, shape_str(t.shape), sw,
                           dtype_name(t.type), t.n_bytes);
    line("parameters", fmt::format("{} ({})", s.n_params, human_count(s.n_params)));
    line("tensor bytes", fmt::format("{} ({})", s.n_bytes, human_bytes(s.n_bytes)));
    line("bits per weight", fmt::format("{:.2f}", s.bpw));
}

}  // namespace

Status run_inspect(const std::string& path, bool json_out, std::ostream& out) {
    auto f = open_model_file(path);
    if (!f) return f.error();
    try {
        Summary s = summarize(**f);
        if (json_out)
            print_json(**f, s, out);
        else
            print_text(**f, s, out);
    } catch (const std::exception& e) {  // allocation or JSON failure: keep it inside the module
        return make_error("inspect '{}': {}", path, e.what());
    }
    if (!out) return make_error("inspect '{}': cannot write output", path);
    return {};
}

}  // namespace ig
