#include "model_tools/convert.h"

#include "model/hf_folder.h"
#include "tokenizer/hf_folder_vocab.h"
#include "tokenizer/vocab_to_gguf.h"

namespace ig {

Expected<QuantizeSummary> convert_hf_folder(
    const std::string& dir, const std::string& out_path, QuantMix mix, ThreadPool& pool,
    const std::function<void(const TensorResult&)>& on_tensor) {
    if (!is_hf_folder(dir)) return make_error("'{}' is not a directory", dir);
    std::shared_ptr<const GgufFile> view;
    IG_ASSIGN_OR_RETURN(view, open_hf_folder(dir));
    Vocab vocab;
    IG_ASSIGN_OR_RETURN(vocab, vocab_from_hf_folder(dir));
    std::vector<GgufKV> extra;
    auto kv = vocab_to_gguf(vocab);
    if (!kv) return make_error("{}: tokenizer: {}", dir, kv.error().message);
    extra = std::move(kv).value();
    return quantize_gguf(*view, extra, out_path, mix, pool, on_tensor);
}

}  // namespace ig
