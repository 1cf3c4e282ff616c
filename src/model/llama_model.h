#pragma once
// Llama-family transformer (llama, qwen2, qwen3) over GGUF weights used in place.
// Pure compute: token ids + positions + block tables in, logits out.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/forward_batch.h"
#include "model/kv_layout.h"
#include "model/model_config.h"
#include "util/expected.h"
#include "util/progress.h"
#include "util/thread_pool.h"

namespace ig {

// A 2-D weight: ne1 rows of ne0 elements, rows row_stride bytes apart.
struct WeightView {
    const void* data = nullptr;
    DType type = DType::F32;
    int64_t ne0 = 0;  // input features (contiguous)
    int64_t ne1 = 0;  // output features (rows)
    size_t row_stride = 0;
    // The same rows packed at load, or null: for matmul_f_packed (F32, F16,
    // BF16), or matmul_q8_packed (quantized types, with the integer path on).
    const void* packed = nullptr;
};

struct LayerWeights {
    std::vector<float> attn_norm, ffn_norm;  // converted to F32 at load
    std::vector<float> bq, bk, bv;           // empty without QKV bias
    std::vector<float> q_norm, k_norm;       // head_dim each (qwen3), else empty
    WeightView wq, wk, wv, wo, gate, up, down;
};

// Where a cold start went (LlamaModel::load): opening (map + validate; for
// a Hugging Face folder also config, shards and the Q/K copies), then binding
// the weights and packing them for the kernels (reads every weight once).
struct LoadTimes {
    double open_seconds = 0;
    double pack_seconds = 0;
};

class LlamaModel {
  public:
    // progress: weights prepared for the kernels so far (the part of a load
    // that reads the whole file).
    static Expected<std::unique_ptr<LlamaModel>> load(const std::string& path,
                                                      const ProgressFn& progress = {});
    static Expected<std::unique_ptr<LlamaModel>> from_gguf(std::shared_ptr<const GgufFile> file,
                                                           const ProgressFn& progress = {});

    const ModelConfig& config() const { return cfg_; }
    const GgufFile& gguf() const { return *file_; }
    const LoadTimes& load_times() const { return load_times_; }
    // KV layout this model needs, for a given block size and element type.
    KvLayout kv_layout(int64_t block_tokens, DType type) const;

    // Runs the batch, writing KV of the new tokens into their blocks and
    // batch.n_logit_rows() rows of n_vocab logits into `logits`.
    // Not thread-safe: one forward at a time per model (it reuses scratch).
    Status forward(const ForwardBatch& batch, const KvCacheView& kv, ThreadPool& pool,
                   std::span<float> logits);

    // Quantized weights (Q8_0, Q4_0, K-quants) run through the integer kernels
    // (KernelTable::matmul_q8: activations rounded to 8 bits per 32-block) or,
    // when off, the float kernels (exact products of the dequantized weights).
    // On by default; the environment variable IG_MATMUL=float at load turns it
    // off (A/B measurements). F32/F16/BF16 weights always take the float path.
    // With it on at load, quantized weights are repacked into panels
    // (pack_q8_weights) for the faster matmul_q8_packed; float weights
    // always are (pack_f_weights). The same bytes again in RAM; the file's
    // pages of them are given back.
    void set_int8_matmul(bool on) { int8_matmul_ = on; }
    bool int8_matmul() const { return int8_matmul_; }

  private:
    LlamaModel() = default;
    Status bind_weights();
    void pack_weights(const ProgressFn& progress);
    Status validate(const ForwardBatch& batch, const KvCacheView& kv,
                    std::span<float> logits) const;
    void ensure_scratch(int64_t n_tokens, int64_t n_rows);

    std::shared_ptr<const GgufFile> file_;
    LoadTimes load_times_;
    ModelConfig cfg_;
    WeightView tok_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<LayerWeights> layers_;
    std::vector<float> inv_freq_;  // rope_dim / 2 entries, all scalings applied
    bool int8_matmul_ = true;
    // One 64-byte aligned block holding every packed weight.
    struct FreeDeleter {
        void operator()(void* p) const;
    };
    std::unique_ptr<uint8_t, FreeDeleter> packed_;

    // Grow-only scratch so steady-state decode allocates nothing.
    struct Scratch {
        std::vector<float> x, h, q, k, v, attn, ff_gate, ff_up, rows;
        std::vector<uint8_t> xq;  // the current matmul input, quantized (matmul_q8)
        std::vector<int32_t> tok, seq;
        std::vector<int64_t> pos, row_src;
    } s_;
};

}  // namespace ig
