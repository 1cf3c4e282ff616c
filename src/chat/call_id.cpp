// Call ids: "call_" + 24 alphanumerics, as OpenAI's look. The generator owns
// its state (no global RNG), so two parsers never share a sequence and a
// seed gives the same ids every run.
#include <random>
#include <utility>

#include "chat/tool_call_parser.h"

namespace ig {

IdGenerator make_call_id_generator(uint64_t seed, std::string prefix, size_t length) {
    return [state = seed, prefix = std::move(prefix), length]() mutable {
        static constexpr char kAlnum[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        std::string id = prefix;
        for (size_t i = 0; i < length; ++i) {
            // splitmix64: every output is a fresh 64-bit mix of the counter.
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            id += kAlnum[z % (sizeof(kAlnum) - 1)];
        }
        return id;
    };
}

IdGenerator random_call_id_generator() {
    std::random_device rd;
    const uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return make_call_id_generator(seed);
}

}  // namespace ig
