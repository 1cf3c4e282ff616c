#pragma once
// An in-process server on an ephemeral port over stories260K (or, without
// ../shared, a synthetic tiny llama), with the engine reachable for its
// counters.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "model_tools/synth.h"
#include "server/api_server.h"
#include "server/serve_root.h"
#include "support/http_client.h"
#include "support/test_support.h"
#include "util/thread_pool.h"

namespace ig::test {

// The model every server test runs on.
inline const std::string& server_model_path() {
    static const std::string path = [] {
        const std::string stories = shared_file("models/stories260K.gguf");
        if (exists(stories)) return stories;
        static TempDir dir;
        const std::string p = dir.file("tiny-llama.gguf");
        ThreadPool pool(1);
        auto st = synth_model(*synth_preset("tiny-llama"), DType::F32, 1, p, pool);
        return st.ok() ? p : std::string();
    }();
    return path;
}

// A chat format for models without a template: the server only needs some
// renderer; templates themselves are tested in tests/chat/.
inline server::ChatRenderer plain_chat_renderer() {
    return [](const nlohmann::json& messages, const nlohmann::ordered_json&,
              const nlohmann::json&) -> Expected<server::ChatPrompt> {
        server::ChatPrompt p;
        for (const auto& m : messages)
            p.text += m["role"].get<std::string>() + ": " +
                      (m["content"].is_string() ? m["content"].get<std::string>() : "") + "\n";
        p.text += "assistant:";
        return p;
    };
}

struct TestServer {
    std::shared_ptr<Engine> engine;
    std::shared_ptr<const Tokenizer> tokenizer;
    std::unique_ptr<server::ApiServer> api;
    std::string model_name;
    uint16_t port = 0;

    static std::unique_ptr<TestServer> start(server::ServerConfig cfg = {}, EngineConfig ecfg = {},
                                             bool with_chat = true,
                                             const std::string& model_path = server_model_path()) {
        server::ServeOptions mo;
        mo.model_path = model_path;
        mo.engine = ecfg;
        return start_with(std::move(mo), std::move(cfg), with_chat);
    }

    // With the serve options given (chat template, tool-call parser, ...);
    // with_chat replaces the template by a plain renderer.
    static std::unique_ptr<TestServer> start_with(server::ServeOptions mo,
                                                  server::ServerConfig cfg = {},
                                                  bool with_chat = false) {
        mo.served_model_name = "test-model";
        if (mo.engine.kv_bytes == 0) mo.engine.kv_bytes = 16 << 20;
        if (mo.engine.threads == 0) mo.engine.threads = 2;
        auto sm = server::load_served_model(mo);
        EXPECT_TRUE(sm.ok()) << (sm.ok() ? "" : sm.error().message);
        if (!sm.ok()) return nullptr;
        if (with_chat) sm->chat = plain_chat_renderer();
        auto t = std::make_unique<TestServer>();
        t->engine = sm->engine;
        t->tokenizer = sm->tokenizer;
        t->model_name = sm->name;
        cfg.host = "127.0.0.1";
        cfg.port = 0;
        t->api = std::make_unique<server::ApiServer>(cfg, std::move(sm).value());
        auto st = t->api->start();
        EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
        if (!st.ok()) return nullptr;
        t->port = t->api->port();
        return t;
    }

    // Waits until every KV block is free again (requests finished or cancelled).
    bool wait_blocks_free(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            const EngineStats s = engine->stats();
            if (s.blocks_free == s.blocks_total && s.running == 0 && s.waiting == 0) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
};

inline std::string completion_body(const std::string& extra = "", int max_tokens = 8) {
    std::string b =
        R"({"model":"test-model","prompt":"Once upon a time","temperature":0,"max_tokens":)" +
        std::to_string(max_tokens);
    if (!extra.empty()) b += "," + extra;
    return b + "}";
}

}  // namespace ig::test
