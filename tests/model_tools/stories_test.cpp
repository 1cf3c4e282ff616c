// The real trained stories260K model: greedy generation must reproduce the
// token ids that the independent float64 reference
// (tests/model/reference/llama_ref.py generate --prompt "Once upon a time" -n 32)
// produced, and read as a children's story.
#include <gtest/gtest.h>

#include <sstream>

#include "model_tools/generate.h"
#include "support/test_support.h"

namespace ig {
namespace {

const std::vector<int32_t> kPromptIds = {1, 403, 407, 261, 378};
const std::vector<int32_t> kReferenceIds = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
                                            338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322,
                                            265, 282, 295, 433, 426, 385, 328, 432, 358, 394};

class Stories : public testing::TestWithParam<const char*> {};

TEST_P(Stories, GreedyMatchesReference) {
    const std::string path = test::shared_file("models/stories260K.gguf");
    if (!test::exists(path)) GTEST_SKIP() << "shared data not present";
    GenerateOptions o;
    o.model = path;
    o.prompt = "Once upon a time";
    o.n_predict = 32;
    o.ignore_eos = true;
    o.threads = 2;
    o.kv_type = GetParam();
    std::ostringstream out;
    auto r = run_generate(o, out);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->prompt_ids, kPromptIds);
    EXPECT_EQ(r->ids, kReferenceIds);
    EXPECT_EQ(out.str().rfind("Once upon a time, there was a little girl named Lily.", 0), 0u)
        << out.str();
}

INSTANTIATE_TEST_SUITE_P(KvTypes, Stories, testing::Values("f32", "f16"));

}  // namespace
}  // namespace ig
