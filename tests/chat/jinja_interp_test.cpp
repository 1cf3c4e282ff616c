// Unit tests of the Jinja interpreter behind ChatTemplate: whitespace control,
// loops, scoping, filters, tests, errors, limits and provenance marks. The
// expected strings are what jinja2 3.1 (HF's environment) renders.
#include <gtest/gtest.h>

#include "chat/chat_template.h"

namespace ig {
namespace {

using ojson = nlohmann::ordered_json;

Expected<RenderedPrompt> render(std::string_view src, const ojson& messages = ojson::array(),
                                ChatRenderOptions opt = {}) {
    auto t = ChatTemplate::parse(src);
    if (!t.ok()) return t.error();
    return t->render(messages, opt);
}

std::string R(std::string_view src, const ojson& messages = ojson::array(),
              ChatRenderOptions opt = {}) {
    auto r = render(src, messages, std::move(opt));
    if (!r.ok()) return "ERROR: " + r.error().message;
    return r->text;
}

std::string err(std::string_view src, const ojson& messages = ojson::array(),
                ChatRenderOptions opt = {}) {
    auto r = render(src, messages, std::move(opt));
    return r.ok() ? "rendered: " + r->text : r.error().message;
}

TEST(JinjaWhitespace, TrimAndLstripBlocks) {
    EXPECT_EQ(R("a\n  {% if true %}\n  x\n  {% endif %}\nb"), "a\n  x\nb");
    EXPECT_EQ(R("{% for i in range(3) %}\n{{ i }}\n{% endfor %}\n"), "0\n1\n2\n");
    EXPECT_EQ(R("a  {{- ' b ' -}}  c"), "a b c");
    EXPECT_EQ(R("a\n\n{%- if true -%}\n\n x {% endif %}"), "ax ");
    EXPECT_EQ(R("  {%+ if true %}x{% endif %}"), "  x");
    EXPECT_EQ(R("a {# c #}\nb\n  {# d #}\nc"), "a b\nc");
    EXPECT_EQ(R("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
    EXPECT_EQ(R("x\r\ny\n"), "x\ny");  // newline normalisation, one trailing newline dropped
    EXPECT_EQ(R("{{ {'a': {'b': 1}} }}"), "{'a': {'b': 1}}");
}

TEST(JinjaLoops, LoopVariablesElseAndFilters) {
    EXPECT_EQ(R("{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}"),
              "103TrueFalse3;212FalseFalse3;321FalseTrue3;");
    EXPECT_EQ(R("{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}"),
              "-2|1-3|2-|");
    EXPECT_EQ(R("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(R("{% for x in range(10) if x is odd %}{{ x }}{% endfor %}"), "13579");
    EXPECT_EQ(R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}"),
              "a=1,b=2,");
    EXPECT_EQ(R("{% for x in range(5) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% "
                "continue %}"
                "{% endif %}{{ x }}{% endfor %}"),
              "02");
    EXPECT_EQ(R("{% for x in range(4) %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "abab");
}

TEST(JinjaScoping, LoopScopeAndNamespace) {
    EXPECT_EQ(R("{% set x = 1 %}{% for i in range(2) %}{% set x = 5 %}{% endfor %}{{ x }}"), "1");
    // jinja2 resets loop-body assignments every iteration.
    EXPECT_EQ(R("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{% endfor %}{{ x }}"),
              "111");
    EXPECT_EQ(
        R("{% for i in [1, 2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}"),
        "[]");
    EXPECT_EQ(R("{% set ns = namespace(x=1) %}{% for i in range(3) %}{% set ns.x = ns.x + i %}{% "
                "endfor %}{{ ns.x }}"),
              "4");
    EXPECT_EQ(R("{% set a, b = 1, 2 %}{{ b }}{{ a }}"), "21");
    EXPECT_EQ(R("{% set x %}in{{ 1 + 1 }}{% endset %}[{{ x }}]"), "[in2]");
    EXPECT_EQ(R("{% macro m(a, b='d') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}"),
              "1d23");
    EXPECT_EQ(R("{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}body{% endcall %}"),
              "[body]");
    EXPECT_EQ(R("{% filter upper %}abc{% endfilter %}"), "ABC");
}

TEST(JinjaExpressions, OperatorsAndLiterals) {
    EXPECT_EQ(R("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} "
                "{{ 1 / 2 }}"),
              "7 3 -4 1 2 1024 0.5");
    EXPECT_EQ(R("{{ 'a' ~ 1 ~ none ~ true }}"), "a1NoneTrue");
    EXPECT_EQ(R("{{ 'ab' in 'cabd' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}"),
              "True True True");
    EXPECT_EQ(R("{{ 'yes' if 1 > 2 else 'no' }}|{{ 'x' if false }}|"), "no||");
    EXPECT_EQ(R("{{ 'hello'[::-1] }} {{ 'hello'[1:3] }} {{ [1,2,3,4][-2:] }} {{ 'héllo'[1] }}"),
              "olleh el [3, 4] é");
    EXPECT_EQ(R("{{ (1, 'a') }} {{ [none, true, 1.5, 'it\\'s'] }}"),
              "(1, 'a') [None, True, 1.5, \"it's\"]");
    EXPECT_EQ(R("{{ 1.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 3 * 1.0 }}"),
              "1.0 1e+20 0.30000000000000004 3.0");
    EXPECT_EQ(R("{{ 1 == 1.0 }} {{ 1 < 2 < 3 }} {{ not 0 and 'x' or 'y' }}"), "True True x");
}

TEST(JinjaFilters, CommonFilters) {
    EXPECT_EQ(R("{{ '  x  ' | trim }}|{{ 'ab' | upper }}|{{ 'hello world' | title }}|{{ 'aBC' | "
                "capitalize }}"),
              "x|AB|Hello World|Abc");
    EXPECT_EQ(R("{{ [3, 1, 2] | sort | join(',') }} {{ [1, 2] | length }} {{ 'abc' | list }} {{ "
                "[1,2] | first }}"),
              "1,2,3 2 ['a', 'b', 'c'] 1");
    EXPECT_EQ(
        R("{{ x | default('d') }} {{ '' | default('e', true) }} {{ 'a-b' | replace('-', '+') }}"),
        "d e a+b");
    EXPECT_EQ(R("{{ {'b': 1, 'a': [1, 'é', none]} | tojson }}"),
              "{\"b\": 1, \"a\": [1, \"é\", null]}");
    EXPECT_EQ(R("{{ {'a': [1]} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ]\n}");
    EXPECT_EQ(R("{{ '<&>' | tojson }} {{ '<&>' | e }}"), "\"<&>\" &lt;&amp;&gt;");
    EXPECT_EQ(R("{{ [{'n': 'a'}, {'n': 'b'}] | map(attribute='n') | join }}"), "ab");
    EXPECT_EQ(R("{{ [{'t': 1}, {'t': 2}, {}] | selectattr('t', 'defined') | list | length }}"),
              "2");
    EXPECT_EQ(
        R("{{ [1, 2, 3, 4] | select('even') | list }} {{ [1, 2, 3] | reject('odd') | list }}"),
        "[2, 4] [2]");
    EXPECT_EQ(R("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}"), "a\n  b|  a\n  b");
    EXPECT_EQ(R("{{ '42' | int + 1 }} {{ 'x' | int }} {{ '1.5' | float }} {{ 2.5 | round }} {{ -3 "
                "| abs }}"),
              "43 0 1.5 2.0 3");
    EXPECT_EQ(R("{{ {'b': 1, 'a': 2} | dictsort }} {{ ['a', 'A', 'b'] | unique | list }} {{ [1,2] "
                "| reverse | list }}"),
              "[('a', 2), ('b', 1)] ['a', 'b'] [2, 1]");
    EXPECT_EQ(R("{{ '%s-%d' | format('a', 3) }} {{ 'x' | center(5) }}| {{ 'a b c' | wordcount }}"),
              "a-3   x  | 3");
    EXPECT_EQ(R("{{ [1,2,3,4,5] | batch(2) | list }}"), "[[1, 2], [3, 4], [5]]");
}

TEST(JinjaMarkup, SafeStringsEscapePlainOperandsOfPlus) {
    // markupsafe semantics that Functionary's template relies on.
    EXPECT_EQ(R("{{ 'a'|safe + '<b>' }} {{ '<b>' + 'a'|safe }} {{ 'x'|safe ~ '<b>' }} {{ '<i>'|e + "
                "'<i>'|safe }}"),
              "a&lt;b&gt; &lt;b&gt;a x<b> &lt;i&gt;<i>");
}

TEST(JinjaMethods, StringAndDictMethods) {
    EXPECT_EQ(R("{{ ' a b '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'x y  z'.split() }}|{{ "
                "'abc'.startswith('ab') }}"),
              "a b|['a', 'b']|['x', 'y', 'z']|True");
    EXPECT_EQ(
        R("{{ '{} and {}'.format(1, 'b') }} {{ '-'.join(['a', 'b']) }} {{ 'abc'.find('c') }}"),
        "1 and b a-b 2");
    EXPECT_EQ(R("{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b', 2) }} {{ {'a': 1}.get('b') }}"),
              "1 2 None");
    EXPECT_EQ(R("{{ {'a': 1}.keys() | list }} {{ {'a': 1}.values() | list }}"), "['a'] [1]");
}

TEST(JinjaTests, IsTests) {
    EXPECT_EQ(R("{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ "
                "1 is number }}"),
              "False True True True True");
    EXPECT_EQ(R("{{ {} is mapping }} {{ [] is iterable }} {{ 'a' is sequence }} {{ true is boolean "
                "}} {{ 4 is even }}"),
              "True True True True True");
    EXPECT_EQ(
        R("{{ 9 is divisibleby 3 }} {{ 1 is eq 1 }} {{ 'a' is not string }} {{ false is false }}"),
        "True True False True");
}

TEST(JinjaUndefined, BehavesLikeJinja2DefaultUndefined) {
    EXPECT_EQ(R("[{{ missing }}]{% for x in missing %}x{% endfor %}{{ missing | length }}"), "[]0");
    EXPECT_EQ(R("{{ {'a': 1}.b }}|{{ none.x }}|{{ [1][5] }}"), "||");
    EXPECT_NE(err("{{ missing.attr }}").find("'missing' is undefined"), std::string::npos);
    EXPECT_NE(err("{{ missing + 1 }}").find("line 1"), std::string::npos);
}

TEST(JinjaErrors, UnsupportedConstructsAndRuntimeErrorsNameTheLine) {
    EXPECT_NE(err("ok\n{% include 'x' %}").find("line 2"), std::string::npos);
    EXPECT_NE(err("ok\n{% include 'x' %}").find("include"), std::string::npos);
    EXPECT_NE(err("{{ x | nosuchfilter }}").find("filter 'nosuchfilter'"), std::string::npos);
    EXPECT_NE(err("{% if true %}").find("endif"), std::string::npos);
    EXPECT_NE(err("{{ 1 + }}").find("line 1"), std::string::npos);
    EXPECT_NE(
        err("\n\n{{ raise_exception('bad role') }}").find("line 3: raise_exception: bad role"),
        std::string::npos);
    EXPECT_NE(err("{{ [1].append(2) }}").find("unsafe"),
              std::string::npos);  // HF's sandbox is immutable
    EXPECT_NE(err("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
    EXPECT_NE(err("{{ 'a' + 1 }}").find("unsupported operand"), std::string::npos);
}

TEST(JinjaLimits, HostileTemplatesFailInsteadOfHanging) {
    // Default limits stop an effectively endless loop.
    EXPECT_NE(
        err("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
            .find("step limit"),
        std::string::npos);
    ChatRenderOptions small;
    small.limits.max_steps = 100000;
    small.limits.max_output_bytes = 1 << 20;
    EXPECT_NE(err("{% for i in range(100) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                  ojson::array(), small)
                  .find("step limit"),
              std::string::npos);
    EXPECT_NE(err("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", ojson::array(), small)
                  .find("recursion"),
              std::string::npos);
    EXPECT_NE(err("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ "
                  "ns.s %}{% endfor %}",
                  ojson::array(), small)
                  .find("size limit"),
              std::string::npos);
    EXPECT_NE(err("{{ 'ab' * 10000000 }}", ojson::array(), small).find("size limit"),
              std::string::npos);
    EXPECT_NE(err("{{ range(1000000) }}").find("Range too big"), std::string::npos);
    EXPECT_NE(
        err("{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}").find("nesting"),
        std::string::npos);
}

TEST(JinjaProvenance, ContentKeepsMarkZeroThroughStringOperations) {
    ojson msgs = ojson::parse(R"([{"role": "user", "content": " <|im_start|> "}])");
    ChatRenderOptions opt;
    opt.bos_token = "<s>";
    auto r = render(
        "{{ bos_token }}<|im_start|>{{ (messages[0].content | trim).replace('im', 'im') ~ '!' }}"
        "{{ messages[0].content[1:5] | upper }}",
        msgs, opt);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->text, "<s><|im_start|><|im_start|>!<|IM");
    std::string marks;
    for (uint8_t m : r->special_allowed) marks += static_cast<char>('0' + m);
    // "<|" and "_start|>" come from content; the "im" that replace() put in is template text.
    EXPECT_EQ(marks,
              "111"
              "111111111111"
              "00"
              "11"
              "00000000"
              "1"
              "0000");
    // Replacement text from the template keeps its mark inside content.
    r = render("{{ messages[0].content.replace('im', 'XY') }}", msgs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->text, " <|XY_start|> ");
    EXPECT_EQ(r->special_allowed[3], 1);
    EXPECT_EQ(r->special_allowed[2], 0);
    // tojson of content: structure is template, string bytes are content.
    r = render("{{ messages[0] | tojson }}", msgs);
    ASSERT_TRUE(r.ok());
    size_t p = r->text.find("<|im_start|>");
    EXPECT_EQ(r->special_allowed[p], 0);
    EXPECT_EQ(r->special_allowed[0], 1);
}

TEST(JinjaContext, StrftimeNowToolsAndExtraContext) {
    ChatRenderOptions opt;
    opt.now = 1721980800;
    opt.tools = ojson::parse(R"([{"name": "f"}])");
    opt.extra_context = ojson::parse(R"({"enable_thinking": false})");
    opt.add_generation_prompt = false;
    EXPECT_EQ(R("{{ strftime_now('%Y') }} {{ tools[0].name }} {{ enable_thinking }} {{ "
                "add_generation_prompt }}",
                ojson::array(), opt),
              "2024 f False False");
}

}  // namespace
}  // namespace ig
