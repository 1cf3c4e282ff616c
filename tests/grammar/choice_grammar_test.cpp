#include "grammar/choice_grammar.h"

#include <gtest/gtest.h>

#include "grammar_oracle.h"

namespace ig::grammar::test {
namespace {

TEST(ChoiceGrammar, ExactlyOneOfTheStrings) {
    auto g = choice_grammar({"yes", "no", "maybe", "y", "yes please", "", "n\xC3\xA9"});
    ASSERT_TRUE(g.ok());
    for (const char* ok : {"yes", "no", "maybe", "y", "yes please", "", "n\xC3\xA9"})
        EXPECT_TRUE(grammar_accepts(*g, ok)) << ok;
    for (const char* bad : {"ye", "yess", "yes ", "n", "No", "maybeyes", "yes pleas"})
        EXPECT_FALSE(grammar_accepts(*g, bad)) << bad;
}

TEST(ChoiceGrammar, ManySharedPrefixes) {
    std::vector<std::string> choices;
    for (int i = 0; i < 300; ++i) choices.push_back("item-" + std::to_string(i));
    auto g = choice_grammar(choices);
    ASSERT_TRUE(g.ok());
    for (int i = 0; i < 300; ++i) EXPECT_TRUE(grammar_accepts(*g, "item-" + std::to_string(i)));
    EXPECT_FALSE(grammar_accepts(*g, "item-300"));
    EXPECT_FALSE(grammar_accepts(*g, "item-"));
    EXPECT_FALSE(grammar_accepts(*g, "item-01"));
}

TEST(ChoiceGrammar, Errors) {
    EXPECT_FALSE(choice_grammar({}).ok());
    auto bad = choice_grammar({"ok", "\xFF"});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("guided_choice[1]"), std::string::npos);
    EXPECT_FALSE(choice_grammar({std::string(2'000'000, 'a')}).ok());
}

}  // namespace
}  // namespace ig::grammar::test
