#include "grammar/json_schema_grammar.h"

#include "grammar/grammar_prune.h"
#include "grammar/json_schema_compiler.h"

namespace ig::grammar {

namespace {

// JSON nested deeper than this is refused before it is walked (or copied
// between nlohmann's json types), whatever the schema depth limit.
constexpr size_t kMaxJsonDepth = 1024;

Expected<Grammar> finish(GrammarBuilder& b, uint32_t root, std::string_view path) {
    auto g = b.finish(root);
    if (!g) return make_error("{}: {}", path, g.error().message);
    if (Status s = prune_unproductive(*g); !s)
        return make_error("{}: no finite JSON value satisfies the schema", path);
    return g;
}

}  // namespace

Expected<uint32_t> add_json_schema(GrammarBuilder& b, const nlohmann::ordered_json& schema,
                                   const JsonSchemaOptions& opt, std::string_view path) {
    if (json_depth(schema, kMaxJsonDepth) > kMaxJsonDepth)
        return make_error("{}: JSON nested deeper than {}", path, kMaxJsonDepth);
    std::string root(path);
    SchemaCompiler c(b, schema, opt, root);
    auto rule = c.compile(schema, root, 0);
    if (rule && b.over_limit())
        return make_error("{}: the schema needs a grammar over the size limits", path);
    return rule;
}

Expected<uint32_t> add_json_schema(GrammarBuilder& b, const nlohmann::json& schema,
                                   const JsonSchemaOptions& opt, std::string_view path) {
    if (json_depth(schema, kMaxJsonDepth) > kMaxJsonDepth)
        return make_error("{}: JSON nested deeper than {}", path, kMaxJsonDepth);
    return add_json_schema(b, nlohmann::ordered_json(schema), opt, path);
}

Expected<Grammar> json_schema_grammar(const nlohmann::ordered_json& schema,
                                      const JsonSchemaOptions& opt, std::string_view path) {
    GrammarBuilder b;
    auto root = add_json_schema(b, schema, opt, path);
    if (!root) return root.error();
    return finish(b, *root, path);
}

Expected<Grammar> json_schema_grammar(const nlohmann::json& schema, const JsonSchemaOptions& opt,
                                      std::string_view path) {
    GrammarBuilder b;
    auto root = add_json_schema(b, schema, opt, path);
    if (!root) return root.error();
    return finish(b, *root, path);
}

Expected<Grammar> json_object_grammar(const JsonSchemaOptions& opt) {
    GrammarBuilder b;
    JsonValueRules v(b, opt.any_whitespace);
    return finish(b, v.object(), "response_format");
}

}  // namespace ig::grammar
